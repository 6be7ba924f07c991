/**
 * Goal: log replication follows the Raft paper §5.3, with the durability order of DESIGN.md and
 * the pipelining/back-off of the thesis. Method: drive a Harness or single RawNodes, take Ready
 * batches by hand where the order matters, and check logs, commit indexes and messages.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { MessageType, Role } from '../../raft/core/index.js';
import { Harness, TestNode, appendRequests, appendResponses, bootstrappedStorage, encode, entry } from './harness.js';

/** A follower of a 3-node group whose log after the bootstrap entries has the given terms. */
function followerWithLog(terms: readonly number[], term: number): TestNode {
  const storage = bootstrappedStorage([1, 2, 3]);
  storage.append(terms.map((t, i) => entry(4 + i, t)));
  storage.setHardState({ term, vote: 0, commit: 3 });
  const node = new TestNode(2, storage, {}, 2);
  node.drain();
  return node;
}

function logTerms(node: TestNode): number[] {
  const terms: number[] = [];
  const log = node.raft.log;
  for (let index = 1; index <= log.lastIndex(); index++) terms.push(log.termOrZero(index));
  return terms;
}

test('§5.3 rule: the leader appends a proposal and sends AppendEntries with the preceding index and ' +
  'term', () => {
  const h = new Harness([1, 2, 3]);
  const leader = h.elect(1);
  const before = leader.raft.log.lastIndex();
  const result = leader.raw.propose(encode('x'));
  deepEqual(result, { kind: 'accepted', index: before + 1, term: leader.raft.term });
  const ready = leader.raw.ready();
  deepEqual(ready.entries.map((e) => e.index), [before + 1]);
  const appends = appendRequests(ready.messages);
  deepEqual(appends.map((m) => m.to).sort(), [2, 3]);
  for (const m of appends) deepEqual([m.prevLogIndex, m.prevLogTerm], [before, leader.raft.term]);
});

test('§5.3 rule: an entry commits once a majority stored it, and the leader counts itself only when ' +
  'durable', () => {
  const h = new Harness([1, 2, 3]);
  const leader = h.elect(1);
  const index = leader.raw.propose(encode('x'));
  ok(index.kind === 'accepted');
  const leaderReady = leader.raw.ready();
  const toTwo = appendRequests(leaderReady.messages).find((m) => m.to === 2)!;
  h.node(2).raw.step(toTwo);
  for (const m of h.node(2).drain()) leader.raw.step(m);
  equal(leader.raft.log.committed < index.index, true, 'one follower alone is not a majority');
  leader.persistReady(leaderReady);
  equal(leader.raft.log.committed, index.index, 'the durable leader plus one follower commit');
});

test('§5.3 rule: committing an entry commits all preceding ones, and followers apply them in order', () => {
  const h = new Harness([1, 2, 3]);
  h.elect(1);
  h.cut(1, 2);
  h.cut(1, 3);
  for (const text of ['a', 'b', 'c']) h.propose(1, text);
  equal(h.node(1).appliedData().length, 0);
  h.heal();
  h.tickAll(2);
  for (const node of h.nodes.values()) deepEqual(node.appliedData(), ['a', 'b', 'c']);
});

test('§5.3 rule: a follower rejects AppendEntries whose preceding entry does not match, with a ' +
  'back-off hint', () => {
  const follower = followerWithLog([2, 2], 3);
  const base = { type: MessageType.appendRequest, groupId: 1, from: 1, to: 2, term: 3, entries: [],
    commitIndex: 3 } as const;
  follower.raw.step({ ...base, prevLogIndex: 5, prevLogTerm: 3 });
  follower.raw.step({ ...base, prevLogIndex: 9, prevLogTerm: 3 });
  const rejects = appendResponses(follower.drain());
  deepEqual(rejects.map((m) => [m.success, m.index, m.hintIndex, m.hintTerm]), [
    [false, 5, 5, 2],
    [false, 9, 5, 2],
  ]);
});

test('§5.3 rule: a follower deletes a conflicting entry and all that follow it, then appends the ' +
  'new ones', () => {
  const follower = followerWithLog([2, 2, 2], 3);
  follower.raw.step({ type: MessageType.appendRequest, groupId: 1, from: 1, to: 2, term: 3, prevLogIndex: 4,
    prevLogTerm: 2, entries: [entry(5, 3)], commitIndex: 3 });
  const ready = follower.raw.ready();
  deepEqual(ready.entries.map((e) => [e.index, e.term]), [[5, 3]]);
  follower.persistReady(ready);
  deepEqual(logTerms(follower), [1, 1, 1, 2, 3]);
});

test('durability rule: a follower acknowledges entries only after they are durable', () => {
  const follower = followerWithLog([], 2);
  follower.raw.step({ type: MessageType.appendRequest, groupId: 1, from: 1, to: 2, term: 2, prevLogIndex: 3,
    prevLogTerm: 1, entries: [entry(4, 2)], commitIndex: 3 });
  const ready = follower.raw.ready();
  equal(appendResponses(ready.messages).length, 0, 'no ack before the entries are persisted');
  deepEqual(ready.entries.map((e) => e.index), [4]);
  follower.persistReady(ready);
  const acks = appendResponses(follower.drain());
  deepEqual(acks.map((m) => [m.success, m.index]), [[true, 4]]);
});

test('§5.3 rule: the leader brings divergent follower logs in line with its own (Figure 7)', () => {
  const h = new Harness([1, 2, 3]);
  // Node 1: the longest log of the latest term; node 2 is missing entries; node 3 has extra entries
  // of an older term that were never committed.
  h.node(1).storage.append([entry(4, 2), entry(5, 2), entry(6, 4), entry(7, 4)]);
  h.node(2).storage.append([entry(4, 2)]);
  h.node(3).storage.append([entry(4, 2), entry(5, 3), entry(6, 3), entry(7, 3), entry(8, 3)]);
  for (const id of [1, 2, 3]) h.node(id).storage.setHardState({ term: 4, vote: 0, commit: 3 });
  const fresh = new Harness([1, 2, 3]);
  for (const id of [1, 2, 3]) fresh.add(id, h.node(id).storage);
  const leader = fresh.elect(1);
  equal(leader.raft.role, Role.leader);
  fresh.propose(1, 'x');
  fresh.tickAll(2);
  const expected = logTerms(leader);
  deepEqual(expected.slice(3, 7), [2, 2, 4, 4]);
  for (const id of [2, 3]) deepEqual(logTerms(fresh.node(id)), expected);
});

test('back-off rule: the conflict hint skips a whole term of mismatching entries in one round trip', () => {
  const h = new Harness([1, 2, 3]);
  h.node(1).storage.append([entry(4, 2)]);
  h.node(3).storage.append(Array.from({ length: 30 }, (_, i) => entry(4 + i, 3)));
  h.node(3).storage.setHardState({ term: 3, vote: 0, commit: 3 });
  for (const id of [1, 2]) h.node(id).storage.setHardState({ term: 5, vote: 0, commit: 3 });
  const fresh = new Harness([1, 2, 3]);
  for (const id of [1, 2, 3]) fresh.add(id, h.node(id).storage);
  fresh.cut(1, 3);
  const leader = fresh.elect(1);
  fresh.heal();
  let rejections = 0;
  const original = fresh.deliver.bind(fresh);
  fresh.deliver = (m) => {
    if (m.type === MessageType.appendResponse && !m.success && m.from === 3) rejections += 1;
    original(m);
  };
  leader.raw.tick();
  fresh.stabilize();
  ok(rejections <= 2, `took ${rejections} rejections`);
  deepEqual(logTerms(fresh.node(3)), logTerms(leader));
});

test('pipelining rule: a follower that does not answer has at most inflightMessagesMax appends in ' +
  'flight', () => {
  const h = new Harness([1, 2, 3], { inflightMessagesMax: 2 });
  const leader = h.elect(1);
  h.cutOneWay(2, 1);
  for (let i = 0; i < 3; i++) {
    leader.raw.propose(encode(`p${i}`));
    h.stabilize();
  }
  h.queue.length = 0;
  for (let i = 0; i < 5; i++) leader.raw.propose(encode(`q${i}`));
  const toTwo = appendRequests(leader.drain()).filter((m) => m.to === 2 && m.entries.length > 0);
  ok(toTwo.length <= 2, `${toTwo.length} appends in flight`);
  equal(leader.raft.tracker.progress.get(2)?.inflights.count(), 2);
});

test('§5.3 rule: a proposal to a follower is refused with a hint naming the leader', () => {
  const h = new Harness([1, 2, 3]);
  h.elect(1);
  deepEqual(h.node(2).raw.propose(encode('x')), { kind: 'not_leader', leaderId: 1 });
});

test('back-pressure rule: a leader drops proposals beyond uncommittedBytesMax', () => {
  const h = new Harness([1, 2, 3], { uncommittedBytesMax: 100, appendBytesMax: 50 });
  const leader = h.elect(1);
  h.isolate(1);
  const results = Array.from({ length: 5 }, () => leader.raw.propose(new Uint8Array(30)).kind);
  ok(results.includes('dropped'), results.join(','));
  equal(results[0], 'accepted');
});

test('broadcastCommit off: a commit sends no empty appends; followers learn it from the next heartbeat', () => {
  for (const broadcastCommit of [true, false]) {
    const h = new Harness([1, 2, 3], { broadcastCommit });
    const leader = h.elect(1);
    const result = leader.raw.propose(encode('x'));
    ok(result.kind === 'accepted');
    // The proposal's appends reach both followers; their responses commit the entry.
    const appends = appendRequests(leader.drain());
    equal(appends.length, 2);
    const responses = appends.flatMap((m) => {
      h.node(m.to).raw.step(m);
      return appendResponses(h.node(m.to).drain());
    });
    for (const m of responses) leader.raw.step(m);
    equal(leader.raft.log.committed, result.index, 'committed on the leader either way');
    const notices = appendRequests(leader.drain());
    if (broadcastCommit) {
      deepEqual(notices.map((m) => [m.to, m.entries.length, m.commitIndex]).sort(),
        [[2, 0, result.index], [3, 0, result.index]], 'an empty append tells each follower at once');
      continue;
    }
    equal(notices.length, 0, 'nothing is sent for the commit alone');
    equal(h.node(2).raft.log.committed < result.index, true, 'the follower has not learned it yet');
    h.tickAll(2); // a heartbeat interval in the harness's ticks
    for (const id of [2, 3]) {
      equal(h.node(id).raft.log.committed, result.index, `follower ${id} learned the commit from a heartbeat`);
      deepEqual(h.node(id).appliedData(), ['x']);
    }
  }
});
