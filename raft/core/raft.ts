/**
 * One replica's Raft state. step() does the term checks every message needs (§5.1) and then
 * dispatches by role; tick() drives elections and heartbeats by counting calls. Role logic lives
 * in election.ts, follower.ts and leader.ts. Outgoing messages wait in two queues: those that
 * may leave now, and those that may leave only after the host made the current state durable.
 */
import { assert } from './assert.js';
import type { RaftConfig } from './config.js';
import { Mutation, hasMutation, validateConfig } from './config.js';
import type { ConfState, Entry } from './entries.js';
import { EntryType, entriesSizeBytes } from './entries.js';
import { campaign, onVoteRequest, onVoteResponse } from './election.js';
import { onAppendRequest, onHeartbeatRequest, onSnapshotRequest } from './follower.js';
import type { NodeId, RaftIndex, Term } from './ids.js';
import { Role, noNode } from './ids.js';
import { announceCommit, bcastAppend, bcastHeartbeat, maybeCommit, onAppendResponse, onHeartbeatResponse,
  tickSnapshots } from './leader.js';
import type { Message } from './messages.js';
import { MessageType } from './messages.js';
import { RaftLog } from './raft_log.js';
import type { ReadState } from './read_index.js';
import { ReadIndexQueue } from './read_index.js';
import type { LogStorage } from './storage.js';
import { ProgressTracker } from './tracker.js';

export class Raft {
  readonly id: NodeId;
  readonly config: RaftConfig;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readIndexQueue: ReadIndexQueue;
  term: Term = 0;
  vote: NodeId = noNode;
  leaderId: NodeId = noNode;
  role: Role = Role.follower;
  /** Term and vote the host has confirmed durable; messages of newer state wait for them. */
  durableTerm: Term;
  durableVote: NodeId;
  readonly votes = new Map<NodeId, boolean>();
  electionElapsedTicks = 0;
  heartbeatElapsedTicks = 0;
  randomizedElectionTimeoutTicks = 0;
  leadTransferee: NodeId = noNode;
  /** Index of the latest config entry proposed by this leader; no new change until applied. */
  pendingConfIndex: RaftIndex = 0;
  uncommittedBytes = 0;
  /** See InitialState.recoveringThrough; 0 when nothing was lost. */
  readonly recoveringThrough: RaftIndex;
  readStates: ReadState[] = [];
  messages: Message[] = [];
  messagesAfterPersist: Message[] = [];
  readonly mutated: {
    readonly commitAnyTerm: boolean; readonly voteWithoutLogCheck: boolean; readonly truncate: boolean;
    readonly ackBeforePersist: boolean; readonly leaderSelfAckEarly: boolean; readonly voteTwice: boolean;
    readonly ignoreRecovering: boolean;
  };

  constructor(config: RaftConfig, storage: LogStorage) {
    validateConfig(config);
    this.id = config.id;
    this.config = config;
    const initial = storage.initialState();
    this.log = new RaftLog(storage, initial.hardState.commit);
    this.recoveringThrough = initial.recoveringThrough ?? 0;
    this.tracker = new ProgressTracker(initial.confState, config.inflightMessagesMax);
    this.tracker.setConf(initial.confState, this.log.lastIndex() + 1);
    this.readIndexQueue = new ReadIndexQueue(config.readIndexPendingMax);
    this.mutated = {
      commitAnyTerm: hasMutation(config, Mutation.commitAnyTerm),
      voteWithoutLogCheck: hasMutation(config, Mutation.voteWithoutLogCheck),
      truncate: !hasMutation(config, Mutation.noTruncateOnConflict),
      ackBeforePersist: hasMutation(config, Mutation.ackBeforePersist),
      leaderSelfAckEarly: hasMutation(config, Mutation.leaderSelfAckEarly),
      voteTwice: hasMutation(config, Mutation.voteTwice),
      ignoreRecovering: hasMutation(config, Mutation.ignoreRecovering),
    };
    this.becomeFollower(initial.hardState.term, noNode);
    this.vote = initial.hardState.vote;
    this.durableTerm = initial.hardState.term;
    this.durableVote = initial.hardState.vote;
  }

  /** A voter without a pending snapshot, and not recovering lost entries, may campaign. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstable.snapshot === undefined && !this.recovering();
  }

  /**
   * True while the log is still below entries it lost (InitialState.recoveringThrough). No
   * exception for a replica that finds itself the sole voter: the lost entries may be the very
   * config entries that added the others (seed 3267, 5 nodes), so a group whose only voter lost
   * data waits for an operator rather than run on without it.
   */
  recovering(): boolean {
    return !this.mutated.ignoreRecovering && this.log.lastIndex() < this.recoveringThrough;
  }

  send(message: Message): void {
    assert(message.from === this.id && message.to !== this.id, 'messages go from self to a peer');
    if (this.messages.length + this.messagesAfterPersist.length >= this.config.outboxMessagesMax) return;
    if (this.mustWaitForPersist(message)) {
      this.messagesAfterPersist.push(message);
    } else {
      this.messages.push(message);
    }
  }

  /**
   * Durability order: nothing leaves while our term or vote is not durable, and an append ack
   * waits until the entries (or snapshot) it acknowledges are durable.
   */
  private mustWaitForPersist(message: Message): boolean {
    if (this.term !== this.durableTerm || this.vote !== this.durableVote) return true;
    if (message.type !== MessageType.appendResponse || this.mutated.ackBeforePersist) return false;
    return this.log.unstable.entries.length > 0 || this.log.unstable.snapshot !== undefined;
  }

  tick(): void {
    if (this.role === Role.leader) {
      this.tickLeader();
    } else {
      this.tickElection();
    }
  }

  private tickElection(): void {
    this.electionElapsedTicks += 1;
    if (this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks && this.promotable()) {
      this.electionElapsedTicks = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsedTicks += 1;
    this.electionElapsedTicks += 1;
    if (this.electionElapsedTicks >= this.config.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      if (this.config.checkQuorum) {
        const active = this.tracker.quorumActive(this.id);
        for (const [id, progress] of this.tracker.progress) progress.recentActive = id === this.id;
        if (!active) {
          this.becomeFollower(this.term, noNode);
          return;
        }
      }
      this.leadTransferee = noNode;
    }
    if (this.heartbeatElapsedTicks >= this.config.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      bcastHeartbeat(this);
      tickSnapshots(this, this.config.heartbeatIntervalTicks);
    }
  }

  /** Election timeout or campaign request: start a (pre-)election if allowed. */
  hup(transfer: boolean): void {
    if (this.role === Role.leader || !this.promotable() || this.log.hasUnappliedConfig()) return;
    campaign(this, this.config.preVote && !transfer ? 'pre_vote' : 'vote', transfer);
  }

  step(message: Message): void {
    assert(message.groupId === this.config.groupId, () => `message for group ${message.groupId}`);
    assert(message.to === this.id, () => `message for ${message.to} stepped into ${this.id}`);
    if (message.term > this.term) {
      if (!this.onHigherTerm(message)) return;
    } else if (message.term < this.term) {
      this.onLowerTerm(message);
      return;
    }
    if (message.type === MessageType.voteRequest) {
      onVoteRequest(this, message);
      return;
    }
    switch (this.role) {
      case Role.follower:
        this.stepFollower(message);
        return;
      case Role.preCandidate:
      case Role.candidate:
        this.stepCandidate(message);
        return;
      case Role.leader:
        this.stepLeader(message);
        return;
    }
  }

  /** §5.1: adopt a newer term, except where PreVote and the leader lease say not to. */
  private onHigherTerm(message: Message): boolean {
    if (message.type === MessageType.voteRequest) {
      const inLease = this.config.checkQuorum && this.leaderId !== noNode &&
        this.electionElapsedTicks < this.config.electionTimeoutTicks;
      // A node that heard from a leader recently ignores elections (thesis §4.2.3).
      if (inLease && !message.transfer) return false;
      if (message.preVote) return true;
      this.becomeFollower(message.term, noNode);
      return true;
    }
    // A granted pre-vote carries the future term; the term moves only when the election starts.
    if (message.type === MessageType.voteResponse && message.preVote && message.granted) return true;
    const fromLeader = message.type === MessageType.appendRequest ||
      message.type === MessageType.heartbeatRequest || message.type === MessageType.snapshotRequest;
    this.becomeFollower(message.term, fromLeader ? message.from : noNode);
    return true;
  }

  /** Stale messages are dropped, but a stale leader or pre-candidate is told our term. */
  private onLowerTerm(message: Message): void {
    const quiet = this.config.checkQuorum || this.config.preVote;
    const fromLeader = message.type === MessageType.appendRequest ||
      message.type === MessageType.heartbeatRequest;
    if (quiet && fromLeader) {
      this.send({ type: MessageType.appendResponse, groupId: this.config.groupId, from: this.id,
        to: message.from, term: this.term, success: false, index: 0, hintIndex: 0, hintTerm: 0 });
    } else if (message.type === MessageType.voteRequest && message.preVote) {
      this.send({ type: MessageType.voteResponse, groupId: this.config.groupId, from: this.id,
        to: message.from, term: this.term, preVote: true, granted: false });
    }
  }

  private stepFollower(message: Message): void {
    switch (message.type) {
      case MessageType.appendRequest:
        this.heardFromLeader(message.from);
        onAppendRequest(this, message);
        return;
      case MessageType.heartbeatRequest:
        this.heardFromLeader(message.from);
        onHeartbeatRequest(this, message);
        return;
      case MessageType.snapshotRequest:
        this.heardFromLeader(message.from);
        onSnapshotRequest(this, message);
        return;
      case MessageType.timeoutNow:
        this.hup(true);
        return;
      case MessageType.voteRequest:
      case MessageType.voteResponse:
      case MessageType.appendResponse:
      case MessageType.heartbeatResponse:
        return;
    }
  }

  private heardFromLeader(leaderId: NodeId): void {
    this.electionElapsedTicks = 0;
    this.leaderId = leaderId;
  }

  private stepCandidate(message: Message): void {
    switch (message.type) {
      case MessageType.appendRequest:
      case MessageType.heartbeatRequest:
      case MessageType.snapshotRequest:
        // §5.2: a leader of our term exists; return to follower and handle its message.
        this.becomeFollower(this.term, message.from);
        this.stepFollower(message);
        return;
      case MessageType.voteResponse:
        onVoteResponse(this, message);
        return;
      case MessageType.voteRequest:
      case MessageType.appendResponse:
      case MessageType.heartbeatResponse:
      case MessageType.timeoutNow:
        return;
    }
  }

  private stepLeader(message: Message): void {
    switch (message.type) {
      case MessageType.appendResponse:
        onAppendResponse(this, message);
        return;
      case MessageType.heartbeatResponse:
        onHeartbeatResponse(this, message);
        return;
      case MessageType.voteRequest:
      case MessageType.voteResponse:
      case MessageType.appendRequest:
      case MessageType.heartbeatRequest:
      case MessageType.snapshotRequest:
      case MessageType.timeoutNow:
        return;
    }
  }

  private reset(term: Term): void {
    if (term !== this.term) {
      assert(term > this.term, () => `term must not go back: ${this.term} -> ${term}`);
      this.term = term;
      this.vote = noNode;
    }
    this.leaderId = noNode;
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    const base = this.config.electionTimeoutTicks;
    this.randomizedElectionTimeoutTicks = base + this.config.prng.nextInt(base);
    this.leadTransferee = noNode;
    this.votes.clear();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readIndexQueue.reset();
  }

  becomeFollower(term: Term, leaderId: NodeId): void {
    this.reset(term);
    this.role = Role.follower;
    this.leaderId = leaderId;
  }

  becomePreCandidate(): void {
    assert(this.role !== Role.leader, 'a leader does not pre-campaign');
    // PreVote changes neither term nor vote: a partitioned node cannot inflate terms.
    this.role = Role.preCandidate;
    this.votes.clear();
    this.leaderId = noNode;
  }

  becomeCandidate(): void {
    assert(this.role !== Role.leader, 'a leader does not campaign');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.candidate;
  }

  becomeLeader(): void {
    assert(this.role === Role.candidate, 'only a candidate becomes leader');
    this.reset(this.term);
    this.role = Role.leader;
    this.leaderId = this.id;
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.maybeUpdate(this.log.durableLastIndex());
      self.becomeReplicate();
    }
    // §8: a no-op of the new term lets the leader commit (and learn) everything before it.
    this.appendEntries([{ term: this.term, index: 0, type: EntryType.noop, data: new Uint8Array(0) }]);
    this.pendingConfIndex = this.log.lastIndex();
  }

  /** Leader: gives entries their term and index and appends them; returns the last index. */
  appendEntries(entries: readonly Entry[]): RaftIndex {
    assert(this.role === Role.leader, 'only a leader appends its own entries');
    const after = this.log.lastIndex();
    const stamped = entries.map((entry, i) => ({ ...entry, term: this.term, index: after + 1 + i }));
    this.uncommittedBytes += entriesSizeBytes(stamped);
    const lastIndex = this.log.append(stamped);
    // TEST ONLY (Mutation.leaderSelfAckEarly): count our own entries before they are durable.
    if (this.mutated.leaderSelfAckEarly) this.onEntriesDurable();
    bcastAppend(this);
    return lastIndex;
  }

  /** The host made the leader's entries durable: only now does the leader count itself. */
  onEntriesDurable(): void {
    if (this.role !== Role.leader) return;
    const self = this.tracker.progress.get(this.id);
    const durable = this.mutated.leaderSelfAckEarly ? this.log.lastIndex() : this.log.durableLastIndex();
    if (self !== undefined && self.maybeUpdate(durable) && maybeCommit(this)) announceCommit(this);
  }

  /** A committed config entry is being applied, or a snapshot brought a new membership. */
  applyConf(conf: ConfState): void {
    this.tracker.setConf(conf, this.log.lastIndex() + 1);
    if (this.role !== Role.leader) return;
    if (!this.tracker.isVoter(this.id)) {
      // Removed or demoted: step down and let the remaining voters elect a leader.
      this.becomeFollower(this.term, noNode);
      return;
    }
    if (this.leadTransferee !== noNode && !this.tracker.isVoter(this.leadTransferee)) {
      this.leadTransferee = noNode;
    }
    if (maybeCommit(this)) bcastAppend(this);
  }
}
