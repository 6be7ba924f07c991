/** `--soak N`: the runs' options, the table a soak is cited by, and the worst-run exit code. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunOptions } from '../../jepsen/options.js';
import type { RunOutcome } from '../../jepsen/run.js';
import { soakExitCode, soakRunOptions, soakTable } from '../../jepsen/soak.js';
import type { SoakRow } from '../../jepsen/soak.js';
import type { Verdict } from '../../jepsen/verdict.js';

function outcome(valid: Verdict['valid'], sendsOk: number, faults: number): RunOutcome {
  const verdict: Verdict = { valid, anomalyTypes: valid === false ? ['lost-write'] : [], anomalies: [],
    linearizability: {}, stats: { sends: { ok: sendsOk, fail: 0, info: 2 }, polls: { ok: 7, fail: 0, info: 0 },
      commits: { ok: 0, fail: 0, info: 0 }, keys: 3, valuesRead: sendsOk } };
  return { folder: `/runs/${sendsOk}`, verdict, exitCode: valid === true ? 0 : valid === false ? 1 : 2,
    faults: { started: faults, healed: faults, failed: 0, byFamily: { kill: faults }, membership: {} },
    drainComplete: valid !== 'unknown' };
}

void describe('soak', () => {
  void test('each run gets the next seed and a folder of its own', () => {
    const base = { seed: 40, out: 'jepsen/runs/soak', soak: 3 } as RunOptions;
    assert.deepEqual([0, 1, 2].map((i) => soakRunOptions(base, i)).map((o) => [o.seed, o.out, o.soak]),
      [[40, 'jepsen/runs/soak/seed-40', 1], [41, 'jepsen/runs/soak/seed-41', 1], [42, 'jepsen/runs/soak/seed-42', 1]]);
  });

  void test('the table names each run and the totals; the exit code is the worst run\'s', () => {
    const rows: SoakRow[] = [{ seed: 1, outcome: outcome(true, 100, 5) }, { seed: 2, outcome: outcome(true, 50, 4) }];
    const table = soakTable(rows);
    assert.match(table, /^1\ttrue\t100\/2\t7\t5 \(kill 5\)\t-\t\/runs\/100$/m);
    assert.match(table, /2 runs: 2 valid; 150 acknowledged sends, 9 faults/);
    assert.equal(soakExitCode(rows), 0);
    assert.equal(soakExitCode([...rows, { seed: 3, outcome: outcome('unknown', 1, 1) }]), 2);
    assert.equal(soakExitCode([...rows, { seed: 4, outcome: { error: 'no cluster' } },
      { seed: 3, outcome: outcome(false, 1, 1) }]), 1);
    assert.match(soakTable([{ seed: 4, outcome: { error: 'no cluster' } }]), /^4\terror\t.*no cluster/m);
  });
});
