/**
 * `tributary bench produce|consume --protocol kafka`: the same measurements as the native bench
 * (bench/produce_bench.ts, bench/consume_bench.ts), made through the brokers' Kafka listeners
 * with kafkajs, so the two paths can be compared in one run. Figures have the native bench's
 * shape (ThroughputFigures plus latency percentiles) and print through bench_report.ts.
 *
 * kafkajs has no linger or batch.size: each send() is one Produce request. The produce loop
 * therefore does the batching itself, `batchBytes` of records per send() to one partition
 * (partitions taken in turn), with at most `windowRecords` records unacknowledged per producer;
 * every record of a send counts the time from that send() to its acknowledgement.
 * kafkajs's consumer always belongs to a group and pushes batches: the consume bench joins a
 * group of its own (the join is untimed, as in the native group bench) and its latency figure
 * is how long the application waited for each non-empty batch.
 */
import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';
import type { Consumer as KafkaConsumer, Producer as KafkaProducer } from 'kafkajs';
import { assert } from '../../raft/core/assert.js';
import { HostCpuMeter } from '../../bench/host_cpu.js';
import { LatencyRecorder } from '../../bench/latency.js';
import { SEND_TIME_BYTES, throughput } from '../../bench/produce_bench.js';
import type { BenchProgress, ProduceBenchResult } from '../../bench/produce_bench.js';
import type { ConsumeBenchResult } from '../../bench/consume_bench.js';
import { acksNumber } from '../client/producer.js';
import type { Acks } from '../client/producer.js';

const { Kafka, logLevel } = kafkajs;

const PROGRESS_EVERY_MS = 250;
const CONSUME_JOIN_TIMEOUT_MS = 30_000;

export interface KafkaProduceBenchOptions {
  /** host:port,... of the Kafka listeners. */
  readonly kafkaBootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  readonly records: number;
  readonly durationMs: number;
  readonly recordBytes: number;
  readonly acks: Acks;
  readonly producers: number;
  /** Bytes of records per send() (one Produce request to one partition). */
  readonly batchBytes: number;
  readonly windowRecords: number;
  /** kafkajs maxInFlightRequests per broker connection. */
  readonly inflightRequests: number;
  readonly idempotent: boolean;
  readonly onProgress?: (progress: BenchProgress) => void;
}

export interface KafkaConsumeBenchOptions {
  readonly kafkaBootstrap: string;
  readonly topic: string;
  readonly records: number;
  readonly durationMs: number;
  /** kafkajs maxBytesPerPartition. */
  readonly fetchBytes: number;
  readonly groupId: string;
  readonly consumers: number;
  readonly onProgress?: (progress: BenchProgress) => void;
}

function kafkaClient(bootstrap: string, clientId: string): InstanceType<typeof Kafka> {
  const brokers = bootstrap.split(',').map((address) => address.trim()).filter((address) => address !== '');
  assert(brokers.length > 0, 'a Kafka bootstrap names at least one host:port');
  return new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

interface Tally { acked: number; failed: number; firstError: unknown }

/** One producer's loop: sends of `perSend` records, partitions in turn, within the window and the deadline. */
async function sendLoop(producer: KafkaProducer, options: KafkaProduceBenchOptions, quota: number,
  deadlineMs: number, tally: Tally, ackLatency: LatencyRecorder, firstPartition: number): Promise<void> {
  const perSend = Math.max(1, Math.floor(options.batchBytes / options.recordBytes));
  const acks = acksNumber(options.acks);
  let outstanding = 0;
  let roomFreed: (() => void) | null = null;
  const pending = new Set<Promise<void>>();
  let partition = firstPartition;
  for (let sent = 0; sent < quota && performance.now() < deadlineMs;) {
    const count = Math.min(perSend, quota - sent);
    while (outstanding + count > options.windowRecords && outstanding > 0) {
      await new Promise<void>((resolve) => { roomFreed = resolve; });
    }
    const sentAt = performance.now();
    // Every record of this send carries the same send time; values are fresh buffers because
    // kafkajs encodes them later, when the request goes out.
    const messages = Array.from({ length: count }, () => {
      const value = Buffer.alloc(options.recordBytes, 0x61);
      value.writeDoubleLE(sentAt, 0);
      return { value };
    });
    outstanding += count;
    sent += count;
    const request = producer.send({ topic: options.topic, acks, messages: messages.map((m) => ({ ...m, partition })) })
      .then(() => {
        const latencyMs = performance.now() - sentAt;
        for (let i = 0; i < count; i += 1) ackLatency.recordMs(latencyMs);
        tally.acked += count;
      }, (error: unknown) => {
        tally.failed += count;
        tally.firstError ??= error;
      }).finally(() => {
        outstanding -= count;
        pending.delete(request);
        const wake = roomFreed;
        roomFreed = null;
        wake?.();
      });
    pending.add(request);
    partition = (partition + 1) % options.partitions;
  }
  await Promise.all([...pending]);
}

function describeError(error: unknown): string | null {
  if (error === null) return null;
  return error instanceof Error ? error.message : JSON.stringify(error);
}

export async function runKafkaProduceBench(options: KafkaProduceBenchOptions): Promise<ProduceBenchResult> {
  assert(options.recordBytes >= SEND_TIME_BYTES,
    () => `records carry an 8-byte send time: at least ${SEND_TIME_BYTES} bytes`);
  assert(options.producers >= 1 && options.windowRecords >= 1 && options.partitions >= 1,
    'at least one producer, a window of one and one partition');
  const producers = Array.from({ length: options.producers }, (_, i) => kafkaClient(options.kafkaBootstrap,
    `bench-kafka-producer-${String(i)}`).producer({ idempotent: options.idempotent,
    maxInFlightRequests: options.inflightRequests, allowAutoTopicCreation: false }));
  try {
    await Promise.all(producers.map((producer) => producer.connect()));
    const tally: Tally = { acked: 0, failed: 0, firstError: null };
    const ackLatency = new LatencyRecorder();
    const hostCpu = new HostCpuMeter();
    const started = performance.now();
    const deadlineMs = started + options.durationMs;
    const progress = setInterval(() => {
      options.onProgress?.({ records: tally.acked, elapsedMs: performance.now() - started });
    }, PROGRESS_EVERY_MS);
    let quotaTotal = 0;
    try {
      const quota = (i: number): number => {
        if (!Number.isFinite(options.records)) return Infinity;
        return Math.floor(options.records / options.producers) + (i < options.records % options.producers ? 1 : 0);
      };
      for (let i = 0; i < options.producers; i += 1) quotaTotal += quota(i);
      await Promise.all(producers.map((producer, i) => sendLoop(producer, options, quota(i), deadlineMs, tally,
        ackLatency, i % options.partitions)));
    } finally {
      clearInterval(progress);
    }
    const seconds = (performance.now() - started) / 1_000;
    const hostCpuFigures = hostCpu.stop();
    options.onProgress?.({ records: tally.acked, elapsedMs: seconds * 1_000 });
    assert(tally.acked + tally.failed <= quotaTotal, 'no more records settled than were sent');
    return { ...throughput(tally.acked, options.recordBytes, seconds), failed: tally.failed,
      firstError: describeError(tally.firstError), latencyMs: ackLatency.summary(), endToEndLatencyMs: null,
      consumedRecords: null, hostCpu: hostCpuFigures, processCpu: null };
  } finally {
    await Promise.all(producers.map((producer) => producer.disconnect()));
  }
}

/** Counts what the members of one group receive, and wakes the bench when it has enough. */
class ConsumeTally {
  records = 0;
  bytes = 0;
  batches = 0;
  /** Set when the last member has joined: the timed part starts there. */
  started: number | null = null;
  lastRecordAt = 0;
  readonly waitLatency = new LatencyRecorder();
  private done: (() => void) | null = null;
  readonly finished = new Promise<void>((resolve) => { this.done = resolve; });

  constructor(private readonly target: number) {}

  add(count: number, bytes: number, waitedMs: number): void {
    this.records += count;
    this.bytes += bytes;
    this.batches += 1;
    this.lastRecordAt = performance.now();
    this.waitLatency.recordMs(waitedMs);
    if (this.records >= this.target) this.finish();
  }

  finish(): void {
    const done = this.done;
    this.done = null;
    done?.();
  }
}

async function startMember(consumer: KafkaConsumer, options: KafkaConsumeBenchOptions, tally: ConsumeTally,
  joined: () => void): Promise<void> {
  let waitingSince = performance.now();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    waitingSince = performance.now();
    joined();
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      if (batch.messages.length > 0 && tally.started !== null) {
        let bytes = 0;
        for (const message of batch.messages) bytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
        tally.add(batch.messages.length, bytes, now - Math.max(waitingSince, tally.started));
      }
      waitingSince = performance.now();
      await Promise.resolve();
    },
  });
}

export async function runKafkaConsumeBench(options: KafkaConsumeBenchOptions):
  Promise<ConsumeBenchResult & { readonly joinMs: number }> {
  assert(options.consumers >= 1, 'at least one consumer');
  const consumers = Array.from({ length: options.consumers }, (_, i) => kafkaClient(options.kafkaBootstrap,
    `bench-kafka-consumer-${String(i)}`).consumer({ groupId: options.groupId, maxWaitTimeInMs: 100,
    maxBytesPerPartition: options.fetchBytes, maxBytes: Math.max(options.fetchBytes, 50 * 2 ** 20),
    allowAutoTopicCreation: false }));
  const tally = new ConsumeTally(options.records);
  const joinStarted = performance.now();
  let joinedCount = 0;
  let allJoined: () => void = () => undefined;
  const joined = new Promise<void>((resolve) => { allJoined = resolve; });
  // A member that joins again after a rebalance fires GROUP_JOIN again; the first round is the join.
  const onJoin = (): void => {
    joinedCount += 1;
    if (joinedCount >= options.consumers) allJoined();
  };
  const progress = setInterval(() => {
    if (tally.started !== null) {
      options.onProgress?.({ records: tally.records, elapsedMs: performance.now() - tally.started });
    }
  }, PROGRESS_EVERY_MS);
  try {
    // Records can arrive before the last member joins; they are not counted (started is null),
    // and a member that leaves its partitions to a rebalance has committed nothing, so the
    // partition is read again from the beginning by its new owner.
    await Promise.all(consumers.map((consumer) => startMember(consumer, options, tally, onJoin)));
    let joinTimer: NodeJS.Timeout | undefined;
    await Promise.race([joined, new Promise<never>((_, reject) => {
      joinTimer = setTimeout(() => { reject(new Error(`the group did not form in ${CONSUME_JOIN_TIMEOUT_MS} ms`)); },
        CONSUME_JOIN_TIMEOUT_MS);
    })]).finally(() => { clearTimeout(joinTimer); });
    const hostCpu = new HostCpuMeter();
    tally.started = performance.now();
    tally.lastRecordAt = tally.started;
    const joinMs = tally.started - joinStarted;
    let deadlineTimer: NodeJS.Timeout | undefined;
    if (Number.isFinite(options.durationMs)) {
      deadlineTimer = setTimeout(() => { tally.finish(); }, options.durationMs);
    }
    await tally.finished;
    clearTimeout(deadlineTimer);
    const seconds = Math.max(1e-6, (tally.lastRecordAt - tally.started) / 1_000);
    options.onProgress?.({ records: tally.records, elapsedMs: seconds * 1_000 });
    const figures = throughput(tally.records, tally.records === 0 ? 0 : tally.bytes / tally.records, seconds);
    return { ...figures, latencyMs: tally.waitLatency.summary(), polls: tally.batches, joinMs,
      hostCpu: hostCpu.stop() };
  } finally {
    clearInterval(progress);
    await Promise.all(consumers.map((consumer) => consumer.disconnect()));
  }
}
