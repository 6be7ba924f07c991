/**
 * The Jepsen harness end to end beyond one family at a time: silent and slow links overlapping
 * paused brokers and stepped clocks (--nemesis-overlap), the queue workload through kafkajs under
 * kills, the group workload under kills and pauses, and its positive control. Each run must end
 * valid (the control must report its anomaly), having done real work. Sequential within this file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runJepsen } from '../../jepsen/run.js';
import { groupOptions, optionsFor, POLLS_OK_MIN, readHistory, RUN_TIMEOUT_MS, SENDS_OK_MIN }
  from '../helpers/jepsen_runs.js';
import type { RunOptions } from '../../jepsen/options.js';

describe('the jepsen harness: overlapping faults and other workloads', { concurrency: 1 }, () => {
  it('finds a run valid with silent and slow links overlapping paused brokers and stepped clocks (--nemesis-overlap)',
    { timeout: RUN_TIMEOUT_MS }, async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-jepsen-overlap-'));
      const outcome = await runJepsen({ ...optionsFor('silent', out), nemeses: ['silent', 'slow', 'pause', 'clock'],
        nemesisOverlap: true }, 'harness.test overlap');
      const { verdict } = outcome;
      const where = `run folder ${out}: ${JSON.stringify(verdict.anomalies.slice(0, 5))}`;
      assert.equal(verdict.valid, true, `the overlapping run is valid; ${where}`);
      assert.ok(verdict.stats.sends.ok >= SENDS_OK_MIN, `${verdict.stats.sends.ok} sends ok; ${where}`);
      assert.ok(verdict.stats.polls.ok >= POLLS_OK_MIN, `${verdict.stats.polls.ok} polls ok; ${where}`);
      assert.equal(outcome.faults.healed, outcome.faults.started, 'every fault was healed');
      assert.ok(outcome.drainComplete, `the drain read every key to its target; ${where}`);
      // Faults overlap: some fault starts while another is in effect, and it is of the other kind.
      const events = readHistory(out).map((line) => JSON.parse(line) as { process: unknown; type: string; f?: string;
        value?: { family?: string } });
      const active: string[] = [];
      let overlapped = 0;
      for (const event of events) {
        if (event.process !== 'nemesis' || event.type !== 'info' || event.value?.family === undefined) continue;
        if (event.f === 'start-fault') {
          if (active.length > 0) {
            overlapped += 1;
            const network = (family: string | undefined): boolean => family === 'silent' || family === 'slow';
            assert.ok(active.every((family) => network(family) !== network(event.value?.family)),
              `${event.value.family} overlaps ${active.join(',')}`);
          }
          active.push(event.value.family);
        } else if (event.f === 'stop-fault') {
          active.splice(active.indexOf(event.value.family), 1);
        }
      }
      assert.ok(overlapped > 0, `some fault overlapped another; ${where}`);
      // Three faulty periods and four families: both kinds come out, not necessarily every family.
      const drawn = (families: readonly string[]): number =>
        families.reduce((sum, family) => sum + (outcome.faults.byFamily[family] ?? 0), 0);
      assert.ok(drawn(['silent', 'slow']) > 0 && drawn(['pause', 'clock']) > 0,
        `both kinds were drawn: ${JSON.stringify(outcome.faults)}`);
      fs.rmSync(out, { recursive: true, force: true });
    });

  it('finds a kill run valid through kafkajs (--client kafkajs: the Kafka listeners) after real work',
    { timeout: RUN_TIMEOUT_MS }, async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-jepsen-kafkajs-'));
      const outcome = await runJepsen({ ...optionsFor('kill', out), client: 'kafkajs' }, 'harness.test kafkajs');
      const { verdict } = outcome;
      const where = `run folder ${out}: ${JSON.stringify(verdict.anomalies.slice(0, 5))}`;
      assert.equal(verdict.valid, true, `the kafkajs run is valid; ${where}`);
      assert.ok(verdict.stats.sends.ok >= SENDS_OK_MIN, `${verdict.stats.sends.ok} sends ok; ${where}`);
      assert.ok(verdict.stats.polls.ok >= POLLS_OK_MIN, `${verdict.stats.polls.ok} polls ok; ${where}`);
      assert.ok(verdict.stats.valuesRead > 0, `values were read; ${where}`);
      assert.ok(outcome.faults.started > 0, `faults injected: ${outcome.faults.started}; ${where}`);
      assert.ok(outcome.drainComplete, `the drain read every key to its target; ${where}`);
      const meta = JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8')) as { options: RunOptions };
      assert.equal(meta.options.client, 'kafkajs', 'meta.json names the client');
      fs.rmSync(out, { recursive: true, force: true });
    });

  it('finds the group workload valid under kills and pauses (the coordinator among the targets)',
    { timeout: RUN_TIMEOUT_MS }, async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-jepsen-group-'));
      // Longer than the queue runs: a killed dynamic member's partitions wait out its 6 s session.
      const outcome = await runJepsen(groupOptions(out, { nemeses: ['kill', 'pause'], timeSeconds: 40,
        nemesisIntervalSeconds: 6 }), 'harness.test group');
      const { verdict } = outcome;
      const where = `run folder ${out}: ${JSON.stringify(verdict.anomalies.slice(0, 5))}`;
      assert.equal(verdict.valid, true, `the group run is valid; ${where}`);
      assert.ok(verdict.stats.sends.ok >= SENDS_OK_MIN, `${verdict.stats.sends.ok} sends ok; ${where}`);
      assert.ok(verdict.stats.polls.ok >= POLLS_OK_MIN, `${verdict.stats.polls.ok} polls ok; ${where}`);
      assert.ok(verdict.stats.commits.ok >= 5, `${verdict.stats.commits.ok} commits ok; ${where}`);
      const assignments = readHistory(out).filter((line) => line.includes('"assigned"') && !line.includes('"final"'))
        .length;
      assert.ok(assignments >= 1, `members were given partitions before the drain (${assignments}); ${where}`);
      assert.ok(outcome.faults.started > 0, `faults injected: ${outcome.faults.started}; ${where}`);
      assert.ok(outcome.drainComplete, `the drain processed and committed every key to its target; ${where}`);
      fs.rmSync(out, { recursive: true, force: true });
    });

  it('reports the group positive control: members that commit before processing and crash', { timeout: RUN_TIMEOUT_MS },
    async () => {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-jepsen-group-control-'));
      const outcome = await runJepsen(groupOptions(out, { nemeses: [], timeSeconds: 15, groupCommit: 'before' }),
        'harness.test group control');
      const { verdict } = outcome;
      assert.equal(verdict.valid, false, `run folder ${out}`);
      assert.equal(outcome.exitCode, 1);
      assert.ok(verdict.anomalyTypes.includes('unprocessed'), `unprocessed among ${verdict.anomalyTypes.join(', ')}`);
      // Only the consumer side is at fault: no broker-side anomaly.
      for (const type of verdict.anomalyTypes) {
        assert.ok(['unprocessed', 'lost-write', 'unseen'].includes(type), `${type} in run folder ${out}`);
      }
      fs.rmSync(out, { recursive: true, force: true });
    });
});
