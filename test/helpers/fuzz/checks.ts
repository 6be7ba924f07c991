/**
 * What must hold after each fuzz class, each check returning the problems it found (empty: fine):
 *
 * - health: every broker process alive, `tributary cluster status --json` answering with every
 *   broker and a controller, each broker's RSS and peak RSS (VmHWM) below RSS_BOUND_MIB, and the
 *   canary (pre-loaded with a real Producer, acks = all) reading back the same records at the same
 *   offsets with the same high watermark;
 * - storedBatchesDecode (batch class): every batch stored in a partition decodes with the client's
 *   decoder (gzip included), offset deltas run 0, 1, 2, ..., and the high watermark lies within
 *   what the broker acknowledged plus what was ambiguous;
 * - noReservedTopics and controllerAnswers (field class): no topic named `__...` exists but the
 *   internal ones brokers create themselves (`__consumer_offsets`, on a group API), and the
 *   controller still creates and deletes a topic.
 *
 * RSS_BOUND_MIB: a broker of this test holds a few partitions of at most a few MiB each; it idles
 * near 100-150 MiB (node, V8 heap, LMDB maps, zeromq). 512 MiB leaves room for GC slack and bursts
 * of in-flight requests, yet is far below what unbounded per-connection queues reach (the slow
 * reader alone can make a broker queue more than that), and three brokers at the bound still fit
 * beside the other jobs of a small CI machine.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Admin } from '../../../src/client/admin.js';
import { decodeBatch } from '../../../src/client/compression.js';
import { Producer } from '../../../src/client/producer.js';
import type { LocalCluster } from '../../../src/cli/local_cluster.js';
import { INTERNAL_TOPIC_NAMES } from '../../../src/controller/topic_name.js';
import type { TestPrng } from '../test_prng.js';
import { leaderOf, readPartition } from './topic_reader.js';

export const RSS_BOUND_MIB = 512;
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');
const STATUS_TIMEOUT_MS = 30_000;
const ADMIN_TIMEOUT_MS = 20_000;
/** The controller probe runs after the fuzzing stopped: a healthy controller answers in well under this. */
const PROBE_TIMEOUT_MS = 10_000;

export interface CanaryRecord {
  readonly offset: number;
  readonly key: string;
  readonly value: string;
}

export interface Canary {
  readonly topic: string;
  /** Per partition, the records by offset order and the high watermark after the preload. */
  readonly partitions: readonly { readonly records: readonly CanaryRecord[]; readonly highWatermark: number }[];
}

export interface MemoryReading {
  readonly brokerId: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
}

/** Creates topic (partitions x 3 replicas) and waits until every partition has a leader. */
export async function createTopic(cluster: LocalCluster, name: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: ADMIN_TIMEOUT_MS, clientId: 'fuzz-setup' });
  try {
    await admin.createTopic({ name, partitions, replicationFactor: 3 });
  } finally {
    await admin.close();
  }
  const deadline = Date.now() + ADMIN_TIMEOUT_MS;
  for (let p = 0; p < partitions; p++) {
    while (await leaderOf(cluster, name, p) === null) {
      if (Date.now() > deadline) throw new Error(`${name}/${p} elected no leader in ${ADMIN_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Produces `count` keyed records (acks = all) and reads them back as the canary's expected content. */
export async function preloadCanary(cluster: LocalCluster, topic: string, count: number,
  prng: TestPrng): Promise<Canary> {
  await createTopic(cluster, topic, 2);
  const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 5, clientId: 'fuzz-canary' });
  const sent: { partition: number; record: CanaryRecord }[] = [];
  try {
    await producer.connect();
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      const key = `canary-${i}`;
      const value = `${i}:${prng.bytes(prng.int(100, 400)).toString('base64')}`;
      const result = await producer.send({ topic, key, value });
      sent.push({ partition: result.partition, record: { offset: result.offset, key, value } });
    }));
  } finally {
    await producer.close();
  }
  const partitions = await Promise.all([0, 1].map(async (p) => {
    const records = sent.filter((s) => s.partition === p).map((s) => s.record).sort((a, b) => a.offset - b.offset);
    const stored = await readPartition(cluster, topic, p);
    return { records, highWatermark: stored.highWatermark };
  }));
  const canary = { topic, partitions };
  const problems = await canaryProblems(cluster, canary);
  if (problems.length > 0) throw new Error(`the canary did not read back right after the preload: ${problems.join('; ')}`);
  return canary;
}

async function canaryProblems(cluster: LocalCluster, canary: Canary): Promise<string[]> {
  const problems: string[] = [];
  for (const [p, expected] of canary.partitions.entries()) {
    const stored = await readPartition(cluster, canary.topic, p);
    if (stored.highWatermark !== expected.highWatermark) {
      problems.push(`canary ${p}: high watermark ${stored.highWatermark}, was ${expected.highWatermark}`);
    }
    const records = stored.batches.flatMap((bytes) => decodeBatch(bytes).records.map((r) => ({ offset: r.offset,
      key: r.key?.toString() ?? '', value: r.value?.toString() ?? '' })));
    if (records.length !== expected.records.length) {
      problems.push(`canary ${p}: ${records.length} records, expected ${expected.records.length}`);
    }
    const differing = expected.records.filter((want, i) => {
      const got = records[i];
      return got === undefined || got.offset !== want.offset || got.key !== want.key || got.value !== want.value;
    });
    if (differing.length > 0) problems.push(`canary ${p}: ${differing.length} records differ, first at offset ${differing[0]?.offset}`);
  }
  return problems;
}

function procStatus(pid: number): Map<string, string> | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return new Map(text.split('\n').map((line) => {
      const at = line.indexOf(':');
      return [line.slice(0, at), line.slice(at + 1).trim()] as [string, string];
    }));
  } catch {
    return null;
  }
}

function mib(field: string | undefined): number {
  return Math.round(Number.parseInt(field ?? '0', 10) / 1024);
}

export function memoryOf(cluster: LocalCluster): MemoryReading[] {
  return [...cluster.pids()].map(([brokerId, pid]) => {
    const status = procStatus(pid);
    return { brokerId, rssMiB: mib(status?.get('VmRSS')), peakRssMiB: mib(status?.get('VmHWM')) };
  });
}

function clusterStatusJson(bootstrap: string): Promise<{ brokers?: unknown[]; controllerId?: number | null } | string> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'cluster', 'status', '--json', '--bootstrap', bootstrap],
      { timeout: STATUS_TIMEOUT_MS }, (error, stdout, stderr) => {
        if (error !== null) {
          resolve(`cluster status failed: ${error.message} ${stderr}`.trim());
          return;
        }
        try {
          resolve(JSON.parse(stdout) as { brokers?: unknown[]; controllerId?: number | null });
        } catch {
          resolve(`cluster status printed no JSON: ${stdout.slice(0, 200)}`);
        }
      });
  });
}

/** The last error-level log lines of every broker (pino level 50 and up), for problem reports. */
function errorLines(cluster: LocalCluster): string {
  return cluster.ids().map((id) => {
    const lines = cluster.stderrOf(id).split('\n').filter((line) => /"level":(5|6)0/.test(line));
    return `${id}: ${lines.slice(-2).map((line) => line.slice(0, 300)).join(' | ') || 'none'}`;
  }).join('; ');
}

/** Alive, cluster status, memory, canary. */
export async function healthProblems(cluster: LocalCluster, canary: Canary): Promise<{ problems: string[];
  memory: MemoryReading[] }> {
  const problems: string[] = [];
  const brokerCount = cluster.ids().length;
  const pids = cluster.pids();
  if (pids.size !== brokerCount) problems.push(`${pids.size} broker processes known, expected ${brokerCount}`);
  for (const [id, pid] of pids) {
    const state = procStatus(pid)?.get('State');
    if (state === undefined || state.startsWith('Z')) {
      problems.push(`broker ${id} (pid ${pid}) is not running: ${cluster.stderrOf(id).slice(-500)}`);
    }
  }
  const status = await clusterStatusJson(cluster.bootstrap);
  if (typeof status === 'string') problems.push(status);
  else if (status.brokers?.length !== brokerCount || typeof status.controllerId !== 'number') {
    problems.push(`cluster status shows ${status.brokers?.length} brokers, controller ${status.controllerId}; ` +
      `broker errors: ${errorLines(cluster)}`);
  }
  const memory = memoryOf(cluster);
  for (const reading of memory) {
    if (reading.rssMiB > RSS_BOUND_MIB || reading.peakRssMiB > RSS_BOUND_MIB) {
      problems.push(`broker ${reading.brokerId}: RSS ${reading.rssMiB} MiB, peak ${reading.peakRssMiB} MiB, ` +
        `over ${RSS_BOUND_MIB} MiB`);
    }
  }
  try {
    problems.push(...await canaryProblems(cluster, canary));
  } catch (error) {
    problems.push(`canary unreadable: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { problems, memory };
}

/**
 * Every stored batch of topic/0 decodes (gzip too), its offset deltas are 0..n-1, the records add
 * up to the high watermark, and acked <= high watermark <= acked + ambiguous.
 */
export async function storedBatchesProblems(cluster: LocalCluster, topic: string, acked: number,
  ambiguous: number): Promise<string[]> {
  const problems: string[] = [];
  const stored = await waitForWatermark(cluster, topic, acked);
  let records = 0;
  const undecodable: Record<string, number> = {};
  for (const bytes of stored.batches) {
    try {
      const batch = decodeBatch(bytes);
      if (batch.records.some((r, i) => r.offsetDelta !== i)) throw new Error('offset deltas are not 0, 1, 2, ...');
      records += batch.records.length;
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).replace(/\d+/g, 'N').slice(0, 80);
      undecodable[reason] = (undecodable[reason] ?? 0) + 1;
    }
  }
  const bad = Object.entries(undecodable);
  if (bad.length > 0) {
    problems.push(`${bad.reduce((n, [, c]) => n + c, 0)} of ${stored.batches.length} stored batches do not decode: ` +
      bad.map(([reason, c]) => `${c}x ${reason}`).join('; '));
  } else if (records !== stored.highWatermark) {
    problems.push(`stored batches hold ${records} records, the high watermark is ${stored.highWatermark}`);
  }
  if (stored.highWatermark < acked || stored.highWatermark > acked + ambiguous) {
    problems.push(`high watermark ${stored.highWatermark}, acknowledged ${acked} (+${ambiguous} ambiguous)`);
  }
  return problems;
}

/** acks = 1 replies precede the commit: give the watermark a bounded moment to reach `acked`. */
async function waitForWatermark(cluster: LocalCluster, topic: string, acked: number): Promise<Awaited<
  ReturnType<typeof readPartition>>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stored = await readPartition(cluster, topic, 0);
    if (stored.highWatermark >= acked || Date.now() > deadline) return stored;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function reservedTopicProblems(cluster: LocalCluster): Promise<string[]> {
  const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: ADMIN_TIMEOUT_MS, clientId: 'fuzz-check' });
  try {
    const reserved = (await admin.listTopics()).filter((name) => name.startsWith('__')
      && !INTERNAL_TOPIC_NAMES.includes(name));
    return reserved.length === 0 ? [] : [`topics with the reserved prefix __ exist: ${reserved.join(', ')}`];
  } finally {
    await admin.close();
  }
}

/** The controller applies a create and a delete (a topic of 1 partition). */
export async function controllerProblems(cluster: LocalCluster, probe: string): Promise<string[]> {
  const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: PROBE_TIMEOUT_MS, clientId: 'fuzz-check' });
  try {
    const described = await admin.describeCluster();
    if (described.controllerId === null) return ['no controller leader'];
    await admin.createTopic({ name: probe, partitions: 1, replicationFactor: 3 });
    await admin.deleteTopic(probe);
    return [];
  } catch (error) {
    return [`the controller did not create and delete ${probe}: ${error instanceof Error ? error.message : String(error)}` +
      `; broker errors: ${errorLines(cluster)}`];
  } finally {
    await admin.close();
  }
}
