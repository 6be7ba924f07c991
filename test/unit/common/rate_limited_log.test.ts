/**
 * Goal: a flood of lines of one kind writes the first N per interval in full, then one summary line
 * per interval with the count suppressed; kinds are limited independently. Method: a captured pino
 * logger and an injected clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { RateLimitedLog } from '../../../src/common/rate_limited_log.js';
import { captureLogger } from '../net/helpers.js';

void describe('RateLimitedLog', () => {
  void test('first N lines per interval in full, then a summary with the count', () => {
    const { logger, lines } = captureLogger();
    let nowMs = 1_000;
    const log = new RateLimitedLog(logger, { linesPerInterval: 3, intervalMs: 1_000, now: () => nowMs });
    for (let i = 0; i < 1_000; i += 1) log.log('warn', 'malformed', { i }, 'malformed request');
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((line) => line.i), [0, 1, 2]);
    assert.equal(log.suppressedNow('malformed'), 997);
    log.flush(); // the interval has not ended: nothing yet
    assert.equal(lines.length, 3);

    nowMs += 1_000;
    log.flush();
    assert.equal(lines.length, 4);
    const summary = lines.at(3);
    assert.ok(summary !== undefined);
    assert.equal(summary.suppressed, 997);
    assert.equal(summary.kind, 'malformed');
    assert.match(summary.msg, /997 more "malformed request" lines suppressed/);

    // A new interval starts over; a lazily rolled-over interval still gets its summary.
    for (let i = 0; i < 5; i += 1) log.log('warn', 'malformed', { i }, 'malformed request');
    nowMs += 5_000;
    log.log('warn', 'malformed', { i: 99 }, 'malformed request');
    assert.deepEqual(lines.slice(4).map((line) => line.suppressed ?? line.i), [0, 1, 2, 2, 99]);
  });

  void test('kinds are limited independently; a quiet interval writes no summary', () => {
    const { logger, lines } = captureLogger();
    let nowMs = 0;
    const log = new RateLimitedLog(logger, { linesPerInterval: 1, intervalMs: 100, now: () => nowMs });
    log.log('info', 'a', {}, 'line a');
    log.log('info', 'a', {}, 'line a');
    log.log('warn', 'b', {}, 'line b');
    assert.deepEqual(lines.map((line) => line.msg), ['line a', 'line b']);
    nowMs = 100;
    log.flush();
    assert.deepEqual(lines.map((line) => line.msg), ['line a', 'line b', '1 more "line a" lines suppressed']);
    nowMs = 1_000;
    log.flush();
    assert.equal(lines.length, 3);
  });
});
