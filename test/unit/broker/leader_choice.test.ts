/**
 * Whom a leader hands its leadership to: on the way out, the most caught-up follower that can take
 * over (voter, available, holding every committed entry), ties to the replica order; for
 * preferred-leader election, the first replica when it is not the leader and can take over, and
 * why not otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseTransferTarget, decidePreferredLeader, describeTakeOverProblem, takeOverProblem }
  from '../../../src/broker/leader_choice.js';
import type { LeadershipView, PeerAvailability } from '../../../src/broker/leader_choice.js';

/** Broker 1 leads voters 1, 2, 3 with commit 100; matches and availability as given. */
function view(matches: Record<number, number>, availability: Record<number, PeerAvailability> = {},
  voters: readonly number[] = [1, 2, 3]): LeadershipView {
  return { self: 1, voters, commitIndex: 100,
    matchIndexes: new Map(Object.entries(matches).map(([id, match]) => [Number(id), match])),
    availability: (id) => availability[id] ?? 'available' };
}

describe('takeOverProblem', () => {
  it('names what keeps a follower from taking over, checking membership, availability, then sync', () => {
    const v = view({ 1: 120, 2: 100, 3: 99 }, { 4: 'available' }, [1, 2, 3]);
    assert.equal(takeOverProblem(v, 2), null, 'at the commit index is in sync');
    assert.equal(takeOverProblem(v, 3), 'behind', 'one entry short of the commit index is behind');
    assert.equal(takeOverProblem(v, 4), 'not_a_voter');
    for (const availability of ['unregistered', 'fenced', 'unreachable', 'leaving'] as const) {
      assert.equal(takeOverProblem(view({ 2: 120 }, { 2: availability }), 2), availability);
    }
    assert.equal(takeOverProblem(view({}), 2), 'behind', 'a follower with no match known is behind');
    assert.throws(() => takeOverProblem(v, 1), /does not hand leadership to itself/);
  });
});

describe('chooseTransferTarget', () => {
  const choose = (v: LeadershipView, preference: readonly number[] = [1, 2, 3], excluded: readonly number[] = []):
    number | null => chooseTransferTarget({ ...v, preference, excluded: new Set(excluded) });

  it('picks the follower with the highest match index among those in sync', () => {
    assert.equal(choose(view({ 1: 130, 2: 101, 3: 125 })), 3);
    assert.equal(choose(view({ 1: 130, 2: 125, 3: 101 })), 2);
    assert.equal(choose(view({ 1: 130, 2: 125, 3: 99 }), [3, 2, 1]), 2, 'a follower behind is never picked');
  });

  it('breaks a tie by the replica order, then by the lower id', () => {
    assert.equal(choose(view({ 2: 110, 3: 110 }), [3, 1, 2]), 3);
    assert.equal(choose(view({ 2: 110, 3: 110 }), [1, 2, 3]), 2);
    assert.equal(choose(view({ 2: 110, 3: 110 }), []), 2, 'neither in the order: the lower id');
    assert.equal(choose(view({ 2: 110, 3: 110 }), [3]), 3, 'one in the order goes before one that is not');
  });

  it('skips followers that are unavailable, excluded or not voters, and returns null when none is left', () => {
    assert.equal(choose(view({ 2: 130, 3: 110 }, { 2: 'leaving' })), 3);
    assert.equal(choose(view({ 2: 130, 3: 110 }, { 2: 'unreachable' })), 3);
    assert.equal(choose(view({ 2: 130, 3: 110 }), [1, 2, 3], [2]), 3);
    assert.equal(choose(view({ 2: 130, 3: 110, 4: 200 }, {}, [1, 2, 3])), 2, 'a learner or stranger is not picked');
    assert.equal(choose(view({ 2: 130, 3: 110 }, { 2: 'leaving', 3: 'fenced' })), null);
    assert.equal(choose(view({ 2: 50, 3: 60 })), null, 'every follower behind');
    assert.equal(choose(view({}, {}, [1])), null, 'a single voter has nobody to hand over to');
  });
});

describe('decidePreferredLeader', () => {
  it('transfers to the first replica when it is not the leader and can take over', () => {
    assert.deepEqual(decidePreferredLeader({ ...view({ 2: 100, 3: 100 }), replicas: [2, 3, 1] }),
      { kind: 'transfer', target: 2 });
    assert.deepEqual(decidePreferredLeader({ ...view({ 2: 90, 3: 100 }), replicas: [3, 1, 2] }),
      { kind: 'transfer', target: 3 }, 'the others need not be in sync');
  });

  it('is not needed when the leader is the first replica, whatever the others', () => {
    assert.deepEqual(decidePreferredLeader({ ...view({ 2: 0, 3: 0 }, { 2: 'fenced' }), replicas: [1, 2, 3] }),
      { kind: 'not_needed' });
    assert.deepEqual(decidePreferredLeader({ ...view({}, {}, [1]), replicas: [1] }), { kind: 'not_needed' });
  });

  it('keeps the leadership, saying why, when the preferred replica cannot take over', () => {
    assert.deepEqual(decidePreferredLeader({ ...view({ 2: 99, 3: 130 }), replicas: [2, 3, 1] }),
      { kind: 'unavailable', preferred: 2, problem: 'behind' }, 'not another replica instead');
    assert.deepEqual(decidePreferredLeader({ ...view({ 2: 130 }, { 2: 'leaving' }), replicas: [2, 1, 3] }),
      { kind: 'unavailable', preferred: 2, problem: 'leaving' });
    assert.deepEqual(decidePreferredLeader({ ...view({ 2: 130 }, {}, [1, 3]), replicas: [2, 1, 3] }),
      { kind: 'unavailable', preferred: 2, problem: 'not_a_voter' }, 'a replica list ahead of the group membership');
    assert.throws(() => decidePreferredLeader({ ...view({}), replicas: [] }), /at least one replica/);
  });

  it('describes each problem in words naming the broker', () => {
    for (const problem of ['not_a_voter', 'unregistered', 'fenced', 'unreachable', 'leaving', 'behind'] as const) {
      assert.match(describeTakeOverProblem(7, problem), /^broker 7 /);
    }
  });
});
