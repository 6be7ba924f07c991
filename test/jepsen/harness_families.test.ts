/**
 * The Jepsen harness end to end, one short run per nemesis family (kill, pause, partition,
 * power-loss, corrupt, membership: there a broker must join) against three real brokers: each run
 * must end valid, must have done real work (enough acknowledged sends and reads) and must have
 * injected faults. Runs are sequential (one cluster at a time in this file; the workloads' runs are
 * in harness_workloads.test.ts, which the runner may run beside it), about 25 s each.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runJepsen } from '../../jepsen/run.js';
import { optionsFor, POLLS_OK_MIN, RUN_TIMEOUT_MS, SENDS_OK_MIN } from '../helpers/jepsen_runs.js';

describe('the jepsen harness: one run per fault family', { concurrency: 1 }, () => {
  for (const family of ['kill', 'pause', 'partition', 'power-loss', 'corrupt', 'membership'] as const) {
    it(`finds a ${family} run valid after real work and real faults`, { timeout: RUN_TIMEOUT_MS }, async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), `tributary-jepsen-${family}-`));
      const outcome = await runJepsen(optionsFor(family, out), `harness.test ${family}`);
      const { verdict } = outcome;
      const where = `run folder ${out}: ${JSON.stringify(verdict.anomalies.slice(0, 5))}`;
      assert.equal(verdict.valid, true, `the ${family} run is valid; ${where}`);
      assert.equal(outcome.exitCode, 0);
      assert.ok(verdict.stats.sends.ok >= SENDS_OK_MIN, `${verdict.stats.sends.ok} sends ok; ${where}`);
      assert.ok(verdict.stats.polls.ok >= POLLS_OK_MIN, `${verdict.stats.polls.ok} polls ok; ${where}`);
      assert.ok(verdict.stats.valuesRead > 0, `values were read; ${where}`);
      assert.ok(outcome.faults.started > 0, `faults injected: ${outcome.faults.started}; ${where}`);
      assert.equal(outcome.faults.healed, outcome.faults.started, 'every fault was healed');
      assert.ok(outcome.drainComplete, `the drain read every key to its target; ${where}`);
      if (family === 'membership') {
        // At three brokers every first step starts a broker (nothing can move or go before one joins).
        assert.ok((outcome.faults.membership['add ok'] ?? 0) > 0, `a broker joined: ${JSON.stringify(outcome.faults)}`);
      }
      fs.rmSync(out, { recursive: true, force: true });
    });
  }

});
