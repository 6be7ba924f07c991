/**
 * Goal: the membership nemesis's pure parts decide right. Its step choice keeps the broker count
 * within start..start+2 over long seeded walks (applying each chosen step to a model of the
 * cluster) and never decommissions or promotes a voter; a moved partition gets another set of
 * live brokers of the same size; command exits are classified as the harness records them; and
 * the replica split checks assigned replicas while setting aside what moves left behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededPrng } from '../../raft/core/prng.js';
import { splitByAssignment } from '../../jepsen/checker/replicas.js';
import type { ReplicaLogs } from '../../jepsen/history.js';
import { classifyExit } from '../../jepsen/nemesis/membership_commands.js';
import { brokersAfter, chooseMembershipStep, chooseNewReplicas, EXTRA_BROKERS_MAX, possibleSteps }
  from '../../jepsen/nemesis/membership_plan.js';
import type { MembershipState } from '../../jepsen/nemesis/membership_plan.js';

function startState(count: number, spareIds: number): MembershipState {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  return { startCount: count, brokers: ids, voters: ids, leaving: [], nextId: count + 1, spareIds, movable: false };
}

describe('membership steps', () => {
  test('a cluster of voters only cannot remove or promote without adding first', () => {
    const steps = possibleSteps(new SeededPrng(1), startState(3, 8));
    assert.deepEqual(steps.map((s) => s.kind).sort(), ['add', 'remove', 'replace-voter']);
    for (const step of steps) {
      if (step.kind === 'remove') assert.deepEqual([step.id, step.added], [4, true]);
      if (step.kind === 'replace-voter') assert.deepEqual([step.promote, step.added], [4, true]);
    }
  });

  test('at start + 2 nothing is added; a non-voter is removed or promoted as it is', () => {
    const state: MembershipState = { ...startState(3, 8), brokers: [1, 2, 3, 4, 5], nextId: 6, movable: true };
    const steps = possibleSteps(new SeededPrng(2), state);
    assert.deepEqual(steps.map((s) => s.kind).sort(), ['move', 'remove', 'replace-voter']);
    for (const step of steps) {
      if (step.kind === 'remove') assert.ok([4, 5].includes(step.id) && !step.added);
      if (step.kind === 'replace-voter') assert.ok([4, 5].includes(step.promote) && [1, 2, 3].includes(step.demote));
    }
  });

  test('a broker whose decommission went unanswered is neither removed again nor counted', () => {
    const state: MembershipState = { ...startState(3, 8), brokers: [1, 2, 3, 4], leaving: [4], nextId: 5 };
    const steps = possibleSteps(new SeededPrng(3), state);
    for (const step of steps) {
      if (step.kind === 'remove') assert.deepEqual([step.id, step.added], [5, true], 'only a new broker is removed');
      if (step.kind === 'replace-voter') assert.equal(step.promote, 5);
    }
  });

  test('with no spare id left and nothing to move, no step is possible', () => {
    assert.equal(chooseMembershipStep(new SeededPrng(4), startState(3, 0)), null);
  });

  test('seeded walks keep the broker count within start..start+2 and voters out of decommissions', () => {
    for (const start of [3, 5]) {
      for (let seed = 1; seed <= 20; seed += 1) {
        const prng = new SeededPrng(seed);
        let state: MembershipState = { ...startState(start, 12), movable: true };
        for (let round = 0; round < 40; round += 1) {
          const step = chooseMembershipStep(prng, state);
          if (step === null) break;
          const after = brokersAfter(state, step);
          assert.ok(after.length >= start && after.length <= start + EXTRA_BROKERS_MAX, `${seed}: ${after.length} brokers`);
          let { voters, nextId, spareIds } = state;
          if (step.kind === 'remove') assert.ok(!voters.includes(step.id), 'a voter is never decommissioned');
          if (step.kind === 'replace-voter') {
            assert.ok(!voters.includes(step.promote) && voters.includes(step.demote));
            voters = [...voters.filter((id) => id !== step.demote), step.promote];
          }
          if (step.kind === 'add' || ('added' in step && step.added)) {
            nextId += 1;
            spareIds -= 1;
          }
          assert.equal(voters.length, start, 'replacing a voter keeps the voter count');
          state = { ...state, brokers: after, voters, nextId, spareIds };
        }
        assert.ok(state.spareIds >= 0);
      }
    }
  });
});

describe('new replica sets', () => {
  test('same size, live brokers only, never the current set', () => {
    const prng = new SeededPrng(5);
    for (let i = 0; i < 200; i += 1) {
      const chosen = chooseNewReplicas(prng, [1, 2, 3], [1, 2, 3, 4]);
      assert.ok(chosen !== null);
      assert.equal(new Set(chosen).size, 3);
      assert.ok(chosen.every((id) => [1, 2, 3, 4].includes(id)));
      assert.notDeepEqual([...chosen].sort(), [1, 2, 3]);
    }
  });

  test('no other set exists: null', () => {
    assert.equal(chooseNewReplicas(new SeededPrng(6), [1, 2, 3], [3, 2, 1]), null);
    assert.equal(chooseNewReplicas(new SeededPrng(6), [1, 2, 3], [1, 2]), null);
  });
});

describe('command outcomes', () => {
  test('exit 0 ok; yargs complaints unsupported; other failures refused; a kill indeterminate', () => {
    assert.equal(classifyExit(0, ''), 'ok');
    assert.equal(classifyExit(1, 'tributary: name an action: status, elect-leaders, rebalance'), 'unsupported');
    assert.equal(classifyExit(1, 'tributary: Unknown arguments: id, bootstrap, add'), 'unsupported');
    assert.equal(classifyExit(1, 'tributary: INVALID_REQUEST: broker 1 is a controller voter'), 'refused');
    assert.equal(classifyExit(null, ''), 'indeterminate');
  });
});

describe('replicas after membership changes', () => {
  const log = (values: number[]): { logStart: number; values: number[] } => ({ logStart: 0, values });
  const replicas: ReplicaLogs = {
    0: { 1: log([1, 2]), 2: log([1, 2]), 4: log([9]) },
    1: { 1: log([5]), 3: log([5]) },
  };

  test('assigned replicas are checked, moved-away ones set aside, absent ones named', () => {
    const split = splitByAssignment(replicas, new Map([[0, [1, 2, 5]]]));
    assert.deepEqual(Object.keys(split.current['0'] ?? {}), ['1', '2']);
    assert.deepEqual(Object.keys(split.departed['0'] ?? {}), ['4']);
    assert.deepEqual(Object.keys(split.current['1'] ?? {}), ['1', '3'], 'an unknown assignment keeps every replica');
    assert.deepEqual(split.missing, [{ key: 0, broker: 5 }]);
  });
});
