/**
 * Brokers that are not controller voters: which registered broker the controller leader makes a
 * learner next, and where a broker that does not lead sends its controller requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controllerTargets, nextLearner } from '../../../src/broker/controller_quorum.js';

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
