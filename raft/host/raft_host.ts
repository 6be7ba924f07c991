/**
 * Drives every Raft group of a broker: ticks them on a timer, steps received messages into them,
 * and performs their Readies in the order ready.ts prescribes (persist, then apply, then advance).
 * Groups persist independently and concurrently, so one slow fsync never holds back another group;
 * within a group, Readies are strictly one at a time. A group whose storage fails is stopped and
 * reported: continuing without durable writes would break Raft's promises.
 */
import { randomInt } from 'node:crypto';
import type { GroupId, Message, NodeId, ProposeResult, RaftConfigOptions, Ready, RequestResult, SoftState }
  from '../core/index.js';
import { MessageType, RawNode, SeededPrng, assert, makeConfig } from '../core/index.js';
import type { ConfChange, ConfState } from '../core/index.js';
import { CommitCheckpoint } from './commit_checkpoint.js';
import type { ReplicaStateMachine, ReplicaStorage } from './replica.js';
import { monotonicNowMs } from './monotonic_clock.js';
import type { ForwardHandler, RaftTransport } from './transport.js';

/** The most often a group saves a hard state whose only change is the commit index (commit_checkpoint.ts). */
const COMMIT_CHECKPOINT_INTERVAL_MS = 100;
/** Peers whose last message time is kept (see lastHeardFromMs). */
const LAST_HEARD_PEERS_MAX = 4_096;

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
  persisting = false;
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
    const config = makeConfig(this.options.nodeId, groupId, prng, { ...this.options.raft, ...raft });
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
    while (this.groups.get(groupId)?.persisting === true && monotonicNowMs() < deadline) {
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
      if (!group.persisting) {
        group.persisting = true;
        try {
          await group.settled();
          return await work();
        } finally {
          group.persisting = false;
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

  /**
   * Starts an election for a group that knows no leader, now rather than at its election timeout
   * (PreVote still asks first). False when the group is not hosted, failed, or has a leader.
   */
  campaign(groupId: GroupId): boolean {
    const group = this.groups.get(groupId);
    if (group === undefined || group.failed || group.raw.status().leaderId !== 0) return false;
    group.raw.campaign();
    this.markDirty(group);
    return true;
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
    const taken: [RaftGroup, Ready][] = [];
    for (const group of groups) {
      if (group.persisting || group.failed || !this.groups.has(group.groupId) || !group.raw.hasReady()) continue;
      group.persisting = true;
      const ready = group.raw.ready();
      this.send(group, ready);
      taken.push([group, ready]);
    }
    // Every Ready's messages leave before any of its entries is written (Raft thesis 10.2.1): a
    // follower starts its write while the leader makes its own, instead of after it.
    if (taken.length > 0) this.options.transport.flush?.();
    for (const [group, ready] of taken) void this.handleReady(group, ready);
  }

  /** Messages in a Ready do not depend on its writes (the core holds back those that do). */
  private send(group: RaftGroup, ready: Ready): void {
    this.options.trace?.event(`g${group.groupId} ready entries=${ready.entries.length} `
      + `committed=${ready.committedEntries.length} send=${ready.messages.map((m) => m.type).join(',')}`);
    this.options.transport.send(ready.messages);
  }

  /** Writes a Ready whose messages were sent, applies it, and goes on with the group's next ones. */
  private async handleReady(group: RaftGroup, first: Ready): Promise<void> {
    try {
      let ready: Ready | null = first;
      while (ready !== null) {
        await this.persist(group, ready);
        this.options.trace?.event(`g${group.groupId} persisted`);
        const lastEntry = ready.entries[ready.entries.length - 1];
        if (lastEntry !== undefined) group.machine.onPersisted?.(lastEntry.index);
        if (ready.snapshot !== undefined) group.machine.restore(ready.snapshot);
        if (ready.committedEntries.length > 0) {
          group.machine.apply(ready.committedEntries);
          this.options.trace?.event(`g${group.groupId} applied`);
        }
        this.noticeSoftState(group, ready.softState);
        group.raw.advance();
        // Go on with what the persist released (a follower's append response, a leader's commit)
        // now rather than a turn of the event loop later: every Raft hop pays that turn otherwise.
        ready = !group.failed && this.groups.get(group.groupId) === group && group.raw.hasReady()
          ? group.raw.ready() : null;
        // Sent at the end of the turn, with the other groups' messages the same sync released.
        if (ready !== null) this.send(group, ready);
      }
      group.persisting = false;
    } catch (error) {
      this.fail(group, error);
    }
  }

  private fail(group: RaftGroup, error: unknown): void {
    if (group.failed) return;
    group.failed = true;
    this.options.logger.error({ groupId: group.groupId, error }, 'raft group stopped: storage failed');
    this.options.onGroupFailed?.(group.groupId, error);
  }

  private async persist(group: RaftGroup, ready: Ready): Promise<void> {
    const { storage } = group;
    if (ready.snapshot !== undefined) {
      await storage.installSnapshot(ready.snapshot, group.machine.snapshotNextOffset(ready.snapshot));
    }
    await storage.append(ready.entries);
    const { hardState } = ready;
    const firstEntry = ready.entries[0];
    if (hardState !== undefined && firstEntry !== undefined && hardState.commit >= firstEntry.index) {
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
      if (ready.mustSync && firstEntry !== undefined) await storage.sync();
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
      if (ready.mustSync && firstEntry !== undefined) await storage.sync();
      return;
    }
    group.commits.supersede();
    const saved = storage.saveHardState(hardState);
    saved.catch(() => undefined); // awaited below; this only keeps a failure during the sync from going unhandled
    if (ready.mustSync && firstEntry !== undefined) await storage.sync();
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
    while ([...this.groups.values()].some((g) => g.persisting) && monotonicNowMs() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all([...this.groups.values()].map((group) => group.settled()));
    this.groups.clear();
    await this.options.transport.close();
  }
}
