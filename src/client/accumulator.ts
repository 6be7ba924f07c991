/**
 * The producer's record accumulator (Kafka RecordAccumulator): records wait here, grouped per
 * (topic, partition) into batches, until a batch is worth sending.
 *
 * - Each partition has at most one OPEN batch taking records. It CLOSES when the next record
 *   would take it over batchBytesMax (the record opens a new batch), when lingerMs have passed
 *   since its first record (checked by ready), or on flush. A record bigger than batchBytesMax
 *   gets a batch of its own, as in Kafka.
 * - Closed batches queue per partition in creation order. ready(nowMs) drains them: each is
 *   built then, its baseSequence taken (idempotence) and its RecordBatch v2 bytes encoded.
 * - The caller sends a drained batch and then calls complete(batch, baseOffset), which resolves
 *   every record's delivery promise with its offset, or fail(batch, error), which rejects them
 *   all. reenqueue(batch) puts a batch back for a retry, bytes and sequence unchanged.
 * - Memory is bounded: bytes of records appended and not yet completed or failed never exceed
 *   bufferBytesMax. When a record does not fit, append returns 'buffer-full' with a promise that
 *   resolves when some bytes are freed; the caller waits and appends again (Kafka blocks in
 *   BufferPool.allocate instead).
 *
 * Sizes are those of the uncompressed batch (exact, from recordSizeBytes): gzip only shrinks a
 * batch, apart from about 20 bytes of framing on incompressible data.
 * Time comes from the injected clock and the nowMs arguments: no timers here, the sender
 * schedules itself with nextDeadlineMs().
 * Keys, values and header values are kept by reference until the batch is built: callers must
 * not change them after append.
 */
import { assert } from '../../raft/core/assert.js';
import { MessageTooLargeError } from '../common/errors.js';
import type { RecordHeaderInput, RecordInput } from '../protocol/record_batch.js';
import { BATCH_HEADER_BYTES, recordSizeBytes } from '../protocol/record_batch.js';
import { VARLONG_MAX } from '../protocol/varint.js';
import { encodeBatch } from './compression.js';
import type { ProducerCompression } from './compression.js';
import type { PartitionInput, Partitioner } from './partitioner.js';
import { topicPartitionKey } from './producer_state.js';
import type { ProducerSequences } from './producer_state.js';

export interface Clock {
  nowMs(): number;
}

export interface AccumulatorConfig {
  /** Largest batch built from several records, in uncompressed bytes (Kafka batch.size). */
  readonly batchBytesMax: number;
  /** How long a batch may wait for more records after its first (Kafka linger.ms). */
  readonly lingerMs: number;
  /** Bytes of records held until completed or failed (Kafka buffer.memory). */
  readonly bufferBytesMax: number;
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

export function validateAccumulatorConfig(config: AccumulatorConfig): void {
  assert(Number.isSafeInteger(config.batchBytesMax) && config.batchBytesMax > BATCH_HEADER_BYTES,
    () => `batchBytesMax must exceed the ${BATCH_HEADER_BYTES}-byte batch header, got ${config.batchBytesMax}`);
  assert(Number.isSafeInteger(config.lingerMs) && config.lingerMs >= 0,
    () => `lingerMs must be a safe integer >= 0, got ${config.lingerMs}`);
  assert(Number.isSafeInteger(config.bufferBytesMax) && config.bufferBytesMax >= config.batchBytesMax,
    () => `bufferBytesMax (${config.bufferBytesMax}) must be at least batchBytesMax (${config.batchBytesMax})`);
}

export interface ProducerRecord {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly RecordHeaderInput[];
  /** CreateTime in ms; defaults to the clock at append. */
  readonly timestamp?: number;
}

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The record's CreateTime, or the broker's LogAppendTime when complete() was given one. */
  readonly timestamp: number;
}

export type AppendResult =
  | { readonly kind: 'appended'; readonly delivery: Promise<RecordMetadata> }
  /** Wait for spaceFreed, then append again. */
  | { readonly kind: 'buffer-full'; readonly spaceFreed: Promise<undefined> }
  /** Only with abortOnNewBatch: the record would open a batch; nothing was appended. */
  | { readonly kind: 'new-batch-needed' };

export interface AppendOptions {
  /** Return 'new-batch-needed' instead of opening a batch (lets a sticky partitioner move first). */
  readonly abortOnNewBatch?: boolean;
}

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
type BatchOutcome =
  | { readonly ok: true; readonly baseOffset: number; readonly logAppendTimeMs: number | undefined }
  | { readonly ok: false; readonly error: unknown };

interface Batch {
  readonly id: number;
  readonly topic: string;
  readonly partition: number;
  readonly createdMs: number;
  readonly baseTimestamp: number;
  readonly records: RecordInput[];
  /**
   * One promise per batch, not one deferred per record: each record's delivery is derived from it
   * (the per-record allocations were a large share of the producer's cost at 100-byte records).
   */
  readonly outcome: Deferred<BatchOutcome>;
  /** Uncompressed size so far, header included; also what it holds of the buffer. */
  sizeBytes: number;
  /** Set when drained the first time; a retry reuses it. */
  built: ProducerBatch | null;
  done: boolean;
}

interface PartitionQueue {
  open: Batch | null;
  /** Closed or re-enqueued batches, ascending id. */
  readonly closed: Batch[];
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
  private spaceWaiter: { readonly promise: Promise<undefined>; readonly resolve: () => void } | null = null;

  constructor(config: AccumulatorConfig) {
    validateAccumulatorConfig(config);
    this.config = config;
  }

  /** Bytes of records appended and not yet completed or failed. */
  get bufferedBytes(): number {
    return this.bufferedBytesNow;
  }

  /** Adds a record to the open batch of (topic, partition), opening or closing batches as needed. */
  append(topic: string, partition: number, record: ProducerRecord, options: AppendOptions = {}): AppendResult {
    assert(Number.isInteger(partition) && partition >= 0, () => `bad partition ${partition}`);
    const timestamp = record.timestamp ?? this.config.clock.nowMs();
    assert(Number.isSafeInteger(timestamp) && timestamp >= 0 && timestamp <= VARLONG_MAX,
      () => `bad record timestamp ${timestamp}`);
    const input: RecordInput = { key: record.key, value: record.value, headers: record.headers ?? [], timestamp };
    const queue = this.queueOf(topic, partition);
    const open = queue.open;
    if (open !== null) {
      const bytes = recordSizeBytes(input, open.records.length, timestamp - open.baseTimestamp);
      if (open.sizeBytes + bytes <= this.config.batchBytesMax) {
        return this.reserve(bytes) ? this.addRecord(open, input, bytes) : this.bufferFull();
      }
      this.close(queue);
    }
    if (options.abortOnNewBatch === true) {
      return { kind: 'new-batch-needed' };
    }
    const bytes = BATCH_HEADER_BYTES + recordSizeBytes(input, 0, 0);
    if (bytes > this.config.bufferBytesMax) {
      throw new MessageTooLargeError(bytes, this.config.bufferBytesMax);
    }
    if (!this.reserve(bytes)) {
      return this.bufferFull();
    }
    const batch = this.openBatch(queue, topic, partition, timestamp);
    return this.addRecord(batch, input, bytes - BATCH_HEADER_BYTES);
  }

  /**
   * Closes batches whose linger has passed, then drains closed batches, oldest first per
   * partition, building their bytes. allowance(topic, partition) caps how many batches of a
   * partition to drain now (e.g. 0 while its leader is unknown or its in-flight limit is
   * reached); the rest stay queued in order.
   */
  ready(nowMs: number, allowance?: (topic: string, partition: number) => number): readonly ProducerBatch[] {
    const drained: ProducerBatch[] = [];
    for (const queue of this.queues.values()) {
      if (queue.open !== null && nowMs - queue.open.createdMs >= this.config.lingerMs) {
        this.close(queue);
      }
      const first = queue.closed[0];
      if (first === undefined) continue;
      const count = Math.min(queue.closed.length, allowance?.(first.topic, first.partition) ?? Infinity);
      for (const batch of queue.closed.splice(0, count)) {
        const built = batch.built ?? this.build(batch);
        this.inflight.set(built, batch);
        drained.push(built);
      }
    }
    return drained;
  }

  /**
   * When ready() will next have something to drain: the earliest linger deadline of an open
   * batch, or the creation time of a queued closed batch (already due). null when empty.
   */
  nextDeadlineMs(): number | null {
    let deadline: number | null = null;
    for (const queue of this.queues.values()) {
      const closedMs = queue.closed[0]?.createdMs;
      if (closedMs !== undefined && (deadline === null || closedMs < deadline)) deadline = closedMs;
      const lingerMs = queue.open === null ? undefined : queue.open.createdMs + this.config.lingerMs;
      if (lingerMs !== undefined && (deadline === null || lingerMs < deadline)) deadline = lingerMs;
    }
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
  }

  private queueOf(topic: string, partition: number): PartitionQueue {
    let byPartition = this.queuesByTopic.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.queuesByTopic.set(topic, byPartition);
    }
    let queue = byPartition[partition];
    if (queue === undefined) {
      queue = { open: null, closed: [] };
      byPartition[partition] = queue;
      this.queues.set(topicPartitionKey(topic, partition), queue);
    }
    return queue;
  }

  private openBatch(queue: PartitionQueue, topic: string, partition: number, baseTimestamp: number): Batch {
    assert(queue.open === null, 'a partition has one open batch');
    const batch: Batch = {
      id: this.nextBatchId++,
      topic,
      partition,
      createdMs: this.config.clock.nowMs(),
      baseTimestamp,
      records: [],
      outcome: deferred<BatchOutcome>(),
      sizeBytes: BATCH_HEADER_BYTES,
      built: null,
      done: false,
    };
    queue.open = batch;
    return batch;
  }

  private addRecord(batch: Batch, record: RecordInput, bytes: number): AppendResult {
    const slot = batch.records.length;
    batch.records.push(record);
    batch.sizeBytes += bytes;
    const delivery = batch.outcome.promise.then((outcome): RecordMetadata => {
      if (!outcome.ok) throw outcome.error;
      return { topic: batch.topic, partition: batch.partition, offset: outcome.baseOffset + slot,
        timestamp: outcome.logAppendTimeMs ?? record.timestamp ?? batch.baseTimestamp };
    });
    return { kind: 'appended', delivery };
  }

  private close(queue: PartitionQueue): void {
    const open = queue.open;
    assert(open !== null, 'no open batch to close');
    queue.open = null;
    queue.closed.push(open);
  }

  private build(batch: Batch): ProducerBatch {
    const sequences = this.config.sequences;
    const idempotence = sequences === undefined ? {} : {
      producerId: sequences.identity.producerId,
      producerEpoch: sequences.identity.producerEpoch,
      baseSequence: sequences.assign(batch.topic, batch.partition, batch.records.length),
    };
    const bytes = encodeBatch({
      records: batch.records,
      baseTimestamp: batch.baseTimestamp,
      compression: this.config.compression ?? 'none',
      ...idempotence,
    });
    batch.built = {
      id: batch.id,
      topic: batch.topic,
      partition: batch.partition,
      recordCount: batch.records.length,
      bytes,
      baseSequence: idempotence.baseSequence ?? -1,
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

  private reserve(bytes: number): boolean {
    if (this.bufferedBytesNow + bytes > this.config.bufferBytesMax) {
      return false;
    }
    this.bufferedBytesNow += bytes;
    return true;
  }

  private bufferFull(): AppendResult {
    if (this.spaceWaiter === null) {
      const { promise, resolve } = deferred<undefined>();
      this.spaceWaiter = { promise, resolve: () => { resolve(undefined); } };
    }
    return { kind: 'buffer-full', spaceFreed: this.spaceWaiter.promise };
  }

  /** Ends a batch: rejects its records when failed, then frees its bytes. */
  private release(batch: Batch, failure: { readonly error: unknown } | null): void {
    assert(!batch.done, () => `batch ${batch.id} ended twice`);
    batch.done = true;
    if (failure !== null) batch.outcome.resolve({ ok: false, error: failure.error });
    this.bufferedBytesNow -= batch.sizeBytes;
    assert(this.bufferedBytesNow >= 0, 'buffered bytes went negative');
    const waiter = this.spaceWaiter;
    this.spaceWaiter = null;
    waiter?.resolve();
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
 * and the record is partitioned again before it opens one.
 */
export function appendPartitioned(accumulator: RecordAccumulator, partitioner: Partitioner,
  input: PartitionInput, record: ProducerRecord): { readonly partition: number; readonly result: AppendResult } {
  const first = partitioner.partition(input);
  const result = accumulator.append(input.topic, first, record, { abortOnNewBatch: true });
  if (result.kind !== 'new-batch-needed') {
    return { partition: first, result };
  }
  partitioner.onNewBatch(input.topic, first, input);
  const partition = partitioner.partition(input);
  return { partition, result: accumulator.append(input.topic, partition, record) };
}
