/**
 * The produce bench's pacing of a capped rate (bench/produce_bench.ts): it sleeps until the next
 * record is due and then sends every record due, so a call holds a timer tick's records; it never
 * sends ahead of time. Simulated over a clock whose timers fire 1.1 ms after they are set.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { msUntilNextDue, recordsDue } from '../../../bench/produce_bench.js';

/** The calls a paced loop makes over durationMs, with a timer that fires timerMs late at best. */
function pacedCalls(recordsPerSec: number, durationMs: number, timerMs: number): number[] {
  const calls: number[] = [];
  let nowMs = 0;
  let sent = 0;
  while (nowMs < durationMs) {
    const untilNextMs = msUntilNextDue(sent, recordsPerSec, nowMs);
    if (untilNextMs > 0) nowMs += Math.max(untilNextMs, timerMs);
    const due = Math.max(1, recordsDue(sent, recordsPerSec, nowMs));
    assert.ok(sent + due <= Math.floor(nowMs / 1_000 * recordsPerSec) + 1, 'never more than one record ahead');
    calls.push(due);
    sent += due;
  }
  return calls;
}

void describe('the produce bench\'s pacing', () => {
  test('at 46,000 records/s a call holds a timer tick\'s records, not one', () => {
    const calls = pacedCalls(46_000, 1_000, 1.1);
    const records = calls.reduce((sum, n) => sum + n, 0);
    assert.ok(Math.abs(records - 46_000) <= 60, `about a second's records: ${records}`);
    assert.ok(calls.length <= 1_000, `one call per tick at most: ${calls.length}`);
    // A call of one record only where a tick lands on a record's due time to the last bit.
    const small = calls.filter((n) => n < 40).length;
    assert.ok(small <= calls.length / 100, `each call about 50 records: ${small} of ${calls.length} were not`);
  });

  test('at a low rate each record waits for its time, one per call', () => {
    const calls = pacedCalls(10, 1_000, 1.1);
    assert.deepEqual(calls, Array.from({ length: 10 }, () => 1));
  });

  test('ahead of time it sleeps; behind it, the records due go at once', () => {
    assert.ok(msUntilNextDue(60, 46_000, 1.1) > 0, '60 records sent at 1.1 ms is ahead: sleep');
    assert.equal(recordsDue(0, 46_000, 1.1), 50);
    assert.ok(msUntilNextDue(10, 46_000, 5) < 0, 'behind: no sleep');
  });
});
