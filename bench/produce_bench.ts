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
import { HostCpuMeter } from './host_cpu.js';
import { ProcessCpuMeter } from './process_cpu.js';
import type { ProcessCpuFigures } from './process_cpu.js';
import type { HostCpuFigures } from './host_cpu.js';
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
  /** Idempotent producers; undefined: the library's default (on with acks all). */
  readonly idempotent?: boolean;
  /**
   * Records go to each producer in sendMany calls of up to SEND_MANY_RECORDS_MAX (true), or one
   * send() per record (false: the per-record promise API, to compare against).
   */
  readonly sendMany: boolean;
  readonly endToEnd: boolean;
  /**
   * Sends for this long first, at the same rate and window, and drops what it measured (Kafka's
   * producer-perf-test --warmup-records): a cluster started for the bench runs its first seconds
   * cold, its code not yet compiled by V8's optimizing tier. 0 or absent: no warm-up.
   */
  readonly warmupMs?: number;
  readonly onProgress?: (progress: BenchProgress) => void;
  /** The client keys of a secure (CURVE) cluster. */
  readonly security?: ClientSecurityOptions;
  /** Processes whose CPU to report over the measured part, by name (the local brokers; the bench is added). */
  readonly cpuProcesses?: ReadonlyMap<string, number>;
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
  /** The machine's CPU over the measured part (null off Linux). */
  readonly hostCpu: HostCpuFigures | null;
  /**
   * Each process's CPU and its main thread's wait for a core over the measured part (null off Linux,
   * and from the kafkajs bench).
   */
  readonly processCpu: Record<string, ProcessCpuFigures> | null;
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

/**
 * Records per sendMany call at most. Each call's records share one send time and one settle time
 * (the last of their batches), so this stays well under a batch: 1,000 100-byte records are 110 KB,
 * under the default 256 KiB batch.size, and at linger 0 and low rates a call holds the few records
 * that are due.
 */
export const SEND_MANY_RECORDS_MAX = 1_000;

/**
 * A capped rate's pacing, as Kafka's perf test throttles: the loop sleeps until its next record is
 * due, then sends every record due by then in one call. A timer fires a millisecond or more after
 * it is set, so at a high rate a call holds about a millisecond's records; sending while ahead of
 * time instead went one record a call (two thirds of them at 46,000 rec/s).
 */
export function msUntilNextDue(sent: number, recordsPerSec: number, elapsedMs: number): number {
  return (sent + 1) / recordsPerSec * 1_000 - elapsedMs;
}

/** Records due by elapsedMs beyond the `sent` already sent (0 or less when ahead of time). */
export function recordsDue(sent: number, recordsPerSec: number, elapsedMs: number): number {
  return Math.floor(elapsedMs * recordsPerSec / 1_000) - sent;
}

/** One producer's send loop: throttled, windowed, stopping at its quota or the shared deadline. */
async function sendLoop(producer: Producer, options: ProduceBenchOptions, quota: number, deadlineMs: number,
  tally: SendTally, ackLatency: LatencyRecorder): Promise<void> {
  // One message and one value for every record: sendMany and send() are done with both when they
  // return (the records are encoded into their batches by then), so only the send time changes.
  const value = Buffer.alloc(options.recordBytes, 0x61);
  const sendTime = new DataView(value.buffer, value.byteOffset, SEND_TIME_BYTES);
  const message = { topic: options.topic, value };
  const chunkMax = options.sendMany ? SEND_MANY_RECORDS_MAX : 1;
  const fullChunk: (typeof message)[] = Array.from({ length: chunkMax }, () => message);
  const chunkOf = (n: number): (typeof message)[] => (n === chunkMax ? fullChunk : fullChunk.slice(0, n));
  const ratePerProducer = options.recordsPerSecondMax / options.producers;
  const throttled = Number.isFinite(ratePerProducer);
  const started = performance.now();
  let outstanding = 0;
  let roomFreed: (() => void) | null = null;
  const settled = (records: number): void => {
    outstanding -= records;
    const wake = roomFreed;
    roomFreed = null;
    wake?.();
  };
  let sinceYield = 0;
  for (let sent = 0; sent < quota;) {
    if (sinceYield >= YIELD_EVERY_RECORDS || sent === 0) {
      sinceYield = 0;
      if (performance.now() >= deadlineMs) break;
      await new Promise<void>((resolve) => { setImmediate(resolve); });
    }
    let due = quota - sent;
    if (throttled) {
      const untilNextMs = msUntilNextDue(sent, ratePerProducer, performance.now() - started);
      if (untilNextMs > 0) await sleep(Math.min(untilNextMs, deadlineMs - performance.now()));
      // At a low rate the next yield is minutes away: the deadline is checked after every wait.
      if (performance.now() >= deadlineMs) break;
      due = Math.max(1, Math.min(due, recordsDue(sent, ratePerProducer, performance.now() - started)));
    }
    while (outstanding >= options.windowRecords) {
      await new Promise<void>((resolve) => { roomFreed = resolve; });
    }
    const records = Math.min(due, chunkMax, options.windowRecords - outstanding);
    const sentAt = performance.now();
    sendTime.setFloat64(0, sentAt, true);
    outstanding += records;
    tally.sent += records;
    sent += records;
    sinceYield += records;
    // The bench's own cost counts against the figure: one closure per call.
    const delivered = (): void => {
      tally.acked += records;
      const latencyMs = performance.now() - sentAt;
      for (let i = 0; i < records; i += 1) ackLatency.recordMs(latencyMs);
      settled(records);
    };
    const failed = (error: unknown): void => {
      // sendMany rejects for its first failed record; the call's records are counted failed together.
      tally.failed += records;
      tally.firstError ??= error;
      settled(records);
    };
    if (options.sendMany) producer.sendMany(chunkOf(records)).then(delivered, failed);
    else producer.send(message).then(delivered, failed);
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

/** The send loop of every producer for `warmupMs`, its tally and latencies dropped; a failure ends the bench. */
async function warmUp(producers: readonly Producer[], options: ProduceBenchOptions, warmupMs: number): Promise<void> {
  const tally: SendTally = { sent: 0, acked: 0, failed: 0, firstError: null };
  const deadlineMs = performance.now() + warmupMs;
  await Promise.all(producers.map((producer) => sendLoop(producer, options, Infinity, deadlineMs, tally,
    new LatencyRecorder())));
  if (tally.failed > 0) {
    throw new Error(`${tally.failed} of the warm-up's ${tally.sent} records failed, first: ${describe(tally.firstError)}`);
  }
}

export async function runProduceBench(options: ProduceBenchOptions): Promise<ProduceBenchResult> {
  assert(options.recordBytes >= SEND_TIME_BYTES,
    () => `records carry an 8-byte send time: at least ${SEND_TIME_BYTES} bytes`);
  assert(options.producers >= 1 && options.windowRecords >= 1, 'at least one producer and a window of one');
  const producers = Array.from({ length: options.producers }, (_, i) => new Producer({
    bootstrap: options.bootstrap, clientId: `bench-producer-${i}`, acks: options.acks, lingerMs: options.lingerMs,
    batchBytesMax: options.batchBytes, bufferBytesMax: Math.max(64 * 2 ** 20, options.batchBytes * 4),
    ...(options.idempotent === undefined ? {} : { idempotent: options.idempotent }),
    inflightRequestsMax: options.inflightRequests,
    ...(options.security === undefined ? {} : { security: options.security }),
  }));
  let reader: EndToEndReader | null = null;
  try {
    await Promise.all(producers.map((producer) => producer.connect()));
    await Promise.all(producers.map((producer) => producer.partitionsFor(options.topic)));
    const warmupMs = options.warmupMs ?? 0;
    if (warmupMs > 0) await warmUp(producers, options, warmupMs);
    // Opened after the warm-up, at the end of every partition: it reads only measured records.
    reader = options.endToEnd ? await EndToEndReader.open(options) : null;
    const tally: SendTally = { sent: 0, acked: 0, failed: 0, firstError: null };
    const ackLatency = new LatencyRecorder();
    reader?.start();
    const hostCpu = new HostCpuMeter();
    const processCpu = new ProcessCpuMeter(new Map([...options.cpuProcesses ?? [], ['bench', process.pid]]));
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
    const hostCpuFigures = hostCpu.stop();
    const processCpuFigures = processCpu.stop();
    options.onProgress?.({ records: tally.acked, elapsedMs: seconds * 1_000 });
    await reader?.finish(tally.acked);
    assert(tally.acked + tally.failed === tally.sent, 'every record sent was settled by flush');
    return { ...throughput(tally.acked, options.recordBytes, seconds), failed: tally.failed,
      firstError: describe(tally.firstError), latencyMs: ackLatency.summary(),
      endToEndLatencyMs: reader?.latency.summary() ?? null, consumedRecords: reader?.consumed ?? null,
      hostCpu: hostCpuFigures, processCpu: processCpuFigures };
  } finally {
    await reader?.finish(0);
    await Promise.all(producers.map((producer) => producer.close()));
  }
}
