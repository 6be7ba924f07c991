/**
 * Goal: a partition move is a sequence of single-server membership changes that keeps every
 * configuration's majorities overlapping with the next, never removes a voter while a target
 * replica is still a learner, never has the leader remove itself, and always ends at the target.
 * Method: the step function over every start set and target drawn from five brokers (leader any
 * start voter), followed with everyone caught up; then with learners lagging or no successor.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfChangeType, applyConfChange } from '../../../raft/core/index.js';
import type { ConfState } from '../../../raft/core/index.js';
import { nextReassignmentStep, reassignmentPlan } from '../../../src/partition/reassignment_steps.js';

const BROKERS = [1, 2, 3, 4, 5];

/** Every non-empty subset of ids, each in ascending order. */
function subsets(ids: readonly number[]): number[][] {
  const result: number[][] = [];
  for (let mask = 1; mask < 1 << ids.length; mask++) result.push(ids.filter((_, i) => (mask & (1 << i)) !== 0));
  return result;
}

function majority(count: number): number {
  return Math.floor(count / 2) + 1;
}

void describe('reassignment steps', () => {
  void test('the Kafka-shaped move 1,2,3 -> 2,3,4 led by 1: learner, promote, hand over, remove', () => {
    const steps = reassignmentPlan({ voters: [1, 2, 3], learners: [] }, [2, 3, 4], 1);
    assert.deepEqual(steps, [
      { kind: 'change', change: { type: ConfChangeType.addLearner, nodeId: 4 } },
      { kind: 'change', change: { type: ConfChangeType.promoteLearner, nodeId: 4 } },
      { kind: 'transferLeadership', to: 2 },
      { kind: 'change', change: { type: ConfChangeType.removeNode, nodeId: 1 } },
      { kind: 'done' },
    ]);
  });

  void test('every move among five brokers keeps majorities overlapping and ends at the target', () => {
    let moves = 0;
    for (const start of subsets(BROKERS)) {
      for (const target of subsets(BROKERS)) {
        for (const leader of start) {
          let conf: ConfState = { voters: start, learners: [] };
          let self = leader;
          const steps = reassignmentPlan(conf, target, leader);
          for (const step of steps) {
            if (step.kind === 'transferLeadership') {
              assert.ok(target.includes(step.to) && conf.voters.includes(step.to), 'hands over to a target voter');
              self = step.to;
              continue;
            }
            if (step.kind !== 'change') continue;
            const next = applyConfChange(conf, step.change);
            const changed = conf.voters.filter((id) => !next.voters.includes(id)).length +
              next.voters.filter((id) => !conf.voters.includes(id)).length;
            assert.ok(changed <= 1, 'one voter at a time');
            // With one voter added or removed, any majority of one overlaps any majority of the other.
            const overlapMin = majority(conf.voters.length) + majority(next.voters.length) -
              new Set([...conf.voters, ...next.voters]).size;
            assert.ok(overlapMin >= 1, `majorities of ${conf.voters.join()} and ${next.voters.join()} overlap`);
            if (step.change.type === ConfChangeType.removeNode && conf.voters.includes(step.change.nodeId)) {
              assert.notEqual(step.change.nodeId, self, 'the leader never removes itself');
              assert.deepEqual(conf.learners.filter((id) => target.includes(id)), [],
                'no voter leaves while a target replica is still a learner');
              assert.ok(target.every((id) => next.voters.includes(id)), 'the target voters all stay');
            }
            conf = next;
          }
          assert.deepEqual(steps.at(-1), { kind: 'done' });
          assert.deepEqual([...conf.voters].sort(), [...target].sort());
          assert.deepEqual(conf.learners, []);
          moves += 1;
        }
      }
    }
    assert.equal(moves, 31 * 80, 'every start set, target and leader');
  });

  void test('a lagging learner is not promoted, and a leader without a caught-up successor stays', () => {
    const lagging = nextReassignmentStep({ voters: [1, 2, 3], learners: [4] }, [2, 3, 4], 1, (id) => id !== 4);
    assert.deepEqual(lagging, { kind: 'waitForLearners', learners: [4] });
    const onlyLeaderLeaves = nextReassignmentStep({ voters: [1, 2, 3, 4], learners: [] }, [2, 3, 4], 1, () => false);
    assert.deepEqual(onlyLeaderLeaves, { kind: 'waitForSuccessor' });
    const stray = nextReassignmentStep({ voters: [1, 2, 3], learners: [5] }, [1, 2, 3], 1, () => true);
    assert.deepEqual(stray, { kind: 'change', change: { type: ConfChangeType.removeNode, nodeId: 5 } },
      'a learner outside the target is removed first');
  });

  void test('bad input to the step function is an assertion, not a silent plan', () => {
    assert.throws(() => nextReassignmentStep({ voters: [1], learners: [] }, [], 1, () => true));
    assert.throws(() => nextReassignmentStep({ voters: [1], learners: [] }, [2, 2], 1, () => true));
    assert.throws(() => nextReassignmentStep({ voters: [1], learners: [] }, [2], 3, () => true), 'a non-voter leads');
  });
});
