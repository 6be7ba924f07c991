/**
 * Goal: membership changes one server at a time (paper §6, thesis §4): learners replicate but
 * never vote or count, promotion and removal change the quorum, only one change is in flight, and
 * a removed leader steps down. Method: Harness with a spare empty node that joins by conf changes.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { ConfChangeType, Role } from '../../raft/core/index.js';
import { Harness } from './harness.js';

function clusterWithLearner(): Harness {
  const h = new Harness([1, 2, 3], {}, [4]);
  h.elect(1);
  const result = h.node(1).raw.proposeConfChange({ type: ConfChangeType.addLearner, nodeId: 4 });
  equal(result.kind, 'accepted');
  h.stabilize();
  h.tickAll(3);
  return h;
}

test('§6 rule: a new node learns the membership from the log and catches up as a learner', () => {
  const h = clusterWithLearner();
  h.propose(1, 'a');
  h.tickAll(2);
  deepEqual(h.node(4).appliedData(), ['a']);
  deepEqual(h.node(4).raw.confState(), { voters: [1, 2, 3], learners: [4] });
});

test('§6 rule: a learner neither counts towards commit nor campaigns', () => {
  const h = clusterWithLearner();
  h.cut(1, 2);
  h.cut(1, 3);
  h.propose(1, 'b');
  equal(h.node(1).appliedData().includes('b'), false, 'leader + learner are not a majority');
  const term = h.node(4).raft.term;
  h.tick(4, 100);
  equal(h.node(4).raft.role, Role.follower);
  equal(h.node(4).raft.term, term);
});

test('§6 rule: a promoted learner counts towards the quorum', () => {
  const h = clusterWithLearner();
  equal(h.node(1).raw.proposeConfChange({ type: ConfChangeType.promoteLearner, nodeId: 4 }).kind, 'accepted');
  h.stabilize();
  h.tickAll(2);
  deepEqual(h.node(1).raw.confState(), { voters: [1, 2, 3, 4], learners: [] });
  h.cut(1, 2);
  h.propose(1, 'c');
  h.tickAll(2);
  ok(h.node(1).appliedData().includes('c'), '1, 3 and 4 are a majority of four');
});

test('§6 rule: only one membership change is in flight at a time', () => {
  const h = new Harness([1, 2, 3], {}, [4, 5]);
  h.elect(1);
  const leader = h.node(1).raw;
  equal(leader.proposeConfChange({ type: ConfChangeType.addLearner, nodeId: 4 }).kind, 'accepted');
  deepEqual(leader.proposeConfChange({ type: ConfChangeType.addLearner, nodeId: 5 }),
    { kind: 'dropped', reason: 'conf_change_pending' });
  h.stabilize();
  equal(leader.proposeConfChange({ type: ConfChangeType.addLearner, nodeId: 5 }).kind, 'accepted');
  deepEqual(leader.proposeConfChange({ type: ConfChangeType.removeNode, nodeId: 9 }).kind, 'dropped');
});

test('§6 rule: removing a voter shrinks the quorum; a removed leader steps down', () => {
  const h = new Harness([1, 2, 3]);
  h.elect(1);
  equal(h.node(1).raw.proposeConfChange({ type: ConfChangeType.removeNode, nodeId: 3 }).kind, 'accepted');
  h.stabilize();
  h.tickAll(2);
  deepEqual(h.node(2).raw.confState(), { voters: [1, 2], learners: [] });
  equal(h.node(1).raw.proposeConfChange({ type: ConfChangeType.removeNode, nodeId: 1 }).kind, 'accepted');
  h.stabilize();
  equal(h.node(1).raft.role, Role.follower, 'the removed leader steps down');
  h.tickAll(25);
  equal(h.node(2).raft.role, Role.leader, 'the remaining voter takes over');
  h.propose(2, 'alone');
  ok(h.node(2).appliedData().includes('alone'));
});
