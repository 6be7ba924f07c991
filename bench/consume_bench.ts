/**
 * The consume benchmark (Kafka's kafka-consumer-perf-test): one Consumer in this process reads
 * every partition of a topic from the beginning until it has `records` records or `durationMs`
 * passed. Throughput counts from the first poll to the last record; the latency figures are
 * those of the polls that returned records (how long the application waited for each batch).
 * Like the perf test's KafkaConsumer, a poll returns at most `maxPollRecords` records (Kafka's
 * max.poll.records, 500 by default there).
 */
import { performance } from 'node:perf_hooks';
import { openBenchConsumer } from './bench_target.js';
import { HostCpuMeter } from './host_cpu.js';
import type { HostCpuFigures } from './host_cpu.js';
import { LatencyRecorder } from './latency.js';
import type { LatencySummaryMs } from './latency.js';
import { throughput } from './produce_bench.js';
import type { BenchProgress, ThroughputFigures } from './produce_bench.js';

export interface ConsumeBenchOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  readonly records: number;
  readonly durationMs: number;
  readonly fetchBytes: number;
  readonly maxPollRecords: number;
  readonly onProgress?: (progress: BenchProgress) => void;
}

export interface ConsumeBenchResult extends ThroughputFigures {
  /** Per poll that returned records. */
  readonly latencyMs: LatencySummaryMs;
  readonly polls: number;
  /** The machine's CPU over the measured part (null off Linux). */
  readonly hostCpu: HostCpuFigures | null;
}

const PROGRESS_EVERY_MS = 250;

export async function runConsumeBench(options: ConsumeBenchOptions): Promise<ConsumeBenchResult> {
  const consumer = await openBenchConsumer({ bootstrap: options.bootstrap, clientId: 'bench-consumer', maxWaitMs: 100,
    partitionMaxBytes: options.fetchBytes, maxBytes: Math.max(options.fetchBytes, 50 * 2 ** 20),
    maxPollRecords: options.maxPollRecords }, options.topic, options.partitions, 'beginning');
  try {
    const pollLatency = new LatencyRecorder();
    let records = 0;
    let bytes = 0;
    let polls = 0;
    const hostCpu = new HostCpuMeter();
    const started = performance.now();
    let lastRecordAt = started;
    const deadline = started + options.durationMs;
    let lastProgress = started;
    while (records < options.records && performance.now() < deadline) {
      const pollStarted = performance.now();
      const batch = await consumer.poll({ timeoutMs: 500 });
      if (batch.length === 0) continue;
      lastRecordAt = performance.now();
      pollLatency.recordMs(lastRecordAt - pollStarted);
      polls += 1;
      records += batch.length;
      for (const record of batch) bytes += (record.value?.length ?? 0) + (record.key?.length ?? 0);
      if (lastRecordAt - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = lastRecordAt;
        options.onProgress?.({ records, elapsedMs: lastRecordAt - started });
      }
    }
    const seconds = Math.max(1e-6, (lastRecordAt - started) / 1_000);
    options.onProgress?.({ records, elapsedMs: seconds * 1_000 });
    const figures = throughput(records, records === 0 ? 0 : bytes / records, seconds);
    return { ...figures, latencyMs: pollLatency.summary(), polls, hostCpu: hostCpu.stop() };
  } finally {
    await consumer.close();
  }
}
