/**
 * The consume benchmark with a consumer group (kafka-consumer-perf-test with --group): `consumers`
 * members of one new group subscribe to the topic in this process, share its partitions through
 * the group coordinator and read from the beginning (autoOffsetReset earliest, auto-commit on)
 * until together they have `records` records or `durationMs` passed. The join (from subscribe to
 * the first record) is reported apart, as Kafka's perf test reports its rebalance time;
 * throughput counts from the first record to the last. The members share this process's one
 * event loop, so the figure is the group's, not one member's times `consumers`.
 */
import { performance } from 'node:perf_hooks';
import { Consumer } from '../src/client/index.js';
import type { ConsumerRecord } from '../src/client/index.js';
import { HostCpuMeter } from './host_cpu.js';
import type { HostCpuFigures } from './host_cpu.js';
import { LatencyRecorder } from './latency.js';
import type { LatencySummaryMs } from './latency.js';
import { throughput } from './produce_bench.js';
import type { BenchProgress, ThroughputFigures } from './produce_bench.js';

export interface GroupConsumeBenchOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly groupId: string;
  readonly consumers: number;
  readonly records: number;
  readonly durationMs: number;
  readonly fetchBytes: number;
  readonly maxPollRecords: number;
  readonly onProgress?: (progress: BenchProgress) => void;
}

export interface GroupConsumeBenchResult extends ThroughputFigures {
  /** Per poll that returned records, over every member. */
  readonly latencyMs: LatencySummaryMs;
  readonly polls: number;
  /** From subscribe to the first record: the group's first rebalance. */
  readonly joinMs: number;
  /** Records each member read. */
  readonly recordsPerMember: readonly number[];
  /** The machine's CPU from the first record on (null off Linux). */
  readonly hostCpu: HostCpuFigures | null;
}

const PROGRESS_EVERY_MS = 250;

interface Tally {
  records: number;
  bytes: number;
  polls: number;
  firstRecordAt: number | null;
  lastRecordAt: number;
  /** Measures from the first record, as the throughput does (the join before it is not timed). */
  hostCpu: HostCpuMeter | null;
}

export async function runGroupConsumeBench(options: GroupConsumeBenchOptions): Promise<GroupConsumeBenchResult> {
  if (!Number.isSafeInteger(options.consumers) || options.consumers < 1) {
    throw new RangeError(`--consumers must be a whole number of at least 1, got ${options.consumers}`);
  }
  const members = Array.from({ length: options.consumers }, (_, index) => new Consumer({
    bootstrap: options.bootstrap, clientId: `bench-member-${index}`, groupId: options.groupId,
    autoOffsetReset: 'earliest', maxWaitMs: 100, partitionMaxBytes: options.fetchBytes,
    maxBytes: Math.max(options.fetchBytes, 50 * 2 ** 20), maxPollRecords: options.maxPollRecords,
  }));
  const started = performance.now();
  const deadline = started + options.durationMs;
  const tally: Tally = { records: 0, bytes: 0, polls: 0, firstRecordAt: null, lastRecordAt: started,
    hostCpu: null };
  const perMember = members.map(() => 0);
  const pollLatency = new LatencyRecorder();
  let lastProgress = started;
  const count = (batch: readonly ConsumerRecord[], member: number, pollStarted: number): void => {
    const now = performance.now();
    tally.hostCpu ??= new HostCpuMeter();
    tally.firstRecordAt ??= now;
    tally.lastRecordAt = now;
    pollLatency.recordMs(now - pollStarted);
    tally.polls += 1;
    tally.records += batch.length;
    perMember[member] = (perMember[member] ?? 0) + batch.length;
    for (const record of batch) tally.bytes += (record.value?.length ?? 0) + (record.key?.length ?? 0);
    if (now - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = now;
      options.onProgress?.({ records: tally.records, elapsedMs: now - tally.firstRecordAt });
    }
  };
  let hostCpuFigures: HostCpuFigures | null = null;
  try {
    for (const member of members) member.subscribe([options.topic]);
    await Promise.all(members.map(async (member, index) => {
      while (tally.records < options.records && performance.now() < deadline) {
        const pollStarted = performance.now();
        const batch = await member.poll({ timeoutMs: 500 });
        if (batch.length > 0) count(batch, index, pollStarted);
      }
    }));
    hostCpuFigures = tally.hostCpu?.stop() ?? null;
  } finally {
    await Promise.all(members.map((member) => member.close()));
  }
  const firstRecordAt = tally.firstRecordAt ?? tally.lastRecordAt;
  const seconds = Math.max(1e-6, (tally.lastRecordAt - firstRecordAt) / 1_000);
  options.onProgress?.({ records: tally.records, elapsedMs: seconds * 1_000 });
  const figures = throughput(tally.records, tally.records === 0 ? 0 : tally.bytes / tally.records, seconds);
  return { ...figures, latencyMs: pollLatency.summary(), polls: tally.polls, joinMs: firstRecordAt - started,
    recordsPerMember: perMember, hostCpu: hostCpuFigures };
}
