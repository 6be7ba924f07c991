/**
 * Goal: a batch's record timestamps kept as runs give back exactly each record's timestamp, in any
 * pattern (all equal, rising, going back, alternating), and a slot outside the batch is an
 * assertion, not undefined. Method: compare with a plain array over seeded random sequences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AssertionError } from '../../../raft/core/assert.js';
import { SeededPrng } from '../../../raft/core/prng.js';
import { TimestampRuns } from '../../../src/client/timestamp_runs.js';

const T0 = 1_700_000_000_000;

test('every slot reads back its timestamp, whatever the pattern', () => {
  for (let seed = 1; seed <= 50; seed += 1) {
    const prng = new SeededPrng(seed);
    const runs = new TimestampRuns();
    const expected: number[] = [];
    let now = T0;
    const count = 1 + prng.nextInt(400);
    for (let i = 0; i < count; i += 1) {
      const step = prng.nextInt(10);
      // Mostly the same millisecond, sometimes later, sometimes an older caller-given CreateTime.
      if (step === 0) now += 1 + prng.nextInt(5);
      const timestamp = step === 1 ? now - 1 - prng.nextInt(1_000) : now;
      runs.push(timestamp);
      expected.push(timestamp);
    }
    assert.equal(runs.length, expected.length);
    expected.forEach((timestamp, slot) => { assert.equal(runs.at(slot), timestamp, `seed ${seed} slot ${slot}`); });
  }
});

test('equal timestamps share one run; alternating ones do not merge', () => {
  const runs = new TimestampRuns();
  for (let i = 0; i < 1_000; i += 1) runs.push(T0);
  runs.push(T0 + 1);
  runs.push(T0);
  assert.equal(runs.length, 1_002);
  assert.equal(runs.at(0), T0);
  assert.equal(runs.at(999), T0);
  assert.equal(runs.at(1_000), T0 + 1);
  assert.equal(runs.at(1_001), T0);
});

test('a slot outside the records is an assertion', () => {
  const runs = new TimestampRuns();
  assert.throws(() => runs.at(0), AssertionError);
  runs.push(T0);
  assert.throws(() => runs.at(1), AssertionError);
  assert.throws(() => runs.at(-1), AssertionError);
  assert.throws(() => runs.at(0.5), AssertionError);
});
