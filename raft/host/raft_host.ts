/**
 * Drives every Raft group of a broker: ticks them on a timer, steps received messages into them,
 * and performs their Readies as ready.ts prescribes. Groups persist independently and concurrently,
 * so one slow fsync never holds back another group. Within a group, a Ready is taken as soon as
 * there is work (up to READIES_IN_FLIGHT_MAX not yet advanced): its messages leave and its
 * committed entries (already durable) are applied at once, and its writes join the group's write
 * queue. One writer per group persists the queue in the order the Readies were taken, every
 * Ready waiting at that moment in one batch with one fdatasync, then advances them in order. So
 * a proposal's appends leave, and a follower's answer commits and applies, while an earlier
 * fdatasync is still under way, and batches grow with the load rather than the fsync count. A
 * group whose storage fails is stopped and reported: continuing without durable writes would
 * break Raft's promises.
 */
import { randomInt } from 'node:crypto';
import type { GroupId, Message, NodeId, ProposeResult, RaftConfigOptions, Ready, RequestResult, SoftState }
  from '../core/index.js';
import { MessageType, RawNode, SeededPrng, assert, makeConfig } from '../core/index.js';
import type { ConfChange, ConfState, HardState } from '../core/index.js';
import { CommitCheckpoint } from './commit_checkpoint.js';
import type { ReplicaStateMachine, ReplicaStorage } from './replica.js';
import { monotonicNowMs } from './monotonic_clock.js';
import type { ForwardHandler, RaftTransport } from './transport.js';

/** The most often a group saves a hard state whose only change is the commit index (commit_checkpoint.ts). */
const COMMIT_CHECKPOINT_INTERVAL_MS = 100;
/** Peers whose last message time is kept (see lastHeardFromMs). */
const LAST_HEARD_PEERS_MAX = 4_096;
/**
 * Readies a group may have taken and not yet advanced (RaftConfig.readiesInFlightMax): one being
 * written and the rest queued behind it, written together next. Bounds what a group holds in
 * memory; past it, work waits for the write under way, as it did with one Ready at a time.
 */
const READIES_IN_FLIGHT_MAX = 2;

export interface RaftHostLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** Diagnostic events (src/common/event_trace.ts): one line each, off unless a trace is given. */
export interface RaftHostTrace {
  event(what: string): void;
}

export interface RaftHostOptions {
  readonly nodeId: NodeId;
  readonly transport: RaftTransport;
  readonly logger: RaftHostLogger;
  /** Milliseconds per Raft tick; election and heartbeat timeouts are counted in ticks. */
  readonly tickMs: number;
  readonly raft?: RaftConfigOptions;
  /** A group's storage failed: it has been stopped. */
  readonly onGroupFailed?: (groupId: GroupId, error: unknown) => void;
  /** A group's role or leader changed, after its state machine was told (logs and metrics). */
  readonly onSoftState?: (groupId: GroupId, state: SoftState, term: number) => void;
  readonly trace?: RaftHostTrace;
}

class RaftGroup {
  /** Readies taken and not yet written, in the order taken. */
  readonly writeQueue: Ready[] = [];
  /** The group's writer is persisting a batch (at most one writer per group). */
  writing = false;
  /** Storage work (retention, compaction) runs alone: no Ready is taken meanwhile. */
  exclusive = false;
  failed = false;
  softState: SoftState | undefined = undefined;
  /** Hard states whose only change is the commit index, checkpointed without holding up the Readies. */
  readonly commits: CommitCheckpoint;
  /** Term and vote of the last hard state handed to storage. */
  savedTerm: number;
  savedVote: NodeId;
  constructor(readonly groupId: GroupId, readonly raw: RawNode, readonly storage: ReplicaStorage,
    readonly machine: ReplicaStateMachine, onSaveFailed: (error: unknown) => void) {
    this.commits = new CommitCheckpoint((state) => storage.saveHardState(state), onSaveFailed,
      COMMIT_CHECKPOINT_INTERVAL_MS);
    const { term, vote } = storage.initialState().hardState;
    this.savedTerm = term;
    this.savedVote = vote;
  }

  /** Readies taken and not yet advanced, or the group's storage is held for other work. */
  get busy(): boolean {
    return this.raw.readiesInFlight() > 0 || this.exclusive;
  }

  /** Saves the group's waiting commit checkpoint and resolves once no storage write of it is under way. */
  async settled(): Promise<void> {
    await this.commits.flush();
  }
}

export class RaftHost {
  private readonly groups = new Map<GroupId, RaftGroup>();
  private readonly dirty = new Set<RaftGroup>();
  private drainScheduled = false;
  private ticker: NodeJS.Timeout | undefined;
  private unknownGroupMessages = 0;
  /** When a message from each peer last arrived (ms since the epoch): whom leadership may go to. */
  private readonly lastHeardMs = new Map<NodeId, number>();
  private refusingLeadership = false;

  constructor(private readonly options: RaftHostOptions) {}

  get nodeId(): NodeId { return this.options.nodeId; }

  async start(onForward?: ForwardHandler): Promise<void> {
    await this.options.transport.start((messages) => { this.deliver(messages); }, onForward);
    this.ticker = setInterval(() => { this.tick(); }, this.options.tickMs);
  }

  /**
   * Starts driving a group whose storage is open (and bootstrapped if new); `raft` overrides the
   * host's Raft options for this group.
   */
  addGroup(groupId: GroupId, storage: ReplicaStorage, machine: ReplicaStateMachine, raft?: RaftConfigOptions): void {
    assert(!this.groups.has(groupId), () => `group ${groupId} is already hosted`);
    // Election jitter only needs to differ between nodes; the core takes it from this seed.
    const prng = new SeededPrng(randomInt(2 ** 31));
    const config = makeConfig(this.options.nodeId, groupId, prng,
      { readiesInFlightMax: READIES_IN_FLIGHT_MAX, ...this.options.raft, ...raft });
    const group: RaftGroup = new RaftGroup(groupId, new RawNode(config, storage), storage, machine,
      (error) => { this.fail(group, error); });
    this.groups.set(groupId, group);
    this.markDirty(group);
  }

  removeGroup(groupId: GroupId): void {
    const group = this.groups.get(groupId);
    if (group === undefined) return;
    this.groups.delete(groupId);
    this.dirty.delete(group);
    group.commits.supersede(); // no checkpoint timer outlives the group
  }

  hasGroup(groupId: GroupId): boolean {
    return this.groups.has(groupId);
  }

  /** Waits until no Ready of the group is being persisted (before closing its storage). */
  async quiesce(groupId: GroupId, timeoutMs: number): Promise<void> {
    const deadline = monotonicNowMs() + timeoutMs;
    while (this.groups.get(groupId)?.busy === true && monotonicNowMs() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await this.groups.get(groupId)?.settled();
  }

  propose(groupId: GroupId, data: Uint8Array): ProposeResult | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined || group.failed) return undefined;
    const result = group.raw.propose(data);
    this.options.trace?.event(`g${groupId} propose`);
    this.markDirty(group);
    return result;
  }

  proposeConfChange(groupId: GroupId, change: ConfChange): ProposeResult | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined || group.failed) return undefined;
    const result = group.raw.proposeConfChange(change);
    this.markDirty(group);
    return result;
  }

  transferLeadership(groupId: GroupId, target: NodeId): RequestResult | undefined {
    const group = this.groups.get(groupId);
    if (group === undefined || group.failed) return undefined;
    const result = group.raw.transferLeadership(target);
    this.markDirty(group);
    return result;
  }

  /**
   * Runs storage work (retention, compaction) for a group between its Readies, so it never races
   * an append of the group. Returns undefined when the group is not hosted.
   */
  async withStorageQuiet<T>(groupId: GroupId, work: () => Promise<T>): Promise<T | undefined> {
    const deadline = monotonicNowMs() + 10_000;
    for (;;) {
      const group = this.groups.get(groupId);
      if (group === undefined || group.failed) return undefined;
      if (!group.exclusive) {
        group.exclusive = true; // no Ready is taken from now on; those in flight are written first
        const failed = (): boolean => group.failed; // set by the writer meanwhile
        try {
          while (group.raw.readiesInFlight() > 0 || group.writing) {
            if (failed() || monotonicNowMs() > deadline) return undefined;
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          await group.settled();
          return await work();
        } finally {
          group.exclusive = false;
          this.markDirty(group);
        }
      }
      if (monotonicNowMs() > deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** On the group's leader, each member's highest matching index; empty elsewhere. */
  matchIndexes(groupId: GroupId): ReadonlyMap<NodeId, number> {
    return this.groups.get(groupId)?.raw.matchIndexes() ?? new Map<NodeId, number>();
  }

  /** The group's membership as of its applied entries. */
  confState(groupId: GroupId): ConfState | undefined {
    return this.groups.get(groupId)?.raw.confState();
  }

  /**
   * From now on, leadership handed over by a peer (TimeoutNow) is refused: dropped, as a lost
   * message would be, so the peer's transfer lapses after an election timeout. A broker on its
   * way out sets this, so it does not take back the leaderships it is handing away.
   */
  refuseLeadershipTransfers(): void {
    this.refusingLeadership = true;
  }

  /** When a message from the peer last arrived (monotonicNowMs), or undefined if none has. */
  lastHeardFromMs(nodeId: NodeId): number | undefined {
    return this.lastHeardMs.get(nodeId);
  }

  /** Role, leader and term of a hosted group. */
  status(groupId: GroupId): ReturnType<RawNode['status']> | undefined {
    return this.groups.get(groupId)?.raw.status();
  }

  private tick(): void {
    for (const group of this.groups.values()) {
      if (group.failed) continue;
      group.raw.tick();
      this.markDirty(group);
    }
  }

  private deliver(messages: readonly Message[]): void {
    const nowMs = monotonicNowMs();
    this.options.trace?.event(`deliver ${messages.map((m) => `g${m.groupId}:${m.type}`).join(',')}`);
    for (const message of messages) {
      // Bounded: node ids come off the wire (a cluster has at most 1,024 brokers).
      if (this.lastHeardMs.size < LAST_HEARD_PEERS_MAX || this.lastHeardMs.has(message.from)) {
        this.lastHeardMs.set(message.from, nowMs);
      }
      if (this.refusingLeadership && message.type === MessageType.timeoutNow) continue;
      const group = this.groups.get(message.groupId);
      if (group === undefined || group.failed) {
        // A replica this broker does not host (yet, or any more): the sender retries.
        this.unknownGroupMessages += 1;
        continue;
      }
      group.raw.step(message);
      this.markDirty(group);
    }
  }

  private markDirty(group: RaftGroup): void {
    this.dirty.add(group);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => { this.drain(); });
  }

  private drain(): void {
    this.drainScheduled = false;
    const groups = [...this.dirty];
    this.dirty.clear();
    for (const group of groups) this.takeReadies(group);
  }

  /**
   * Takes the group's Readies while it has work and may take more: sends their messages, applies
   * their committed entries (durable already: the core hands out only entries a Ready advanced
   * earlier made durable), and queues their writes for the group's writer, which tells the state
   * machine of a new role once the Ready is written.
   */
  private takeReadies(group: RaftGroup): void {
    while (!group.failed && !group.exclusive && this.groups.get(group.groupId) === group && group.raw.hasReady()) {
      const ready = group.raw.ready();
      // Messages in a Ready do not depend on its writes (the core holds back those that do).
      this.options.trace?.event(`g${group.groupId} ready entries=${ready.entries.length} `
        + `committed=${ready.committedEntries.length} send=${ready.messages.map((m) => m.type).join(',')}`);
      this.options.transport.send(ready.messages);
      try {
        if (ready.committedEntries.length > 0) {
          group.machine.apply(ready.committedEntries);
          this.options.trace?.event(`g${group.groupId} applied`);
        }
      } catch (error) {
        this.fail(group, error);
        return;
      }
      group.writeQueue.push(ready);
      if (!group.writing) void this.write(group);
    }
  }

  /**
   * The group's writer: persists every queued Ready in one batch (one fdatasync), advances them in
   * the order taken, and goes on while Readies wait. Taking the Readies the advances released now,
   * rather than a turn of the event loop later, saves every Raft hop that turn.
   */
  private async write(group: RaftGroup): Promise<void> {
    group.writing = true;
    try {
      while (group.writeQueue.length > 0 && !group.failed) {
        const batch = group.writeQueue.splice(0);
        await this.persist(group, batch);
        this.options.trace?.event(`g${group.groupId} persisted`);
        for (const ready of batch) {
          const lastEntry = ready.entries[ready.entries.length - 1];
          if (lastEntry !== undefined) group.machine.onPersisted?.(lastEntry.index);
          if (ready.snapshot !== undefined) group.machine.restore(ready.snapshot);
          // A new role is told once its term and vote are durable, as before Readies overlapped.
          this.noticeSoftState(group, ready.softState);
          group.raw.advance();
        }
        this.takeReadies(group);
      }
    } catch (error) {
      this.fail(group, error);
    } finally {
      group.writing = false;
    }
  }

  private fail(group: RaftGroup, error: unknown): void {
    if (group.failed) return;
    group.failed = true;
    this.options.logger.error({ groupId: group.groupId, error }, 'raft group stopped: storage failed');
    this.options.onGroupFailed?.(group.groupId, error);
  }

  /**
   * Makes a batch of Readies durable, in the order taken: snapshots and entries written in turn
   * (a later Ready's entries may replace an earlier one's), one fdatasync, and the batch's last
   * hard state, which supersedes the earlier ones (a term or vote only moves forward).
   */
  private async persist(group: RaftGroup, batch: readonly Ready[]): Promise<void> {
    const { storage } = group;
    let lowestWritten = Infinity;
    let hardState: HardState | undefined;
    let mustSyncLog = false;
    for (const ready of batch) {
      if (ready.snapshot !== undefined) {
        await storage.installSnapshot(ready.snapshot, group.machine.snapshotNextOffset(ready.snapshot));
      }
      await storage.append(ready.entries);
      const firstEntry = ready.entries[0];
      if (firstEntry !== undefined) {
        lowestWritten = Math.min(lowestWritten, firstEntry.index);
        if (ready.mustSync) mustSyncLog = true;
      }
      hardState = ready.hardState ?? hardState;
    }
    if (hardState !== undefined && hardState.commit >= lowestWritten) {
      // A follower learned the commit index with these very entries. It must not reach the disk
      // before them: a crash in between would leave a commit index beyond the log.
      await storage.sync();
      group.commits.supersede();
      await storage.saveHardState(hardState);
      group.savedTerm = hardState.term;
      group.savedVote = hardState.vote;
      return;
    }
    if (hardState === undefined) {
      if (mustSyncLog) await storage.sync();
      return;
    }
    // Only a new term or vote must be durable before the Ready's messages leave and the core is
    // told (advance). A commit index moved alone is not needed for safety (a replica that forgets
    // it learns it again; lost entries are marked by the log's high water), so it is checkpointed
    // (CommitCheckpoint) and committed entries are applied without waiting for that LMDB flush.
    // Saves stay in order: LMDB writes queue.
    const commitOnly = hardState.term === group.savedTerm && hardState.vote === group.savedVote;
    group.savedTerm = hardState.term;
    group.savedVote = hardState.vote;
    if (commitOnly) {
      group.commits.offer(hardState);
      if (mustSyncLog) await storage.sync();
      return;
    }
    group.commits.supersede();
    const saved = storage.saveHardState(hardState);
    saved.catch(() => undefined); // awaited below; this only keeps a failure during the sync from going unhandled
    if (mustSyncLog) await storage.sync();
    await saved;
  }

  private noticeSoftState(group: RaftGroup, softState: SoftState): void {
    const previous = group.softState;
    if (previous?.role === softState.role && previous.leaderId === softState.leaderId) return;
    group.softState = softState;
    const term = group.raw.status().term;
    group.machine.onSoftState(softState, term);
    this.options.onSoftState?.(group.groupId, softState, term);
  }

  async close(): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    const deadline = monotonicNowMs() + 5_000;
    while ([...this.groups.values()].some((g) => g.busy) && monotonicNowMs() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all([...this.groups.values()].map((group) => group.settled()));
    this.groups.clear();
    await this.options.transport.close();
  }
}
