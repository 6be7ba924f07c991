/**
 * The consumer (Kafka KafkaConsumer + Fetcher). Two modes, one at a time: manual assignment (the
 * application names its partitions with assign() and keeps its own offsets) or a consumer group
 * (subscribe() with a groupId: the group gives the partitions and keeps committed offsets; the
 * whole of that lives in group/group_consumer.ts, this class only calls into it).
 *
 * - Each assigned partition has a position: the offset of the next record to return. A new
 *   partition has none until seek() gives one or the first poll resolves autoOffsetReset
 *   (latest by default, as Kafka's auto.offset.reset). seek() to 'beginning', 'end' or a
 *   timestamp is resolved lazily with ListOffsets on the partition's leader.
 * - poll() sends one Fetch per leader broker for every assigned, unpaused partition with a
 *   position that wants one (long poll: maxWaitMs, minBytes). A reply's record bytes are kept per
 *   partition (fetch_buffer.ts, fetched_records.ts: Kafka's CompletedFetch) and decoded a batch at a
 *   time as polls take records, at most maxPollRecords per poll (gzip through compression.ts, CRC
 *   checked once per batch); records below the position are dropped (a fetch starts with the whole
 *   batch that contains the fetch offset) and the position advances with each record handed out.
 *   Results of a fetch that does not continue the partition (seeked meanwhile) are dropped.
 * - Pipelining: a partition with one reply buffered is fetched again from where that reply ends
 *   while the leader has more committed records, and a poll that returns records first sends the
 *   Fetches it can, so brokers read and send while the application works on the records.
 * - A batch that fails its checks is never handed out. When the poll already holds records of
 *   other batches it returns them and the next poll throws the error (as Kafka does); the
 *   partition's position stays at the damaged batch, which is fetched again.
 * - OFFSET_OUT_OF_RANGE resets the position per autoOffsetReset ('none' throws it). Leader
 *   changes (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, unknown topic, lost connections)
 *   take the leader hint, refresh metadata and back off that partition; other errors throw.
 * - poll() returns as soon as any records arrive, or with none after timeoutMs, whatever the brokers
 *   do: no step of a poll (metadata refresh, ListOffsets, Fetch) is awaited past its deadline. A
 *   broker may be paused (SIGSTOP: its TCP connections stay open, nothing answers) and hold a
 *   request until it times out (requestTimeoutMs). So at most one Fetch per broker is in flight; a
 *   reply is parked when it arrives and applied by the poll that is running then or by the next
 *   one (Kafka's completed fetches), after the same checks (still assigned, position unmoved); a
 *   poll that ends first leaves the Fetch running. A paused broker then holds up only its own
 *   partitions.
 */
import type { Logger } from 'pino';

import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { ERROR_TABLE, errorFromWire, OffsetOutOfRangeError, TributaryError } from '../common/errors.js';
import { API_KEYS, LIST_OFFSETS_EARLIEST, LIST_OFFSETS_LATEST } from '../protocol/api_keys.js';
import type { DecodedResponseOf } from '../protocol/messages.js';
import type { Reply } from './connection.js';
import { BufferedBatchError, FetchBuffer } from './fetch_buffer.js';
import { PartitionRecords } from './fetched_records.js';
import type { ConsumerRecord } from './fetched_records.js';
import { defaultClientLogger, MetadataCache, parseBootstrap } from './metadata_cache.js';
import { topicPartitionKey } from './producer_state.js';
import type { PartitionAssignor } from './group/assignors/assignor.js';
import { BUILT_IN_ASSIGNORS, DEFAULT_ASSIGNORS } from './group/assignors/index.js';
import { IllegalStateError } from './group/errors.js';
import { GroupConsumer } from './group/group_consumer.js';
import type { RebalanceListener } from './group/group_consumer.js';
import type { CommittedOffset, OffsetToCommit } from './group/offset_client.js';
import { backoffMs, cryptoSeededPrng, isRetriable } from './retry.js';
import type { ClientSecurity, ClientSecurityOptions } from '../security/client_security.js';

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** Where to move a partition's position: an offset, either end of the log, or a time. */
export type SeekTarget = number | 'beginning' | 'end' | { readonly timestamp: number };
export type AutoOffsetReset = 'earliest' | 'latest' | 'none';

export type { ConsumerRecord } from './fetched_records.js';

export interface ConsumerOptions {
  readonly bootstrap: string | readonly string[];
  /** CURVE credentials (docs/security.md): { keyFile, serverKey }; plaintext when absent. */
  readonly security?: ClientSecurityOptions | ClientSecurity;
  readonly clientId?: string;
  /** How long a broker may hold a Fetch waiting for minBytes (Kafka fetch.max.wait.ms). */
  readonly maxWaitMs?: number;
  readonly minBytes?: number;
  /** Bytes per Fetch reply (Kafka fetch.max.bytes). */
  readonly maxBytes?: number;
  /** Bytes per partition in a Fetch reply (Kafka max.partition.fetch.bytes). */
  readonly partitionMaxBytes?: number;
  /**
   * Records one poll returns at most (Kafka max.poll.records); the rest wait, undecoded, for the
   * next polls. Default: no limit, every record fetched so far.
   */
  readonly maxPollRecords?: number;
  readonly autoOffsetReset?: AutoOffsetReset;
  readonly requestTimeoutMs?: number;
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
  readonly logger?: Logger;
  readonly prng?: Prng;
  /** The consumer group (Kafka group.id): needed by subscribe() and the commit calls. */
  readonly groupId?: string;
  /** Static membership (Kafka group.instance.id): a restart within the session keeps the partitions. */
  readonly groupInstanceId?: string;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Longest time between polls before the member leaves the group; also the rebalance timeout. */
  readonly maxPollIntervalMs?: number;
  /** Commit the positions every autoCommitIntervalMs from poll, before a rebalance and on close. */
  readonly autoCommit?: boolean;
  readonly autoCommitIntervalMs?: number;
  /** How often a RegExp subscription is matched again against the cluster's topics. */
  readonly metadataMaxAgeMs?: number;
  /** Bounds commitSync() and committed(), retries included (Kafka default.api.timeout.ms). */
  readonly apiTimeoutMs?: number;
  /** Offered in this order (Kafka partition.assignment.strategy); default ['range']. */
  readonly partitionAssignors?: readonly (PartitionAssignor | 'range' | 'roundrobin' | 'sticky')[];
}

/** Kafka 3.x's defaults for the group options. */
export const GROUP_DEFAULTS = {
  sessionTimeoutMs: 45_000,
  heartbeatIntervalMs: 3_000,
  maxPollIntervalMs: 300_000,
  autoCommit: true,
  autoCommitIntervalMs: 5_000,
  metadataMaxAgeMs: 300_000,
  apiTimeoutMs: 60_000,
} as const;

export type { CommittedOffset, OffsetToCommit } from './group/offset_client.js';
export type { RebalanceListener } from './group/group_consumer.js';

export const CONSUMER_DEFAULTS = {
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 50 * 1024 * 1024,
  partitionMaxBytes: 1024 * 1024,
  maxPollRecords: Number.POSITIVE_INFINITY,
  autoOffsetReset: 'latest',
  requestTimeoutMs: 30_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 1_000,
} as const;

interface Assignment {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to return; null until resolved. */
  position: number | null;
  /** What resolves a null position; null means autoOffsetReset. */
  pendingSeek: Exclude<SeekTarget, number> | null;
  paused: boolean;
  highWatermark: number;
  fetchBytesMax: number;
  notBeforeMs: number;
  failures: number;
  /** Fetched records not yet handed out, from position on. */
  readonly buffer: FetchBuffer;
}

type FetchPartitionResponse = DecodedResponseOf<typeof API_KEYS.FETCH>['partitions'][number];
type ListOffsetsPartitionResponse = DecodedResponseOf<typeof API_KEYS.LIST_OFFSETS>['partitions'][number];

const LEADER_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'UNKNOWN_TOPIC_OR_PARTITION', 'NETWORK_EXCEPTION',
  'REQUEST_TIMED_OUT',
]);
const IDLE_POLL_SLEEP_MS = 50;

/** A Fetch that came back (reply or error), waiting to be applied by a poll. */
interface CompletedFetch {
  readonly brokerId: number;
  readonly asked: readonly { readonly assigned: Assignment; readonly offset: number }[];
  readonly reply: Reply<typeof API_KEYS.FETCH> | null;
  readonly error: unknown;
}

export class Consumer {
  private readonly metadata: MetadataCache;
  private readonly logger: Logger;
  private readonly prng: Prng;
  private readonly maxWaitMs: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly partitionMaxBytes: number;
  private readonly maxPollRecords: number;
  private readonly autoOffsetReset: AutoOffsetReset;
  private readonly requestTimeoutMs: number;
  private readonly retryBackoffMs: number;
  private readonly retryBackoffMaxMs: number;
  private assignments = new Map<string, Assignment>();
  /**
   * Fetches sent and not back, by broker id, and those back and not yet applied. Invariant: a
   * broker id is in at most one of the two, once, so neither outgrows the brokers.
   */
  private readonly fetchesInFlight = new Map<number, Promise<void>>();
  private completedFetches: CompletedFetch[] = [];
  /** Partitions with buffered records, in the order their replies were applied. */
  private bufferedPartitions: Assignment[] = [];
  /** A partition may want a Fetch since the last sendFetches: a reply was applied or used up. */
  private fetchesMayStart = false;
  /** A damaged batch met by a poll that already held records: the next poll throws it. */
  private deferredError: { readonly error: unknown } | null = null;
  private resolvingPositions: Promise<void> | null = null;
  private polling = false;
  private closed = false;
  /** The group mode, when a groupId is given. */
  private readonly group: GroupConsumer | null;
  /** Whether assign() was called since the last unassignment (manual mode). */
  private manuallyAssigned = false;
  private readonly apiTimeoutMs: number;

  constructor(options: ConsumerOptions) {
    this.maxWaitMs = options.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs;
    this.minBytes = options.minBytes ?? CONSUMER_DEFAULTS.minBytes;
    this.maxBytes = options.maxBytes ?? CONSUMER_DEFAULTS.maxBytes;
    this.partitionMaxBytes = Math.min(this.maxBytes, options.partitionMaxBytes ?? CONSUMER_DEFAULTS.partitionMaxBytes);
    this.maxPollRecords = options.maxPollRecords ?? CONSUMER_DEFAULTS.maxPollRecords;
    assert(this.maxPollRecords >= 1 && (Number.isSafeInteger(this.maxPollRecords) || this.maxPollRecords === Infinity),
      () => `maxPollRecords must be a positive integer, got ${this.maxPollRecords}`);
    this.autoOffsetReset = options.autoOffsetReset ?? CONSUMER_DEFAULTS.autoOffsetReset;
    this.requestTimeoutMs = options.requestTimeoutMs ?? CONSUMER_DEFAULTS.requestTimeoutMs;
    this.retryBackoffMs = options.retryBackoffMs ?? CONSUMER_DEFAULTS.retryBackoffMs;
    this.retryBackoffMaxMs = options.retryBackoffMaxMs ?? CONSUMER_DEFAULTS.retryBackoffMaxMs;
    this.logger = options.logger ?? defaultClientLogger(options.clientId ?? 'tributary-consumer');
    this.prng = options.prng ?? cryptoSeededPrng();
    this.metadata = new MetadataCache({
      bootstrap: parseBootstrap(options.bootstrap),
      ...(options.security === undefined ? {} : { security: options.security }),
      clientId: options.clientId ?? 'tributary-consumer',
      requestTimeoutMs: this.requestTimeoutMs + this.maxWaitMs,
      refreshBackoffMs: this.retryBackoffMs,
      logger: this.logger,
    });
    this.apiTimeoutMs = options.apiTimeoutMs ?? GROUP_DEFAULTS.apiTimeoutMs;
    if (!Number.isSafeInteger(this.apiTimeoutMs) || this.apiTimeoutMs <= 0) {
      throw new TributaryError('INVALID_CONFIG', `apiTimeoutMs must be a positive integer (ms), got ${this.apiTimeoutMs}`);
    }
    this.group = options.groupId === undefined ? null : this.makeGroup(options, options.groupId);
  }

  /** Fetches metadata for the assigned topics; optional (poll does it when needed). */
  async connect(): Promise<void> {
    this.checkOpen();
    await this.metadata.refresh([...new Set([...this.assignments.values()].map((a) => a.topic))]);
  }

  /** Replaces the assignment (manual mode). Partitions kept from the previous one keep their position. */
  assign(partitions: readonly TopicPartitionRef[]): void {
    this.checkOpen();
    if (this.group?.subscribed === true) {
      throw new IllegalStateError('assign() on a consumer that subscribed: call unsubscribe() first');
    }
    this.replaceAssignment(partitions);
    this.manuallyAssigned = partitions.length > 0;
  }

  /**
   * Joins the group (groupId) for topics, or for every topic a RegExp matches, now and as topics
   * come and go. The listener hears of partitions revoked and assigned at each rebalance.
   */
  subscribe(topics: readonly string[] | RegExp, listener: RebalanceListener = {}): void {
    this.checkOpen();
    const group = this.requireGroup('subscribe()');
    if (this.manuallyAssigned) {
      throw new IllegalStateError('subscribe() on a consumer with a manual assignment: call assign([]) first');
    }
    group.subscribe(topics, listener);
  }

  /** Leaves the group (after revoking the partitions); the consumer may assign() afterwards. */
  async unsubscribe(): Promise<void> {
    this.checkOpen();
    await this.group?.unsubscribe();
  }

  /** The subscribed topics (the current matches of a RegExp); empty outside group mode. */
  subscription(): string[] {
    return this.group?.subscriptionTopics() ?? [];
  }

  /** Commits offsets (default: the positions of every assigned partition) and waits for the coordinator. */
  async commitSync(offsets?: readonly OffsetToCommit[]): Promise<void> {
    this.checkOpen();
    await this.requireGroup('commitSync()').commitSync(offsets, this.apiTimeoutMs);
  }

  /** Commits without waiting; the callback (or, without one, the log) gets the outcome. */
  commitAsync(offsets?: readonly OffsetToCommit[], callback?: (error: Error | null) => void): void {
    this.checkOpen();
    this.requireGroup('commitAsync()').commitAsync(offsets, callback);
  }

  /** The group's committed offsets of partitions (offset null: nothing committed). */
  async committed(partitions: readonly TopicPartitionRef[]): Promise<CommittedOffset[]> {
    this.checkOpen();
    return this.requireGroup('committed()').committed(partitions, this.apiTimeoutMs);
  }

  private replaceAssignment(partitions: readonly TopicPartitionRef[]): void {
    const next = new Map<string, Assignment>();
    for (const { topic, partition } of partitions) {
      assert(Number.isInteger(partition) && partition >= 0, () => `bad partition ${partition}`);
      const key = topicPartitionKey(topic, partition);
      next.set(key, this.assignments.get(key) ?? {
        topic, partition, position: null, pendingSeek: null, paused: false, highWatermark: -1,
        fetchBytesMax: this.partitionMaxBytes, notBeforeMs: 0, failures: 0, buffer: new FetchBuffer(),
      });
    }
    this.assignments = next;
    this.metadata.addInterest(partitions.map((p) => p.topic));
  }

  /** The partition numbers of a topic (waiting up to timeoutMs for it to appear in metadata). */
  async partitionsFor(topic: string, timeoutMs = 5_000): Promise<number[]> {
    this.checkOpen();
    const info = await this.metadata.waitForTopic(topic, timeoutMs);
    return info.partitions.map((p) => p.partition);
  }

  assignment(): TopicPartitionRef[] {
    return [...this.assignments.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Moves the position; 'beginning', 'end' and timestamps are resolved on the next poll. */
  seek(partition: TopicPartitionRef, target: SeekTarget): void {
    const assigned = this.assigned(partition);
    if (typeof target === 'number') {
      if (!Number.isSafeInteger(target) || target < 0) {
        throw new TributaryError('OFFSET_OUT_OF_RANGE', `Cannot seek to offset ${target}`);
      }
      assigned.position = target;
      assigned.pendingSeek = null;
    } else {
      assigned.position = null;
      assigned.pendingSeek = target;
    }
    assigned.buffer.clear(); // fetched from the old position
    assigned.notBeforeMs = 0;
  }

  /** The offset of the next record poll will return for the partition, resolving a pending seek. */
  async position(partition: TopicPartitionRef): Promise<number> {
    const assigned = this.assigned(partition);
    for (let attempt = 0; assigned.position === null; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt, this.backoff(), this.prng));
      if (attempt >= 20) throw new TributaryError('REQUEST_TIMED_OUT', `Could not resolve the position of ${label(partition)}`);
      assigned.notBeforeMs = 0;
      await this.resolvePositions([assigned]);
    }
    return assigned.position;
  }

  /** The high watermark the last fetch saw for the partition, or -1. */
  highWatermark(partition: TopicPartitionRef): number {
    return this.assigned(partition).highWatermark;
  }

  pause(partitions: readonly TopicPartitionRef[]): void {
    for (const partition of partitions) this.assigned(partition).paused = true;
  }

  resume(partitions: readonly TopicPartitionRef[]): void {
    for (const partition of partitions) this.assigned(partition).paused = false;
  }

  paused(): TopicPartitionRef[] {
    return [...this.assignments.values()].filter((a) => a.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Records from the assigned partitions, as soon as there are some, or none after timeoutMs. */
  async poll(options: { readonly timeoutMs?: number } = {}): Promise<ConsumerRecord[]> {
    this.checkOpen();
    assert(!this.polling, 'poll() is already running: a Consumer polls from one caller at a time');
    this.polling = true;
    try {
      const deadlineMs = Date.now() + (options.timeoutMs ?? 1_000);
      this.throwDeferredError();
      if (this.group !== null) await this.group.beforePoll(deadlineMs);
      for (let pass = 0; ; pass++) {
        this.applyCompletedFetches();
        const records = this.takeBufferedRecords();
        if (records.length > 0) {
          // Pipelining: the brokers read the next records while the application handles these.
          if (this.fetchesMayStart) this.sendFetches(this.maxWaitMs);
          return records;
        }
        if (this.closed || (pass > 0 && Date.now() >= deadlineMs)) return records;
        // Every wait below ends by the deadline; work still running then goes on without this poll.
        await settledBefore(this.refreshIfNeeded(), deadlineMs);
        await settledBefore(this.resolvePendingPositions(), deadlineMs);
        const remainingMs = Math.max(0, deadlineMs - Date.now());
        const fetching = await this.fetchOnce(Math.min(this.maxWaitMs, remainingMs), deadlineMs);
        if (!fetching) await sleep(Math.min(IDLE_POLL_SLEEP_MS, Math.max(0, deadlineMs - Date.now())));
      }
    } finally {
      this.polling = false;
    }
  }

  /** Leaves the group (committing first with autoCommit) and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.group?.close(this.requestTimeoutMs);
    } finally {
      this.closed = true;
      await this.metadata.close();
    }
  }

  // ----------------------------------------------------------------------------------------------

  private makeGroup(options: ConsumerOptions, groupId: string): GroupConsumer {
    const assignors = (options.partitionAssignors ?? DEFAULT_ASSIGNORS).map((a) => {
      if (typeof a !== 'string') return a;
      const found = BUILT_IN_ASSIGNORS.get(a);
      if (found === undefined) throw new TributaryError('INVALID_CONFIG', `Unknown partition assignor '${a}'`);
      return found;
    });
    if (assignors.length === 0) throw new TributaryError('INVALID_CONFIG', 'partitionAssignors must not be empty');
    return new GroupConsumer({
      metadata: this.metadata,
      setAssignment: (partitions) => { this.replaceAssignment(partitions); },
      seekTo: (partition, offset) => { this.seek(partition, offset); },
      assignedPartitions: () => this.assignment(),
      consumedPositions: () => [...this.assignments.values()].filter((a) => a.position !== null)
        .map((a) => ({ topic: a.topic, partition: a.partition, offset: a.position ?? 0 })),
    }, {
      groupId, groupInstanceId: options.groupInstanceId ?? null,
      sessionTimeoutMs: options.sessionTimeoutMs ?? GROUP_DEFAULTS.sessionTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? GROUP_DEFAULTS.heartbeatIntervalMs,
      maxPollIntervalMs: options.maxPollIntervalMs ?? GROUP_DEFAULTS.maxPollIntervalMs,
      autoCommit: options.autoCommit ?? GROUP_DEFAULTS.autoCommit,
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? GROUP_DEFAULTS.autoCommitIntervalMs,
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? GROUP_DEFAULTS.metadataMaxAgeMs,
      assignors, requestTimeoutMs: this.requestTimeoutMs, retryBackoffMs: this.retryBackoffMs,
      retryBackoffMaxMs: this.retryBackoffMaxMs, logger: this.logger, prng: this.prng,
    });
  }

  private requireGroup(call: string): GroupConsumer {
    if (this.group === null) throw new IllegalStateError(`${call} needs a consumer with a groupId`);
    return this.group;
  }

  private checkOpen(): void {
    if (this.closed) throw new TributaryError('NETWORK_EXCEPTION', 'The consumer is closed');
  }

  private assigned(partition: TopicPartitionRef): Assignment {
    const assigned = this.assignments.get(topicPartitionKey(partition.topic, partition.partition));
    if (assigned === undefined) {
      throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `${label(partition)} is not assigned to this consumer`);
    }
    return assigned;
  }

  private backoff(): { backoffInitialMs: number; backoffMaxMs: number } {
    return { backoffInitialMs: this.retryBackoffMs, backoffMaxMs: this.retryBackoffMaxMs };
  }

  /** Refreshes when an assigned topic or a leader is unknown (the first poll, after errors). */
  private async refreshIfNeeded(): Promise<void> {
    const unknown = [...this.assignments.values()].some((a) => this.metadata.leaderOf(a.topic, a.partition) === null);
    if (!unknown) return;
    try {
      await this.metadata.refresh();
    } catch (error) {
      if (!isRetriable(error)) throw error;
      this.logger.debug({ err: error }, 'metadata refresh failed; retrying on the next pass');
    }
  }

  /** Ready partitions grouped by leader broker id. */
  private groupByLeader(assignments: readonly Assignment[]): Map<number, Assignment[]> {
    const nowMs = Date.now();
    const groups = new Map<number, Assignment[]>();
    for (const assigned of assignments) {
      if (assigned.notBeforeMs > nowMs) continue;
      const leader = this.metadata.leaderOf(assigned.topic, assigned.partition);
      if (leader === null || this.metadata.connectionToBroker(leader) === null) continue;
      const group = groups.get(leader) ?? [];
      group.push(assigned);
      groups.set(leader, group);
    }
    return groups;
  }

  /** ListOffsets for the partitions without a position; single-flight, so a stuck one is not repeated. */
  private resolvePendingPositions(): Promise<void> {
    if (this.resolvingPositions === null) {
      const pending = [...this.assignments.values()].filter((a) => a.position === null && !a.paused);
      const run = this.resolvePositions(pending);
      this.resolvingPositions = run;
      const clear = (): void => { if (this.resolvingPositions === run) this.resolvingPositions = null; };
      run.then(clear, clear);
    }
    return this.resolvingPositions;
  }

  private async resolvePositions(pending: readonly Assignment[]): Promise<void> {
    if (pending.length === 0) return;
    const groups = this.groupByLeader(pending);
    await Promise.all([...groups].map(([brokerId, group]) => this.listOffsets(brokerId, group)));
  }

  private seekTimestamp(assigned: Assignment): number {
    const target = assigned.pendingSeek ?? (this.autoOffsetReset === 'earliest' ? 'beginning' : 'end');
    if (target === 'beginning') return LIST_OFFSETS_EARLIEST;
    if (target === 'end') return LIST_OFFSETS_LATEST;
    return target.timestamp;
  }

  private async listOffsets(brokerId: number, group: readonly Assignment[]): Promise<void> {
    if (this.autoOffsetReset === 'none' && group.some((a) => a.pendingSeek === null)) {
      const first = group.find((a) => a.pendingSeek === null);
      throw new TributaryError('OFFSET_OUT_OF_RANGE',
        `No position for ${first === undefined ? '?' : label(first)} and autoOffsetReset is none`);
    }
    const asked = group.map((assigned) => ({ assigned, timestamp: this.seekTimestamp(assigned) }));
    let partitions: readonly ListOffsetsPartitionResponse[];
    try {
      partitions = await this.requestListOffsets(brokerId, asked.map(({ assigned, timestamp }) => ({
        topic: assigned.topic, partition: assigned.partition, timestamp,
      })));
    } catch (error) {
      for (const { assigned } of asked) this.onPartitionError(assigned, error, null);
      return;
    }
    const byKey = new Map(partitions.map((p) => [topicPartitionKey(p.topic, p.partition), p]));
    const noneAtTime: Assignment[] = [];
    for (const { assigned, timestamp } of asked) {
      const reply = byKey.get(topicPartitionKey(assigned.topic, assigned.partition));
      if (reply === undefined || assigned.position !== null) continue;
      if (reply.errorCode !== 0) {
        this.onPartitionError(assigned, errorFromWire(reply.errorCode, reply.errorMessage || undefined), reply);
      } else if (reply.offset < 0 && timestamp >= 0) {
        noneAtTime.push(assigned);
      } else {
        assigned.position = reply.offset;
        assigned.pendingSeek = null;
        assigned.failures = 0;
      }
    }
    // No record at or after the time: like Kafka's offsetsForTimes returning null, go to the end.
    for (const assigned of noneAtTime) assigned.pendingSeek = 'end';
    if (noneAtTime.length > 0) await this.listOffsets(brokerId, noneAtTime);
  }

  private async requestListOffsets(brokerId: number, partitions: { topic: string; partition: number;
    timestamp: number; }[]): Promise<readonly ListOffsetsPartitionResponse[]> {
    const connection = this.metadata.connectionToBroker(brokerId);
    assert(connection !== null, 'groupByLeader checked the connection');
    const { response } = await connection.request(API_KEYS.LIST_OFFSETS, { partitions }, [],
      { timeoutMs: this.requestTimeoutMs });
    return response.partitions;
  }

  /**
   * Sends a Fetch to every leader of ready partitions that has none in flight, then waits until one
   * in flight comes back or deadlineMs. False when nothing is in flight.
   */
  private async fetchOnce(waitMs: number, deadlineMs: number): Promise<boolean> {
    this.sendFetches(waitMs);
    if (this.fetchesInFlight.size === 0) return false;
    await settledBefore(Promise.race(this.fetchesInFlight.values()), deadlineMs);
    return true;
  }

  /** Sends a Fetch to every leader of fetchable partitions that has none in flight or unapplied. */
  private sendFetches(waitMs: number): void {
    this.fetchesMayStart = false;
    const fetchable = [...this.assignments.values()].filter((a) => a.position !== null && !a.paused
      && a.buffer.wantsFetch(a.highWatermark));
    for (const [brokerId, group] of this.groupByLeader(fetchable)) {
      if (!this.fetchBusy(brokerId)) this.startFetch(brokerId, group, waitMs);
    }
  }

  /** A Fetch to the broker is in flight, or back and not yet applied. */
  private fetchBusy(brokerId: number): boolean {
    return this.fetchesInFlight.has(brokerId) || this.completedFetches.some((fetch) => fetch.brokerId === brokerId);
  }

  /** Sends one Fetch; its reply or error is parked in completedFetches when it comes. */
  private startFetch(brokerId: number, group: readonly Assignment[], waitMs: number): void {
    const connection = this.metadata.connectionToBroker(brokerId);
    assert(connection !== null, 'groupByLeader checked the connection');
    assert(!this.fetchBusy(brokerId), () => `a Fetch to broker ${brokerId} is already in flight or unapplied`);
    const asked = group.map((assigned) => {
      assert(assigned.position !== null, 'sendFetches fetches partitions with a position');
      return { assigned, offset: assigned.buffer.fetchOffset(assigned.position) };
    });
    const fetch = connection.request(API_KEYS.FETCH, {
      maxWaitMs: waitMs, minBytes: this.minBytes, maxBytes: this.maxBytes,
      partitions: asked.map(({ assigned, offset }) => ({
        topic: assigned.topic, partition: assigned.partition, fetchOffset: offset,
        partitionMaxBytes: assigned.fetchBytesMax, currentLeaderEpoch: -1,
      })),
    }, [], { timeoutMs: waitMs + this.requestTimeoutMs }).then(
      (reply) => { this.parkFetch({ brokerId, asked, reply, error: null }); },
      (error: unknown) => { this.parkFetch({ brokerId, asked, reply: null, error }); },
    );
    this.fetchesInFlight.set(brokerId, fetch);
  }

  /** Moves a Fetch from in flight to completed in one step (the invariant of fetchesInFlight). */
  private parkFetch(fetch: CompletedFetch): void {
    const wasInFlight = this.fetchesInFlight.delete(fetch.brokerId);
    assert(wasInFlight && !this.completedFetches.some((parked) => parked.brokerId === fetch.brokerId),
      () => `Fetch to broker ${fetch.brokerId} parked twice`);
    this.completedFetches.push(fetch);
  }

  /** Applies every parked Fetch in arrival order: errors handled, records buffered in that order. */
  private applyCompletedFetches(): void {
    const completed = this.completedFetches;
    if (completed.length === 0) return;
    this.completedFetches = [];
    this.fetchesMayStart = true;
    for (const fetch of completed) this.applyFetch(fetch);
  }

  private applyFetch({ asked, reply, error }: CompletedFetch): void {
    if (reply === null) {
      for (const { assigned } of asked) this.onPartitionError(assigned, error, null);
      return;
    }
    const byKey = new Map(reply.response.partitions.map((p) => [topicPartitionKey(p.topic, p.partition), p]));
    for (const { assigned, offset } of asked) {
      const partition = byKey.get(topicPartitionKey(assigned.topic, assigned.partition));
      // Dropped: not answered, reassigned, or seeked (or its buffer dropped) while the fetch was out.
      if (partition === undefined || this.assignments.get(topicPartitionKey(assigned.topic, assigned.partition))
        !== assigned || assigned.position === null || assigned.buffer.fetchOffset(assigned.position) !== offset) {
        continue;
      }
      if (partition.errorCode !== 0) {
        // Out of range ahead of the position is for the fetch at the position to find, and reset.
        if (offset !== assigned.position && partition.errorCode === ERROR_TABLE.OFFSET_OUT_OF_RANGE.wire) continue;
        this.onFetchError(assigned, partition);
        continue;
      }
      this.bufferRecords(assigned, offset, partition, reply.rawFrames);
    }
  }

  /** Keeps the partition's frames of a reply; their records are decoded as polls take them. */
  private bufferRecords(assigned: Assignment, offset: number, partition: FetchPartitionResponse,
    rawFrames: readonly Buffer[]): void {
    assert(assigned.position !== null, 'applyFetch checked the position');
    assigned.highWatermark = partition.highWatermark;
    assigned.failures = 0;
    const frames: Buffer[] = [];
    for (const index of partition.rawFrameIndexes) {
      const frame = rawFrames[index];
      if (frame !== undefined && frame.length > 0) frames.push(frame);
    }
    if (frames.length === 0) return;
    if (!this.bufferedPartitions.includes(assigned)) this.bufferedPartitions.push(assigned);
    assigned.buffer.push(new PartitionRecords(assigned.topic, assigned.partition, frames, offset), assigned.position);
  }

  /**
   * Up to maxPollRecords buffered records; positions advance past what is returned. Partitions take
   * turns a reply at a time, in the order their replies came (Kafka's completed fetches): a
   * partition whose reply is used up goes to the back, so one that is always fetched ahead cannot
   * keep the others waiting. A damaged batch empties its partition's buffer (the position stays
   * before it) and is thrown now, or by the next poll if records were taken already (they are
   * returned, so none is lost).
   */
  private takeBufferedRecords(): ConsumerRecord[] {
    const records: ConsumerRecord[] = [];
    const queue = this.bufferedPartitions;
    const paused: Assignment[] = [];
    while (records.length < this.maxPollRecords) {
      const assigned = queue.shift();
      if (assigned === undefined) break;
      // Emptied by seek() or dropped by assign() meanwhile: it leaves the queue.
      if (assigned.buffer.isEmpty() || assigned.position === null
        || this.assignments.get(topicPartitionKey(assigned.topic, assigned.partition)) !== assigned) continue;
      if (assigned.paused) {
        paused.push(assigned);
        continue;
      }
      const wanted = assigned.buffer.wantsFetch(assigned.highWatermark);
      const replies = assigned.buffer.replyCount();
      try {
        assigned.position = assigned.buffer.takeFromHead(records, this.maxPollRecords, assigned.position);
      } catch (error) {
        if (!(error instanceof BufferedBatchError)) throw error;
        assigned.position = error.position;
        this.fetchesMayStart = true;
        if (records.length > 0) {
          this.deferredError = { error: error.cause };
          break;
        }
        this.bufferedPartitions = [...paused, ...queue];
        throw error.cause;
      }
      this.growFetchIfOversized(assigned);
      if (!wanted && assigned.buffer.wantsFetch(assigned.highWatermark)) this.fetchesMayStart = true;
      if (assigned.buffer.isEmpty()) continue;
      if (assigned.buffer.replyCount() < replies) queue.push(assigned); // its turn is over
      else queue.unshift(assigned); // the poll is full in the middle of its reply: it goes on next time
    }
    this.bufferedPartitions = [...paused, ...queue];
    return records;
  }

  private throwDeferredError(): void {
    const deferred = this.deferredError;
    if (deferred === null) return;
    this.deferredError = null;
    throw deferred.error;
  }

  private growFetchIfOversized(assigned: Assignment): void {
    if (assigned.buffer.takeOversizedBatch() && assigned.fetchBytesMax < this.maxBytes) {
      // The next batch is bigger than we asked for: ask for more (Kafka KIP-74 makes brokers send it whole).
      assigned.fetchBytesMax = Math.min(this.maxBytes, assigned.fetchBytesMax * 2);
      this.logger.warn({ topic: assigned.topic, partition: assigned.partition, bytes: assigned.fetchBytesMax },
        'a record batch is larger than the fetch size; asking for more');
    }
  }

  private onFetchError(assigned: Assignment, partition: FetchPartitionResponse): void {
    const error = errorFromWire(partition.errorCode, partition.errorMessage || undefined);
    if (error.code !== 'OFFSET_OUT_OF_RANGE') {
      this.onPartitionError(assigned, error, partition);
      return;
    }
    if (this.autoOffsetReset === 'none') {
      throw new OffsetOutOfRangeError(assigned.position ?? -1, partition.logStartOffset, partition.highWatermark);
    }
    this.logger.info({ topic: assigned.topic, partition: assigned.partition, offset: assigned.position,
      logStartOffset: partition.logStartOffset, reset: this.autoOffsetReset }, 'offset out of range; resetting');
    assigned.position = null;
    assigned.buffer.clear();
    assigned.pendingSeek = this.autoOffsetReset === 'earliest' ? 'beginning' : 'end';
  }

  /** Leader trouble and other retriable errors back the partition off; anything else is thrown. */
  private onPartitionError(assigned: Assignment, error: unknown,
    reply: { readonly currentLeader?: FetchPartitionResponse['currentLeader'] } | null): void {
    if (!isRetriable(error)) throw error;
    const code = (error as TributaryError).code;
    if (LEADER_ERRORS.has(code)) {
      const hint = reply?.currentLeader ?? null;
      if (hint !== null && hint.leaderId >= 0) this.metadata.applyLeaderHint(assigned.topic, assigned.partition, hint);
      else if (code !== 'REQUEST_TIMED_OUT') this.metadata.forgetLeader(assigned.topic, assigned.partition);
      this.metadata.requestRefresh();
    }
    assigned.failures += 1;
    assigned.notBeforeMs = Date.now() + backoffMs(Math.min(assigned.failures, 16), this.backoff(), this.prng);
    this.logger.debug({ topic: assigned.topic, partition: assigned.partition, code }, 'fetch error; backing off');
  }
}

function label(partition: TopicPartitionRef): string {
  return `${partition.topic}/${partition.partition}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits for work, but not past deadlineMs. Work still running then goes on; a later rejection
 * is absorbed here (it was observed by the race), and the next poll meets the same error again.
 */
async function settledBefore(work: Promise<unknown>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now()));
  });
  try {
    await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
