/**
 * Goal: the safety rules of the Raft paper §5.4 and §8: the election restriction keeps committed
 * entries, a leader commits by counting replicas only entries of its own term (Figure 8), and a
 * new leader starts its term with a no-op. Method: build logs by hand, step crafted messages.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role } from '../../raft/core/index.js';
import { Harness, TestNode, bootstrappedStorage, entry } from './harness.js';

test('§5.4.2 rule: a leader does not commit an entry of an earlier term by counting replicas ' +
  '(Figure 8)', () => {
  // Entry 4 of term 2 is on node 1 and node 2 (a majority) but was never committed.
  const storage = bootstrappedStorage([1, 2, 3]);
  storage.append([entry(4, 2)]);
  storage.setHardState({ term: 3, vote: 0, commit: 3 });
  const leader = new TestNode(1, storage, {}, 1);
  leader.drain();
  leader.raw.campaign();
  leader.drain();
  leader.raw.step({ type: MessageType.voteResponse, groupId: 1, from: 2, to: 1, term: 4, preVote: false,
    granted: true });
  equal(leader.raft.role, Role.leader);
  leader.drain();
  const ack = { type: MessageType.appendResponse, groupId: 1, from: 2, to: 1, term: 4, success: true,
    hintIndex: 0, hintTerm: 0 } as const;
  leader.raw.step({ ...ack, index: 4 });
  equal(leader.raft.log.committed, 3, 'entry 4 (term 2) on a majority must not commit by counting');
  leader.raw.step({ ...ack, index: 5 });
  equal(leader.raft.log.committed, 5, 'the no-op of term 4 commits, and entry 4 with it');
});

test('§8 rule: a new leader appends a no-op entry of its term', () => {
  const h = new Harness([1, 2, 3]);
  const leader = h.elect(2);
  const last = leader.raft.log.lastIndex();
  const noop = leader.raft.log.slice(last, last + 1, 1000);
  ok(typeof noop !== 'string', 'the no-op is readable');
  deepEqual(noop.map((e) => [e.type, e.term]), [['noop', leader.raft.term]]);
  equal(leader.raft.log.committed, last, 'the no-op commits once replicated');
});

test('§5.4.1 rule: a node missing a committed entry cannot become leader, so the entry survives', () => {
  const h = new Harness([1, 2, 3]);
  h.elect(1);
  h.isolate(3);
  h.propose(1, 'committed');
  deepEqual(h.node(2).appliedData(), ['committed']);
  h.heal();
  h.isolate(1);
  h.elect(3);
  equal(h.node(3).raft.role === Role.leader, false, 'node 3 lacks a committed entry');
  h.elect(2);
  equal(h.node(2).raft.role, Role.leader);
  h.propose(2, 'next');
  deepEqual(h.node(3).appliedData(), ['committed', 'next']);
});

test('§5.1 rule: terms only grow, across restarts too (hard state is persisted)', () => {
  const h = new Harness([1, 2, 3]);
  h.elect(1);
  h.elect(2);
  const term = h.node(2).raft.term;
  const restarted = new TestNode(2, h.node(2).storage, {}, 99);
  equal(restarted.raft.term, term);
  equal(restarted.raft.vote, 2);
});
