/**
 * Brokers that are not controller voters: which registered broker the controller leader makes a
 * learner next, which unregistered (decommissioned) learner it removes next, and where a broker
 * that does not lead sends its controller requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addVoterProblem, controllerTargets, leadershipHeir, learnerToRemove, nextLearner, removeVoterProblem,
  silentMembers } from '../../../src/broker/controller_quorum.js';

void describe('nextLearner', () => {
  it('picks the lowest registered broker that is neither voter nor learner', () => {
    const conf = { voters: [1, 2, 3], learners: [5] };
    assert.equal(nextLearner([3, 7, 5, 4, 1, 2], conf), 4);
    assert.equal(nextLearner([1, 2, 3, 5, 7], conf), 7);
  });

  it('adds nobody when every registered broker is a member, or none is registered', () => {
    assert.equal(nextLearner([1, 2, 3, 4], { voters: [1, 2, 3], learners: [4] }), undefined);
    assert.equal(nextLearner([], { voters: [1, 2, 3], learners: [] }), undefined);
    assert.equal(nextLearner([2, 1], { voters: [1, 2], learners: [] }), undefined,
      'a voter is never added as a learner');
  });
});

void describe('learnerToRemove', () => {
  const silence = (quietMs: ReadonlyMap<number, number>) => (id: number): number => quietMs.get(id) ?? Infinity;

  it('removes the lowest unregistered learner once it has been silent long enough', () => {
    const conf = { voters: [1, 2, 3], learners: [4, 5, 6] };
    assert.equal(learnerToRemove([1, 2, 3, 4], conf, silence(new Map([[5, 3_000], [6, 3_000]])), 3_000), 5);
    assert.equal(learnerToRemove([1, 2, 3, 4], conf, silence(new Map([[5, 100], [6, 5_000]])), 3_000), 6);
    assert.equal(learnerToRemove([1, 2, 3], { voters: [1, 2, 3], learners: [4] }, silence(new Map()), 3_000), 4,
      'never heard from: silent');
  });

  it('keeps an unregistered learner still talking: it has not seen its unregistration yet', () => {
    assert.equal(learnerToRemove([1, 2, 3], { voters: [1, 2, 3], learners: [4] }, silence(new Map([[4, 2_999]])),
      3_000), undefined);
  });

  it('keeps registered learners however silent (down, or registered again after a decommission), and never voters', () => {
    assert.equal(learnerToRemove([1, 2, 3, 4], { voters: [1, 2, 3], learners: [4] }, silence(new Map()), 3_000),
      undefined);
    assert.equal(learnerToRemove([4], { voters: [1, 2, 3], learners: [4] }, silence(new Map()), 3_000), undefined,
      'an unregistered voter is not a learner to remove');
  });
});

void describe('controllerTargets', () => {
  it('goes to the known leader only', () => {
    assert.deepEqual(controllerTargets(4, 2, [1, 2, 3]), [2]);
    assert.deepEqual(controllerTargets(1, 3, [1, 2, 3]), [3]);
  });

  it('goes to every voter but itself while no leader is known (a non-voter not yet a learner)', () => {
    assert.deepEqual(controllerTargets(4, 0, new Map([[3, 'c'], [1, 'a'], [2, 'b']]).keys()), [1, 2, 3]);
    assert.deepEqual(controllerTargets(2, 0, [1, 2, 3]), [1, 3]);
    assert.deepEqual(controllerTargets(2, 2, [1, 2, 3]), [1, 3], 'itself as leader but not leading: the others');
  });
});

void describe('addVoterProblem', () => {
  const conf = { voters: [1, 2, 3], learners: [4, 5] };
  const live = { fenced: false, matchIndex: 100 };

  it('accepts a registered, live learner within the catch-up bound', () => {
    assert.equal(addVoterProblem(conf, 4, live, 100, 64), undefined);
    assert.equal(addVoterProblem(conf, 4, { fenced: false, matchIndex: 36 }, 100, 64), undefined);
  });

  it('refuses a voter, an unregistered or fenced broker with their own codes', () => {
    assert.equal(addVoterProblem(conf, 2, live, 100, 64)?.code, 'DUPLICATE_VOTER');
    assert.equal(addVoterProblem(conf, 9, { fenced: undefined, matchIndex: 0 }, 100, 64)?.code,
      'BROKER_ID_NOT_REGISTERED');
    assert.equal(addVoterProblem(conf, 5, { fenced: true, matchIndex: 100 }, 100, 64)?.code, 'BROKER_NOT_AVAILABLE');
    assert.equal(addVoterProblem(conf, 0, live, 100, 64)?.code, 'INVALID_REQUEST');
    assert.equal(addVoterProblem(conf, 1.5, live, 100, 64)?.code, 'INVALID_REQUEST');
  });

  it('answers retriably while the broker is not a learner yet or lags', () => {
    const notLearner = addVoterProblem({ voters: [1], learners: [] }, 4, live, 100, 64);
    assert.equal(notLearner?.code, 'REQUEST_TIMED_OUT');
    assert.match(notLearner.message, /not a controller learner yet/);
    const lagging = addVoterProblem(conf, 4, { fenced: false, matchIndex: 35 }, 100, 64);
    assert.equal(lagging?.code, 'REQUEST_TIMED_OUT');
    assert.match(lagging.message, /65 metadata entries behind/);
  });
});

void describe('removeVoterProblem', () => {
  it('accepts any voter while another one stays', () => {
    assert.equal(removeVoterProblem({ voters: [1, 2], learners: [3] }, 1), undefined);
    assert.equal(removeVoterProblem({ voters: [1, 2, 3], learners: [] }, 3), undefined);
  });

  it('refuses a learner or a stranger (VOTER_NOT_FOUND) and the last voter (INVALID_REQUEST)', () => {
    assert.equal(removeVoterProblem({ voters: [1, 2], learners: [3] }, 3)?.code, 'VOTER_NOT_FOUND');
    assert.equal(removeVoterProblem({ voters: [1, 2], learners: [3] }, 7)?.code, 'VOTER_NOT_FOUND');
    const last = removeVoterProblem({ voters: [2], learners: [1] }, 2);
    assert.equal(last?.code, 'INVALID_REQUEST');
    assert.match(last.message, /last controller voter/);
  });
});

void describe('leadershipHeir', () => {
  const conf = { voters: [1, 2, 3, 4], learners: [5] };
  const matches = new Map([[1, 100], [2, 90], [3, 100], [4, 100], [5, 100]]);
  const match = (id: number): number => matches.get(id) ?? 0;

  it('picks the most caught-up live voter other than the leader, lowest id on ties', () => {
    assert.equal(leadershipHeir(conf, 1, match, () => true, 100, 64), 3);
    assert.equal(leadershipHeir(conf, 3, match, () => true, 100, 64), 1);
    assert.equal(leadershipHeir(conf, 1, match, (id) => id !== 3, 100, 64), 4);
  });

  it('never picks a learner, a silent voter or one beyond the catch-up bound', () => {
    assert.equal(leadershipHeir(conf, 1, match, (id) => id === 5, 100, 64), undefined);
    assert.equal(leadershipHeir({ voters: [1, 2], learners: [] }, 1, match, () => true, 200, 64), undefined);
    assert.equal(leadershipHeir({ voters: [1, 2], learners: [] }, 1, match, () => true, 150, 64), 2);
    assert.equal(leadershipHeir({ voters: [1], learners: [] }, 1, match, () => true, 100, 64), undefined);
  });
});

void describe('silentMembers', () => {
  it('lists the voters and learners not heard from lately, never the leader itself', () => {
    const heard = new Map([[2, 9_900], [3, 8_000], [5, 9_500]]);
    const conf = { voters: [1, 2, 3], learners: [4, 5] };
    assert.deepEqual(silentMembers(conf, 1, (id) => heard.get(id), 10_000, 1_000), [3, 4]);
    assert.deepEqual(silentMembers({ voters: [1], learners: [] }, 1, () => undefined, 10_000, 1_000), []);
  });
});
