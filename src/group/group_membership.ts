/**
 * Kafka's classic group protocol for one group, as a pure state machine: no timers and no I/O.
 * Every call takes the time (`nowMs`) and returns what to do: replies to joins and syncs the
 * coordinator holds open (addressed by the token it gave with the request) and group metadata to
 * persist. The coordinator writes a persist request to the group's offsets partition and reports
 * the outcome with `persisted(id, error)`; answers that depend on it (the SyncGroup answers of a
 * new generation, a static member's rejoin) go out only then. `tick(nowMs)` expires sessions and
 * ends rebalances and syncs whose time is up.
 *
 * States (Kafka's): Empty (no members), PreparingRebalance (collecting joins), CompletingRebalance
 * (waiting for the leader's assignment), Stable, Dead (deleted). The semantics follow Kafka's
 * GroupCoordinator; docs/groups.md says where they differ and why.
 */
import { assert } from '../../raft/core/assert.js';
import type { ErrorCode } from '../common/errors.js';
import type { StoredGroupMetadata, StoredMember } from './records.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface MembershipConfig {
  /** Kafka's group.min.session.timeout.ms (6000). */
  readonly minSessionTimeoutMs: number;
  /** Kafka's group.max.session.timeout.ms (1800000). */
  readonly maxSessionTimeoutMs: number;
  /** Kafka's group.max.size: members (and members asked for their id) at most. */
  readonly maxSize: number;
  /**
   * A member's rebalance timeout is cut to this (Kafka has no such bound). A rebalance waits for
   * members given an id to join with it, so a client sending first joins without end holds a
   * rebalance, and the joins waiting on it, for the rebalance timeout: this bounds that.
   */
  readonly maxRebalanceTimeoutMs: number;
  /**
   * Kafka's group.initial.rebalance.delay.ms: the first rebalance of an empty group waits this long
   * for more members, again after each new one, up to the rebalance timeout; so consumers started
   * together form one generation instead of one per arrival.
   */
  readonly initialRebalanceDelayMs: number;
  /** A new, unique member id for a member of client `clientId` (Kafka: `<client id>-<uuid>`). */
  readonly newMemberId: (clientId: string) => string;
  /** Wall time, only for the state timestamp persisted with the group; every `nowMs` is monotonic. */
  readonly wallClockMs: () => number;
}

export const DEFAULT_MIN_SESSION_TIMEOUT_MS = 6000;
export const DEFAULT_MAX_SESSION_TIMEOUT_MS = 1_800_000;
export const DEFAULT_INITIAL_REBALANCE_DELAY_MS = 3000;
/** The largest rebalance timeout a join may ask for: Java's int32, as Kafka's. */
export const MAX_REBALANCE_TIMEOUT_MS = 0x7fff_ffff;

export interface Protocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

export interface JoinRequest {
  /** Empty on a member's first join. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  /** 0: the session timeout (JoinGroup v0's rule). */
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  /** In the member's order of preference. */
  readonly protocols: readonly Protocol[];
}

export interface JoinedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Uint8Array;
}

export interface JoinAnswer {
  readonly error: ErrorCode | null;
  readonly generation: number;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly leader: string;
  readonly memberId: string;
  /** Every member's metadata for the chosen protocol: for the leader only. */
  readonly members: readonly JoinedMember[];
}

export interface SyncRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generation: number;
  /** Empty: not checked (older clients). */
  readonly protocolType: string;
  readonly protocolName: string;
  /** From the leader only. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface SyncAnswer {
  readonly error: ErrorCode | null;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly assignment: Uint8Array;
}

export type Reply =
  | { readonly kind: 'join'; readonly token: number; readonly answer: JoinAnswer }
  | { readonly kind: 'sync'; readonly token: number; readonly answer: SyncAnswer };

export interface PersistRequest {
  readonly id: number;
  readonly metadata: StoredGroupMetadata;
}

export interface Effects {
  readonly replies: readonly Reply[];
  readonly persists: readonly PersistRequest[];
}

export interface Answered<A> extends Effects {
  readonly answer: A;
}

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly metadata: Uint8Array;
  readonly assignment: Uint8Array;
}

export interface GroupDescription {
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly generation: number;
  readonly leader: string;
  readonly members: readonly DescribedMember[];
}

interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly Protocol[];
  assignment: Uint8Array;
  lastHeartbeatMs: number;
  /** Joins waiting for the rebalance to complete (a retried join adds its token). */
  joinTokens: number[];
  /** Syncs waiting for the assignment. */
  syncTokens: number[];
  /** Joined for the first time in this rebalance: its session can expire while it waits (Kafka's isNew). */
  isNew: boolean;
}

type Continuation =
  | { readonly kind: 'assignment'; readonly generation: number; readonly assignments: ReadonlyMap<string, Uint8Array> }
  | { readonly kind: 'static-rejoin'; readonly generation: number; readonly memberId: string; readonly replaced: Member;
    readonly token: number }
  | { readonly kind: 'plain' };

const EMPTY_BYTES = new Uint8Array(0);

export class GroupMembership {
  private stateValue: GroupState = 'Empty';
  private generationValue = 0;
  private protocolTypeValue: string | null = null;
  private protocolNameValue: string | null = null;
  private leaderId: string | null = null;
  /** In join order: the leader falls to the first member when it leaves. */
  private readonly members = new Map<string, Member>();
  private readonly staticMembers = new Map<string, string>();
  /** Members given an id with MEMBER_ID_REQUIRED, until they join with it or their session passes. */
  private readonly pendingMembers = new Map<string, number>();
  private rebalanceDeadlineMs = 0;
  /** The first rebalance of an empty group completes no earlier than this (the initial delay). */
  private joinNotBeforeMs = 0;
  private syncDeadlineMs = 0;
  private nextPersistId = 1;
  private readonly continuations = new Map<number, Continuation>();
  /** The persist of this generation's assignment, once the leader synced. */
  private assignmentPersistId: number | null = null;
  private replies: Reply[] = [];
  private persists: PersistRequest[] = [];

  constructor(readonly groupId: string, private readonly config: MembershipConfig) {
    assert(groupId !== '', 'a group needs an id');
    assert(config.minSessionTimeoutMs <= config.maxSessionTimeoutMs, 'min session timeout above the max');
    assert(config.maxSize >= 1, 'group.max.size must be at least 1');
    assert(config.maxRebalanceTimeoutMs >= 1, 'the rebalance timeout bound must be positive');
  }

  /** The group as it was persisted: members start their sessions afresh at nowMs (a new coordinator). */
  static load(groupId: string, stored: StoredGroupMetadata, config: MembershipConfig, nowMs: number): GroupMembership {
    const group = new GroupMembership(groupId, config);
    group.generationValue = stored.generation;
    group.protocolTypeValue = stored.protocolType === '' ? null : stored.protocolType;
    if (stored.members.length === 0) return group;
    group.protocolNameValue = stored.protocolName;
    for (const member of stored.members) {
      group.members.set(member.memberId, {
        memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
        clientHost: member.clientHost, sessionTimeoutMs: member.sessionTimeoutMs,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        protocols: [{ name: stored.protocolName, metadata: member.subscription }],
        assignment: member.assignment, lastHeartbeatMs: nowMs, joinTokens: [], syncTokens: [], isNew: false,
      });
      if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    group.leaderId = group.members.has(stored.leader) ? stored.leader : (group.members.keys().next().value ?? null);
    group.stateValue = 'Stable';
    return group;
  }

  get state(): GroupState { return this.stateValue; }
  get generation(): number { return this.generationValue; }
  get protocolType(): string { return this.protocolTypeValue ?? ''; }
  get protocolName(): string { return this.protocolNameValue ?? ''; }
  get leader(): string { return this.leaderId ?? ''; }
  get memberCount(): number { return this.members.size; }
  hasMember(memberId: string): boolean { return this.members.has(memberId); }
  /** Nothing to remember: Empty, never persisted a generation, nothing held or in flight. */
  get isIdle(): boolean {
    return this.stateValue === 'Empty' && this.generationValue === 0 && this.members.size === 0
      && this.pendingMembers.size === 0 && this.continuations.size === 0;
  }

  /** Joins and syncs held open: the coordinator must not drop the group while any waits. */
  get waitingRequests(): number {
    let count = 0;
    for (const member of this.members.values()) count += member.joinTokens.length + member.syncTokens.length;
    return count;
  }

  // ---- JoinGroup ----

  join(request: JoinRequest, token: number, nowMs: number): Effects {
    const problem = this.joinProblem(request);
    if (problem !== null) {
      this.replyJoinError(token, problem, request.memberId);
    } else if (request.memberId === '') {
      this.joinWithoutId(request, token, nowMs);
    } else {
      this.joinWithId(request, token, nowMs);
    }
    return this.flush();
  }

  private joinProblem(request: JoinRequest): ErrorCode | null {
    if (this.stateValue === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    const session = request.sessionTimeoutMs;
    if (!Number.isInteger(session) || session < this.config.minSessionTimeoutMs
      || session > this.config.maxSessionTimeoutMs) return 'INVALID_SESSION_TIMEOUT';
    if (!Number.isInteger(request.rebalanceTimeoutMs) || request.rebalanceTimeoutMs < 0
      || request.rebalanceTimeoutMs > MAX_REBALANCE_TIMEOUT_MS) return 'INVALID_REQUEST';
    const names = request.protocols.map((protocol) => protocol.name);
    if (request.protocolType === '' || names.length === 0 || names.includes('') || new Set(names).size !== names.length) {
      return 'INCONSISTENT_GROUP_PROTOCOL';
    }
    if (this.members.size > 0) {
      if (request.protocolType !== this.protocolTypeValue) return 'INCONSISTENT_GROUP_PROTOCOL';
      const candidates = this.candidateProtocols();
      if (!names.some((name) => candidates.has(name))) return 'INCONSISTENT_GROUP_PROTOCOL';
    }
    return null;
  }

  private isFull(): boolean {
    return this.members.size + this.pendingMembers.size >= this.config.maxSize;
  }

  private joinWithoutId(request: JoinRequest, token: number, nowMs: number): void {
    const instance = request.groupInstanceId;
    const known = instance === null ? undefined : this.staticMembers.get(instance);
    if (known !== undefined) {
      this.replaceStaticMember(known, request, token, nowMs);
      return;
    }
    if (this.isFull()) {
      this.replyJoinError(token, 'GROUP_MAX_SIZE_REACHED', '');
      return;
    }
    const memberId = this.config.newMemberId(request.clientId);
    assert(!this.members.has(memberId) && !this.pendingMembers.has(memberId), () => `member id ${memberId} reused`);
    if (instance !== null) {
      // Static members get their id at once (Kafka): the instance id already names them.
      this.addMemberAndRebalance(memberId, request, token, nowMs);
      return;
    }
    this.pendingMembers.set(memberId, nowMs + request.sessionTimeoutMs);
    this.replyJoinError(token, 'MEMBER_ID_REQUIRED', memberId);
  }

  private joinWithId(request: JoinRequest, token: number, nowMs: number): void {
    const memberId = request.memberId;
    if (request.groupInstanceId === null && this.pendingMembers.has(memberId)) {
      this.pendingMembers.delete(memberId);
      this.addMemberAndRebalance(memberId, request, token, nowMs);
      return;
    }
    const invalid = this.memberProblem(memberId, request.groupInstanceId);
    if (invalid !== null) {
      this.replyJoinError(token, invalid, memberId);
      return;
    }
    const member = this.members.get(memberId);
    assert(member !== undefined, 'memberProblem passed an unknown member');
    switch (this.stateValue) {
      case 'PreparingRebalance':
        this.updateMember(member, request, token, nowMs);
        this.tryCompleteJoin(nowMs);
        return;
      case 'CompletingRebalance':
        if (sameProtocols(member.protocols, request.protocols)) {
          // It lost the answer of this generation's join: send it again.
          member.lastHeartbeatMs = nowMs;
          this.reply({ kind: 'join', token, answer: this.joinAnswer(member) });
        } else {
          this.updateMember(member, request, token, nowMs);
          this.prepareRebalance(nowMs);
        }
        return;
      case 'Stable':
        if (member.memberId === this.leaderId || !sameProtocols(member.protocols, request.protocols)) {
          // The leader's join means it wants to assign again (e.g. its subscription changed).
          this.updateMember(member, request, token, nowMs);
          this.prepareRebalance(nowMs);
        } else {
          member.lastHeartbeatMs = nowMs;
          this.reply({ kind: 'join', token, answer: this.joinAnswer(member) });
        }
        return;
      case 'Empty':
      case 'Dead':
        assert(false, () => `a member in state ${this.stateValue}`);
    }
  }

  /** A known static member joined with no member id (it restarted): it takes its old place under a new id. */
  private replaceStaticMember(oldMemberId: string, request: JoinRequest, token: number, nowMs: number): void {
    const old = this.members.get(oldMemberId);
    assert(old !== undefined, 'a static member id without its member');
    const memberId = this.config.newMemberId(request.clientId);
    assert(!this.members.has(memberId), () => `member id ${memberId} reused`);
    const replacement: Member = {
      ...old, memberId, clientId: request.clientId, clientHost: request.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs, rebalanceTimeoutMs: this.rebalanceTimeoutOf(request),
      protocols: request.protocols, lastHeartbeatMs: nowMs, joinTokens: [], syncTokens: [], isNew: false,
    };
    this.fenceTokens(old);
    this.swapMember(old, replacement);
    switch (this.stateValue) {
      case 'Stable':
        if (this.selectProtocol() === this.protocolNameValue) {
          // Same place, same assignment, no rebalance, the leader too (as Kafka: a restarted static
          // leader is answered the members, and its SyncGroup in the stable group gets the stored
          // assignment whatever it sends); the new id is persisted before it is answered.
          const id = this.persist({ kind: 'static-rejoin', generation: this.generationValue, memberId,
            replaced: old, token });
          assert(id > 0, 'persist ids are positive');
          return;
        }
        replacement.joinTokens.push(token);
        this.prepareRebalance(nowMs);
        return;
      case 'CompletingRebalance':
        // The old incarnation may not have its assignment yet: assign again.
        replacement.joinTokens.push(token);
        this.prepareRebalance(nowMs);
        return;
      case 'PreparingRebalance':
        replacement.joinTokens.push(token);
        this.tryCompleteJoin(nowMs);
        return;
      case 'Empty':
      case 'Dead':
        assert(false, () => `a static member in state ${this.stateValue}`);
    }
  }

  private swapMember(old: Member, replacement: Member): void {
    const entries = [...this.members.entries()].map(([id, member]): [string, Member] =>
      id === old.memberId ? [replacement.memberId, replacement] : [id, member]);
    this.members.clear();
    for (const [id, member] of entries) this.members.set(id, member);
    if (replacement.groupInstanceId !== null) this.staticMembers.set(replacement.groupInstanceId, replacement.memberId);
    if (this.leaderId === old.memberId) this.leaderId = replacement.memberId;
  }

  private rebalanceTimeoutOf(request: JoinRequest): number {
    const asked = request.rebalanceTimeoutMs === 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs;
    return Math.min(asked, this.config.maxRebalanceTimeoutMs);
  }

  private addMemberAndRebalance(memberId: string, request: JoinRequest, token: number, nowMs: number): void {
    if (this.members.size === 0) this.protocolTypeValue = request.protocolType;
    this.members.set(memberId, {
      memberId, groupInstanceId: request.groupInstanceId, clientId: request.clientId, clientHost: request.clientHost,
      sessionTimeoutMs: request.sessionTimeoutMs, rebalanceTimeoutMs: this.rebalanceTimeoutOf(request),
      protocols: request.protocols, assignment: EMPTY_BYTES, lastHeartbeatMs: nowMs, joinTokens: [token],
      syncTokens: [], isNew: true,
    });
    if (request.groupInstanceId !== null) this.staticMembers.set(request.groupInstanceId, memberId);
    this.leaderId ??= memberId;
    if (this.stateValue === 'PreparingRebalance') {
      if (this.joinNotBeforeMs > nowMs) {
        this.joinNotBeforeMs = Math.min(nowMs + this.config.initialRebalanceDelayMs, this.rebalanceDeadlineMs);
      }
      this.tryCompleteJoin(nowMs);
    } else {
      const initial = this.stateValue === 'Empty';
      this.prepareRebalance(nowMs, initial);
    }
  }

  private updateMember(member: Member, request: JoinRequest, token: number, nowMs: number): void {
    member.clientId = request.clientId;
    member.clientHost = request.clientHost;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = this.rebalanceTimeoutOf(request);
    member.protocols = request.protocols;
    member.lastHeartbeatMs = nowMs;
    member.joinTokens.push(token);
  }

  private prepareRebalance(nowMs: number, initial = false): void {
    if (this.stateValue === 'CompletingRebalance') {
      for (const member of this.members.values()) this.replySyncs(member, 'REBALANCE_IN_PROGRESS');
    }
    this.assignmentPersistId = null;
    this.stateValue = 'PreparingRebalance';
    let timeout = 0;
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
    this.rebalanceDeadlineMs = nowMs + timeout;
    this.joinNotBeforeMs = initial
      ? Math.min(nowMs + this.config.initialRebalanceDelayMs, this.rebalanceDeadlineMs) : 0;
    this.tryCompleteJoin(nowMs);
  }

  private tryCompleteJoin(nowMs: number): void {
    if (this.stateValue !== 'PreparingRebalance') return;
    if (this.pendingMembers.size > 0 || nowMs < this.joinNotBeforeMs) return;
    for (const member of this.members.values()) if (member.joinTokens.length === 0) return;
    this.completeJoin(nowMs);
  }

  /** Ends the rebalance: members that did not join are removed; the rest get the new generation. */
  private completeJoin(nowMs: number): void {
    assert(this.stateValue === 'PreparingRebalance', 'completing a join outside a rebalance');
    for (const member of [...this.members.values()]) {
      if (member.joinTokens.length === 0) this.removeMember(member, 'UNKNOWN_MEMBER_ID');
    }
    this.generationValue += 1;
    if (this.members.size === 0) {
      this.stateValue = 'Empty';
      this.protocolNameValue = null;
      this.leaderId = null;
      this.persist({ kind: 'plain' });
      return;
    }
    this.protocolNameValue = this.selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId)) {
      this.leaderId = this.members.keys().next().value ?? null;
    }
    this.stateValue = 'CompletingRebalance';
    let timeout = 0;
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
    this.syncDeadlineMs = nowMs + timeout;
    for (const member of this.members.values()) {
      member.lastHeartbeatMs = nowMs;
      member.isNew = false;
      member.assignment = EMPTY_BYTES;
      const answer = this.joinAnswer(member);
      for (const token of member.joinTokens) this.reply({ kind: 'join', token, answer });
      member.joinTokens = [];
    }
  }

  private joinAnswer(member: Member): JoinAnswer {
    const protocolName = this.protocolName;
    const isLeader = member.memberId === this.leaderId;
    return {
      error: null, generation: this.generationValue, protocolType: this.protocolType, protocolName,
      leader: this.leader, memberId: member.memberId,
      members: isLeader ? [...this.members.values()].map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: metadataFor(m, protocolName),
      })) : [],
    };
  }

  /** The protocols every member supports. */
  private candidateProtocols(): Set<string> {
    let candidates: readonly string[] | null = null;
    for (const member of this.members.values()) {
      const names = member.protocols.map((protocol) => protocol.name);
      const previous: readonly string[] = candidates ?? names;
      candidates = previous.filter((name) => names.includes(name));
    }
    return new Set(candidates ?? []);
  }

  /**
   * Kafka's selectProtocol: each member votes for its most preferred protocol among those every
   * member supports; most votes wins, a tie goes to the smaller name (Kafka leaves ties to a hash map).
   */
  private selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const vote = member.protocols.find((protocol) => candidates.has(protocol.name));
      assert(vote !== undefined, () => `member ${member.memberId} supports no common protocol`);
      votes.set(vote.name, (votes.get(vote.name) ?? 0) + 1);
    }
    const ranked = [...votes.entries()].sort(([leftName, left], [rightName, right]) =>
      right - left || (leftName < rightName ? -1 : leftName > rightName ? 1 : 0));
    const chosen = ranked[0];
    assert(chosen !== undefined, 'no protocol to select in a group with members');
    return chosen[0];
  }

  // ---- SyncGroup ----

  sync(request: SyncRequest, token: number, nowMs: number): Effects {
    const problem = this.syncProblem(request);
    if (problem !== null) {
      this.reply({ kind: 'sync', token, answer: this.syncAnswer(problem, EMPTY_BYTES) });
      return this.flush();
    }
    const member = this.members.get(request.memberId);
    assert(member !== undefined, 'syncProblem passed an unknown member');
    member.lastHeartbeatMs = nowMs;
    if (this.stateValue === 'Stable') {
      this.reply({ kind: 'sync', token, answer: this.syncAnswer(null, member.assignment) });
      return this.flush();
    }
    assert(this.stateValue === 'CompletingRebalance', () => `sync accepted in state ${this.stateValue}`);
    member.syncTokens.push(token);
    if (member.memberId === this.leaderId && this.assignmentPersistId === null) {
      const assignments = new Map<string, Uint8Array>();
      for (const { memberId, assignment } of request.assignments) {
        if (this.members.has(memberId)) assignments.set(memberId, assignment);
      }
      this.assignmentPersistId = this.persist({ kind: 'assignment', generation: this.generationValue, assignments });
    }
    return this.flush();
  }

  private syncProblem(request: SyncRequest): ErrorCode | null {
    if (this.stateValue === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    const invalid = this.memberProblem(request.memberId, request.groupInstanceId);
    if (invalid !== null) return invalid;
    if (request.generation !== this.generationValue) return 'ILLEGAL_GENERATION';
    if ((request.protocolType !== '' && request.protocolType !== this.protocolType)
      || (request.protocolName !== '' && request.protocolName !== this.protocolName)) return 'INCONSISTENT_GROUP_PROTOCOL';
    if (this.stateValue === 'PreparingRebalance') return 'REBALANCE_IN_PROGRESS';
    return null;
  }

  private syncAnswer(error: ErrorCode | null, assignment: Uint8Array): SyncAnswer {
    return { error, protocolType: this.protocolType, protocolName: this.protocolName, assignment };
  }

  // ---- persistence ----

  /** The group as it is to be persisted now. */
  private stored(assignments?: ReadonlyMap<string, Uint8Array>): StoredGroupMetadata {
    const protocolName = this.protocolName;
    return {
      protocolType: this.protocolType, generation: this.generationValue, protocolName, leader: this.leader,
      stateTimestampMs: this.config.wallClockMs(),
      members: [...this.members.values()].map((member): StoredMember => ({
        memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
        clientHost: member.clientHost, sessionTimeoutMs: member.sessionTimeoutMs,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs, subscription: metadataFor(member, protocolName),
        assignment: assignments === undefined ? member.assignment : (assignments.get(member.memberId) ?? EMPTY_BYTES),
      })),
    };
  }

  private persist(continuation: Continuation): number {
    const id = this.nextPersistId++;
    const assignments = continuation.kind === 'assignment' ? continuation.assignments : undefined;
    this.continuations.set(id, continuation);
    this.persists.push({ id, metadata: this.stored(assignments) });
    return id;
  }

  /**
   * The outcome of persist request `id`: error null once the record is committed, else the code to
   * give the members waiting on it (the write failed or this coordinator lost its partition).
   */
  persisted(id: number, error: ErrorCode | null, nowMs: number): Effects {
    const continuation = this.continuations.get(id);
    // abandon() forgets every persist in flight: their outcomes find a Dead group and change nothing.
    if (continuation === undefined && this.stateValue === 'Dead') return this.flush();
    assert(continuation !== undefined, () => `persist ${id} reported twice or never requested`);
    this.continuations.delete(id);
    if (continuation.kind === 'assignment') this.assignmentPersisted(id, continuation.assignments, error, nowMs);
    else if (continuation.kind === 'static-rejoin') this.staticRejoinPersisted(continuation, error, nowMs);
    return this.flush();
  }

  private assignmentPersisted(id: number, assignments: ReadonlyMap<string, Uint8Array>, error: ErrorCode | null,
    nowMs: number): void {
    // A rebalance since the leader's sync answered those syncs already; this generation is over.
    if (this.assignmentPersistId !== id) return;
    assert(this.stateValue === 'CompletingRebalance', 'an assignment persist outlived its generation');
    this.assignmentPersistId = null;
    if (error !== null) {
      for (const member of this.members.values()) this.replySyncs(member, error);
      this.prepareRebalance(nowMs);
      return;
    }
    for (const member of this.members.values()) {
      member.assignment = assignments.get(member.memberId) ?? EMPTY_BYTES;
      member.lastHeartbeatMs = nowMs;
      const answer = this.syncAnswer(null, member.assignment);
      for (const token of member.syncTokens) this.reply({ kind: 'sync', token, answer });
      member.syncTokens = [];
    }
    this.stateValue = 'Stable';
  }

  private staticRejoinPersisted(continuation: Extract<Continuation, { kind: 'static-rejoin' }>, error: ErrorCode | null,
    nowMs: number): void {
    const member = this.members.get(continuation.memberId);
    const unchanged = member !== undefined && this.stateValue === 'Stable'
      && this.generationValue === continuation.generation;
    if (error === null && unchanged) {
      member.lastHeartbeatMs = nowMs;
      this.reply({ kind: 'join', token: continuation.token, answer: this.joinAnswer(member) });
      return;
    }
    if (error !== null && unchanged) {
      // Not persisted: the old incarnation keeps its place (Kafka reverts too).
      this.fenceTokens(member);
      this.swapMember(member, { ...continuation.replaced, lastHeartbeatMs: nowMs, joinTokens: [], syncTokens: [] });
      this.replyJoinError(continuation.token, error, continuation.memberId);
      return;
    }
    // The group moved on (a rebalance, or the member left): join again, under the new id if it is still here.
    this.replyJoinError(continuation.token, member === undefined ? 'UNKNOWN_MEMBER_ID' : 'REBALANCE_IN_PROGRESS',
      continuation.memberId);
  }

  // ---- Heartbeat, LeaveGroup, OffsetCommit ----

  heartbeat(memberId: string, groupInstanceId: string | null, generation: number, nowMs: number): ErrorCode | null {
    if (this.stateValue === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    const invalid = this.memberProblem(memberId, groupInstanceId);
    if (invalid !== null) return invalid;
    if (generation !== this.generationValue) return 'ILLEGAL_GENERATION';
    const member = this.members.get(memberId);
    assert(member !== undefined, 'memberProblem passed an unknown member');
    member.lastHeartbeatMs = nowMs;
    return this.stateValue === 'PreparingRebalance' ? 'REBALANCE_IN_PROGRESS' : null;
  }

  /** Removes the members at once (Kafka's LeaveGroup v3+): one answer per member, in order. */
  leave(leaving: readonly LeavingMember[], nowMs: number): Answered<(ErrorCode | null)[]> {
    const answer = leaving.map((one) => this.leaveOne(one, nowMs));
    return { answer, ...this.flush() };
  }

  private leaveOne(leaving: LeavingMember, nowMs: number): ErrorCode | null {
    if (this.stateValue === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    let memberId = leaving.memberId;
    if (leaving.groupInstanceId !== null) {
      const current = this.staticMembers.get(leaving.groupInstanceId);
      if (current === undefined) return 'UNKNOWN_MEMBER_ID';
      if (memberId !== '' && memberId !== current) return 'FENCED_INSTANCE_ID';
      memberId = current;
    } else if (this.pendingMembers.delete(memberId)) {
      this.tryCompleteJoin(nowMs);
      return null;
    }
    const member = this.members.get(memberId);
    if (member === undefined) return 'UNKNOWN_MEMBER_ID';
    this.removeMemberAndRebalance(member, nowMs);
    return null;
  }

  /**
   * Whether an OffsetCommit may write: from a member of the current generation, or with generation
   * -1 and no member id when the group has no members (a consumer assigning partitions itself).
   */
  commitProblem(memberId: string, groupInstanceId: string | null, generation: number, nowMs: number): ErrorCode | null {
    if (this.stateValue === 'Dead') return 'COORDINATOR_NOT_AVAILABLE';
    if (generation < 0 && memberId === '' && groupInstanceId === null && this.members.size === 0) return null;
    if (this.stateValue === 'CompletingRebalance' && this.members.has(memberId)) return 'REBALANCE_IN_PROGRESS';
    const invalid = this.memberProblem(memberId, groupInstanceId);
    if (invalid !== null) return invalid;
    if (generation !== this.generationValue) return 'ILLEGAL_GENERATION';
    const member = this.members.get(memberId);
    assert(member !== undefined, 'memberProblem passed an unknown member');
    member.lastHeartbeatMs = nowMs; // a commit shows the member alive (Kafka)
    return null;
  }

  /** FENCED_INSTANCE_ID when another incarnation holds the instance id; UNKNOWN_MEMBER_ID for a non-member. */
  private memberProblem(memberId: string, groupInstanceId: string | null): ErrorCode | null {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return 'FENCED_INSTANCE_ID';
    }
    const member = this.members.get(memberId);
    if (member === undefined) return 'UNKNOWN_MEMBER_ID';
    // Claiming another instance id than the member joined with is fenced too. A request without an
    // instance id is taken by member id alone, as Kafka does (older clients send none).
    if (groupInstanceId !== null && groupInstanceId !== member.groupInstanceId) return 'FENCED_INSTANCE_ID';
    return null;
  }

  // ---- time ----

  /** Expires sessions, ends a rebalance or a sync wait whose timeout passed. */
  tick(nowMs: number): Effects {
    if (this.stateValue === 'Dead') return this.flush();
    for (const [memberId, deadline] of [...this.pendingMembers]) {
      if (deadline <= nowMs) this.pendingMembers.delete(memberId);
    }
    for (const member of [...this.members.values()]) {
      if (!this.keepsAlive(member, nowMs) && this.members.get(member.memberId) === member) {
        this.removeMemberAndRebalance(member, nowMs);
      }
    }
    if (this.stateValue === 'PreparingRebalance') {
      if (nowMs >= this.rebalanceDeadlineMs) this.completeJoin(nowMs);
      else this.tryCompleteJoin(nowMs);
    } else if (this.stateValue === 'CompletingRebalance' && this.assignmentPersistId === null
      && nowMs >= this.syncDeadlineMs) {
      // Members that did not sync in time (the leader among them, or the assignment would be on its way) leave.
      const late = [...this.members.values()].filter((member) => member.syncTokens.length === 0);
      for (const member of late) this.removeMember(member, 'UNKNOWN_MEMBER_ID');
      this.prepareRebalance(nowMs);
    }
    return this.flush();
  }

  private keepsAlive(member: Member, nowMs: number): boolean {
    const sessionLeft = member.lastHeartbeatMs + member.sessionTimeoutMs > nowMs;
    if (member.joinTokens.length > 0) return !member.isNew || sessionLeft;
    if (member.syncTokens.length > 0) return true;
    return sessionLeft;
  }

  /** The earliest time a tick can change anything (a hint for the coordinator's timer). */
  nextDeadlineMs(): number {
    let next = Infinity;
    for (const deadline of this.pendingMembers.values()) next = Math.min(next, deadline);
    for (const member of this.members.values()) next = Math.min(next, member.lastHeartbeatMs + member.sessionTimeoutMs);
    if (this.stateValue === 'PreparingRebalance') {
      next = Math.min(next, this.rebalanceDeadlineMs, Math.max(this.joinNotBeforeMs, 0));
    }
    if (this.stateValue === 'CompletingRebalance') next = Math.min(next, this.syncDeadlineMs);
    return next;
  }

  // ---- removal ----

  private removeMember(member: Member, error: ErrorCode): void {
    for (const token of member.joinTokens) this.replyJoinError(token, error, member.memberId);
    member.joinTokens = [];
    this.replySyncs(member, error);
    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === member.memberId) {
      this.staticMembers.delete(member.groupInstanceId);
    }
    if (this.leaderId === member.memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  private removeMemberAndRebalance(member: Member, nowMs: number): void {
    this.removeMember(member, 'UNKNOWN_MEMBER_ID');
    if (this.stateValue === 'Stable' || this.stateValue === 'CompletingRebalance') this.prepareRebalance(nowMs);
    else if (this.stateValue === 'PreparingRebalance') this.tryCompleteJoin(nowMs);
  }

  // ---- DescribeGroups, DeleteGroups ----

  describe(): GroupDescription {
    const protocolName = this.protocolName;
    return {
      state: this.stateValue, protocolType: this.protocolType, protocolName, generation: this.generationValue,
      leader: this.leader,
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId,
        clientHost: member.clientHost, metadata: metadataFor(member, protocolName), assignment: member.assignment,
      })),
    };
  }

  /** DeleteGroups: only a group without members; it is Dead afterwards. */
  markDead(): ErrorCode | null {
    if (this.stateValue === 'Dead') return 'GROUP_ID_NOT_FOUND';
    if (this.members.size > 0 || this.pendingMembers.size > 0) return 'NON_EMPTY_GROUP';
    this.stateValue = 'Dead';
    return null;
  }

  /**
   * The coordinator lost the group's partition: every held request gets `error` and the group is
   * Dead (the next coordinator loads it from the store).
   */
  abandon(error: ErrorCode): Effects {
    for (const member of this.members.values()) {
      for (const token of member.joinTokens) this.replyJoinError(token, error, member.memberId);
      member.joinTokens = [];
      this.replySyncs(member, error);
    }
    for (const [id, continuation] of this.continuations) {
      if (continuation.kind === 'static-rejoin') this.replyJoinError(continuation.token, error, continuation.memberId);
      this.continuations.delete(id);
    }
    this.stateValue = 'Dead';
    return this.flush();
  }

  // ---- helpers ----

  private fenceTokens(member: Member): void {
    for (const token of member.joinTokens) this.replyJoinError(token, 'FENCED_INSTANCE_ID', member.memberId);
    member.joinTokens = [];
    this.replySyncs(member, 'FENCED_INSTANCE_ID');
  }

  private replySyncs(member: Member, error: ErrorCode): void {
    const answer = this.syncAnswer(error, EMPTY_BYTES);
    for (const token of member.syncTokens) this.reply({ kind: 'sync', token, answer });
    member.syncTokens = [];
  }

  private replyJoinError(token: number, error: ErrorCode, memberId: string): void {
    this.reply({ kind: 'join', token, answer: {
      error, generation: -1, protocolType: '', protocolName: '', leader: '', memberId, members: [],
    } });
  }

  private reply(reply: Reply): void {
    this.replies.push(reply);
  }

  private flush(): Effects {
    const effects = { replies: this.replies, persists: this.persists };
    this.replies = [];
    this.persists = [];
    return effects;
  }
}

function sameProtocols(left: readonly Protocol[], right: readonly Protocol[]): boolean {
  return left.length === right.length && left.every((protocol, i) => {
    const other = right[i];
    return other !== undefined && other.name === protocol.name && Buffer.from(other.metadata).equals(protocol.metadata);
  });
}

function metadataFor(member: Member, protocolName: string): Uint8Array {
  return member.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? EMPTY_BYTES;
}
