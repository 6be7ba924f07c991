/**
 * Goal: the thesis extensions behave as specified: PreVote (§9.6), CheckQuorum and the leader
 * lease (§6.2, §4.2.3), leadership transfer (§3.10), ReadIndex (§6.4), and snapshots with
 * InstallSnapshot (paper §7). Method: Harness scenarios with cut links and ticks.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, MessageType, Role } from '../../raft/core/index.js';
import { Harness } from './harness.js';

const robust = { preVote: true, checkQuorum: true } as const;

test('PreVote rule: a partitioned node does not raise its term, and does not disrupt the leader on ' +
  'return', () => {
  const h = new Harness([1, 2, 3], robust);
  h.elect(1);
  const term = h.node(1).raft.term;
  h.isolate(3);
  h.tickAll(100);
  equal(h.node(3).raft.term, term, 'pre-votes fail without incrementing the term');
  equal(h.node(3).raft.role, Role.preCandidate);
  h.heal();
  h.tickAll(5);
  equal(h.node(1).raft.role, Role.leader);
  equal(h.node(1).raft.term, term);
});

test('CheckQuorum rule: a leader that hears from no majority for an election timeout steps down', () => {
  const h = new Harness([1, 2, 3], robust);
  h.elect(1);
  h.isolate(1);
  h.tickAll(25);
  equal(h.node(1).raft.role === Role.leader, false, 'the isolated leader stepped down');
  const leaders = [2, 3].filter((id) => h.node(id).raft.role === Role.leader);
  equal(leaders.length, 1, 'the majority side elected a new leader');
});

test('leader lease rule: with CheckQuorum, a follower that heard from the leader recently ignores ' +
  'votes', () => {
  const h = new Harness([1, 2, 3], robust);
  h.elect(1);
  const term = h.node(2).raft.term;
  h.node(2).raw.step({ type: MessageType.voteRequest, groupId: 1, from: 3, to: 2, term: term + 1,
    preVote: false,
    lastLogIndex: 100, lastLogTerm: term, transfer: false });
  equal(h.node(2).raft.term, term);
  equal(h.node(2).drain().filter((m) => m.type === MessageType.voteResponse).length, 0);
});

test('transfer rule: leadership moves to an up-to-date target via TimeoutNow; proposals pause ' +
  'meanwhile', () => {
  const h = new Harness([1, 2, 3], robust);
  h.elect(1);
  h.propose(1, 'before');
  const oldTerm = h.node(1).raft.term;
  equal(h.node(1).raw.transferLeadership(2).kind, 'accepted');
  deepEqual(h.node(1).raw.propose(new Uint8Array(1)), { kind: 'dropped', reason: 'transferring_leadership' });
  h.stabilize();
  equal(h.node(2).raft.role, Role.leader);
  ok(h.node(2).raft.term > oldTerm);
  equal(h.node(1).raft.role, Role.follower);
  h.propose(2, 'after');
  h.tickAll(2);
  deepEqual(h.node(3).appliedData(), ['before', 'after']);
});

test('transfer rule: a transfer to a non-voter is refused, and an unfinished one is abandoned', () => {
  const h = new Harness([1, 2, 3], robust);
  h.elect(1);
  equal(h.node(1).raw.transferLeadership(7).kind, 'dropped');
  h.isolate(2);
  equal(h.node(1).raw.transferLeadership(2).kind, 'accepted');
  h.cut(1, 2);
  h.tickAll(12);
  equal(h.node(1).raft.role, Role.leader);
  equal(h.node(1).raft.leadTransferee, 0, 'abandoned after an election timeout');
});

test('ReadIndex rule: a read is released only after a heartbeat round confirms leadership', () => {
  const h = new Harness([1, 2, 3], robust);
  h.elect(1);
  h.propose(1, 'x');
  const leader = h.node(1);
  h.isolate(1);
  equal(leader.raw.readIndex(7).kind, 'accepted');
  h.stabilize();
  equal(leader.readStates.length, 0, 'no confirmation without a majority');
  h.heal();
  leader.raw.tick();
  h.stabilize();
  deepEqual(leader.readStates, [{ context: 7, index: leader.raft.log.committed }]);
  deepEqual(h.node(2).raw.readIndex(8), { kind: 'not_leader', leaderId: 1 });
});

test('§7 rule: a follower behind the leader log start receives a snapshot and then the remaining ' +
  'entries', () => {
  const h = new Harness([1, 2, 3], robust, [4]);
  h.elect(1);
  for (let i = 0; i < 5; i++) h.propose(1, `p${i}`);
  const leader = h.node(1);
  const applied = leader.raft.log.applied;
  leader.storage.createSnapshot(applied, leader.raw.confState(), new Uint8Array([1, 2, 3]));
  equal(leader.raft.log.firstIndex(), applied + 1);
  equal(leader.raw.proposeConfChange({ type: ConfChangeType.addLearner, nodeId: 4 }).kind, 'accepted');
  h.stabilize();
  h.tickAll(5);
  const learner = h.node(4);
  equal(learner.storage.snapshot().metadata.index, applied, 'the learner installed the snapshot');
  deepEqual([...learner.storage.snapshot().data], [1, 2, 3]);
  h.propose(1, 'after');
  h.tickAll(2);
  deepEqual(learner.appliedData(), ['after']);
  deepEqual(learner.raw.confState(), { voters: [1, 2, 3], learners: [4] });
});
