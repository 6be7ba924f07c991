/**
 * The producer (Kafka KafkaProducer + Sender, kafkajs producer): records go into the
 * RecordAccumulator, a sender loop drains ready batches, groups them by the leader of their
 * partition into one Produce request per broker, and settles each record's promise from the
 * per-partition reply.
 *
 * - send() partitions and appends at once when it can (connected, topic known, buffer room), so
 *   records sent in a row keep their order; otherwise it queues behind earlier slow appends.
 * - Retries: NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, timeouts,
 *   lost connections and the broker's TOO_MANY_REQUESTS back-pressure put the batch back in the
 *   accumulator, bytes unchanged (so an idempotent retry keeps its producer id and sequence and
 *   the broker answers a duplicate with the original offset), after a jittered exponential
 *   back-off of its partition and a metadata refresh. A batch gives up after `retries` retries or
 *   deliveryTimeoutMs from its creation; other errors fail its records at once.
 * - OUT_OF_ORDER_SEQUENCE_NUMBER on a batch while an older batch of the same partition is still
 *   unsettled, or was when the batch was sent, means the older one had not landed yet (lost or
 *   being retried): it is retried too.
 * - At most inflightRequestsMax Produce requests per broker are in flight (5, Kafka's
 *   max.in.flight.requests.per.connection, which idempotence relies on), and each holds at most
 *   one batch per partition; with idempotence at most 5 batches per partition are unacknowledged.
 * - acks = 0: the request is one-way; each record resolves with offset -1 once sent.
 * - Metadata is refreshed every metadataMaxAgeMs at least, so partitions added to a topic are
 *   used (keys hash over the new count from then on); a record for an explicit partition the
 *   cache lacks waits up to topicWaitMs for a refresh to show it.
 *
 * Limitation: under idempotence, a batch that fails for good leaves a sequence gap, so later
 * batches of that partition fail with OUT_OF_ORDER_SEQUENCE_NUMBER until the producer is made
 * again (Kafka would bump the epoch here).
 */
import type { Logger } from 'pino';

import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { errorFromWire, TributaryError } from '../common/errors.js';
import { ACKS, API_KEYS } from '../protocol/api_keys.js';
import type { DecodedResponseOf } from '../protocol/messages.js';
import type { RecordHeaderInput } from '../protocol/record_batch.js';
import { ACCUMULATOR_DEFAULTS, appendPartitioned, appendPartitionedUntracked, RecordAccumulator }
  from './accumulator.js';
import type { AppendedBatch, AppendResult, BufferFull, PartitionFull, ProducerBatch, RecordMetadata,
  UntrackedAppendResult } from './accumulator.js';
import type { ProducerCompression } from './compression.js';
import { defaultClientLogger, MetadataCache, parseBootstrap } from './metadata_cache.js';
import type { TopicInfo } from './metadata_cache.js';
import { ParkedSends } from './parked_sends.js';
import { DefaultPartitioner } from './partitioner.js';
import type { NullKeyStrategy, Partitioner, PartitionInput } from './partitioner.js';
import { INFLIGHT_BATCHES_MAX, ProducerSequences, topicPartitionKey } from './producer_state.js';
import { ManyDeliveries } from './send_many.js';
import type { SendManyResult } from './send_many.js';
import { backoffMs, cryptoSeededPrng, isRetriable, retry } from './retry.js';
import type { ClientSecurity, ClientSecurityOptions } from '../security/client_security.js';

export type Acks = -1 | 0 | 1 | 'all';
/** Keys, values and header values: strings are sent as UTF-8. */
export type RecordBytes = string | Uint8Array | null;
export type RecordHeaders = Readonly<Record<string, RecordBytes>> | readonly RecordHeaderInput[];

export interface ProducerMessage {
  readonly topic: string;
  readonly key?: RecordBytes;
  readonly value: RecordBytes;
  readonly headers?: RecordHeaders;
  /** CreateTime in ms since the epoch; defaults to now. */
  readonly timestamp?: number;
  /** An explicit partition wins over the key. */
  readonly partition?: number;
}

export interface SendResult {
  readonly topic: string;
  readonly partition: number;
  /** -1 with acks = 0. */
  readonly offset: number;
  readonly timestamp: number;
}

export interface ProducerOptions {
  readonly bootstrap: string | readonly string[];
  /** CURVE credentials (docs/security.md): { keyFile, serverKey }; plaintext when absent. */
  readonly security?: ClientSecurityOptions | ClientSecurity;
  readonly clientId?: string;
  /** 'all' (= -1, the default): the Raft commit; 1: the leader's append; 0: no reply. */
  readonly acks?: Acks;
  readonly lingerMs?: number;
  readonly batchBytesMax?: number;
  readonly bufferBytesMax?: number;
  /**
   * The share of bufferBytesMax one partition may hold (batches queued, open or in flight), so a
   * partition that cannot send does not stop the others: its sends wait (maxBlockMs at most) while
   * the rest flow. Default: an eighth of bufferBytesMax, at least four batches.
   */
  readonly partitionBufferBytesMax?: number;
  readonly compression?: ProducerCompression;
  /** Default: true with acks all, false otherwise (idempotence needs acks all). */
  readonly idempotent?: boolean;
  /** How records with neither key nor partition are spread, or a partitioner of your own. */
  readonly partitioner?: NullKeyStrategy | Partitioner;
  readonly requestTimeoutMs?: number;
  /** Retries of one batch (Kafka retries); deliveryTimeoutMs bounds them in time too. */
  readonly retries?: number;
  readonly deliveryTimeoutMs?: number;
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
  /** How long send() may wait for buffer room or the connection (Kafka max.block.ms). */
  readonly maxBlockMs?: number;
  /**
   * How long send() waits for an unknown topic to appear in metadata (a topic just created may
   * take a moment to reach every broker); there is no auto-creation, so this stays short.
   */
  readonly topicWaitMs?: number;
  /** Produce requests in flight per broker. */
  readonly inflightRequestsMax?: number;
  /**
   * Metadata is refreshed at least this often even without errors (Kafka metadata.max.age.ms), so
   * partitions added to a topic are written to within this time.
   */
  readonly metadataMaxAgeMs?: number;
  readonly logger?: Logger;
  /** Chance for the sticky partitioner and back-off jitter; seeded from crypto by default. */
  readonly prng?: Prng;
}

export const PRODUCER_DEFAULTS = {
  acks: 'all',
  requestTimeoutMs: 30_000,
  retries: 2_147_483_647,
  deliveryTimeoutMs: 120_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1_000,
  maxBlockMs: 60_000,
  topicWaitMs: 5_000,
  inflightRequestsMax: INFLIGHT_BATCHES_MAX,
  metadataMaxAgeMs: 300_000,
} as const;

/** Sender bookkeeping of one drained batch until it is settled. */
interface BatchState {
  attempts: number;
  readonly deadlineMs: number;
  /** Registered with ProducerSequences (first sent). */
  sent: boolean;
  /** Put back in the accumulator after being sent. */
  awaitingRetry: boolean;
  lastError: unknown;
  /**
   * An older batch of its partition was unsettled when this attempt was sent: an
   * OUT_OF_ORDER_SEQUENCE_NUMBER answering it is explained by that batch not having landed yet,
   * even when the answer comes after it settled (replies held by a quota, or held by a slow link,
   * come back in any order).
   */
  olderUnsettledAtSend: boolean;
}

type ProducePartitionResponse = DecodedResponseOf<typeof API_KEYS.PRODUCE>['partitions'][number];

/** Leader trouble: refresh metadata before the retry. */
const METADATA_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'NETWORK_EXCEPTION',
  'REQUEST_TIMED_OUT', 'KAFKA_STORAGE_ERROR',
]);

const IDLE_WAIT_MS = 1_000;
const BLOCKED_WAIT_MS = 20;

export function acksNumber(acks: Acks): -1 | 0 | 1 {
  return acks === 'all' ? ACKS.ALL : acks;
}

export function toBytes(value: RecordBytes | undefined): Uint8Array | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

const NO_HEADERS: readonly RecordHeaderInput[] = Object.freeze([]);

function headersOf(headers: RecordHeaders | undefined): readonly RecordHeaderInput[] {
  if (headers === undefined) return NO_HEADERS;
  // No copy: the record is encoded into its batch when appended (or the message copied, ownedCopy).
  if (Array.isArray(headers)) return headers as readonly RecordHeaderInput[];
  return Object.entries(headers as Readonly<Record<string, RecordBytes>>)
    .map(([key, value]) => ({ key, value: toBytes(value) }));
}

export class Producer {
  readonly acks: -1 | 0 | 1;
  readonly idempotent: boolean;
  private readonly options: ProducerOptions;
  private readonly metadata: MetadataCache;
  private readonly logger: Logger;
  private readonly prng: Prng;
  private readonly partitioner: Partitioner;
  private readonly requestTimeoutMs: number;
  private readonly retries: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxBlockMs: number;
  private readonly inflightRequestsMax: number;
  private readonly lingerMs: number;
  private accumulator: RecordAccumulator | null = null;
  private sequences: ProducerSequences | null = null;
  private connecting: Promise<void> | null = null;
  private senderLoop: Promise<void> | null = null;
  private readonly batchStates = new Map<number, BatchState>();
  /** Unsettled drained batch ids per partition (for OUT_OF_ORDER_SEQUENCE_NUMBER). */
  private readonly unsettled = new Map<string, Set<number>>();
  private readonly retriesWaiting = new Map<string, number>();
  private readonly partitionNotBeforeMs = new Map<string, number>();
  private readonly inflightByBroker = new Map<number, number>();
  private readonly requests = new Set<Promise<void>>();
  private appendChain: Promise<unknown> = Promise.resolve();
  /** Sends waiting for room in their partition's share of the buffer. */
  private readonly parked: ParkedSends;
  /** aroundFullPartitions' last answer that left partitions out, and the input it was made from. */
  private lastAroundFull: {
    readonly from: PartitionInput; readonly open: readonly number[]; readonly input: PartitionInput;
  } | null = null;
  private appendsQueued = 0;
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];
  private wakeup: (() => void) | null = null;
  private wakePending = false;
  private scheduledWakeMs = Infinity;
  private stopping = false;
  private closed = false;

  constructor(options: ProducerOptions) {
    this.options = options;
    this.acks = acksNumber(options.acks ?? PRODUCER_DEFAULTS.acks);
    assert(([-1, 0, 1] as const).includes(this.acks), () => `acks must be all, -1, 0 or 1, got ${String(options.acks)}`);
    this.idempotent = options.idempotent ?? this.acks === ACKS.ALL;
    if (this.idempotent && this.acks !== ACKS.ALL) {
      throw new TributaryError('INVALID_CONFIG', 'an idempotent producer needs acks all');
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? PRODUCER_DEFAULTS.requestTimeoutMs;
    this.retries = options.retries ?? PRODUCER_DEFAULTS.retries;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? PRODUCER_DEFAULTS.deliveryTimeoutMs;
    this.maxBlockMs = options.maxBlockMs ?? PRODUCER_DEFAULTS.maxBlockMs;
    this.inflightRequestsMax = options.inflightRequestsMax ?? PRODUCER_DEFAULTS.inflightRequestsMax;
    this.lingerMs = options.lingerMs ?? ACCUMULATOR_DEFAULTS.lingerMs;
    assert(this.inflightRequestsMax >= 1, 'inflightRequestsMax must be at least 1');
    assert(!this.idempotent || this.inflightRequestsMax <= INFLIGHT_BATCHES_MAX,
      () => `idempotence allows at most ${INFLIGHT_BATCHES_MAX} requests in flight per broker`);
    this.logger = options.logger ?? defaultClientLogger(options.clientId ?? 'tributary-producer');
    this.prng = options.prng ?? cryptoSeededPrng();
    const partitioner = options.partitioner ?? 'sticky';
    this.partitioner = typeof partitioner === 'string'
      ? new DefaultPartitioner({ nullKeys: partitioner, prng: this.prng })
      : partitioner;
    this.metadata = new MetadataCache({
      bootstrap: parseBootstrap(options.bootstrap),
      ...(options.security === undefined ? {} : { security: options.security }),
      clientId: options.clientId ?? 'tributary-producer',
      requestTimeoutMs: this.requestTimeoutMs + 5_000,
      refreshBackoffMs: options.retryBackoffMs ?? PRODUCER_DEFAULTS.retryBackoffMs,
      logger: this.logger,
    });
    this.parked = new ParkedSends((message, topic, partition) => this.appendToPartition(message, topic, partition),
      this.maxBlockMs, () => { this.notifyIfIdle(); });
  }

  /** The producer id of an idempotent producer once connected, else null. */
  get producerId(): number | null {
    return this.sequences?.identity.producerId ?? null;
  }

  /** Fetches metadata and, with idempotence, a producer id. Called by the first send if need be. */
  connect(): Promise<void> {
    if (this.closed || this.stopping) return Promise.reject(closedError());
    if (this.connecting === null) {
      const attempt = this.connectOnce();
      this.connecting = attempt;
      attempt.catch(() => { if (this.connecting === attempt) this.connecting = null; });
    }
    return this.connecting;
  }

  /** The partition numbers of a topic, waiting up to topicWaitMs for it to appear in metadata. */
  async partitionsFor(topic: string): Promise<number[]> {
    await this.connect();
    const info = await this.metadata.waitForTopic(topic, this.options.topicWaitMs ?? PRODUCER_DEFAULTS.topicWaitMs);
    return info.partitions.map((p) => p.partition);
  }

  /**
   * Appends a record; resolves with its partition and offset once the broker has it (per acks).
   * send() is done with `message` when it returns: the record is encoded into its batch then, or
   * copied to wait for room or metadata, so the caller may reuse the message and its buffers.
   */
  send(message: ProducerMessage): Promise<SendResult> {
    if (this.closed || this.stopping) return Promise.reject(closedError());
    const info = this.topicToAppendAtOnce(message);
    if (info !== undefined) {
      try {
        const result = this.tryAppend(message, info, true);
        if (result instanceof Promise) return this.deliver(result);
        if (result.kind !== 'buffer-full') return this.deliver(this.park(ownedCopy(message), result));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    this.appendsQueued += 1;
    const waiting = ownedCopy(message);
    const appended = this.appendChain.then(() => this.appendSlowly(waiting));
    this.appendChain = appended.then(() => undefined, () => undefined).finally(() => {
      this.appendsQueued -= 1;
      this.notifyIfIdle();
    });
    return appended.then(({ delivery }) => this.deliver(delivery));
  }

  /** send() for several records; resolves when all are delivered, rejects with the first failure. */
  sendBatch(messages: readonly ProducerMessage[]): Promise<SendResult[]> {
    return Promise.all(messages.map((message) => this.send(message)));
  }

  /**
   * send() for many records, settled together: no promise and no result object per record, so a
   * producer writing flat out spends its time on the records (measured in bench/produce_bench.ts).
   * The records are appended in order exactly as send() would append them one after the other,
   * and sendMany is done with them when it returns; those without a timestamp get the call's time
   * as their CreateTime. Resolves once every record is delivered, with
   * each record's partition, offset and timestamp by its position (send_many.ts); rejects with the
   * failure of the first record that failed (the others may still have been delivered, as with
   * send()).
   */
  sendMany(messages: readonly ProducerMessage[]): Promise<SendManyResult> {
    if (this.closed || this.stopping) return Promise.reject(closedError());
    const deliveries = new ManyDeliveries(messages.length, this.acks === 0);
    // Handed over together, the records share one CreateTime: the clock is read once per call.
    const nowMs = Date.now();
    let position = 0;
    // At once while records can be appended at once; from the first that cannot, through send(),
    // which keeps them in order behind it.
    for (; position < messages.length; position += 1) {
      const message = messages[position] as ProducerMessage;
      const info = this.topicToAppendAtOnce(message);
      if (info === undefined) break;
      let result: AppendedBatch | Refusal;
      try {
        result = this.tryAppend(message, info, false, nowMs);
      } catch (error) {
        deliveries.refused(position, error);
        continue;
      }
      if (result.kind !== 'appended') break;
      deliveries.appended(position, result);
    }
    for (; position < messages.length; position += 1) {
      deliveries.delivering(position, this.send(messages[position] as ProducerMessage));
    }
    return deliveries.settled();
  }

  /** Sends everything appended so far without lingering and waits until every record is settled. */
  async flush(): Promise<void> {
    if (this.outstanding === 0 && this.appendsQueued === 0 && this.parked.size === 0) return;
    this.accumulator?.flush();
    this.wake();
    await new Promise<void>((resolve) => { this.idleWaiters.push(resolve); });
  }

  /** Flushes, then stops the sender and closes the connections. Sends after close reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopping = true;
    if (this.connecting !== null) {
      try {
        await this.connecting;
      } catch {
        // Nothing was appended without a connection.
      }
    }
    await this.flush();
    this.closed = true;
    this.parked.close();
    this.wake();
    await this.senderLoop;
    await Promise.allSettled([...this.requests]);
    this.accumulator?.abort(closedError());
    await this.metadata.close();
  }

  // ----------------------------------------------------------------------------------------------
  // Appending

  private async connectOnce(): Promise<void> {
    await retry(() => this.metadata.refresh(), { retriesMax: 10, totalTimeMaxMs: this.maxBlockMs, prng: this.prng });
    if (this.idempotent) {
      const identity = await retry(() => this.initProducerId(), {
        retriesMax: 20, totalTimeMaxMs: this.maxBlockMs, prng: this.prng,
      });
      this.sequences = new ProducerSequences(identity);
    }
    const batchBytesMax = this.options.batchBytesMax ?? ACCUMULATOR_DEFAULTS.batchBytesMax;
    const bufferBytesMax = this.options.bufferBytesMax ?? ACCUMULATOR_DEFAULTS.bufferBytesMax;
    this.accumulator = new RecordAccumulator({
      batchBytesMax,
      lingerMs: this.lingerMs,
      bufferBytesMax,
      partitionBufferBytesMax: this.options.partitionBufferBytesMax
        ?? Math.min(bufferBytesMax, Math.max(Math.floor(bufferBytesMax / 8), 4 * batchBytesMax)),
      compression: this.options.compression ?? 'none',
      ...(this.sequences === null ? {} : { sequences: this.sequences }),
      clock: { nowMs: () => Date.now() },
    });
    this.senderLoop = this.runSender();
  }

  private async initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    const { response } = await this.metadata.requestAny(API_KEYS.INIT_PRODUCER_ID,
      { producerId: -1, producerEpoch: -1 }, { timeoutMs: this.requestTimeoutMs });
    if (response.errorCode !== 0) throw errorFromWire(response.errorCode, 'InitProducerId');
    return { producerId: response.producerId, producerEpoch: response.producerEpoch };
  }

  private async appendSlowly(message: ProducerMessage): Promise<{ delivery: Promise<RecordMetadata> }> {
    const deadlineMs = Date.now() + this.maxBlockMs;
    await this.connect();
    // An explicit partition the cached metadata lacks may be new (topics alter): wait for it as for a topic.
    const explicit = message.partition;
    const info = await this.metadata.waitForTopic(message.topic,
      Math.min(this.maxBlockMs, this.options.topicWaitMs ?? PRODUCER_DEFAULTS.topicWaitMs),
      explicit !== undefined && Number.isSafeInteger(explicit) && explicit >= 0 ? explicit + 1 : 1);
    for (;;) {
      if (this.closed) throw closedError();
      const result = this.tryAppend(message, info, true);
      if (result instanceof Promise) return { delivery: result };
      // Parked, the send waits for its partition alone: the sends behind it in the chain go on.
      if (result.kind !== 'buffer-full') return { delivery: this.park(message, result) };
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) {
        throw new TributaryError('REQUEST_TIMED_OUT', `The producer buffer stayed full for ${this.maxBlockMs} ms`);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([result.spaceFreed,
        new Promise((resolve) => { timer = setTimeout(resolve, Math.min(remainingMs, 1_000)); })]);
      clearTimeout(timer);
    }
  }

  /** The message's topic when the record can be appended at once (no append waiting before it), else undefined. */
  private topicToAppendAtOnce(message: ProducerMessage): TopicInfo | undefined {
    if (this.appendsQueued !== 0 || this.accumulator === null) return undefined;
    const info = this.metadata.topic(message.topic);
    return info !== undefined && info.errorCode === 0 && info.partitions.length > 0
      && (message.partition === undefined || message.partition < info.partitions.length) ? info : undefined;
  }

  /**
   * Partitions and appends the record, with its own delivery promise (tracked) or not (its batch
   * comes back: sendMany), or says why it could not. nowMs, when given, is the CreateTime of a
   * message without a timestamp (else the clock is read).
   */
  private tryAppend(message: ProducerMessage, info: TopicInfo, tracked: true): Promise<RecordMetadata> | Refusal;
  private tryAppend(message: ProducerMessage, info: TopicInfo, tracked: false, nowMs: number): AppendedBatch | Refusal;
  private tryAppend(message: ProducerMessage, info: TopicInfo, tracked: boolean, nowMs?: number):
    Promise<RecordMetadata> | AppendedBatch | Refusal {
    const accumulator = this.accumulator;
    assert(accumulator !== null, 'append before connect');
    const partitionCount = info.partitions.length;
    const explicit = message.partition;
    if (explicit !== undefined && !(Number.isInteger(explicit) && explicit >= 0 && explicit < partitionCount)) {
      throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION',
        `Topic ${message.topic} has ${partitionCount} partitions; there is no partition ${explicit}`);
    }
    const key = toBytes(message.key);
    const snapshot = snapshotOf(info);
    // Records without key or partition (the common case) share one input per metadata snapshot.
    let input: PartitionInput = key === null && explicit === undefined ? snapshot.nullKeyInput : {
      topic: message.topic, key, partitionCount, availablePartitions: snapshot.availablePartitions,
      ...(explicit === undefined ? {} : { partition: explicit }),
    };
    if (this.parked.size > 0 || accumulator.anyPartitionFull) {
      if (input === snapshot.nullKeyInput) {
        input = this.aroundFullPartitions(accumulator, input, snapshot.availablePartitions);
      } else {
        // A key's or explicit partition: behind the sends parked there, never before them.
        const partition = this.partitioner.partition(input);
        if (this.parked.hasParked(message.topic, partition)) return { kind: 'must-park', topic: message.topic, partition };
      }
    }
    const value = toBytes(message.value);
    const headers = headersOf(message.headers);
    const timestamp = message.timestamp ?? nowMs;
    const result = tracked
      ? appendPartitioned(accumulator, this.partitioner, input, value, headers, timestamp)
      : appendPartitionedUntracked(accumulator, this.partitioner, input, value, headers, timestamp);
    if (!(result instanceof Promise) && result.kind === 'new-batch-needed') {
      assert(false, 'appendPartitioned never asks for a new batch');
    }
    return this.counted(accumulator, result);
  }

  /**
   * The null-key input with the partitions that cannot take a batch now left out, so that records
   * without key go where they can be sent (Kafka's adaptive partitioning avoids slow partitions
   * likewise). When every partition is full the input is unchanged: the record parks.
   */
  private aroundFullPartitions(accumulator: RecordAccumulator, input: PartitionInput,
    available: readonly number[]): PartitionInput {
    // Runs per record while a partition is full (usual at the peak): the last answer is reused
    // while the same partitions are open, so the steady state allocates nothing.
    const last = this.lastAroundFull;
    let reusable = last !== null && last.from === input;
    let openCount = 0;
    for (let i = 0; i < available.length; i += 1) {
      const partition = available[i] as number;
      if (!this.canTake(accumulator, input.topic, partition)) continue;
      if (reusable && last?.open[openCount] !== partition) reusable = false;
      openCount += 1;
    }
    if (openCount === 0 || openCount === available.length) return input;
    if (reusable && last !== null && last.open.length === openCount) return last.input;
    const open = Object.freeze(available.filter((partition) => this.canTake(accumulator, input.topic, partition)));
    const around = Object.freeze({ ...input, availablePartitions: open });
    this.lastAroundFull = { from: input, open, input: around };
    return around;
  }

  /** Whether a record without key may go to the partition now: it is not full and nothing is parked there. */
  private canTake(accumulator: RecordAccumulator, topic: string, partition: number): boolean {
    return !accumulator.isPartitionFull(topic, partition) && !this.parked.hasParked(topic, partition);
  }

  /** A parked send's record, appended to the partition it was placed in. */
  private appendToPartition(message: ProducerMessage, topic: string, partition: number): AppendResult {
    const accumulator = this.accumulator;
    if (accumulator === null || this.closed) throw closedError();
    return this.counted(accumulator, accumulator.append(topic, partition, toBytes(message.key), toBytes(message.value),
      headersOf(message.headers), message.timestamp));
  }

  /** Parks a send refused by its partition; resolves as its record is delivered. */
  private park(message: ProducerMessage, refused: PartitionFull | MustPark): Promise<RecordMetadata> {
    return this.parked.park(message, refused.topic, refused.partition,
      refused.kind === 'partition-full' ? refused.spaceFreed : undefined).then((delivery) => delivery);
  }

  /** Counts an appended record as outstanding and wakes the sender if its batch is due sooner. */
  private counted<R extends AppendResult | UntrackedAppendResult>(accumulator: RecordAccumulator, result: R): R {
    if (result instanceof Promise || result.kind === 'appended') {
      this.outstanding += 1;
      // Checked on every append, not only when a batch opens: skipping it left batches waiting for
      // the sender's next timer at linger 0 (measured: produce-to-ack p50 64-284 ms became 1.2-1.9 s).
      const deadline = accumulator.nextDeadlineMs();
      if (deadline !== null && deadline < this.scheduledWakeMs) this.wake();
    }
    return result;
  }

  /**
   * A record's result. RecordMetadata already has SendResult's shape, so only acks = 0 (offset -1)
   * needs a promise of its own; outstanding records are counted down per batch (settleDone/Failed).
   */
  private deliver(delivery: Promise<RecordMetadata>): Promise<SendResult> {
    if (this.acks !== 0) return delivery;
    return delivery.then((metadata) => ({ ...metadata, offset: -1 }));
  }

  /**
   * Wakes flush() waiters once nothing is outstanding. Deferred by a macrotask so that every
   * record promise of the batches just settled has run its callbacks before flush() returns.
   */
  private notifyIfIdle(): void {
    if (this.outstanding !== 0 || this.appendsQueued !== 0 || this.parked.size !== 0 || this.idleWaiters.length === 0) {
      return;
    }
    setImmediate(() => {
      if (this.outstanding !== 0 || this.appendsQueued !== 0 || this.parked.size !== 0) return;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    });
  }

  // ----------------------------------------------------------------------------------------------
  // Sending

  private wake(): void {
    const wakeup = this.wakeup;
    if (wakeup === null) {
      this.wakePending = true;
      return;
    }
    this.wakeup = null;
    wakeup();
  }

  private async runSender(): Promise<void> {
    const metadataMaxAgeMs = this.options.metadataMaxAgeMs ?? PRODUCER_DEFAULTS.metadataMaxAgeMs;
    while (!this.closed) {
      const nowMs = Date.now();
      this.metadata.refreshIfOlderThan(metadataMaxAgeMs);
      try {
        this.drain(nowMs);
      } catch (error) {
        this.logger.error({ err: error }, 'producer sender pass failed');
      }
      if (this.wakePending) {
        this.wakePending = false;
        await Promise.resolve();
        continue;
      }
      const waitMs = this.nextWaitMs(Date.now());
      this.scheduledWakeMs = Date.now() + waitMs;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wakeup = resolve;
        timer = setTimeout(resolve, waitMs);
      });
      clearTimeout(timer);
      this.wakeup = null;
      this.scheduledWakeMs = Infinity;
    }
  }

  private nextWaitMs(nowMs: number): number {
    const deadline = this.accumulator?.nextDeadlineMs() ?? null;
    if (deadline === null) return IDLE_WAIT_MS;
    if (deadline > nowMs) return Math.min(IDLE_WAIT_MS, deadline - nowMs);
    // Something is due but held back (in-flight bound, back-off): wake on a reply or at the back-off.
    let next = nowMs + BLOCKED_WAIT_MS;
    for (const notBefore of this.partitionNotBeforeMs.values()) {
      if (notBefore > nowMs && notBefore < next) next = notBefore;
    }
    return Math.max(1, next - nowMs);
  }

  /** Drains what may be sent now and sends one Produce request per leader. */
  private drain(nowMs: number): void {
    const accumulator = this.accumulator;
    if (accumulator === null) return;
    const batches = this.readyBatches(accumulator, nowMs);
    const byBroker = new Map<number, ProducerBatch[]>();
    for (const batch of batches) {
      const state = this.stateOf(batch);
      if (state.awaitingRetry) {
        state.awaitingRetry = false;
        this.countRetryWaiting(batch, -1);
      }
      if (nowMs >= state.deadlineMs) {
        this.settleFailed(batch, state.lastError ?? expiredError(batch, this.deliveryTimeoutMs));
        continue;
      }
      const leader = this.metadata.leaderOf(batch.topic, batch.partition);
      if (leader === null || this.metadata.connectionToBroker(leader) === null) {
        this.metadata.requestRefresh();
        this.retryLater(batch, new TributaryError('LEADER_NOT_AVAILABLE',
          `No leader known for ${batch.topic}/${batch.partition}`), false);
        continue;
      }
      const group = byBroker.get(leader) ?? [];
      group.push(batch);
      byBroker.set(leader, group);
    }
    for (const [brokerId, group] of byBroker) {
      const request = this.sendProduce(brokerId, group);
      this.requests.add(request);
      void request.finally(() => { this.requests.delete(request); });
    }
  }

  /**
   * The batches to send now. With linger 0 a broker that gets a request anyway (for a sealed batch)
   * takes its other partitions' open batches along: else a partition with few records could wait
   * for as long as full batches of another keep its broker busy (see allowance).
   */
  private readyBatches(accumulator: RecordAccumulator, nowMs: number): readonly ProducerBatch[] {
    const batches = accumulator.ready(nowMs,
      (topic, partition, sealed) => this.allowance(topic, partition, sealed, nowMs, null));
    if (this.lingerMs !== 0 || batches.length === 0) return batches;
    // Only a broker that already had a request in flight can have held open batches back.
    const sending = new Set<number>();
    for (const batch of batches) {
      const leader = this.metadata.leaderOf(batch.topic, batch.partition);
      if (leader !== null && (this.inflightByBroker.get(leader) ?? 0) > 0) sending.add(leader);
    }
    if (sending.size === 0) return batches;
    const taken = new Set(batches.map((batch) => topicPartitionKey(batch.topic, batch.partition)));
    const joining = accumulator.ready(nowMs, (topic, partition, sealed) =>
      (taken.has(topicPartitionKey(topic, partition)) ? 0 : this.allowance(topic, partition, sealed, nowMs, sending)));
    return joining.length === 0 ? batches : [...batches, ...joining];
  }

  /**
   * How many batches of a partition may be drained now: 0 or 1 (one per partition per request).
   * With linger 0, a broker that has a request in flight gets the next one only for a sealed batch
   * (full, flushed or retried): records sent meanwhile gather in their open batches and go
   * together once a reply frees the broker, or with the next request it gets anyway (`sendingTo`:
   * Nagle's rule), instead of as many small requests as the in-flight bound allows. Each request
   * costs the brokers a Raft round with an fdatasync on every replica whatever its size, so small
   * requests in parallel only queue behind each other for CPU and disk (docs/performance.md,
   * "Linger 0 and requests in flight").
   */
  private allowance(topic: string, partition: number, sealed: boolean, nowMs: number,
    sendingTo: ReadonlySet<number> | null): number {
    const key = topicPartitionKey(topic, partition);
    if ((this.partitionNotBeforeMs.get(key) ?? 0) > nowMs) return 0;
    const leader = this.metadata.leaderOf(topic, partition);
    const inflight = leader === null ? 0 : this.inflightByBroker.get(leader) ?? 0;
    if (inflight >= this.inflightRequestsMax) return 0;
    if (inflight > 0 && !sealed && this.lingerMs === 0 && !(leader !== null && sendingTo?.has(leader) === true)) {
      return 0;
    }
    // A retry is already counted in flight by the sequences; a new batch needs a free place.
    if (this.sequences !== null && (this.retriesWaiting.get(key) ?? 0) === 0
      && !this.sequences.canSend(topic, partition)) return 0;
    return 1;
  }

  private stateOf(batch: ProducerBatch): BatchState {
    let state = this.batchStates.get(batch.id);
    if (state === undefined) {
      state = {
        attempts: 0, deadlineMs: batch.createdMs + this.deliveryTimeoutMs, sent: false, awaitingRetry: false,
        lastError: null, olderUnsettledAtSend: false,
      };
      this.batchStates.set(batch.id, state);
      const key = topicPartitionKey(batch.topic, batch.partition);
      const ids = this.unsettled.get(key) ?? new Set<number>();
      ids.add(batch.id);
      this.unsettled.set(key, ids);
    }
    return state;
  }

  private async sendProduce(brokerId: number, batches: readonly ProducerBatch[]): Promise<void> {
    const connection = this.metadata.connectionToBroker(brokerId);
    assert(connection !== null, 'drain checked the connection');
    this.inflightByBroker.set(brokerId, (this.inflightByBroker.get(brokerId) ?? 0) + 1);
    for (const batch of batches) {
      const state = this.stateOf(batch);
      if (!state.sent) this.sequences?.onSent(batch.topic, batch.partition, batch.baseSequence);
      state.sent = true;
      state.olderUnsettledAtSend = this.hasOlderUnsettled(batch);
    }
    try {
      const { response } = await connection.request(API_KEYS.PRODUCE, {
        acks: this.acks, timeoutMs: this.requestTimeoutMs,
        partitions: batches.map((batch, index) => ({
          topic: batch.topic, partition: batch.partition, rawFrameIndex: index,
        })),
      }, batches.map((batch) => batch.bytes), { timeoutMs: this.requestTimeoutMs + 2_000 });
      this.onProduceResponse(brokerId, batches, response.partitions);
    } catch (error) {
      for (const batch of batches) this.onBatchError(batch, error, null);
    } finally {
      this.inflightByBroker.set(brokerId, (this.inflightByBroker.get(brokerId) ?? 1) - 1);
      this.wake();
    }
  }

  private onProduceResponse(brokerId: number, batches: readonly ProducerBatch[],
    partitions: readonly ProducePartitionResponse[]): void {
    const byKey = new Map(partitions.map((p) => [topicPartitionKey(p.topic, p.partition), p]));
    for (const batch of batches) {
      if (this.acks === 0) {
        this.settleDone(batch, 0, undefined);
        continue;
      }
      const reply = byKey.get(topicPartitionKey(batch.topic, batch.partition));
      if (reply === undefined) {
        this.onBatchError(batch, new TributaryError('NETWORK_EXCEPTION',
          `Broker ${brokerId} did not answer for ${batch.topic}/${batch.partition}`), null);
      } else if (reply.errorCode === 0) {
        this.settleDone(batch, reply.baseOffset, reply.logAppendTimeMs >= 0 ? reply.logAppendTimeMs : undefined);
      } else {
        const error = errorFromWire(reply.errorCode, reply.errorMessage === '' ? undefined
          : `${batch.topic}/${batch.partition}: ${reply.errorMessage}`);
        this.onBatchError(batch, error, reply);
      }
    }
  }

  private onBatchError(batch: ProducerBatch, error: unknown, reply: ProducePartitionResponse | null): void {
    const state = this.stateOf(batch);
    const code = error instanceof TributaryError ? (error as TributaryError).code : null;
    // Out of order is retried while an older batch may explain it: one unsettled now, or one that was
    // unsettled when this attempt went out (the resend then meets the broker as it is now; a real gap,
    // an older batch failed for good, is refused again and fails it).
    const retriable = isRetriable(error)
      || (code === 'OUT_OF_ORDER_SEQUENCE_NUMBER' && (this.hasOlderUnsettled(batch) || state.olderUnsettledAtSend));
    if (code !== null && METADATA_ERRORS.has(code)) {
      const hint = reply?.currentLeader ?? null;
      if (hint !== null) this.metadata.applyLeaderHint(batch.topic, batch.partition, hint);
      else if (code === 'NOT_LEADER_OR_FOLLOWER' || code === 'NETWORK_EXCEPTION') {
        this.metadata.forgetLeader(batch.topic, batch.partition);
      }
      // A hint naming the leader is the news; a refresh answered meanwhile by a broker that has not
      // heard of the new leader yet would only send the batch back (a leadership transfer takes a
      // few ms to reach every replica). Without one, the metadata is asked.
      if (hint === null || hint.leaderId < 0) this.metadata.requestRefresh();
    }
    if (!retriable || this.closed || state.attempts >= this.retries || Date.now() >= state.deadlineMs) {
      this.settleFailed(batch, error);
      return;
    }
    this.logger.debug({ topic: batch.topic, partition: batch.partition, code, attempt: state.attempts + 1 },
      'retrying a batch');
    this.retryLater(batch, error, true);
  }

  private retryLater(batch: ProducerBatch, error: unknown, countAttempt: boolean): void {
    const accumulator = this.accumulator;
    assert(accumulator !== null, 'retry before connect');
    const state = this.stateOf(batch);
    state.lastError = error;
    if (countAttempt) state.attempts += 1;
    if (state.sent) {
      state.awaitingRetry = true;
      this.countRetryWaiting(batch, 1);
    }
    accumulator.reenqueue(batch);
    const key = topicPartitionKey(batch.topic, batch.partition);
    const waitMs = backoffMs(Math.max(1, state.attempts), {
      backoffInitialMs: this.options.retryBackoffMs ?? PRODUCER_DEFAULTS.retryBackoffMs,
      backoffMaxMs: this.options.retryBackoffMaxMs ?? PRODUCER_DEFAULTS.retryBackoffMaxMs,
    }, this.prng);
    this.partitionNotBeforeMs.set(key, Math.max(this.partitionNotBeforeMs.get(key) ?? 0, Date.now() + waitMs));
  }

  private countRetryWaiting(batch: ProducerBatch, delta: 1 | -1): void {
    const key = topicPartitionKey(batch.topic, batch.partition);
    const count = (this.retriesWaiting.get(key) ?? 0) + delta;
    assert(count >= 0, 'retry count went negative');
    if (count === 0) this.retriesWaiting.delete(key);
    else this.retriesWaiting.set(key, count);
  }

  private hasOlderUnsettled(batch: ProducerBatch): boolean {
    const ids = this.unsettled.get(topicPartitionKey(batch.topic, batch.partition));
    if (ids === undefined) return false;
    for (const id of ids) if (id < batch.id) return true;
    return false;
  }

  private settleDone(batch: ProducerBatch, baseOffset: number, logAppendTimeMs: number | undefined): void {
    this.forget(batch);
    this.accumulator?.complete(batch, baseOffset, logAppendTimeMs);
    this.countSettled(batch);
  }

  private settleFailed(batch: ProducerBatch, error: unknown): void {
    this.forget(batch);
    this.accumulator?.fail(batch, error);
    this.countSettled(batch);
  }

  private countSettled(batch: ProducerBatch): void {
    this.outstanding -= batch.recordCount;
    assert(this.outstanding >= 0, 'more records settled than were appended');
    this.notifyIfIdle();
  }

  private forget(batch: ProducerBatch): void {
    const state = this.batchStates.get(batch.id);
    if (state?.sent === true && this.sequences !== null) {
      this.sequences.onDone(batch.topic, batch.partition, batch.baseSequence);
    }
    this.batchStates.delete(batch.id);
    const key = topicPartitionKey(batch.topic, batch.partition);
    const ids = this.unsettled.get(key);
    ids?.delete(batch.id);
    if (ids?.size === 0) {
      this.unsettled.delete(key);
      this.partitionNotBeforeMs.delete(key);
    }
  }
}

/** A send whose partition has sends parked already: it parks behind them without trying. */
interface MustPark {
  readonly kind: 'must-park';
  readonly topic: string;
  readonly partition: number;
}

/** Why a record was not appended at once. */
type Refusal = BufferFull | PartitionFull | MustPark;

/** What tryAppend derives from a topic's metadata, computed once per snapshot. */
interface TopicSnapshot {
  /** Partitions with a known leader. */
  readonly availablePartitions: readonly number[];
  /** The partitioner's input for records with neither key nor partition; frozen, as it is shared. */
  readonly nullKeyInput: PartitionInput;
}

/** By metadata snapshot: TopicInfo is replaced on refresh, never changed. */
const snapshots = new WeakMap<TopicInfo, TopicSnapshot>();

function snapshotOf(info: TopicInfo): TopicSnapshot {
  let snapshot = snapshots.get(info);
  if (snapshot === undefined) {
    const availablePartitions = Object.freeze(info.partitions.filter((p) => p.leaderId !== null)
      .map((p) => p.partition));
    const nullKeyInput = Object.freeze({ topic: info.name, key: null, partitionCount: info.partitions.length,
      availablePartitions });
    snapshot = { availablePartitions, nullKeyInput };
    snapshots.set(info, snapshot);
  }
  return snapshot;
}

/**
 * The message with copies of its byte arrays, for a send that has to wait before it is appended:
 * send() promises that the caller may reuse its buffers once it returns. Strings are immutable.
 */
function ownedCopy(message: ProducerMessage): ProducerMessage {
  const copyOf = (bytes: RecordBytes | undefined): RecordBytes => (bytes instanceof Uint8Array ? Buffer.from(bytes)
    : bytes ?? null);
  const headers = message.headers === undefined ? undefined
    : headersOf(message.headers).map((header) => ({ key: header.key, value: toBytes(copyOf(header.value)) }));
  return { ...message, key: copyOf(message.key), value: copyOf(message.value),
    ...(headers === undefined ? {} : { headers }) };
}

function closedError(): TributaryError {
  return new TributaryError('NETWORK_EXCEPTION', 'The producer is closed');
}

function expiredError(batch: ProducerBatch, deliveryTimeoutMs: number): TributaryError {
  return new TributaryError('REQUEST_TIMED_OUT',
    `${batch.recordCount} records for ${batch.topic}/${batch.partition} expired after ${deliveryTimeoutMs} ms`);
}
