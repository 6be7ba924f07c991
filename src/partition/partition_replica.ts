/**
 * One replica of a partition: the state machine of its Raft group, and on the leader the produce,
 * fetch and list-offsets paths. The Raft log is the partition: a produce proposes the producer's
 * RecordBatch bytes as they came; the storage layer stamps the base offset (the running record
 * count, fixed by the log prefix) and the term into the batch header as the entry is written, so
 * every replica holds the same bytes at the same offsets. Records are never decoded here.
 *
 * Acks: 0, no reply; 1, the reply follows this leader's own durable append (it can be lost on
 * fail-over, as in Kafka); all (-1), the reply follows the Raft commit. The high watermark is one
 * past the last record of the last applied (committed) entry; fetches never see beyond it.
 */
import { OffsetOutOfRangeError as WireOffsetOutOfRangeError, NotLeaderOrFollowerError, TributaryError }
  from '../common/errors.js';
import { firstOffsetDeltaAtOrAfter, readBatchHeader, validateBatch } from '../protocol/record_batch.js';
import { validateRecords, validateRecordsOffLoop } from '../protocol/record_validation.js';
import type { Entry, GroupId, Snapshot, SoftState } from '../../raft/core/index.js';
import { EntryType, assert } from '../../raft/core/index.js';
import type { RaftHost } from '../../raft/host/raft_host.js';
import type { ReplicaStateMachine } from '../../raft/host/replica.js';
import type { RaftLogStorage, RetentionPolicy } from '../../storage/index.js';
import { CorruptSegmentError, OffsetOutOfRangeError } from '../../storage/index.js';
import type { AppliedRecordsListener } from './applied_records_listener.js';
import { FetchWaiters } from './fetch_waiters.js';
import { ProducerStateTable } from './producer_state.js';
import type { BatchSequences } from './producer_state.js';
import { ProposedBatches } from './proposed_batches.js';
import type { ProposedBatch } from './proposed_batches.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

export type Acks = -1 | 0 | 1;

/** How long a replica that stepped down waits to learn the new leader before answering its waiting produces. */
const STEP_DOWN_HINT_WAIT_MS = 500;

export interface PartitionReplicaOptions {
  readonly topic: string;
  readonly partition: number;
  readonly groupId: GroupId;
  readonly host: RaftHost;
  readonly storage: RaftLogStorage;
  /** Largest batch accepted (Kafka max.message.bytes). */
  readonly batchBytesMax: number;
  /** Produce requests waiting for their acks on this replica. */
  readonly pendingProducesMax: number;
  readonly fetchWaitersMax: number;
  /** Only for measuring validation's cost (bench): produce stores batches without walking their records. */
  readonly unsafeSkipRecordValidation?: boolean;
  /** State fed every applied batch and kept in snapshots (a `__consumer_offsets` partition's group store). */
  readonly recordsListener?: AppliedRecordsListener;
}

export interface ProduceResult {
  readonly baseOffset: number;
  readonly logStartOffset: number;
}

export interface FetchResult {
  /** Stored batches, views of pooled read memory (storage RawRead): send or keep them, not views of them. */
  readonly chunks: readonly Buffer[];
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

interface PendingProduce {
  readonly index: number;
  readonly term: number;
  readonly acks: Acks;
  readonly batch: Buffer;
  resolve(result: ProduceResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

interface SnapshotImage {
  nextOffset: number;
  producers: ReturnType<ProducerStateTable['toJSON']>;
  /** The records listener's image, base64; absent in images written without a listener. */
  listener?: string;
}

function sequencesOf(batch: Buffer): BatchSequences {
  const header = readBatchHeader(batch);
  const lastSequence = header.baseSequence < 0 ? -1 : (header.baseSequence + header.lastOffsetDelta) % 2 ** 31;
  return { producerId: header.producerId, producerEpoch: header.producerEpoch,
    firstSequence: header.baseSequence, lastSequence };
}

export class PartitionReplica implements ReplicaStateMachine {
  private highWatermarkValue: number;
  private producers: ProducerStateTable;
  private role: SoftState['role'] = 'follower';
  private leaderId = 0;
  private term = 0;
  /** The leader has applied an entry of its own term: all earlier terms' entries are applied. */
  private leaderReady = false;
  private readonly pending = new Map<number, PendingProduce>();
  /** The acks=1 produces of `pending`, ascending by index: each durable append settles a prefix. */
  private readonly awaitingPersist: PendingProduce[] = [];
  /**
   * This leader's idempotent batches proposed and not applied yet, whatever their acks and whether
   * answered: with `producers` they cover the whole log, so every check sees every batch.
   */
  private readonly proposed = new ProposedBatches();
  /** Resends waiting on a proposed batch (awaitProposed); they count against pendingProducesMax too. */
  private resendsWaiting = 0;
  /** Produces waiting to be admitted behind a gzip batch whose records are being checked, and their chain. */
  private admissionsWaiting = 0;
  private admissions: Promise<void> = Promise.resolve();
  private readonly waiters: FetchWaiters;
  /** Set while a replica that stepped down waits to learn the new leader before answering (answerPendingElsewhere). */
  private stepDownTimer: NodeJS.Timeout | undefined = undefined;

  constructor(private readonly options: PartitionReplicaOptions) {
    const snapshot = options.storage.snapshot();
    const image = typeof snapshot === 'string' ? undefined : PartitionReplica.decodeImage(snapshot.data);
    this.producers = ProducerStateTable.fromJSON(image?.producers ?? []);
    if (image !== undefined) options.recordsListener?.restore(PartitionReplica.listenerImage(image));
    // Entries after the log start are re-applied by Raft on start; the watermark grows from here.
    this.highWatermarkValue = options.storage.log.logStartOffset;
    this.waiters = new FetchWaiters(options.fetchWaitersMax);
  }

  get highWatermark(): number { return this.highWatermarkValue; }
  get logStartOffset(): number { return this.options.storage.log.logStartOffset; }
  get isLeader(): boolean { return this.role === 'leader'; }
  /** Leads and has applied every earlier term's entries, so its applied membership is current. */
  get isReadyLeader(): boolean { return this.role === 'leader' && this.leaderReady; }
  get leaderHint(): number | null { return this.leaderId === 0 ? null : this.leaderId; }
  get leaderEpoch(): number { return this.term; }

  /**
   * The leader to name in Metadata: this replica's view, except that a leader handing its
   * leadership over names the replica taking over, as its produce errors do meanwhile; otherwise a
   * client's refresh would send it back here a moment after the error sent it on.
   */
  get leaderForClients(): number | null {
    if (this.role === 'leader') {
      const transferee = this.options.host.status(this.options.groupId)?.leadTransferee ?? 0;
      if (transferee !== 0) return transferee;
    }
    return this.leaderHint;
  }

  /** The state attached to this replica, if any. */
  get recordsListener(): AppliedRecordsListener | undefined { return this.options.recordsListener; }

  private static decodeImage(data: Uint8Array): SnapshotImage {
    return JSON.parse(Buffer.from(data).toString('utf8')) as SnapshotImage;
  }

  private static listenerImage(image: SnapshotImage): Uint8Array | null {
    return image.listener === undefined ? null : Buffer.from(image.listener, 'base64');
  }

  /**
   * Snapshot data for a log prefix that ends where `nextOffset` begins. The producer table is the
   * current one (it only grows more precise with later entries), so a follower restored from it
   * dedupes at least as well as one that replayed the prefix.
   */
  snapshotImage(nextOffset: number): Uint8Array {
    const image: SnapshotImage = { nextOffset, producers: this.producers.toJSON() };
    const listener = this.options.recordsListener;
    // Like the producer table, the listener's image is the current state, ahead of nextOffset: it
    // must take the entries after nextOffset again harmlessly (AppliedRecordsListener.image).
    if (listener !== undefined) image.listener = Buffer.from(listener.image()).toString('base64');
    return Buffer.from(JSON.stringify(image));
  }

  /** Deletes this replica's closed segments past retention (applied entries only). */
  async applyRetention(policy: RetentionPolicy): Promise<number> {
    const { host, groupId, storage } = this.options;
    const deleted = await host.withStorageQuiet(groupId, async () => {
      const status = host.status(groupId);
      const conf = host.confState(groupId);
      if (status === undefined || conf === undefined) return 0;
      return storage.applyRetention(policy, status.appliedIndex + 1, conf, (next) => this.snapshotImage(next));
    });
    return deleted ?? 0;
  }

  private assertLeader(): void {
    if (this.role !== 'leader') throw new NotLeaderOrFollowerError(this.leaderHint);
    if (!this.leaderReady) throw new TributaryError('LEADER_NOT_AVAILABLE', 'the new leader is catching up');
    // The role and term above are those last noticed; the Raft node may have moved on since (they
    // are noticed after each Ready). Proposing on a stale view could check against another term's
    // proposals, so wait for the notice.
    const status = this.options.host.status(this.options.groupId);
    if (status?.role !== 'leader' || status.term !== this.term) {
      throw new TributaryError('LEADER_NOT_AVAILABLE', 'the leader is changing terms');
    }
  }

  /**
   * Appends a producer's batch; resolves per `acks` (acks=0 resolves at once with offset -1). An
   * idempotent batch is checked against the applied producer table and this leader's proposals
   * whatever its acks; a resend of a proposed batch is answered once that one is applied (acks=0:
   * at once) and never proposed again.
   */
  produce(batch: Buffer, acks: Acks, timeoutMs: number): Promise<ProduceResult> {
    const { header } = validateBatch(batch, { batchBytesMax: this.options.batchBytesMax, zstdAllowed: true });
    const skipRecords = this.options.unsafeSkipRecordValidation === true;
    if (this.admissionsWaiting === 0 && (skipRecords || header.compression !== 'gzip')) {
      if (!skipRecords) validateRecords(batch, header);
      return this.admit(batch, acks, timeoutMs);
    }
    // A gzip batch's records are checked off the event loop; it, and every batch after it, are
    // admitted in arrival order once the batches before them were (a producer's sequences must
    // reach the idempotence checks in the order it sent them).
    const recordsChecked = skipRecords ? Promise.resolve() : validateRecordsOffLoop(batch, header);
    recordsChecked.catch(ignore); // observed below, maybe only after an earlier batch is admitted
    this.admissionsWaiting += 1;
    const admitted = this.admissions.then(() => recordsChecked)
      .then(() => ({ outcome: this.admit(batch, acks, timeoutMs) }));
    this.admissions = admitted.then(ignore, ignore).finally(() => { this.admissionsWaiting -= 1; });
    return admitted.then(({ outcome }) => outcome);
  }

  /** Checks a validated batch against the leadership and idempotence state and proposes it. */
  private admit(batch: Buffer, acks: Acks, timeoutMs: number): Promise<ProduceResult> {
    this.assertLeader();
    const sequences = sequencesOf(batch);
    const idempotent = sequences.producerId >= 0;
    if (idempotent) {
      const resent = this.proposed.find(sequences);
      if (resent !== undefined) return this.awaitProposed(resent, acks, timeoutMs);
      const check = this.producers.check(sequences, this.proposed.latest(sequences.producerId)?.sequences);
      if (check.kind === 'error') throw check.error;
      if (check.kind === 'duplicate') {
        return Promise.resolve({ baseOffset: acks === 0 ? -1 : check.baseOffset, logStartOffset: this.logStartOffset });
      }
    }
    this.assertRoomForAnotherProduce();
    const result = this.options.host.propose(this.options.groupId, batch);
    if (result === undefined) throw new NotLeaderOrFollowerError(null);
    if (result.kind === 'not_leader') throw new NotLeaderOrFollowerError(result.leaderId === 0 ? null : result.leaderId);
    if (result.kind === 'dropped') {
      if (result.reason === 'transferring_leadership') {
        // Leadership is being handed to another replica (a shutdown, a preferred-leader election):
        // name it, so the client's retry goes there rather than back here.
        const transferee = this.options.host.status(this.options.groupId)?.leadTransferee ?? 0;
        throw new NotLeaderOrFollowerError(transferee === 0 ? null : transferee);
      }
      throw result.reason === 'uncommitted_bytes_max'
        ? new TributaryError('TOO_MANY_REQUESTS', 'the leader holds too many uncommitted bytes; slow down')
        : new TributaryError('LEADER_NOT_AVAILABLE', `proposal dropped: ${result.reason}`);
    }
    // assertLeader saw the node lead this.term, and nothing ran in between.
    assert(result.term === this.term, () => `proposed in term ${result.term} while leading ${this.term}`);
    if (idempotent) {
      this.proposed.add({ index: result.index, term: result.term, sequences, waiters: undefined });
    }
    if (acks === 0) return Promise.resolve({ baseOffset: -1, logStartOffset: this.logStartOffset });
    return this.track(result.index, result.term, acks, batch, timeoutMs);
  }

  /** The answer to a resend of a proposed batch: its offset once applied, unless acks=0. */
  private awaitProposed(proposed: ProposedBatch, acks: Acks, timeoutMs: number): Promise<ProduceResult> {
    if (acks === 0) return Promise.resolve({ baseOffset: -1, logStartOffset: this.logStartOffset });
    this.assertRoomForAnotherProduce();
    this.resendsWaiting += 1;
    return new Promise<ProduceResult>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        this.resendsWaiting -= 1;
        reject(new TributaryError('REQUEST_TIMED_OUT', `not acknowledged within ${timeoutMs} ms`));
      }, timeoutMs);
      proposed.waiters ??= [];
      proposed.waiters.push((outcome) => {
        if (done) return;
        done = true;
        this.resendsWaiting -= 1;
        clearTimeout(timer);
        if (outcome instanceof Error) reject(outcome);
        else resolve({ baseOffset: outcome, logStartOffset: this.logStartOffset });
      });
    });
  }

  private assertRoomForAnotherProduce(): void {
    if (this.pending.size + this.resendsWaiting >= this.options.pendingProducesMax) {
      throw new TributaryError('TOO_MANY_REQUESTS', 'too many produce requests awaiting acks on this partition');
    }
  }

  private track(index: number, term: number, acks: Acks, batch: Buffer, timeoutMs: number): Promise<ProduceResult> {
    let resolve!: (result: ProduceResult) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<ProduceResult>((res, rej) => { resolve = res; reject = rej; });
    const pending: PendingProduce = { index, term, acks, batch, resolve, reject, timer: undefined };
    pending.timer = setTimeout(() => {
      this.settle(pending, new TributaryError('REQUEST_TIMED_OUT', `not acknowledged within ${timeoutMs} ms`));
    }, timeoutMs);
    this.pending.set(index, pending);
    if (acks === 1) {
      // Timed-out entries wait in the queue until an append passes them; drop them if they pile up.
      if (this.awaitingPersist.length >= 2 * this.options.pendingProducesMax) {
        const live = this.awaitingPersist.filter((p) => this.pending.get(p.index) === p);
        this.awaitingPersist.splice(0, this.awaitingPersist.length, ...live);
      }
      insertByIndex(this.awaitingPersist, pending);
    }
    return promise;
  }

  /** Answers a produce's client. Its batch stays in `proposed` until applied: a reply ends nothing. */
  private settle(pending: PendingProduce, outcome: ProduceResult | Error): void {
    if (this.pending.get(pending.index) !== pending) return;
    this.pending.delete(pending.index);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  /** Forgets every proposal (the term is lost): their resends are told to find the leader. */
  private dropProposed(leaderHint: number | null = this.leaderHint): void {
    if (this.proposed.size === 0) return;
    const error = new NotLeaderOrFollowerError(leaderHint);
    for (const proposed of this.proposed.clear()) {
      for (const waiter of proposed.waiters ?? []) waiter(error);
    }
  }

  // ---- ReplicaStateMachine ----

  apply(entries: readonly Entry[]): void {
    const before = this.highWatermarkValue;
    const wasReady = this.leaderReady;
    for (const entry of entries) {
      if (!this.leaderReady && entry.term === this.term && this.role === 'leader') {
        // Every entry of earlier terms is applied now, so `producers` holds all of them; this leader
        // has proposed nothing yet (produce waits for this), so `proposed` holds nothing.
        assert(this.proposed.size === 0, () => `${this.proposed.size} proposals held before the leader was ready`);
        this.leaderReady = true;
      }
      // Every entry is looked at, whatever its type: another leader's noop can replace a proposal too.
      let proposed = this.proposed.take(entry.index);
      if (proposed !== undefined && proposed.term !== entry.term) {
        // Another leader's entry replaced ours: this term is over, and so are all its proposals.
        for (const waiter of proposed.waiters ?? []) waiter(new NotLeaderOrFollowerError(this.leaderHint));
        this.dropProposed();
        proposed = undefined;
      }
      if (entry.type !== EntryType.normal) {
        // Same index and term is the same entry (Raft's log matching), and proposals are batches.
        assert(proposed === undefined, () => `proposal ${entry.index} was applied as a ${entry.type} entry`);
        const replaced = this.pending.get(entry.index);
        if (replaced !== undefined) this.settle(replaced, new NotLeaderOrFollowerError(this.leaderHint));
        continue;
      }
      const header = readBatchHeader(entry.data);
      assert(header.baseOffset === this.highWatermarkValue,
        () => `entry ${entry.index} holds offset ${header.baseOffset} where ${this.highWatermarkValue} is next`);
      this.highWatermarkValue = header.baseOffset + header.lastOffsetDelta + 1;
      this.producers.record(sequencesOf(Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength)),
        header.baseOffset);
      // Before the produce is answered: its writer reads the listener's state once it is.
      this.options.recordsListener?.applyBatch(entry.data, header.baseOffset);
      for (const waiter of proposed?.waiters ?? []) waiter(header.baseOffset);
      const pending = this.pending.get(entry.index);
      if (pending === undefined) continue;
      this.settle(pending, pending.term === entry.term
        ? { baseOffset: header.baseOffset, logStartOffset: this.logStartOffset }
        : new NotLeaderOrFollowerError(this.leaderHint));
    }
    if (this.highWatermarkValue !== before) this.waiters.wakeAll();
    // Told after the whole Ready's entries: the listener sees every entry before the term's first.
    if (!wasReady && this.leaderReady) this.options.recordsListener?.onLeadership(true);
  }

  onPersisted(lastIndex: number): void {
    const queue = this.awaitingPersist;
    let taken = 0;
    while (taken < queue.length && (queue[taken]?.index ?? Infinity) <= lastIndex) taken += 1;
    for (const pending of queue.splice(0, taken)) {
      if (this.pending.get(pending.index) !== pending) continue; // settled already (timed out, lost term)
      // The stamped header of the very buffer we proposed carries the offset it got.
      const stored = this.options.storage.term(pending.index);
      this.settle(pending, stored === pending.term
        ? { baseOffset: readBatchHeader(pending.batch).baseOffset, logStartOffset: this.logStartOffset }
        : new NotLeaderOrFollowerError(this.leaderHint));
    }
  }

  onSoftState(state: SoftState, term: number): void {
    const hint = state.leaderId === 0 ? null : state.leaderId;
    if (state.role !== 'leader' || term !== this.term) {
      if (this.leaderReady) this.options.recordsListener?.onLeadership(false);
      this.leaderReady = false;
      this.dropProposed(hint);
    }
    const wasLeader = this.role === 'leader';
    this.role = state.role;
    this.leaderId = state.leaderId;
    this.term = term;
    if (state.role !== 'leader') {
      this.answerPendingElsewhere();
      // Long polls waiting here are told to go to the new leader now, not at their max wait.
      if (wasLeader) this.waiters.wakeAll();
    }
  }

  /**
   * A leader that stepped down answers its waiting produces at once with the retriable
   * NOT_LEADER_OR_FOLLOWER, as Kafka does, so clients retry at the new leader instead of waiting
   * for their timeout. (An entry may still be committed by the new leader: an idempotent retry
   * then gets its original offset.) The answer names the new leader, which a replica stepping down
   * for a transfer or an election learns from the new leader's first append a moment later; it
   * waits for that at most STEP_DOWN_HINT_WAIT_MS, then answers without a hint.
   */
  private answerPendingElsewhere(): void {
    if (this.pending.size === 0) return;
    if (this.leaderId === 0) {
      this.stepDownTimer ??= setTimeout(() => {
        this.stepDownTimer = undefined;
        if (this.role !== 'leader') this.failPending(null);
      }, STEP_DOWN_HINT_WAIT_MS);
      return;
    }
    this.failPending(this.leaderId);
  }

  private failPending(leaderHint: number | null): void {
    clearTimeout(this.stepDownTimer);
    this.stepDownTimer = undefined;
    for (const pending of [...this.pending.values()]) this.settle(pending, new NotLeaderOrFollowerError(leaderHint));
    this.awaitingPersist.length = 0;
  }

  snapshotNextOffset(snapshot: Snapshot): number {
    return PartitionReplica.decodeImage(snapshot.data).nextOffset;
  }

  restore(snapshot: Snapshot): void {
    const image = PartitionReplica.decodeImage(snapshot.data);
    // A snapshot comes from another leader: any proposals of ours are gone with the term (the
    // notice of that may follow in the same Ready).
    this.dropProposed();
    this.highWatermarkValue = image.nextOffset;
    this.producers = ProducerStateTable.fromJSON(image.producers);
    this.options.recordsListener?.restore(PartitionReplica.listenerImage(image));
  }

  // ---- reads ----

  /** Raw batches from `offset`, waiting up to maxWaitMs for minBytes (long poll). */
  async fetch(offset: number, bytesMax: number, maxWaitMs: number, minBytes: number): Promise<FetchResult> {
    const deadline = monotonicNowMs() + maxWaitMs;
    for (;;) {
      if (this.role !== 'leader') throw new NotLeaderOrFollowerError(this.leaderHint);
      const read = this.readCommitted(offset, bytesMax);
      const remainingMs = deadline - monotonicNowMs();
      if (read.sizeBytes >= Math.max(1, minBytes) || remainingMs <= 0) {
        return { chunks: read.chunks, highWatermark: this.highWatermarkValue, logStartOffset: this.logStartOffset };
      }
      await this.waiters.wait(remainingMs);
    }
  }

  /** One non-waiting read of committed batches from `offset` (the leader only). */
  read(offset: number, bytesMax: number): FetchResult {
    if (this.role !== 'leader') throw new NotLeaderOrFollowerError(this.leaderHint);
    const read = this.readCommitted(offset, bytesMax);
    return { chunks: read.chunks, highWatermark: this.highWatermarkValue, logStartOffset: this.logStartOffset };
  }

  /** Resolves when the high watermark moves or after `timeoutMs`. */
  waitForData(timeoutMs: number): Promise<void> {
    return this.waiters.wait(timeoutMs);
  }

  private readCommitted(offset: number, bytesMax: number): { chunks: readonly Buffer[]; sizeBytes: number } {
    // Out of range only past the log end. A new leader's high watermark can trail offsets its
    // predecessor already exposed (until it commits in its own term): a fetch there gets nothing yet,
    // as in Kafka, rather than OFFSET_OUT_OF_RANGE, which made a consumer reset to the beginning.
    const logEnd = this.options.storage.log.nextOffset;
    if (offset < this.logStartOffset || offset > logEnd) {
      throw new WireOffsetOutOfRangeError(offset, this.logStartOffset, this.highWatermarkValue);
    }
    if (offset >= this.highWatermarkValue) return { chunks: [], sizeBytes: 0 };
    try {
      return this.options.storage.log.readRaw(offset, bytesMax, this.highWatermarkValue);
    } catch (error) {
      if (error instanceof OffsetOutOfRangeError) {
        throw new WireOffsetOutOfRangeError(offset, this.logStartOffset, this.highWatermarkValue);
      }
      // Damaged bytes are never served: the client sees a retriable storage error instead.
      if (error instanceof CorruptSegmentError) throw new TributaryError('CORRUPT_SEGMENT', error.message);
      throw error;
    }
  }

  /** Kafka ListOffsets: -2 earliest, -1 latest (the high watermark), else the first offset at or after. */
  listOffset(timestampMs: number): { offset: number; timestampMs: number } {
    if (this.role !== 'leader') throw new NotLeaderOrFollowerError(this.leaderHint);
    if (timestampMs === -2) return { offset: this.logStartOffset, timestampMs: -1 };
    if (timestampMs === -1) return { offset: this.highWatermarkValue, timestampMs: -1 };
    const found = this.options.storage.log.offsetForTimestamp(timestampMs, firstOffsetDeltaAtOrAfter);
    if (found === null || found.offset >= this.highWatermarkValue) return { offset: -1, timestampMs: -1 };
    return { offset: found.offset, timestampMs };
  }

  /**
   * On the leader, the replicas holding every committed entry (Kafka's in-sync replicas, by log
   * position rather than by time); null elsewhere, where this replica cannot know.
   */
  inSyncReplicas(replicas: readonly number[]): number[] | null {
    if (this.role !== 'leader') return null;
    const { host, groupId } = this.options;
    const commit = host.status(groupId)?.commitIndex ?? 0;
    const matches = host.matchIndexes(groupId);
    return replicas.filter((id) => (matches.get(id) ?? 0) >= commit);
  }

  /** Fails every waiting produce (the replica is being stopped). */
  close(): void {
    this.failPending(this.role === 'leader' ? null : this.leaderHint);
    this.dropProposed();
    this.waiters.wakeAll();
    if (this.leaderReady) this.options.recordsListener?.onLeadership(false);
    this.leaderReady = false;
  }
}

/** Inserts keeping ascending index order; proposals arrive in order, so this appends but after a term change. */
function insertByIndex(queue: PendingProduce[], pending: PendingProduce): void {
  let at = queue.length;
  while (at > 0 && (queue[at - 1]?.index ?? -Infinity) > pending.index) at -= 1;
  queue.splice(at, 0, pending);
}

function ignore(): void {
  // A settled promise whose outcome another chain reports.
}
