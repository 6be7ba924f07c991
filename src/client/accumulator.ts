/**
 * The producer's record accumulator (Kafka RecordAccumulator): records wait here, grouped per
 * (topic, partition) into batches, until a batch is worth sending.
 *
 * - Each partition has at most one OPEN batch taking records. It CLOSES when the next record
 *   would take it over batchBytesMax (the record opens a new batch), when its buffer cannot grow
 *   within bufferBytesMax, when lingerMs have passed since its first record (checked by ready),
 *   or on flush. A record bigger than batchBytesMax gets a batch of its own, as in Kafka.
 * - A record is encoded into its batch's buffer when it is appended (Kafka's
 *   MemoryRecordsBuilder, here RecordBatchBuilder): nothing of the record is kept by reference,
 *   so callers may reuse their buffers once append returns.
 * - Closed batches queue per partition in creation order. ready(nowMs) drains them: each gets its
 *   header then, its baseSequence taken (idempotence) and its records compressed if asked.
 * - The caller sends a drained batch and then calls complete(batch, baseOffset), which resolves
 *   every record's delivery promise with its offset, or fail(batch, error), which rejects them
 *   all. reenqueue(batch) puts a batch back for a retry, bytes and sequence unchanged.
 * - Memory is bounded: the batch buffers (their capacity, not just the bytes written) of batches
 *   not yet completed or failed never exceed bufferBytesMax. A batch's buffer starts at
 *   BATCH_BYTES_INITIAL doubled until it holds what its partition's previous batch reached (at
 *   most batchBytesMax; an oversized record gets exactly its size) and doubles up to batchBytesMax
 *   as it fills. When a new batch does not fit, append returns 'buffer-full' with a promise that
 *   resolves when some bytes are freed; the caller waits and appends again (Kafka blocks in
 *   BufferPool.allocate instead).
 * - One partition's batches never reserve more than partitionBufferBytesMax (unless it has none:
 *   its first batch is always allowed), so a partition that cannot send (its leader cut off) cannot
 *   take the buffer from the others: past its share, append returns 'partition-full' with a promise
 *   that resolves when that partition frees bytes. The caller parks the record (parked_sends.ts)
 *   and goes on with other partitions; isPartitionFull lets a partitioner steer around it.
 *
 * Sizes are those of the uncompressed batch (exact): gzip only shrinks a batch, apart from about
 * 20 bytes of framing on incompressible data.
 * Time comes from the injected clock (read once per append, for the record's CreateTime) and the
 * nowMs arguments: no timers here, the sender schedules itself with nextDeadlineMs().
 */
import { AssertionError, assert } from '../../raft/core/assert.js';
import { MessageTooLargeError } from '../common/errors.js';
import type { RecordHeaderInput } from '../protocol/record_batch.js';
import { BATCH_HEADER_BYTES, recordBodyBytes } from '../protocol/record_batch.js';
import { RecordBatchBuilder } from '../protocol/record_batch_builder.js';
import { VARLONG_MAX, varintBytes } from '../protocol/varint.js';
import { compressRecords } from './compression.js';
import type { ProducerCompression } from './compression.js';
import type { PartitionInput, Partitioner } from './partitioner.js';
import { topicPartitionKey } from './producer_state.js';
import type { ProducerSequences } from './producer_state.js';
import { TimestampRuns } from './timestamp_runs.js';

export interface Clock {
  nowMs(): number;
}

export interface AccumulatorConfig {
  /** Largest batch built from several records, in uncompressed bytes (Kafka batch.size). */
  readonly batchBytesMax: number;
  /** How long a batch may wait for more records after its first (Kafka linger.ms). */
  readonly lingerMs: number;
  /** Bytes of batch buffers held until completed or failed (Kafka buffer.memory). */
  readonly bufferBytesMax: number;
  /** The share of bufferBytesMax one partition may hold; bufferBytesMax when absent (no share). */
  readonly partitionBufferBytesMax?: number;
  readonly compression?: ProducerCompression;
  /** Present when idempotence is on: batches carry its producer id, epoch and sequences. */
  readonly sequences?: ProducerSequences;
  readonly clock: Clock;
}

/** Kafka's producer defaults (linger.ms as of Kafka 4.0). */
export const ACCUMULATOR_DEFAULTS = {
  batchBytesMax: 16 * 1024,
  lingerMs: 5,
  bufferBytesMax: 32 * 1024 * 1024,
} as const;

/**
 * The smallest buffer a batch starts with (when batchBytesMax is larger). Batches closed by linger
 * can stay far below a large batchBytesMax (the bench's 256 KiB), so a batch starts at the size
 * its partition's previous batch reached rather than at batchBytesMax: memory follows the load,
 * and under a steady load a batch rarely grows (growing from 16 KiB to 256 KiB, fresh memory and
 * copies each time, cost about 0.15 us per 100-byte record in the produce bench).
 */
export const BATCH_BYTES_INITIAL = 16 * 1024;

export function validateAccumulatorConfig(config: AccumulatorConfig): void {
  assert(Number.isSafeInteger(config.batchBytesMax) && config.batchBytesMax > BATCH_HEADER_BYTES,
    () => `batchBytesMax must exceed the ${BATCH_HEADER_BYTES}-byte batch header, got ${config.batchBytesMax}`);
  assert(Number.isSafeInteger(config.lingerMs) && config.lingerMs >= 0,
    () => `lingerMs must be a safe integer >= 0, got ${config.lingerMs}`);
  assert(Number.isSafeInteger(config.bufferBytesMax) && config.bufferBytesMax >= config.batchBytesMax,
    () => `bufferBytesMax (${config.bufferBytesMax}) must be at least batchBytesMax (${config.batchBytesMax})`);
  const share = config.partitionBufferBytesMax;
  assert(share === undefined || (Number.isSafeInteger(share) && share >= config.batchBytesMax
    && share <= config.bufferBytesMax),
  () => `partitionBufferBytesMax (${String(share)}) must be from batchBytesMax to bufferBytesMax`);
}

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The record's CreateTime, or the broker's LogAppendTime when complete() was given one. */
  readonly timestamp: number;
}

export interface BufferFull {
  readonly kind: 'buffer-full';
  /** Resolves when bytes are freed: append again then. */
  readonly spaceFreed: Promise<undefined>;
}

/** The record's partition holds its whole share of the buffer; nothing was appended. */
export interface PartitionFull {
  readonly kind: 'partition-full';
  readonly topic: string;
  readonly partition: number;
  /** Resolves when this partition frees bytes: append again then. */
  readonly spaceFreed: Promise<undefined>;
}

/** Only with abortOnNewBatch: the record would open a batch; nothing was appended. */
export interface NewBatchNeeded {
  readonly kind: 'new-batch-needed';
}

/**
 * The record's delivery when it was appended, else why not. The delivery promise itself, not an
 * object around it: append runs once per record.
 */
export type AppendResult = Promise<RecordMetadata> | BufferFull | PartitionFull | NewBatchNeeded;

/**
 * What appendUntracked hands back when the record was appended: the batch it went into, with no
 * promise of its own (the batch itself, not an object around it). The record is number
 * recordCount - 1 of the batch as append returns; its offset is the batch's base offset plus that.
 */
export interface AppendedBatch {
  readonly kind: 'appended';
  readonly topic: string;
  readonly partition: number;
  readonly recordCount: number;
  /** Settles (never rejects) when the batch is completed or fails for good. */
  readonly outcome: { readonly promise: Promise<BatchOutcome> };
  /** The CreateTime of record number slot. */
  timestampOf(slot: number): number;
}

/** appendUntracked's answer: the batch, else why not (as append). */
export type UntrackedAppendResult = AppendedBatch | BufferFull | PartitionFull | NewBatchNeeded;

const NEW_BATCH_NEEDED: NewBatchNeeded = Object.freeze({ kind: 'new-batch-needed' });

/** A drained batch, owned by the sender until it calls complete, fail or reenqueue. */
export interface ProducerBatch {
  /** Creation order across the accumulator; later batches of a partition have larger ids. */
  readonly id: number;
  readonly topic: string;
  readonly partition: number;
  readonly recordCount: number;
  /** The RecordBatch v2 bytes to send (baseOffset 0); identical on every retry. */
  readonly bytes: Buffer;
  /** -1 without idempotence. */
  readonly baseSequence: number;
  readonly createdMs: number;
}

/** How a batch ended: its base offset (and LogAppendTime, if any) or the error of all its records. */
export type BatchOutcome =
  | { readonly ok: true; readonly baseOffset: number; readonly logAppendTimeMs: number | undefined }
  | { readonly ok: false; readonly error: unknown };

class Batch implements AppendedBatch {
  readonly kind = 'appended';
  readonly builder: RecordBatchBuilder;
  /** Each record's CreateTime, for its RecordMetadata. */
  readonly timestamps = new TimestampRuns();
  /**
   * One promise per batch, not one deferred per record: each record's delivery is derived from it
   * with the shared reaction settleNext.
   */
  readonly outcome = deferred<BatchOutcome>();
  /** Buffer bytes reserved for this batch: its builder's capacity. */
  reservedBytes: number;
  /** Set when drained the first time; a retry reuses it. */
  built: ProducerBatch | null = null;
  done = false;
  /** Records whose delivery settleNext has resolved so far. */
  private settled = 0;
  /**
   * The slots of the records that have a delivery promise, in order; null while every record has
   * one (then the n-th reaction is record n's). Made when the first untracked record comes.
   */
  private trackedSlots: number[] | null = null;

  constructor(readonly id: number, readonly queue: PartitionQueue, readonly topic: string, readonly partition: number,
    readonly createdMs: number, baseTimestamp: number, capacityBytes: number) {
    this.builder = new RecordBatchBuilder(baseTimestamp, capacityBytes);
    this.reservedBytes = capacityBytes;
  }

  get recordCount(): number {
    return this.timestamps.length;
  }

  timestampOf(slot: number): number {
    return this.timestamps.at(slot);
  }

  /**
   * Encodes the record (bodyBytes from builder.nextBodyBytes) and returns its delivery, or with
   * tracked false the batch itself: the caller settles the record from the batch's outcome.
   */
  add(key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeaderInput[], timestamp: number,
    bodyBytes: number, tracked: boolean): Promise<RecordMetadata> | this {
    this.builder.append(key, value, headers, timestamp, bodyBytes);
    const slot = this.timestamps.length;
    this.timestamps.push(timestamp);
    if (!tracked) {
      this.trackedSlots ??= Array.from({ length: slot }, (_, i) => i);
      return this;
    }
    this.trackedSlots?.push(slot);
    return this.outcome.promise.then(this.settleNext);
  }

  /**
   * The reaction of every record of the batch to its outcome, shared to save a closure per record.
   * Reactions to one promise run in the order they were registered (ECMAScript
   * TriggerPromiseReactions), and record i registered i-th, so the n-th call is record n's.
   */
  private readonly settleNext = (outcome: BatchOutcome): RecordMetadata => {
    if (!outcome.ok) throw outcome.error;
    const reaction = this.settled++;
    const slot = this.trackedSlots === null ? reaction : this.trackedSlots[reaction];
    assert(slot !== undefined, () => `batch ${this.id} settled more than its tracked records`);
    return { topic: this.topic, partition: this.partition, offset: outcome.baseOffset + slot,
      timestamp: outcome.logAppendTimeMs ?? this.timestamps.at(slot) };
  };
}

interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  open: Batch | null;
  /** Closed or re-enqueued batches, ascending id. */
  readonly closed: Batch[];
  /** Bytes the last batch closed here had reached: where the next one's buffer starts. */
  lastBatchBytes: number;
  /** Buffer bytes reserved by this partition's batches (open, queued and with the sender). */
  reservedBytes: number;
  /** Set while a caller waits for this partition to free bytes. */
  spaceWaiter: { readonly full: PartitionFull; readonly resolve: () => void } | null;
}

export class RecordAccumulator {
  private readonly config: AccumulatorConfig;
  private readonly queues = new Map<string, PartitionQueue>();
  /** Drained and not yet completed, failed or re-enqueued. */
  private readonly inflight = new Map<ProducerBatch, Batch>();
  /** The partition queues of each topic, by partition number (saves building a key per record). */
  private readonly queuesByTopic = new Map<string, (PartitionQueue | undefined)[]>();
  private bufferedBytesNow = 0;
  private nextBatchId = 0;
  /** nextDeadlineMs's answer until a batch opens, closes, drains or comes back; undefined: to compute. */
  private deadlineMs: number | null | undefined = null;
  private spaceWaiter: { readonly full: BufferFull; readonly resolve: () => void } | null = null;
  /** Partitions that answered 'partition-full' and have not freed bytes since. */
  private fullPartitions = 0;

  constructor(config: AccumulatorConfig) {
    validateAccumulatorConfig(config);
    this.config = config;
  }

  /**
   * Whether a new batch of (topic, partition) would be refused with 'partition-full' now: it
   * answered so and has freed nothing since, or it holds its whole share. Cheap when no partition
   * is full (the usual case): one comparison.
   */
  isPartitionFull(topic: string, partition: number): boolean {
    if (this.fullPartitions === 0 || this.config.partitionBufferBytesMax === undefined) return false;
    const queue = this.queuesByTopic.get(topic)?.[partition];
    return queue !== undefined && (queue.spaceWaiter !== null
      || this.overShare(queue, Math.min(BATCH_BYTES_INITIAL, this.config.batchBytesMax)));
  }

  /** Whether some partition answered 'partition-full' and has not freed bytes since. */
  get anyPartitionFull(): boolean {
    return this.fullPartitions > 0;
  }

  /** Bytes of batch buffers reserved and not yet completed or failed. */
  get bufferedBytes(): number {
    return this.bufferedBytesNow;
  }

  /**
   * Adds a record to the open batch of (topic, partition), opening or closing batches as needed,
   * and encodes it there. Fields come one by one, not as a record object: this runs per record.
   * timestamp is the CreateTime; undefined takes the clock. With abortOnNewBatch, a record that
   * would open a batch is not appended ('new-batch-needed': lets a sticky partitioner move first).
   */
  append(topic: string, partition: number, key: Uint8Array | null, value: Uint8Array | null,
    headers: readonly RecordHeaderInput[], timestamp: number | undefined, abortOnNewBatch = false): AppendResult {
    return this.appendRecord(topic, partition, key, value, headers, timestamp, abortOnNewBatch, true) as AppendResult;
  }

  /**
   * append without a delivery promise for the record: the batch it went into comes back instead
   * (Producer.sendMany settles many records from their few batches).
   */
  appendUntracked(topic: string, partition: number, key: Uint8Array | null, value: Uint8Array | null,
    headers: readonly RecordHeaderInput[], timestamp: number | undefined, abortOnNewBatch = false):
    UntrackedAppendResult {
    return this.appendRecord(topic, partition, key, value, headers, timestamp, abortOnNewBatch, false) as
      UntrackedAppendResult;
  }

  /** append (tracked) or appendUntracked, for callers that choose at run time. */
  appendRecord(topic: string, partition: number, key: Uint8Array | null, value: Uint8Array | null,
    headers: readonly RecordHeaderInput[], timestamp: number | undefined, abortOnNewBatch: boolean, tracked: boolean):
    AppendResult | UntrackedAppendResult {
    // Per record: the checks throw directly, as a closure for a lazy message would be allocated per call.
    if (!(Number.isInteger(partition) && partition >= 0)) throw new AssertionError(`bad partition ${partition}`);
    const recordTimestamp = timestamp ?? this.config.clock.nowMs();
    if (!(Number.isSafeInteger(recordTimestamp) && recordTimestamp >= 0 && recordTimestamp <= VARLONG_MAX)) {
      throw new AssertionError(`bad record timestamp ${recordTimestamp}`);
    }
    const queue = this.queueOf(topic, partition);
    const open = queue.open;
    if (open !== null) {
      const bodyBytes = open.builder.nextBodyBytes(key, value, headers, recordTimestamp);
      const sizeBytes = open.builder.sizeBytes + varintBytes(bodyBytes) + bodyBytes;
      if (sizeBytes <= this.config.batchBytesMax && this.makeRoom(open, sizeBytes)) {
        return open.add(key, value, headers, recordTimestamp, bodyBytes, tracked);
      }
      this.close(queue);
    }
    if (abortOnNewBatch) {
      return NEW_BATCH_NEEDED;
    }
    const bodyBytes = recordBodyBytes(key, value, headers, 0, 0);
    const sizeBytes = BATCH_HEADER_BYTES + varintBytes(bodyBytes) + bodyBytes;
    if (sizeBytes > this.config.bufferBytesMax) {
      throw new MessageTooLargeError(sizeBytes, this.config.bufferBytesMax);
    }
    const capacityBytes = Math.max(sizeBytes, this.startingCapacity(queue));
    if (this.overShare(queue, capacityBytes)) {
      return this.partitionFull(queue);
    }
    if (!this.reserve(queue, capacityBytes)) {
      return this.bufferFull();
    }
    // The clock was read already unless the record brought its own timestamp.
    const createdMs = timestamp === undefined ? recordTimestamp : this.config.clock.nowMs();
    const batch = this.openBatch(queue, topic, partition, createdMs, recordTimestamp, capacityBytes);
    return batch.add(key, value, headers, recordTimestamp, bodyBytes, tracked);
  }

  /**
   * Drains closed batches, oldest first per partition, building their bytes, and a batch whose
   * linger has passed with them. allowance(topic, partition, sealed) caps how many batches of a
   * partition to drain now (e.g. 0 while its leader is unknown or its in-flight limit is reached);
   * the rest stay queued in order. `sealed` says the partition has a closed batch waiting (one that
   * filled up, was flushed or came back for a retry), not only an open one. As in Kafka, linger
   * makes a batch sendable, it does not seal it: an open batch is closed only when it can be
   * drained now, so a partition that cannot send keeps filling its open batch (up to
   * batchBytesMax) instead of sealing a nearly empty batch, with its whole starting buffer, every
   * linger: those would take the shared buffer from healthy partitions.
   */
  ready(nowMs: number, allowance?: (topic: string, partition: number, sealed: boolean) => number):
    readonly ProducerBatch[] {
    const drained: ProducerBatch[] = [];
    for (const queue of this.queues.values()) {
      const head = queue.closed[0] ?? queue.open;
      if (head === null) continue;
      const allowed = allowance?.(head.topic, head.partition, queue.closed.length > 0) ?? Infinity;
      const lingered = queue.open !== null && nowMs - queue.open.createdMs >= this.config.lingerMs;
      if (lingered && queue.closed.length < allowed) this.close(queue);
      const first = queue.closed[0];
      if (first === undefined) continue;
      const count = Math.min(queue.closed.length, allowed);
      if (count <= 0) continue;
      for (const batch of queue.closed.splice(0, count)) {
        const built = batch.built ?? this.build(batch);
        this.inflight.set(built, batch);
        drained.push(built);
      }
      this.deadlineMs = undefined;
    }
    return drained;
  }

  /**
   * When ready() will next have something to drain: the earliest linger deadline of an open
   * batch, or the creation time of a queued closed batch (already due). null when empty.
   * Remembered until the batches change: the producer asks after every append, and most appends
   * only add to an open batch.
   */
  nextDeadlineMs(): number | null {
    if (this.deadlineMs !== undefined) return this.deadlineMs;
    let deadline: number | null = null;
    for (const queue of this.queues.values()) {
      const closedMs = queue.closed[0]?.createdMs;
      if (closedMs !== undefined && (deadline === null || closedMs < deadline)) deadline = closedMs;
      const lingerMs = queue.open === null ? undefined : queue.open.createdMs + this.config.lingerMs;
      if (lingerMs !== undefined && (deadline === null || lingerMs < deadline)) deadline = lingerMs;
    }
    this.deadlineMs = deadline;
    return deadline;
  }

  /** Closes every open batch, so that the next ready() drains everything without lingering. */
  flush(): void {
    for (const queue of this.queues.values()) {
      if (queue.open !== null) this.close(queue);
    }
  }

  /**
   * The broker stored the batch at baseOffset: record i resolves at baseOffset + i. Give
   * logAppendTimeMs when the topic uses LogAppendTime.
   */
  complete(built: ProducerBatch, baseOffset: number, logAppendTimeMs?: number): void {
    assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `bad baseOffset ${baseOffset}`);
    const batch = this.takeInflight(built);
    batch.outcome.resolve({ ok: true, baseOffset, logAppendTimeMs });
    this.release(batch, null);
  }

  /** The batch failed for good: every record's delivery rejects with error. */
  fail(built: ProducerBatch, error: unknown): void {
    this.release(this.takeInflight(built), { error });
  }

  /** Queues a drained batch again for a retry, ahead of younger batches of its partition. */
  reenqueue(built: ProducerBatch): void {
    const batch = this.takeInflight(built);
    const closed = this.queueOf(batch.topic, batch.partition).closed;
    const index = closed.findIndex((other) => other.id > batch.id);
    closed.splice(index < 0 ? closed.length : index, 0, batch);
    this.deadlineMs = undefined;
  }

  /**
   * Fails every batch not handed to the sender (open and queued) with error, as Kafka's
   * abortIncompleteBatches on close. Drained batches stay with the sender.
   */
  abort(error: unknown): void {
    for (const queue of this.queues.values()) {
      if (queue.open !== null) this.close(queue);
      for (const batch of queue.closed.splice(0)) {
        this.release(batch, { error });
      }
    }
    this.queues.clear();
    this.queuesByTopic.clear();
    this.deadlineMs = null;
  }

  private queueOf(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queuesByTopic.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queuesByTopic.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (queue === undefined) {
      queue = { topic, partition, open: null, closed: [], lastBatchBytes: 0, reservedBytes: 0, spaceWaiter: null };
      byPartition[partition] = queue;
      this.queues.set(topicPartitionKey(topic, partition), queue);
    }
    return queue;
  }

  private openBatch(queue: PartitionQueue, topic: string, partition: number, createdMs: number,
    baseTimestamp: number, capacityBytes: number): Batch {
    assert(queue.open === null, 'a partition has one open batch');
    const batch = new Batch(this.nextBatchId++, queue, topic, partition, createdMs, baseTimestamp, capacityBytes);
    queue.open = batch;
    this.deadlineMs = undefined;
    return batch;
  }

  /**
   * The buffer a new batch of queue starts with: BATCH_BYTES_INITIAL doubled until it holds what
   * the queue's last batch reached, at most batchBytesMax. Rounding up leaves room: a full batch
   * ends up to a record short of batchBytesMax, and the next may need that record's bytes.
   */
  private startingCapacity(queue: PartitionQueue): number {
    let capacityBytes = BATCH_BYTES_INITIAL;
    while (capacityBytes < queue.lastBatchBytes) capacityBytes *= 2;
    return Math.min(this.config.batchBytesMax, capacityBytes);
  }

  /**
   * Grows the batch's buffer, doubling up to batchBytesMax, until it holds sizeBytes (at most
   * batchBytesMax). false when the buffer memory does not allow it: the batch is as full as it gets.
   */
  private makeRoom(batch: Batch, sizeBytes: number): boolean {
    const capacityBytes = batch.builder.capacityBytes;
    if (sizeBytes <= capacityBytes) return true;
    const grownBytes = Math.min(this.config.batchBytesMax, Math.max(sizeBytes, capacityBytes * 2));
    // Runs per record: a closure for a lazy message here would allocate a context on every call.
    if (grownBytes < sizeBytes) throw new AssertionError(`a ${sizeBytes}-byte batch is over batchBytesMax`);
    const queue = batch.queue;
    if (this.overShare(queue, grownBytes - capacityBytes) || !this.reserve(queue, grownBytes - capacityBytes)) {
      return false;
    }
    batch.builder.growTo(grownBytes);
    batch.reservedBytes = grownBytes;
    return true;
  }

  private close(queue: PartitionQueue): void {
    const open = queue.open;
    assert(open !== null, 'no open batch to close');
    queue.open = null;
    queue.closed.push(open);
    queue.lastBatchBytes = open.builder.sizeBytes;
    this.deadlineMs = undefined;
  }

  private build(batch: Batch): ProducerBatch {
    const sequences = this.config.sequences;
    const recordCount = batch.builder.recordCount;
    const baseSequence = sequences === undefined ? -1 : sequences.assign(batch.topic, batch.partition, recordCount);
    const bytes = batch.builder.build({
      compression: this.config.compression ?? 'none',
      compress: compressRecords,
      producerId: sequences?.identity.producerId ?? -1,
      producerEpoch: sequences?.identity.producerEpoch ?? -1,
      baseSequence,
    });
    batch.built = {
      id: batch.id,
      topic: batch.topic,
      partition: batch.partition,
      recordCount,
      bytes,
      baseSequence,
      createdMs: batch.createdMs,
    };
    return batch.built;
  }

  private takeInflight(built: ProducerBatch): Batch {
    const batch = this.inflight.get(built);
    assert(batch !== undefined, () => `batch ${built.id} is not with the sender`);
    this.inflight.delete(built);
    return batch;
  }

  private reserve(queue: PartitionQueue, bytes: number): boolean {
    if (this.bufferedBytesNow + bytes > this.config.bufferBytesMax) {
      return false;
    }
    this.bufferedBytesNow += bytes;
    queue.reservedBytes += bytes;
    return true;
  }

  /** Whether reserving bytes more would take the partition over its share (its first batch never does). */
  private overShare(queue: PartitionQueue, bytes: number): boolean {
    const share = this.config.partitionBufferBytesMax;
    return share !== undefined && queue.reservedBytes > 0 && queue.reservedBytes + bytes > share;
  }

  private partitionFull(queue: PartitionQueue): PartitionFull {
    if (queue.spaceWaiter === null) {
      const { promise, resolve } = deferred<undefined>();
      queue.spaceWaiter = { full: { kind: 'partition-full', topic: queue.topic, partition: queue.partition,
        spaceFreed: promise }, resolve: () => { resolve(undefined); } };
      this.fullPartitions += 1;
    }
    return queue.spaceWaiter.full;
  }

  private bufferFull(): BufferFull {
    if (this.spaceWaiter === null) {
      const { promise, resolve } = deferred<undefined>();
      this.spaceWaiter = { full: { kind: 'buffer-full', spaceFreed: promise }, resolve: () => { resolve(undefined); } };
    }
    return this.spaceWaiter.full;
  }

  /** Ends a batch: rejects its records when failed, then frees its bytes. */
  private release(batch: Batch, failure: { readonly error: unknown } | null): void {
    assert(!batch.done, () => `batch ${batch.id} ended twice`);
    batch.done = true;
    if (failure !== null) batch.outcome.resolve({ ok: false, error: failure.error });
    this.bufferedBytesNow -= batch.reservedBytes;
    batch.queue.reservedBytes -= batch.reservedBytes;
    assert(this.bufferedBytesNow >= 0 && batch.queue.reservedBytes >= 0, 'buffered bytes went negative');
    const waiter = this.spaceWaiter;
    this.spaceWaiter = null;
    waiter?.resolve();
    const partitionWaiter = batch.queue.spaceWaiter;
    if (partitionWaiter !== null) {
      batch.queue.spaceWaiter = null;
      this.fullPartitions -= 1;
      partitionWaiter.resolve();
    }
  }
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

/**
 * Partitions and appends one record the way Kafka's KafkaProducer.doSend does: if the chosen
 * partition would need a new batch, the partitioner hears of it (a sticky partitioner moves on)
 * and the record is partitioned again before it opens one. Never returns 'new-batch-needed'.
 * The record's key is input.key.
 */
export function appendPartitioned(accumulator: RecordAccumulator, partitioner: Partitioner, input: PartitionInput,
  value: Uint8Array | null, headers: readonly RecordHeaderInput[], timestamp: number | undefined): AppendResult {
  return partitionThenAppend(accumulator, partitioner, input, value, headers, timestamp, true) as AppendResult;
}

/** appendPartitioned with appendUntracked: the record's batch comes back, not a promise. */
export function appendPartitionedUntracked(accumulator: RecordAccumulator, partitioner: Partitioner,
  input: PartitionInput, value: Uint8Array | null, headers: readonly RecordHeaderInput[],
  timestamp: number | undefined): UntrackedAppendResult {
  return partitionThenAppend(accumulator, partitioner, input, value, headers, timestamp, false) as
    UntrackedAppendResult;
}

function partitionThenAppend(accumulator: RecordAccumulator, partitioner: Partitioner, input: PartitionInput,
  value: Uint8Array | null, headers: readonly RecordHeaderInput[], timestamp: number | undefined, tracked: boolean):
  AppendResult | UntrackedAppendResult {
  const first = partitioner.partition(input);
  const result = accumulator.appendRecord(input.topic, first, input.key, value, headers, timestamp, true, tracked);
  if (result !== NEW_BATCH_NEEDED) {
    return result;
  }
  partitioner.onNewBatch(input.topic, first, input);
  const partition = partitioner.partition(input);
  return accumulator.appendRecord(input.topic, partition, input.key, value, headers, timestamp, false, tracked);
}
