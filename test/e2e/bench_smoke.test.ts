/**
 * Goal: `tributary bench produce`, `bench consume`, `bench sweep` and `bench floor` keep working end to end.
 * Method: run each as the user would, on a local three-broker cluster it starts itself, with a few
 * thousand records and --baseline (the sweep: two short steps), and check the shape of what it
 * prints: --json carries recordsPerSec, mbPerSec and latencyMs {p50, p99, p999, max} and counts
 * every record, and only the measured ones after --warmup-s; the text report names its parts; the
 * sweep's steps keep to their rates and its chart and page are written; the floor reports each of
 * its parts and leaves no file behind.
 * No figure is compared with a threshold: timing does not belong in the suite. The bench child is
 * stopped by PID (SIGTERM, which makes it stop its brokers) if it overruns.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');
const RUN_TIMEOUT_MS = 90_000;

interface Run { code: number | null; stdout: string; stderr: string }

function runBench(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainScript, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-20_000); });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      reject(new Error(`bench ${args.join(' ')} overran ${RUN_TIMEOUT_MS} ms; stderr:\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function checkLatency(value: unknown, name: string): void {
  const latency = value as Record<string, unknown>;
  for (const key of ['p50', 'p99', 'p999', 'max']) {
    assert.equal(typeof latency[key], 'number', `${name}.${key}`);
    assert.ok((latency[key] as number) > 0, `${name}.${key} is positive`);
  }
  assert.ok((latency.p50 as number) <= (latency.max as number), `${name}: p50 <= max`);
}

/** How busy the machine was while measured: shares in [0, 1] where /proc/stat is (Linux), else null. */
/** Each local broker's and the bench's CPU, and its main thread's run and wait (null off Linux). */
function checkProcessCpu(value: unknown): void {
  if (!fs.existsSync('/proc/stat')) {
    assert.equal(value, null, 'processCpu');
    return;
  }
  const figures = value as Record<string, { cores: number; mainRunning: number; mainWaiting: number }>;
  assert.deepEqual(Object.keys(figures).sort(), ['bench', 'broker 1', 'broker 2', 'broker 3']);
  for (const [name, f] of Object.entries(figures)) {
    for (const key of ['cores', 'mainRunning', 'mainWaiting'] as const) {
      assert.ok(Number.isFinite(f[key]) && f[key] >= 0, `processCpu["${name}"].${key} ${f[key]}`);
    }
  }
}

function checkHostCpu(value: unknown, name: string): void {
  if (!fs.existsSync('/proc/stat')) {
    assert.equal(value, null, name);
    return;
  }
  const figures = value as { cpus: number; busy: number; steal: number };
  assert.ok(figures.cpus >= 1, `${name}.cpus`);
  assert.ok(figures.busy > 0 && figures.busy <= 1, `${name}.busy ${figures.busy}`);
  assert.ok(figures.steal >= 0 && figures.steal <= 1, `${name}.steal ${figures.steal}`);
}

describe('tributary bench (smoke)', { timeout: 7 * RUN_TIMEOUT_MS }, () => {
  it('bench produce --json reports throughput, ack and end-to-end latency, and the baseline', async () => {
    const run = await runBench(['produce', '--records', '3000', '--partitions', '3', '--baseline', '--end-to-end',
      '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(report.records, 3000);
    assert.ok((report.recordsPerSec as number) > 0 && (report.mbPerSec as number) > 0);
    checkLatency(report.latencyMs, 'latencyMs');
    checkLatency(report.endToEndLatencyMs, 'endToEndLatencyMs');
    assert.equal((report.endToEndLatencyMs as { count: number }).count, 3000, 'every record was consumed once');
    const baseline = report.baseline as { file: { mbPerSec: number; ratio: number }; zeromq: { mbPerSec: number } };
    assert.ok(baseline.file.mbPerSec > 0 && baseline.zeromq.mbPerSec > 0 && baseline.file.ratio > 0);
    assert.equal(Object.keys(report.brokerRssMiBMax as object).length, 3, 'the RSS of each local broker');
    checkHostCpu(report.hostCpu, 'hostCpu');
    checkProcessCpu(report.processCpu);
  });

  it('bench produce at a low --throughput stops at --duration-s', async () => {
    // 40 records/s for 1 s: it once ran on to its 1,000th record (25 s) before looking at the clock.
    const run = await runBench(['produce', '--throughput', '40', '--duration-s', '1', '--partitions', '1', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { records: number };
    assert.ok(report.records >= 1 && report.records <= 80, `about one second's records at 40/s: ${report.records}`);
  });

  it('bench produce --warmup-s leaves the warm-up\'s records out of every figure', async () => {
    const run = await runBench(['produce', '--records', '500', '--warmup-s', '1', '--window', '50', '--partitions', '2',
      '--end-to-end', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { records: number; config: { warmupS: number };
      latencyMs: { count: number }; endToEndLatencyMs: { count: number } };
    assert.equal(report.config.warmupS, 1);
    assert.equal(report.records, 500, 'the measured records only');
    assert.equal(report.latencyMs.count, 500);
    assert.equal(report.endToEndLatencyMs.count, 500, 'the consumer starts after the warm-up');
  });

  it('bench sweep measures the peak, runs each step at its rate and writes the chart and its page', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-sweep-'));
    try {
      const run = await runBench(['sweep', '--peak-s', '2', '--step-s', '2', '--steps', '0.5,0.1', '--partitions', '3',
        '--end-to-end', '--out', out, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { peakRecordsPerSec: number; peak: Record<string, unknown>;
        steps: { fraction: number; targetRecordsPerSec: number; recordsPerSec: number; failed: number;
          ackLatencyMs: unknown; endToEndLatencyMs: unknown; hostCpu: unknown; processCpu: unknown }[] };
      assert.ok(result.peakRecordsPerSec > 0);
      assert.deepEqual(result.steps.map((step) => step.fraction), [0.1, 0.5], 'the steps run in rising order');
      for (const step of result.steps) {
        assert.equal(step.targetRecordsPerSec, Math.round(step.fraction * result.peakRecordsPerSec));
        assert.ok(step.recordsPerSec > 0 && step.recordsPerSec <= step.targetRecordsPerSec * 1.1,
          `a step is held to its rate: ${step.recordsPerSec} records/s for ${step.targetRecordsPerSec}`);
        assert.equal(step.failed, 0);
        checkLatency(step.ackLatencyMs, 'ackLatencyMs');
        checkLatency(step.endToEndLatencyMs, 'endToEndLatencyMs');
        checkHostCpu(step.hostCpu, 'step.hostCpu');
        checkProcessCpu(step.processCpu);
      }
      const written = JSON.parse(fs.readFileSync(path.join(out, 'sweep.json'), 'utf8')) as { steps: unknown };
      assert.deepEqual(written.steps, result.steps);
      const svg = fs.readFileSync(path.join(out, 'sweep.svg'), 'utf8');
      assert.match(svg, /^<svg/);
      assert.match(svg, /throughput reached/);
      const html = fs.readFileSync(path.join(out, 'sweep.html'), 'utf8');
      assert.ok(html.includes(svg), 'the page carries the chart');
      assert.match(html, /<td>10%<\/td>/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('bench floor reports the hops, the sync and the replicated write, and cleans up', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-floor-smoke-'));
    try {
      const run = await runBench(['floor', '--duration-s', '0.3', '--dir', folder, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as Record<string, unknown>;
      assert.equal(report.recordBytes, 100);
      for (const part of ['roundTrip', 'roundTripPlainTcp', 'sync', 'replicatedWrite', 'replicatedWriteWithoutFsync']) {
        checkLatency(report[part], part);
      }
      checkHostCpu(report.hostCpu, 'hostCpu');
      assert.deepEqual(fs.readdirSync(folder), [], 'the replicas\' files are removed');
      const text = await runBench(['floor', '--duration-s', '0.2', '--dir', folder]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^replicated write: four hops, a majority synced\s+[\d.]+\s+[\d.]+\s+[\d.]+/m);
      assert.match(text.stdout, /^the same two hops over plain TCP \(node:net\)\s+[\d.]+\s+[\d.]+\s+[\d.]+/m);
      if (fs.existsSync('/proc/stat')) assert.match(text.stdout, /^machine while measured: \d+ CPUs \d+% busy, steal [\d.]+%$/m);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('bench floor --throughput measures the loaded floor and cleans up', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-floor-smoke-'));
    try {
      const run = await runBench(['floor', '--throughput', '2000', '--warmup-s', '0.3', '--duration-s', '0.5',
        '--dir', folder, '--json']);
      assert.equal(run.code, 0, run.stderr);
      const report = (JSON.parse(run.stdout) as { loaded: Record<string, unknown> }).loaded;
      assert.equal(report.recordBytes, 100);
      assert.equal(report.recordsPerSecCap, 2000);
      checkLatency(report.ackLatencyMs, 'ackLatencyMs');
      checkLatency(report.endToEndLatencyMs, 'endToEndLatencyMs');
      const acked = (report.ackLatencyMs as { count: number }).count;
      assert.equal((report.endToEndLatencyMs as { count: number }).count, acked, 'every measured record is consumed');
      assert.ok(acked >= 500 && acked <= 1_100, `about 0.5 s of 2,000 records/s measured, got ${acked}`);
      assert.ok(typeof report.writesPerSec === 'number' && report.writesPerSec > 0);
      assert.ok(typeof report.recordsPerWrite === 'number' && report.recordsPerWrite >= 1);
      checkHostCpu(report.hostCpu, 'hostCpu');
      assert.deepEqual(fs.readdirSync(folder), [], 'the replicas\' files are removed');
      const text = await runBench(['floor', '--throughput', '1000', '--warmup-s', '0', '--duration-s', '0.3',
        '--dir', folder]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^the machine's floor at 1,000 records\/s .* writes\/s of [\d.]+ records$/m);
      assert.match(text.stdout, /^ {2}produce-to-consume ms: p50 [\d.]+ {2}p99 [\d.]+/m);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('bench consume prints the text report with its baseline', async () => {
    const run = await runBench(['consume', '--records', '3000', '--partitions', '2', '--baseline']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^consume: 3,000 records in [\d.]+ s: [\d,]+ records\/s, [\d.]+ MB\/s$/m);
    assert.match(run.stdout, /poll \(non-empty\)\s+ms: p50 [\d.]+ {2}p99 [\d.]+ {2}p99\.9 [\d.]+ {2}max [\d.]+/);
    assert.match(run.stdout, /file read\s+[\d.]+ MB\/s {3}cluster at [\d.]+x/);
    assert.match(run.stdout, /one zeromq socket pair\s+[\d.]+ MB\/s/);
  });

  it('bench consume --group --consumers 3 reads every record once across the group\'s members', async () => {
    const run = await runBench(['consume', '--records', '3000', '--partitions', '6', '--group', 'smoke',
      '--consumers', '3', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(report.records, 3000);
    assert.deepEqual((report.config as Record<string, unknown>).consumers, 3);
    const note = (report.notes as string[]).find((line) => line.startsWith('group smoke'));
    assert.ok(note !== undefined, 'the group note');
    const perMember = /records per member ([\d/]+)/.exec(note)?.[1]?.split('/').map(Number) ?? [];
    assert.equal(perMember.length, 3);
    assert.equal(perMember.reduce((sum, n) => sum + n, 0), 3000, 'the members read 3,000 records between them');
  });
});
