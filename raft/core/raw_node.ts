/**
 * RawNode: the synchronous driver of one replica (etcd's RawNode). The host feeds it ticks,
 * messages and requests, takes a Ready, performs it (see ready.ts), and calls advance().
 */
import { assert, assertNatural } from './assert.js';
import type { RaftConfig } from './config.js';
import type { ConfChange } from './conf_change.js';
import { applyConfChange, decodeConfChange } from './conf_change.js';
import type { ConfState, Entry, HardState } from './entries.js';
import { EntryType, entriesSizeBytes, hardStateEqual } from './entries.js';
import type { NodeId, RaftIndex, Term } from './ids.js';
import { Role } from './ids.js';
import type { Message } from './messages.js';
import { Raft } from './raft.js';
import type { Ready, ReadyReceipt } from './ready.js';
import * as requests from './requests.js';
import type { ProposeResult, RequestResult } from './results.js';
import type { LogStorage } from './storage.js';

export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly leaderId: NodeId;
  readonly term: Term;
  readonly vote: NodeId;
  readonly commitIndex: RaftIndex;
  readonly appliedIndex: RaftIndex;
  readonly firstIndex: RaftIndex;
  readonly lastIndex: RaftIndex;
  /** On a leader, the voter it is handing leadership to (noNode when none). */
  readonly leadTransferee: NodeId;
}

export class RawNode {
  /** The state machine itself: for tests and diagnostics only, not for hosts to mutate. */
  readonly raft: Raft;
  private previousHardState: HardState;
  private receipt: ReadyReceipt | undefined = undefined;

  constructor(config: RaftConfig, storage: LogStorage) {
    this.raft = new Raft(config, storage);
    this.previousHardState = storage.initialState().hardState;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message from a peer; messages of other groups or for other nodes are host bugs. */
  step(message: Message): void {
    assertNatural(message.term, 'message term');
    assertNatural(message.from, 'message from');
    if (message.from === this.raft.id) return;
    this.raft.step(message);
  }

  /** Starts an election now (subject to PreVote), as if the election timeout had passed. */
  campaign(): void {
    this.raft.hup(false);
  }

  propose(data: Uint8Array): ProposeResult {
    return requests.propose(this.raft, data);
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    return requests.proposeConfChange(this.raft, change);
  }

  transferLeadership(target: NodeId): RequestResult {
    return requests.transferLeadership(this.raft, target);
  }

  /** Asks for a linearizable read point; the answer arrives in Ready.readStates with context. */
  readIndex(context: number): RequestResult {
    return requests.readIndex(this.raft, context);
  }

  /**
   * Membership as of the entries handed out for applying: call it after advance() to make a
   * snapshot at the applied index, and not while a received snapshot is being installed.
   */
  confState(): ConfState {
    assert(!this.hasPendingSnapshot(), 'membership is ahead of the applied index while a snapshot installs');
    return this.raft.tracker.conf;
  }

  /** A snapshot from the leader is waiting to be persisted and installed. */
  hasPendingSnapshot(): boolean {
    return this.raft.log.unstable.snapshot !== undefined;
  }

  status(): Status {
    const r = this.raft;
    return { id: r.id, role: r.role, leaderId: r.leaderId, term: r.term, vote: r.vote,
      commitIndex: r.log.committed, appliedIndex: r.log.applied, firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(), leadTransferee: r.leadTransferee };
  }

  /**
   * On a leader: the highest index known to match on each member (its own included once durable);
   * empty on any other role. Read-only; for reporting (in-sync replicas) and for choosing whom to
   * hand leadership to, never for Raft's own decisions (a transfer brings its target up to date).
   */
  matchIndexes(): ReadonlyMap<NodeId, RaftIndex> {
    const r = this.raft;
    if (r.role !== Role.leader) return new Map();
    return new Map([...r.tracker.progress].map(([id, progress]) => [id, progress.match]));
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  hasReady(): boolean {
    if (this.receipt !== undefined) return false;
    const r = this.raft;
    return r.messages.length > 0 || r.messagesAfterPersist.length > 0 || r.readStates.length > 0 ||
      r.log.unstable.entries.length > 0 || r.log.unstable.snapshot !== undefined ||
      !hardStateEqual(this.hardState(), this.previousHardState) || r.log.hasCommittedEntries();
  }

  ready(): Ready {
    assert(this.receipt === undefined, 'advance() the previous Ready before taking another');
    const r = this.raft;
    const committedEntries = r.log.takeCommittedEntries(r.config.applyBytesMax);
    this.applyConfigEntries(committedEntries);
    const hardState = this.hardState();
    const hardStateChanged = !hardStateEqual(hardState, this.previousHardState);
    const voteChanged = hardState.term !== this.previousHardState.term ||
      hardState.vote !== this.previousHardState.vote;
    this.previousHardState = hardState;
    const entries = r.log.unstable.entries.slice();
    const snapshot = r.log.unstable.snapshot;
    const last = entries[entries.length - 1];
    this.receipt = {
      hardState: hardStateChanged ? hardState : undefined,
      lastEntry: last === undefined ? undefined : { index: last.index, term: last.term },
      snapshotIndex: snapshot?.metadata.index,
      lastCommittedIndex: committedEntries[committedEntries.length - 1]?.index,
      messagesAfterPersist: r.messagesAfterPersist,
    };
    const ready: Ready = {
      softState: { role: r.role, leaderId: r.leaderId },
      hardState: this.receipt.hardState,
      entries,
      snapshot,
      committedEntries,
      messages: r.messages,
      readStates: r.readStates,
      mustSync: voteChanged || entries.length > 0 || snapshot !== undefined,
    };
    r.messages = [];
    r.messagesAfterPersist = [];
    r.readStates = [];
    return ready;
  }

  /** Config entries take effect as they are handed out for applying. */
  private applyConfigEntries(entries: readonly Entry[]): void {
    const r = this.raft;
    for (const entry of entries) {
      if (entry.type !== EntryType.config) continue;
      r.applyConf(applyConfChange(r.tracker.conf, decodeConfChange(entry.data)));
    }
    r.uncommittedBytes = Math.max(0, r.uncommittedBytes - entriesSizeBytes(entries));
  }

  /** The host performed the last Ready: its writes are durable and its entries applied. */
  advance(): void {
    const receipt = this.receipt;
    assert(receipt !== undefined, 'advance() without an outstanding Ready');
    this.receipt = undefined;
    const r = this.raft;
    if (receipt.snapshotIndex !== undefined) r.log.snapshotApplied(receipt.snapshotIndex);
    if (receipt.lastEntry !== undefined &&
      r.log.unstable.stableTo(receipt.lastEntry.index, receipt.lastEntry.term)) {
      r.onEntriesDurable();
    }
    if (receipt.hardState !== undefined) {
      r.durableTerm = receipt.hardState.term;
      r.durableVote = receipt.hardState.vote;
    }
    if (receipt.lastCommittedIndex !== undefined) r.log.appliedTo(receipt.lastCommittedIndex);
    for (const message of receipt.messagesAfterPersist) r.messages.push(message);
  }
}
