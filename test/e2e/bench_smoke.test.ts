/**
 * Goal: `tributary bench produce` and `bench consume` keep working end to end. Method: run each as
 * the user would, on a local three-broker cluster it starts itself, with a few thousand records
 * and --baseline, and check the shape of what it prints: --json carries recordsPerSec, mbPerSec
 * and latencyMs {p50, p99, p999, max} and counts every record; the text report names its parts.
 * No figure is compared with a threshold: timing does not belong in the suite. The bench child is
 * stopped by PID (SIGTERM, which makes it stop its brokers) if it overruns.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

describe('tributary bench (smoke)', { timeout: 4 * RUN_TIMEOUT_MS }, () => {
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
