/**
 * Goal: a broker's heap growth is generous only while what is live is small, and never lets the
 * heap grow past the budget in that regime; above half the budget V8's own growth applies (0), and
 * never a small positive percent (which would make V8 collect nearly all the time).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAP_BUDGET_BYTES, heapGrowingPercentFor } from '../../../src/cli/process_heap.js';

const MB = 2 ** 20;

test('five times a small live heap, up to the budget, else V8\'s own growth', () => {
  assert.equal(heapGrowingPercentFor(0), 400);
  assert.equal(heapGrowingPercentFor(18 * MB), 400, 'a broker under load: five times');
  assert.equal(heapGrowingPercentFor(32 * MB), 200, 'the budget caps it');
  assert.equal(heapGrowingPercentFor(48 * MB), 100);
  assert.equal(heapGrowingPercentFor(49 * MB), 0, 'over half the budget live: V8 decides');
  assert.equal(heapGrowingPercentFor(400 * MB), 0);
  for (let live = MB; live <= 2 * HEAP_BUDGET_BYTES; live += MB) {
    const percent = heapGrowingPercentFor(live);
    assert.ok(percent === 0 || (percent >= 100 && percent <= 400), `${percent}% for ${live / MB} MB`);
    if (percent > 0) assert.ok(live * (1 + percent / 100) <= HEAP_BUDGET_BYTES + 1, `${live / MB} MB`);
  }
});
