/**
 * Brokers that are not controller voters: which registered broker the controller leader makes a
 * learner next, which unregistered (decommissioned) learner it removes next, and where a broker
 * that does not lead sends its controller requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controllerTargets, learnerToRemove, nextLearner } from '../../../src/broker/controller_quorum.js';

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
