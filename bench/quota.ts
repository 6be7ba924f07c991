/**
 * Byte-rate quotas under contention (issue 16's figure): does a quota hold a greedy producer to
 * its rate while another principal keeps its throughput? Three secure brokers (CURVE; users
 * greedy and polite), each producer in its own process at full speed (acks=all, one topic each,
 * 6 partitions, RF 3). Phases, one after another in the same run, after a warm-up of polite alone
 * that is not counted (a fresh cluster on a fresh page cache runs faster for its first gigabytes,
 * which read as noise in the first solo figure):
 *   polite alone                                       (its solo figure)
 *   `--rounds` times: greedy with `--quota` bytes/s, then polite beside it; polite alone again
 *   greedy without a quota, then polite beside it      (what a greedy neighbour costs)
 *   polite alone again
 * Each phase beside greedy is compared with the mean of the solo phases around it, so that drift
 * of the shared machine over the run is bracketed; the figure is the median of the rounds' ratios
 * (on this shared disk one phase in a run can stall: two runs of one round each read 0.94 and 0.82).
 * Every phase writes to the same two topics, made before the warm-up: on two cores each idle
 * partition's heartbeats cost the brokers CPU, so a fresh topic per phase made every phase slower
 * than the one before it (36.6, 33.4 and 28.2 MiB/s alone in one run) and charged greedy for its
 * topic's existence rather than for its traffic.
 * Beside polite, greedy starts `--warm-s` seconds first, so that its quota window's first allowance
 * (about quota x 10 s, as Kafka's) is spent before polite is measured; greedy's rate is read from
 * its progress over polite's interval. A quota holds per broker (as Kafka's): greedy's partitions
 * are led by the three brokers, so it may reach three times `--quota` in all.
 *
 * Usage: node dist/bench/quota.js [--quota 512KB] [--duration-s 30] [--warm-s 14] [--rounds 3]
 *        [--record-size 1024]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { assert } from '../raft/core/assert.js';
import { Admin } from '../src/client/admin.js';
import { parseThrottle } from '../src/client/reassignment_plan.js';
import { LocalCluster } from '../src/cli/local_cluster.js';
import type { QuotaOp } from '../src/quota/client_quotas.js';
import { runProduceBench } from './produce_bench.js';

const PARTITIONS = 6;
const BROKERS = 3;
const script = fileURLToPath(import.meta.url);

interface Progress { readonly atMs: number; readonly records: number }
interface WorkerRun {
  readonly progress: Progress[];
  readonly failed: number;
  readonly startMs: number;
  readonly endMs: number;
}

/** Worker mode: one producer bench at full speed, printing `{atMs, records}` lines, then `{done, failed}`. */
async function worker(values: Record<string, string | boolean | undefined>): Promise<void> {
  const text = (name: string): string => {
    const value = values[name];
    assert(typeof value === 'string', () => `--${name} is required`);
    return value;
  };
  const result = await runProduceBench({ bootstrap: text('bootstrap'), topic: text('topic'), partitions: PARTITIONS,
    records: Infinity, durationMs: Number(text('duration-s')) * 1000, recordBytes: Number(text('record-size')),
    acks: -1, producers: 1, batchBytes: 256 * 1024, lingerMs: 5, recordsPerSecondMax: Infinity, windowRecords: 50_000,
    inflightRequests: 5, idempotent: true, sendMany: true, endToEnd: false,
    security: { keyFile: text('key-file'), serverKey: text('server-key') },
    onProgress: (progress) => { process.stdout.write(`${JSON.stringify({ atMs: Date.now(), records: progress.records })}\n`); } });
  process.stdout.write(`${JSON.stringify({ atMs: Date.now(), records: result.records })}\n`);
  process.stdout.write(`${JSON.stringify({ done: true, failed: result.failed, firstError: result.firstError })}\n`);
}

function runWorker(cluster: LocalCluster, user: string, topic: string, durationS: number, recordSize: number):
  Promise<WorkerRun> {
  const keyFile = cluster.keys?.userKeyFiles.get(user);
  const serverKey = cluster.keys?.peerKeys;
  assert(keyFile !== undefined && serverKey !== undefined, () => `the secure cluster has keys for ${user}`);
  return new Promise((resolve, reject) => {
    const startMs = Date.now();
    const child = spawn(process.execPath, [script, '--worker', '--bootstrap', cluster.bootstrap, '--topic', topic,
      '--duration-s', String(durationS), '--record-size', String(recordSize), '--key-file', keyFile,
      '--server-key', serverKey], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, (durationS + 60) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = out.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as
        Progress & { done?: boolean; failed?: number; firstError?: string | null });
      const done = lines.find((line) => line.done === true);
      if (done !== undefined && (done.failed ?? 0) > 0) {
        console.error(`${user}: ${String(done.failed)} sends failed, first: ${String(done.firstError)}`);
      }
      if (code !== 0 || done === undefined) {
        reject(new Error(`${user}'s producer exited ${String(code)}`));
        return;
      }
      resolve({ progress: lines.filter((line) => line.done !== true), failed: done.failed ?? 0, startMs,
        endMs: Date.now() });
    });
  });
}

/** Records acknowledged between two wall-clock times, from a run's progress lines. */
function recordsBetween(run: WorkerRun, fromMs: number, toMs: number): number {
  const at = (ms: number): number => {
    let records = 0;
    for (const line of run.progress) if (line.atMs <= ms) records = line.records;
    return records;
  };
  return at(toMs) - at(fromMs);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] ?? NaN : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

function mbPerSec(records: number, recordSize: number, ms: number): number {
  return records * recordSize / (1024 * 1024) / (ms / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { worker: { type: 'boolean' }, bootstrap: { type: 'string' },
    topic: { type: 'string' }, 'key-file': { type: 'string' }, 'server-key': { type: 'string' },
    quota: { type: 'string', default: '512KB' }, 'duration-s': { type: 'string', default: '30' },
    'warm-s': { type: 'string', default: '14' }, rounds: { type: 'string', default: '3' }, 'record-size': { type: 'string', default: '1024' } } });
  if (values.worker === true) {
    await worker(values);
    return;
  }
  const quota = parseThrottle(values.quota, '--quota');
  const durationS = Number(values['duration-s']);
  const warmS = Number(values['warm-s']);
  const recordSize = Number(values['record-size']);
  const rounds = Number(values.rounds);
  assert(Number.isInteger(rounds) && rounds >= 1, '--rounds is a whole number >= 1');
  const cluster = await LocalCluster.start(BROKERS, { secure: true, secureUsers: ['greedy', 'polite'] });
  const admin = new Admin({ bootstrap: cluster.bootstrap, ...(cluster.clientSecurity === undefined ? {}
    : { security: cluster.clientSecurity }) });
  try {
    const topicOf = (user: string): string => `quota-${user}`;
    for (const user of ['greedy', 'polite']) {
      await admin.createAcls([
        { principal: `User:${user}`, host: '*', operation: 'ALL', permission: 'ALLOW', resourceType: 'TOPIC',
          patternType: 'LITERAL', resourceName: topicOf(user) },
        { principal: `User:${user}`, host: '*', operation: 'IDEMPOTENT_WRITE', permission: 'ALLOW',
          resourceType: 'CLUSTER', patternType: 'LITERAL', resourceName: 'kafka-cluster' }]);
      await admin.createTopic({ name: topicOf(user), partitions: PARTITIONS, replicationFactor: 3 });
    }
    const solo = async (label: string): Promise<number> => {
      const run = await runWorker(cluster, 'polite', topicOf('polite'), durationS, recordSize);
      const rate = mbPerSec(recordsBetween(run, 0, Infinity), recordSize, run.endMs - run.startMs);
      assert(run.failed === 0, 'no send failed');
      console.log(`${label}: polite alone ${rate.toFixed(1)} MiB/s`);
      return rate;
    };
    const beside = async (label: string): Promise<{ polite: number; greedy: number }> => {
      const greedyRun = runWorker(cluster, 'greedy', topicOf('greedy'), warmS + durationS + 2, recordSize);
      await new Promise((resolve) => setTimeout(resolve, warmS * 1000));
      const politeRun = await runWorker(cluster, 'polite', topicOf('polite'), durationS, recordSize);
      const greedyDone = await greedyRun;
      const spanMs = politeRun.endMs - politeRun.startMs;
      const polite = mbPerSec(recordsBetween(politeRun, 0, Infinity), recordSize, spanMs);
      const greedy = mbPerSec(recordsBetween(greedyDone, politeRun.startMs, politeRun.endMs), recordSize, spanMs);
      assert(politeRun.failed === 0 && greedyDone.failed === 0, 'no send failed');
      console.log(`${label}: polite ${polite.toFixed(1)} MiB/s beside greedy ${greedy.toFixed(2)} MiB/s`);
      return { polite, greedy };
    };
    const quotaOps = (remove: boolean): QuotaOp[] => [{ key: 'producer_byte_rate', value: remove ? 0 : quota, remove }];
    const mean = (a: number, b: number): number => (a + b) / 2;
    await solo('warm-up (not counted)');
    const solos = [await solo('polite solo 1')];
    await admin.alterClientQuotas([{ principal: 'User:greedy', ops: quotaOps(false) }]);
    const limited: { polite: number; greedy: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      limited.push(await beside(`round ${round}, greedy held to ${(quota / 1024 / 1024).toFixed(2)} MiB/s per broker`));
      solos.push(await solo(`polite solo ${round + 1}`));
    }
    await admin.alterClientQuotas([{ principal: 'User:greedy', ops: quotaOps(true) }]);
    const unlimited = await beside('greedy without a quota');
    solos.push(await solo(`polite solo ${rounds + 2}`));
    const limitedRatios = limited.map((phase, i) => phase.polite / mean(solos[i] ?? NaN, solos[i + 1] ?? NaN));
    const greedyToQuota = limited.map((phase) => phase.greedy / (BROKERS * quota / 1024 / 1024));
    const summary = { quotaMiBPerSec: quota / 1024 / 1024, recordSize, durationS, rounds,
      politeSoloMiBPerSec: solos, limited, unlimited, politeBesideLimitedRatios: limitedRatios,
      politeBesideLimitedRatio: median(limitedRatios),
      politeBesideUnlimitedRatio: unlimited.polite / mean(solos[rounds] ?? NaN, solos[rounds + 1] ?? NaN),
      greedyToQuotaRatio: median(greedyToQuota) };
    console.log(JSON.stringify(summary));
  } finally {
    await admin.close();
    await cluster.stop();
  }
}

await main();
