/**
 * Goal: with --auto-rebalance the controller leader makes the plan only some quiet seconds after a
 * broker arrived, never while a move is under way or a broker holding replicas is down, elects
 * preferred leaders once its moves are done, and a new controller leader does not take the brokers
 * it finds for arrivals. Method: the pure decision stepped through time by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AUTO_REBALANCE_DELAY_MS, AUTO_REBALANCE_IDLE, nextAutoRebalance } from '../../../src/controller/auto_rebalance.js';
import type { AutoRebalanceAction, AutoRebalanceState, AutoRebalanceView } from '../../../src/controller/auto_rebalance.js';

/** Steps the decision over views in turn; the actions taken, by step. */
function run(views: readonly Partial<AutoRebalanceView>[], start: AutoRebalanceState = AUTO_REBALANCE_IDLE):
  { actions: AutoRebalanceAction[]; state: AutoRebalanceState } {
  let state = start;
  const actions: AutoRebalanceAction[] = [];
  for (const view of views) {
    const next = nextAutoRebalance(state, { nowMs: 0, eligibleBrokers: [1, 2, 3], downBrokersHoldingReplicas: 0,
      movesUnderWay: 0, ...view });
    state = next.state;
    actions.push(next.action);
  }
  return { actions, state };
}

const D = AUTO_REBALANCE_DELAY_MS;

void describe('auto rebalance decision', () => {
  void test('a broker joining starts the plan after the quiet period; leaders are elected once moves are done', () => {
    const { actions, state } = run([
      { nowMs: 0 },
      { nowMs: 1_000, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: 1_000 + D - 1, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: 1_000 + D, eligibleBrokers: [4, 3, 2, 1] },
      { nowMs: 1_000 + D + 100, eligibleBrokers: [1, 2, 3, 4], movesUnderWay: 4 },
      { nowMs: 1_000 + D + 200, eligibleBrokers: [1, 2, 3, 4], movesUnderWay: 1 },
      { nowMs: 1_000 + D + 300, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: 1_000 + 10 * D, eligibleBrokers: [1, 2, 3, 4] },
    ]);
    assert.deepEqual(actions, [null, null, null, 'plan', null, null, 'elect', null]);
    assert.deepEqual(state, { seen: [1, 2, 3, 4], dueAtMs: null, moving: false });
  });

  void test('nothing happens without an arrival: a first look, a broker leaving, time passing', () => {
    const { actions } = run([
      { nowMs: 0, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: 10 * D, eligibleBrokers: [1, 2, 4] },
      { nowMs: 20 * D, eligibleBrokers: [1, 2, 4] },
    ]);
    assert.deepEqual(actions, [null, null, null], 'a new controller leader takes the brokers it finds as known');
  });

  void test('each arrival restarts the quiet period; the plan covers every broker seen', () => {
    const { actions, state } = run([
      { nowMs: 0 },
      { nowMs: 0, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: D - 10, eligibleBrokers: [1, 2, 3, 4, 5] },
      { nowMs: D, eligibleBrokers: [1, 2, 3, 4, 5] },
      { nowMs: 2 * D - 10, eligibleBrokers: [1, 2, 3, 4, 5] },
    ]);
    assert.deepEqual(actions, [null, null, null, null, 'plan']);
    assert.deepEqual(state.seen, [1, 2, 3, 4, 5]);
  });

  void test('a move under way or a down broker holding replicas holds the plan back until it is over', () => {
    const { actions } = run([
      { nowMs: 0 },
      { nowMs: 0, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: D, eligibleBrokers: [1, 2, 3, 4], movesUnderWay: 2 },
      { nowMs: 2 * D, eligibleBrokers: [1, 2, 3, 4], downBrokersHoldingReplicas: 1 },
      { nowMs: 3 * D, eligibleBrokers: [1, 2, 3, 4] },
    ]);
    assert.deepEqual(actions, [null, null, null, null, 'plan']);
  });

  void test('a broker arriving during the moves is planned for after the election', () => {
    const { actions } = run([
      { nowMs: 0 },
      { nowMs: 0, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: D, eligibleBrokers: [1, 2, 3, 4] },
      { nowMs: D + 10, eligibleBrokers: [1, 2, 3, 4, 5], movesUnderWay: 3 },
      { nowMs: D + 20, eligibleBrokers: [1, 2, 3, 4, 5] },
      { nowMs: 2 * D + 10, eligibleBrokers: [1, 2, 3, 4, 5] },
    ]);
    assert.deepEqual(actions, [null, null, 'plan', null, 'elect', 'plan']);
  });
});
