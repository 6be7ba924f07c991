/**
 * Goal: `tributary bench produce --protocol kafka` keeps working end to end: the bench starts its
 * own three brokers with Kafka listeners, drives them with kafkajs and prints the native bench's
 * JSON (recordsPerSec, mbPerSec, latencyMs {p50, p99, p999, max}), counting every record once.
 * No figure is compared with a threshold. The bench child is stopped by PID (SIGTERM, which makes
 * it stop its brokers) if it overruns.
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

describe('tributary bench --protocol kafka (smoke)', { timeout: 2 * RUN_TIMEOUT_MS }, () => {
  it('bench produce --protocol kafka --json counts every record and reports its latency', async () => {
    const run = await runBench(['produce', '--protocol', 'kafka', '--records', '2000', '--cluster', 'local',
      '--batch-bytes', '20000', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal((report.config as Record<string, unknown>).protocol, 'kafka');
    assert.equal(report.records, 2000);
    assert.equal(report.bytes, 2000 * 100);
    assert.ok((report.recordsPerSec as number) > 0 && (report.mbPerSec as number) > 0);
    const latency = report.latencyMs as Record<string, number>;
    for (const key of ['p50', 'p99', 'p999', 'max'] as const) {
      assert.equal(typeof latency[key], 'number', `latencyMs.${key}`);
      assert.ok((latency[key] ?? 0) > 0, `latencyMs.${key} is positive`);
    }
    assert.ok((latency.p50 ?? 0) <= (latency.max ?? 0), 'p50 <= max');
    assert.equal(latency.count, 2000, 'one acknowledgement latency per record');
    assert.equal(Object.keys(report.brokerRssMiBMax as object).length, 3, 'the RSS of each local broker');
    assert.deepEqual(report.notes, ['kafkajs (no linger): the bench sends --batch-bytes of records per send() to ' +
      'one partition in turn'], 'no record failed');
  });
});
