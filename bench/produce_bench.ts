/**
 * The produce benchmark (Kafka's kafka-producer-perf-test): `producers` Producer instances in this
 * process send `recordBytes`-byte records to one topic, as fast as they can or capped at
 * `recordsPerSecondMax`, each keeping at most `windowRecords` records unacknowledged, until
 * `records` are sent or `durationMs` has passed. Every record carries its send time (a float64
 * of performance.now() in its first 8 bytes), so produce-to-ack latency is measured per record
 * and, with `endToEnd`, a consumer in this process measures produce-to-consume latency too.
 * Throughput counts from the first send to the last acknowledgement.
 */
import { performance } from 'node:perf_hooks';
import { assert } from '../raft/core/assert.js';
import type { Consumer } from '../src/client/consumer.js';
import type { ClientSecurityOptions } from '../src/security/client_security.js';
import { openBenchConsumer } from './bench_target.js';
import { Producer } from '../src/client/producer.js';
import type { Acks } from '../src/client/producer.js';
import { LatencyRecorder } from './latency.js';
import type { LatencySummaryMs } from './latency.js';

export const SEND_TIME_BYTES = 8;

export interface ProduceBenchOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly partitions: number;
  /** Stop after this many records (all producers together) ... */
  readonly records: number;
  /** ... or after this long, whichever comes first. */
  readonly durationMs: number;
  readonly recordBytes: number;
  readonly acks: Acks;
  readonly producers: number;
  readonly batchBytes: number;
  readonly lingerMs: number;
  /** Records per second over all producers; Infinity for no cap. */
  readonly recordsPerSecondMax: number;
  /** Unacknowledged records per producer. */
  readonly windowRecords: number;
  /** Produce requests in flight per broker and producer. */
  readonly inflightRequests: number;
  readonly idempotent: boolean;
  readonly endToEnd: boolean;
  readonly onProgress?: (progress: BenchProgress) => void;
  /** The client keys of a secure (CURVE) cluster. */
  readonly security?: ClientSecurityOptions;
}

export interface BenchProgress {
  readonly records: number;
  readonly elapsedMs: number;
}

export interface ThroughputFigures {
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
}

export interface ProduceBenchResult extends ThroughputFigures {
  readonly failed: number;
  readonly firstError: string | null;
  /** Produce to acknowledgement. */
  readonly latencyMs: LatencySummaryMs;
  /** Produce to consume; null without endToEnd. */
  readonly endToEndLatencyMs: LatencySummaryMs | null;
  readonly consumedRecords: number | null;
}

const PROGRESS_EVERY_MS = 250;
const YIELD_EVERY_RECORDS = 1_000;
const END_TO_END_DRAIN_MS = 30_000;

export function throughput(records: number, recordBytes: number, seconds: number): ThroughputFigures {
  const bytes = records * recordBytes;
  return { records, bytes, seconds, recordsPerSec: records / seconds, mbPerSec: bytes / seconds / 1e6 };
}

interface SendTally { sent: number; acked: number; failed: number; firstError: unknown }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One producer's send loop: throttled, windowed, stopping at its quota or the shared deadline. */
async function sendLoop(producer: Producer, options: ProduceBenchOptions, quota: number, deadlineMs: number,
  tally: SendTally, ackLatency: LatencyRecorder): Promise<void> {
  // One message and one value for every record: send() is done with both when it returns (the
  // record is encoded into its batch by then), so only the send time changes from record to record.
  const value = Buffer.alloc(options.recordBytes, 0x61);
  const sendTime = new DataView(value.buffer, value.byteOffset, SEND_TIME_BYTES);
  const message = { topic: options.topic, value };
  const ratePerProducer = options.recordsPerSecondMax / options.producers;
  const throttled = Number.isFinite(ratePerProducer);
  const started = performance.now();
  let outstanding = 0;
  let roomFreed: (() => void) | null = null;
  const settled = (): void => {
    outstanding -= 1;
    const wake = roomFreed;
    roomFreed = null;
    wake?.();
  };
  const failed = (error: unknown): void => {
    tally.failed += 1;
    tally.firstError ??= error;
    settled();
  };
  for (let sent = 0; sent < quota; sent += 1) {
    if (sent % YIELD_EVERY_RECORDS === 0) {
      if (performance.now() >= deadlineMs) break;
      await new Promise<void>((resolve) => { setImmediate(resolve); });
    }
    if (throttled) {
      const behindMs = sent / ratePerProducer * 1_000 - (performance.now() - started);
      if (behindMs > 1) await sleep(behindMs);
    }
    while (outstanding >= options.windowRecords) {
      await new Promise<void>((resolve) => { roomFreed = resolve; });
    }
    const sentAt = performance.now();
    sendTime.setFloat64(0, sentAt, true);
    outstanding += 1;
    tally.sent += 1;
    // The one closure per record: the bench's own per-record cost counts against the figure.
    producer.send(message).then(() => {
      tally.acked += 1;
      ackLatency.recordMs(performance.now() - sentAt);
      settled();
    }, failed);
  }
  await producer.flush();
}

/** Reads every partition from its current end and records produce-to-consume latency until stopped. */
class EndToEndReader {
  readonly latency = new LatencyRecorder();
  consumed = 0;
  private stopAfter: number | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly consumer: Consumer, private readonly recordBytes: number) {}

  static async open(options: ProduceBenchOptions): Promise<EndToEndReader> {
    // Positioned at the end before anything is produced.
    const consumer = await openBenchConsumer({ bootstrap: options.bootstrap, maxWaitMs: 100,
      ...(options.security === undefined ? {} : { security: options.security }),
      partitionMaxBytes: 4 * 2 ** 20, clientId: 'bench-end-to-end' }, options.topic, options.partitions, 'end');
    return new EndToEndReader(consumer, options.recordBytes);
  }

  start(): void {
    this.running = this.run();
  }

  /** Waits (boundedly) until `records` have been consumed, then stops. */
  async finish(records: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopAfter = records;
    await this.running;
    await this.consumer.close();
  }

  private async run(): Promise<void> {
    let drainDeadline = Infinity;
    while (this.stopAfter === null || (this.consumed < this.stopAfter && performance.now() < drainDeadline)) {
      if (this.stopAfter !== null && drainDeadline === Infinity) {
        drainDeadline = performance.now() + END_TO_END_DRAIN_MS;
      }
      const records = await this.consumer.poll({ timeoutMs: 100 });
      const now = performance.now();
      for (const record of records) {
        assert(record.value !== null && record.value.length === this.recordBytes, 'bench records have full values');
        this.latency.recordMs(now - record.value.readDoubleLE(0));
      }
      this.consumed += records.length;
    }
  }
}

function describe(error: unknown): string | null {
  if (error === null) return null;
  return error instanceof Error ? error.message : JSON.stringify(error);
}

export async function runProduceBench(options: ProduceBenchOptions): Promise<ProduceBenchResult> {
  assert(options.recordBytes >= SEND_TIME_BYTES,
    () => `records carry an 8-byte send time: at least ${SEND_TIME_BYTES} bytes`);
  assert(options.producers >= 1 && options.windowRecords >= 1, 'at least one producer and a window of one');
  const producers = Array.from({ length: options.producers }, (_, i) => new Producer({
    bootstrap: options.bootstrap, clientId: `bench-producer-${i}`, acks: options.acks, lingerMs: options.lingerMs,
    batchBytesMax: options.batchBytes, bufferBytesMax: Math.max(64 * 2 ** 20, options.batchBytes * 4),
    idempotent: options.idempotent, inflightRequestsMax: options.inflightRequests,
    ...(options.security === undefined ? {} : { security: options.security }),
  }));
  const reader = options.endToEnd ? await EndToEndReader.open(options) : null;
  try {
    await Promise.all(producers.map((producer) => producer.connect()));
    await Promise.all(producers.map((producer) => producer.partitionsFor(options.topic)));
    const tally: SendTally = { sent: 0, acked: 0, failed: 0, firstError: null };
    const ackLatency = new LatencyRecorder();
    reader?.start();
    const started = performance.now();
    const deadlineMs = started + options.durationMs;
    const progress = setInterval(() => {
      options.onProgress?.({ records: tally.acked, elapsedMs: performance.now() - started });
    }, PROGRESS_EVERY_MS);
    try {
      const quota = (i: number): number => Math.floor(options.records / options.producers)
        + (i < options.records % options.producers ? 1 : 0);
      await Promise.all(producers.map((producer, i) => sendLoop(producer, options, quota(i), deadlineMs, tally,
        ackLatency)));
    } finally {
      clearInterval(progress);
    }
    const seconds = (performance.now() - started) / 1_000;
    options.onProgress?.({ records: tally.acked, elapsedMs: seconds * 1_000 });
    await reader?.finish(tally.acked);
    assert(tally.acked + tally.failed === tally.sent, 'every record sent was settled by flush');
    return { ...throughput(tally.acked, options.recordBytes, seconds), failed: tally.failed,
      firstError: describe(tally.firstError), latencyMs: ackLatency.summary(),
      endToEndLatencyMs: reader?.latency.summary() ?? null, consumedRecords: reader?.consumed ?? null };
  } finally {
    await reader?.finish(0);
    await Promise.all(producers.map((producer) => producer.close()));
  }
}
