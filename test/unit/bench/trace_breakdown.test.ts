/**
 * Goal: bench/trace_breakdown.ts turns the brokers' event traces into each write's stages: it
 * follows a proposal from the leader's Produce request through the follower whose response came
 * back first to the reply, and ignores the controller's group; the tail columns average the slowest
 * 1% of writes. Method: trace files written by hand, and rows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { STAGES, breakdown, readTraces, tailMeans } from '../../../bench/trace_breakdown.js';

const T = 1_800_000_000_000;

function write(directory: string, pid: number, lines: readonly [number, string][]): void {
  fs.writeFileSync(path.join(directory, `trace-${pid}.txt`),
    lines.map(([ms, what]) => `${(T + ms).toFixed(3)} ${pid} ${what}\n`).join(''));
}

test('one write: every stage from request to reply, through the follower that answered first', () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-breakdown-'));
  try {
    write(directory, 10, [ // the leader
      [0, 'request'], [0.3, 'g7 propose'], [0.4, 'g7 ready entries=1 committed=0 send=append_request,append_request'],
      [1.5, 'g7 persisted'], [2.9, 'deliver g7:append_response'], [3.6, 'deliver g7:append_response'],
      [3.0, 'g7 ready entries=0 committed=1 send='], [3.1, 'g7 persisted'], [3.2, 'g7 applied'], [3.3, 'reply'],
      [5, 'g0 propose'], [5.1, 'g0 ready entries=1 committed=0 send=append_request'],
    ]);
    write(directory, 20, [ // the fast follower
      [1.0, 'deliver g7:append_request'], [1.1, 'g7 ready entries=1 committed=0 send='], [2.1, 'g7 persisted'],
      [2.2, 'g7 ready entries=0 committed=0 send=append_response'], [2.25, 'g7 persisted'],
    ]);
    write(directory, 30, [ // the slow one
      [1.4, 'deliver g7:append_request'], [1.6, 'g7 ready entries=1 committed=0 send='], [3.0, 'g7 persisted'],
      [3.1, 'g7 ready entries=0 committed=0 send=append_response'],
    ]);
    const rows = breakdown(readTraces(directory));
    assert.equal(rows.length, 1, 'one write; the controller\'s proposal is not one');
    const expected = [0.3, 0.1, 1.1, 0.6, 0.1, 1.0, 0.7, 0.3, 0.1, 3.0];
    assert.equal(expected.length, STAGES.length);
    rows[0]?.forEach((ms, i) => { assert.ok(Math.abs(ms - (expected[i] ?? 0)) < 1e-3, `${STAGES[i]}: ${ms}`); });
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});

test('the slowest 1%: each stage averaged over the writes at or above the p99 of the whole', () => {
  const row = (each: number): number[] => STAGES.map((_, i) => (i === STAGES.length - 1 ? each * 9 : each));
  const rows = [...Array.from({ length: 198 }, () => row(1)), row(10), row(20)];
  assert.deepEqual(tailMeans(rows), row(15));
});
