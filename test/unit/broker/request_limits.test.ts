/**
 * Goal: the limits the broker applies to what a client asks: timeouts clamped (never 2^31 ms, which
 * Node fires at once), Fetch byte budgets as KIP-74 (only the first partition with data takes the
 * reply over max_bytes, by its first batch), duplicate Fetch partitions refused, a Fetch's reservation. Method: the
 * functions on their own, with edge values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { TributaryError } from '../../../src/common/errors.js';
import {
  clampTimeoutMs, FETCH_BYTES_DEFAULT, FETCH_BYTES_MAX, fetchBytesMax, FetchReplyBudget,
  refuseDuplicateFetchPartitions, REQUEST_TIMEOUT_MS_MAX,
} from '../../../src/broker/request_limits.js';

void describe('request limits', () => {
  void test('timeouts: the default for 0, at most the maximum, below what Node timers can hold', () => {
    assert.equal(clampTimeoutMs(0, 30_000), 30_000);
    assert.equal(clampTimeoutMs(1, 30_000), 1);
    assert.equal(clampTimeoutMs(2 ** 31, 30_000), REQUEST_TIMEOUT_MS_MAX);
    assert.equal(clampTimeoutMs(2 ** 32 - 1, 30_000), REQUEST_TIMEOUT_MS_MAX);
    assert.ok(REQUEST_TIMEOUT_MS_MAX < 2 ** 31 - 1);
  });

  void test('fetch bytes: the default for 0, at most the maximum', () => {
    assert.equal(fetchBytesMax(0), FETCH_BYTES_DEFAULT);
    assert.equal(fetchBytesMax(1000), 1000);
    assert.equal(fetchBytesMax(2 ** 32 - 1), FETCH_BYTES_MAX);
  });

  void test('fetch budget: only the first partition with data takes the reply over max_bytes', () => {
    const budget = new FetchReplyBudget(100);
    assert.equal(budget.partitionLimit(0), 100); // 0: the reply's limit
    assert.equal(budget.partitionLimit(30), 30);
    assert.ok(budget.take(0)); // an empty partition
    assert.ok(budget.take(150)); // the first with data: one batch over the limits is kept
    assert.equal(budget.usedBytes, 150);
    assert.equal(budget.partitionLimit(30), 0); // full: the rest are answered without reading

    const second = new FetchReplyBudget(100);
    assert.ok(second.take(20));
    assert.equal(second.partitionLimit(10), 10);
    assert.ok(second.take(30)); // over its partition's 10 but within the reply: kept, not starved
    assert.equal(second.partitionLimit(100), 50);
    assert.equal(second.take(60), false); // storage returned a batch over what is left: not kept
    assert.ok(second.take(50));
    assert.equal(second.usedBytes, 100);
  });

  void test('a fetch naming a partition twice is refused; the same number in two topics is not', () => {
    refuseDuplicateFetchPartitions([{ topic: 'a', partition: 1 }, { topic: 'b', partition: 1 },
      { topic: 'a', partition: 2 }]);
    assert.throws(() => { refuseDuplicateFetchPartitions([{ topic: 'a', partition: 1 }, { topic: 'b', partition: 0 },
      { topic: 'a', partition: 1 }]); },
    (error: unknown) => error instanceof TributaryError && error.code === 'INVALID_REQUEST' && /a-1/.test(error.message));
  });

  void test('a connection with replies queued gets no batch over its budget, not even the first', () => {
    const strict = new FetchReplyBudget(100, false);
    assert.equal(strict.take(150), false, 'the first batch may not go over a busy connection\'s budget');
    assert.equal(strict.take(60), true);
    assert.equal(strict.take(50), false);
    assert.equal(strict.usedBytes, 60);
    const empty = new FetchReplyBudget(0, false);
    assert.equal(empty.partitionLimit(0), 0, 'a connection with no budget left reads nothing');
  });
});
