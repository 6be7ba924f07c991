/**
 * The loaded floor (`tributary bench floor --throughput N`): the latency this machine allows for
 * acks=all records at a steady rate, with nothing behind them but the path's hops and fdatasyncs, to
 * hold `bench produce --throughput N --linger-ms 0 --end-to-end` against.
 *
 * The three floor replicas (floor_replica.ts) each lead a share of the writes and follow the
 * others', as three brokers each lead some partitions. The client paces records as the produce
 * bench does (msUntilNextDue, recordsDue: every record due goes in one call), hands each call's
 * records to the next leader in turn, and keeps one write in flight per leader, as the producer does
 * at linger 0: records that come while a write is in flight leave together when it is answered. A
 * consumer long-polls every leader, as a Fetch does. Each record carries its send time in its first
 * 8 bytes, so produce-to-ack and produce-to-consume are measured per record, as in the produce bench.
 *
 * What it leaves out is the product: no Raft, no log, no index, no codec, no idempotence, one file
 * per replica. So its figures are a floor for Tributary's at the same rate, not a model of it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import * as zmq from 'zeromq';
import { assert } from '../../raft/core/assert.js';
import { SendQueue } from '../../src/net/send_queue.js';
import { HostCpuMeter } from '../host_cpu.js';
import type { HostCpuFigures } from '../host_cpu.js';
import { LatencyRecorder } from '../latency.js';
import type { LatencySummaryMs } from '../latency.js';
import { SEND_MANY_RECORDS_MAX, msUntilNextDue, recordsDue } from '../produce_bench.js';
import { onCluster } from './floor_cluster.js';
import { FloorFrame, sequenceFrame, sequenceOf } from './floor_protocol.js';

export interface LoadedFloorOptions {
  readonly recordsPerSec: number;
  /** The measured part, after the warm-up. */
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly recordBytes: number;
  /** Where the replicas' files go (default: the OS temp folder). */
  readonly directory?: string;
}

export interface LoadedFloorResult {
  readonly recordBytes: number;
  readonly recordsPerSecCap: number;
  /** Records sent in the measured part, per second. */
  readonly recordsPerSec: number;
  /** Writes (one per leader round) sent in the measured part, per second, and their mean size. */
  readonly writesPerSec: number;
  readonly recordsPerWrite: number;
  readonly ackLatencyMs: LatencySummaryMs;
  readonly endToEndLatencyMs: LatencySummaryMs;
  readonly hostCpu: HostCpuFigures | null;
}

/** The send time at the head of every record, as in the produce bench. */
const SEND_TIME_BYTES = 8;
/** How long an answer or a delivery may take before the bench gives up. */
const ANSWER_TIMEOUT_MS = 5_000;
/** How long the writes and deliveries in flight at the end may take to finish. */
const DRAIN_TIMEOUT_MS = 10_000;
const DRAIN_POLL_MS = 5;
/** Messages a socket's single writer holds (one write or fetch in flight needs one). */
const SEND_QUEUE_MAX = 1_024;

const WRITE = Buffer.from([FloorFrame.write]);
const FETCH = Buffer.from([FloorFrame.fetch]);

/** The measured part's window and what fell in it. */
class Window {
  readonly ack = new LatencyRecorder();
  readonly endToEnd = new LatencyRecorder();
  writes = 0;
  writtenRecords = 0;

  constructor(readonly startMs: number, readonly endMs: number, private readonly recordBytes: number) {}

  wrote(payload: Buffer, atMs: number): void {
    if (atMs < this.startMs || atMs >= this.endMs) return;
    this.writes += 1;
    this.writtenRecords += payload.length / this.recordBytes;
  }

  /** One sample per record of `payload` sent in the window. */
  settled(recorder: LatencyRecorder, payload: Buffer, nowMs: number): void {
    for (let at = 0; at < payload.length; at += this.recordBytes) {
      const sentAt = payload.readDoubleLE(at);
      if (sentAt >= this.startMs) recorder.recordMs(nowMs - sentAt);
    }
  }
}

/** The first error of the sockets' callbacks, rethrown by the run (later ones follow from it). */
class FirstFailure {
  private first: { error: unknown } | null = null;

  get happened(): boolean {
    return this.first !== null;
  }

  record(error: unknown): void {
    this.first ??= { error };
  }

  throwIfAny(): void {
    if (this.first !== null) throw this.first.error;
  }
}

/** One leader as the client sees it: a producer with one write in flight and a long-polling consumer. */
class LeaderStream {
  private readonly producer = new zmq.Dealer({ linger: 0, receiveTimeout: ANSWER_TIMEOUT_MS });
  private readonly producerQueue = new SendQueue(this.producer, SEND_QUEUE_MAX);
  private readonly consumer = new zmq.Dealer({ linger: 0, receiveTimeout: ANSWER_TIMEOUT_MS });
  private readonly consumerQueue = new SendQueue(this.consumer, SEND_QUEUE_MAX);
  private open: Buffer[] = [];
  private inFlight: Buffer | null = null;
  private lastSent = 0;
  private lastDelivered = 0;
  private stopped = false;
  private consuming: Promise<void> | null = null;

  constructor(port: number, private readonly window: Window, private readonly failed: (error: unknown) => void) {
    this.producer.connect(`tcp://127.0.0.1:${port}`);
    this.consumer.connect(`tcp://127.0.0.1:${port}`);
  }

  startConsuming(): void {
    this.consuming = this.consume().catch(this.failed);
  }

  /** Queues records; they leave at once if no write is in flight, else with the next one. */
  add(records: Buffer): void {
    this.open.push(records);
    if (this.inFlight === null) this.sendOpen();
  }

  /** Nothing open, nothing in flight, everything sent delivered to the consumer. */
  get idle(): boolean {
    return this.open.length === 0 && this.inFlight === null && this.lastDelivered === this.lastSent;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.producerQueue.close();
    this.consumerQueue.close();
    this.producer.close();
    this.consumer.close();
    await this.consuming;
  }

  private sendOpen(): void {
    const payload = this.open.length === 1 ? this.open[0] as Buffer : Buffer.concat(this.open);
    this.open = [];
    this.inFlight = payload;
    this.lastSent += 1;
    this.window.wrote(payload, performance.now());
    this.producerQueue.send([WRITE, sequenceFrame(this.lastSent), payload]).catch(this.failed);
    this.awaitAnswer(this.lastSent).catch(this.failed);
  }

  private async awaitAnswer(sequence: number): Promise<void> {
    const [kind, answered] = await this.producer.receive();
    assert(kind?.[0] === FloorFrame.answer && sequenceOf(answered) === sequence, 'each answer is to the write in flight');
    const payload = this.inFlight;
    assert(payload !== null, 'an answer comes for a write in flight');
    this.window.settled(this.window.ack, payload, performance.now());
    this.inFlight = null;
    if (this.open.length > 0 && !this.stopped) this.sendOpen();
  }

  private running(): boolean {
    return !this.stopped;
  }

  private async consume(): Promise<void> {
    while (this.running()) {
      await this.consumerQueue.send([FETCH, sequenceFrame(this.lastDelivered)]);
      const [kind, last, ...payloads] = await this.consumer.receive();
      if (!this.running()) return;
      assert(kind?.[0] === FloorFrame.deliver && payloads.length > 0, 'a fetch is answered with writes');
      const now = performance.now();
      for (const payload of payloads) this.window.settled(this.window.endToEnd, payload, now);
      this.lastDelivered = sequenceOf(last);
      assert(this.lastDelivered <= this.lastSent, 'only writes that were sent are delivered');
    }
  }
}

/** Runs the loaded floor on a fresh three-replica cluster. */
export async function runLoadedFloor(options: LoadedFloorOptions): Promise<LoadedFloorResult> {
  assert(options.recordsPerSec > 0 && Number.isFinite(options.recordsPerSec), 'a positive, finite rate');
  assert(options.durationMs > 0 && options.warmupMs >= 0, 'a positive duration and a warm-up of 0 or more');
  assert(Number.isSafeInteger(options.recordBytes) && options.recordBytes >= SEND_TIME_BYTES,
    'records of at least 8 bytes');
  return onCluster(options.directory ?? os.tmpdir(), { fsync: true, consumer: true }, async (cluster) => {
    const failure = new FirstFailure();
    const failed = (error: unknown): void => { failure.record(error); };
    const started = performance.now();
    const window = new Window(started + options.warmupMs, started + options.warmupMs + options.durationMs,
      options.recordBytes);
    const leaders = cluster.ports.map((port) => new LeaderStream(port, window, failed));
    try {
      for (const leader of leaders) leader.startConsuming();
      const template = Buffer.alloc(options.recordBytes, 0x61);
      let meter: HostCpuMeter | null = null;
      let hostCpu: HostCpuFigures | null = null;
      let turn = 0;
      for (let sent = 0; !failure.happened;) {
        const untilNextMs = msUntilNextDue(sent, options.recordsPerSec, performance.now() - started);
        if (untilNextMs > 0) await sleep(Math.min(untilNextMs, window.endMs - performance.now()));
        const now = performance.now();
        if (now >= window.startMs) meter ??= new HostCpuMeter();
        if (now >= window.endMs) break;
        const due = Math.min(SEND_MANY_RECORDS_MAX,
          Math.max(1, recordsDue(sent, options.recordsPerSec, now - started)));
        const records = Buffer.allocUnsafe(due * options.recordBytes);
        for (let at = 0; at < records.length; at += options.recordBytes) {
          template.copy(records, at);
          records.writeDoubleLE(now, at);
        }
        (leaders[turn] as LeaderStream).add(records);
        turn = (turn + 1) % leaders.length;
        sent += due;
      }
      hostCpu = meter?.stop() ?? null;
      for (let waited = 0; !failure.happened && !leaders.every((leader) => leader.idle); waited += DRAIN_POLL_MS) {
        if (waited >= DRAIN_TIMEOUT_MS) throw new Error('the floor\'s writes in flight did not finish in time');
        await sleep(DRAIN_POLL_MS);
      }
      failure.throwIfAny();
      const seconds = options.durationMs / 1_000;
      return { recordBytes: options.recordBytes, recordsPerSecCap: options.recordsPerSec,
        recordsPerSec: window.writtenRecords / seconds, writesPerSec: window.writes / seconds,
        recordsPerWrite: window.writes === 0 ? 0 : window.writtenRecords / window.writes,
        ackLatencyMs: window.ack.summary(), endToEndLatencyMs: window.endToEnd.summary(), hostCpu };
    } finally {
      await Promise.all(leaders.map((leader) => leader.close()));
    }
  });
}
