/**
 * One consumer's membership of a group, Kafka's classic protocol from the member's side
 * ([K] AbstractCoordinator): JoinGroup (again with the id given on MEMBER_ID_REQUIRED), the
 * leader's assignment over every member's subscription, SyncGroup, heartbeats on a timer, and
 * LeaveGroup. It knows nothing of positions or offsets: group_consumer.ts drives it and owns the
 * partitions it is given.
 *
 * Reactions to the coordinator's answers, from any request (join, sync, heartbeat, commit):
 * - REBALANCE_IN_PROGRESS: join again (same member id and generation until the join answers).
 * - ILLEGAL_GENERATION: the generation is over: forget it (keep the member id) and join again.
 * - UNKNOWN_MEMBER_ID: the coordinator dropped this member: forget id and generation, join anew.
 * - NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, network errors:
 *   find the coordinator again (coordinator_link.ts) and retry after a back-off.
 * - FENCED_INSTANCE_ID (another process took this static member's place), and the join errors
 *   that no retry can fix (INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID,
 *   GROUP_MAX_SIZE_REACHED): fatal, the member stops and every later call throws it.
 *
 * Heartbeats run on a timer of their own (Kafka's heartbeat thread), so processing slower than the
 * session timeout does not drop the member; what bounds processing is maxPollIntervalMs: when the
 * application has not polled for that long the member leaves the group (a dynamic member sends
 * LeaveGroup; a static one just stops heartbeating, as Kafka's) and joins again on its next poll.
 */
import type { Logger } from 'pino';

import { assert } from '../../../raft/core/assert.js';
import type { Prng } from '../../../raft/core/prng.js';
import type { ErrorCode } from '../../common/errors.js';
import { errorFromWire, TributaryError } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import type { DecodedResponseOf } from '../../protocol/messages.js';
import type { MetadataCache } from '../metadata_cache.js';
import { backoffMs } from '../retry.js';
import type { PartitionAssignor } from './assignors/assignor.js';
import {
  CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription,
  SUBSCRIPTION_VERSION,
} from './consumer_protocol.js';
import type { TopicPartitions } from './consumer_protocol.js';
import type { CoordinatorLink } from './coordinator_link.js';
import { isCoordinatorError } from './coordinator_link.js';

export type MemberState = 'unjoined' | 'joining' | 'stable' | 'fatal' | 'closed';

/** Join errors no retry fixes. */
const FATAL_JOIN_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'FENCED_INSTANCE_ID', 'INCONSISTENT_GROUP_PROTOCOL', 'INVALID_SESSION_TIMEOUT', 'INVALID_GROUP_ID',
  'GROUP_MAX_SIZE_REACHED', 'UNSUPPORTED_VERSION', 'INVALID_REQUEST',
]);

/** Join/sync attempts in one round; poll starts another round when one gives up. */
const JOIN_ATTEMPTS_MAX = 30;
/** What a JoinGroup may take beyond the rebalance timeout (Kafka adds 5 s as well). */
const JOIN_EXTRA_TIMEOUT_MS = 5_000;

export interface GroupMemberOptions {
  readonly groupId: string;
  /** Static membership (Kafka group.instance.id); null for a dynamic member. */
  readonly groupInstanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPollIntervalMs: number;
  /** Offered in this order; the coordinator picks the first every member supports. */
  readonly assignors: readonly PartitionAssignor[];
  readonly link: CoordinatorLink;
  readonly metadata: MetadataCache;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly logger: Logger;
  readonly prng: Prng;
}

/** A generation as commits name it. */
export interface Generation {
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string;
}

export interface JoinResult {
  readonly generationId: number;
  readonly memberId: string;
  readonly leader: boolean;
  readonly protocolName: string;
  readonly assignment: readonly TopicPartitions[];
}

type JoinResponse = DecodedResponseOf<typeof API_KEYS.JOIN_GROUP>;

export class GroupMember {
  private memberIdNow = '';
  private generationIdNow = -1;
  private stateNow: MemberState = 'unjoined';
  private rejoinReason: string | null = 'first join';
  private fatal: TributaryError | null = null;
  /** The partitions of the last completed generation: sent as owned partitions (for sticky). */
  private lastAssignment: readonly TopicPartitions[] = [];
  /** As the leader: the partition counts the assignment used (a change means rejoin). */
  private assignedCounts: ReadonlyMap<string, number> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatInFlight = false;
  private lastHeartbeatOkMs = 0;
  private lastPollMs = Date.now();
  /** The membership was lost (not given up cleanly): partitions are lost, not revoked. */
  private lostNow = false;
  /** leave() or close() ran: a join round still running gives up instead of joining again. */
  private joinAbandoned = false;

  constructor(private readonly options: GroupMemberOptions) {
    assert(options.assignors.length > 0, 'a member offers at least one assignor');
    assert(options.heartbeatIntervalMs > 0 && options.heartbeatIntervalMs < options.sessionTimeoutMs,
      () => `heartbeatIntervalMs ${options.heartbeatIntervalMs} must be below sessionTimeoutMs ${options.sessionTimeoutMs}`);
  }

  get state(): MemberState {
    return this.stateNow;
  }

  get memberId(): string {
    return this.memberIdNow;
  }

  get generationId(): number {
    return this.generationIdNow;
  }

  /** Why a join is needed, or null while the member is stable in a generation. */
  get rejoinNeeded(): string | null {
    return this.rejoinReason;
  }

  /** Whether the partitions held were lost rather than revoked (no commit can succeed for them). */
  get lost(): boolean {
    return this.lostNow;
  }

  /** The generation for commits; -1 and no member id outside one (as Kafka's manual commits). */
  generation(): Generation {
    const inGeneration = this.stateNow === 'stable';
    return {
      generationId: inGeneration ? this.generationIdNow : -1,
      memberId: inGeneration ? this.memberIdNow : '',
      groupInstanceId: this.options.groupInstanceId ?? '',
    };
  }

  /** Throws the fatal error, if any (every call of the consumer does, once it happened). */
  checkFatal(): void {
    if (this.fatal !== null) throw this.fatal;
    if (this.stateNow === 'closed') throw new TributaryError('NETWORK_EXCEPTION', 'The group member is closed');
  }

  requestRejoin(reason: string): void {
    if (this.rejoinReason === null) this.options.logger.info({ groupId: this.options.groupId, reason }, 'rejoining');
    this.rejoinReason ??= reason;
  }

  /** The application polled: the max.poll.interval.ms clock starts again. */
  notePoll(nowMs = Date.now()): void {
    this.lastPollMs = nowMs;
  }

  /** As the leader, whether the topics' partition counts differ from those the assignment used. */
  partitionCountsChanged(counts: ReadonlyMap<string, number>): boolean {
    const used = this.assignedCounts;
    if (used === null) return false;
    return [...used].some(([topic, count]) => (counts.get(topic) ?? count) !== count);
  }

  /**
   * Reacts to a group error code from any answer. Returns the error to throw to the caller (the
   * commit that got it), after updating the member's state.
   */
  onGroupError(wire: number, from: string): TributaryError {
    const error = errorFromWire(wire);
    switch (error.code) {
      case 'REBALANCE_IN_PROGRESS':
        this.requestRejoin(`${from}: rebalance in progress`);
        break;
      case 'ILLEGAL_GENERATION':
        this.resetGeneration(false, `${from}: illegal generation`);
        break;
      case 'UNKNOWN_MEMBER_ID':
        this.resetGeneration(true, `${from}: unknown member id`);
        break;
      case 'FENCED_INSTANCE_ID':
        this.setFatal(error);
        break;
      default:
        break;
    }
    return error;
  }

  /**
   * One join round: JoinGroup (+ SyncGroup) until a generation is stable or the attempts run out.
   * The caller has revoked the partitions it held (eager rebalance). Rejects with the last
   * retriable error when the round gives up (the next poll starts another), or a fatal one.
   */
  async join(topics: readonly string[]): Promise<JoinResult> {
    this.checkFatal();
    this.stopHeartbeats();
    this.stateNow = 'joining';
    this.joinAbandoned = false;
    let lastError: unknown = null;
    try {
      for (let attempt = 0; attempt < JOIN_ATTEMPTS_MAX; attempt++) {
        if (attempt > 0 && lastError !== null) await sleep(this.backoffMs(attempt));
        this.checkFatal();
        this.checkAbandoned();
        try {
          const result = await this.joinOnce(topics);
          if (result === null) {
            lastError = null; // told to join again at once (MEMBER_ID_REQUIRED and the like)
            continue;
          }
          return result;
        } catch (error) {
          if (this.fatal !== null) throw this.fatal;
          if (!isCoordinatorError(error) && !isRejoinError(error)) throw error;
          lastError = error;
          this.options.logger.debug({ groupId: this.options.groupId, err: error }, 'join failed; retrying');
        }
      }
      throw lastError instanceof TributaryError ? lastError
        : new TributaryError('REBALANCE_IN_PROGRESS', `Could not join group ${this.options.groupId}`);
    } finally {
      if ((this.stateNow as MemberState) === 'joining') this.stateNow = 'unjoined';
    }
  }

  /** LeaveGroup for a dynamic member in a generation (a static member leaves by its session timeout). */
  async leave(reason: string): Promise<void> {
    this.joinAbandoned = true;
    this.stopHeartbeats();
    const memberId = this.memberIdNow;
    const dynamic = this.options.groupInstanceId === null;
    this.resetGeneration(dynamic, reason);
    if (!dynamic || memberId === '' || this.options.link.known === null) return;
    try {
      const response = await this.options.link.request(API_KEYS.LEAVE_GROUP, {
        groupId: this.options.groupId, members: [{ memberId, groupInstanceId: '' }],
      }, { errorCodeOf: (r) => r.errorCode });
      if (response.errorCode !== 0) {
        this.options.logger.info({ groupId: this.options.groupId, code: errorFromWire(response.errorCode).code },
          'LeaveGroup refused');
      }
    } catch (error) {
      this.options.logger.info({ groupId: this.options.groupId, err: error }, 'LeaveGroup failed');
    }
  }

  /** Stops heartbeats for good (after leave(), or instead of it for a static member). */
  close(): void {
    this.joinAbandoned = true;
    this.stopHeartbeats();
    this.stateNow = 'closed';
  }

  // ----------------------------------------------------------------------------------------------

  /** One JoinGroup and SyncGroup; null means join again at once. Throws retriable errors to retry. */
  private async joinOnce(topics: readonly string[]): Promise<JoinResult | null> {
    const { options } = this;
    const metadata = encodeSubscription({ version: SUBSCRIPTION_VERSION, topics: [...topics].sort(), userData: null,
      ownedPartitions: this.lastAssignment });
    const join = await options.link.requestWatched(API_KEYS.JOIN_GROUP, {
      groupId: options.groupId, sessionTimeoutMs: options.sessionTimeoutMs,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs, memberId: this.memberIdNow,
      groupInstanceId: options.groupInstanceId ?? '', protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols: options.assignors.map((assignor) => ({ name: assignor.name, metadata })),
    }, { timeoutMs: options.rebalanceTimeoutMs + JOIN_EXTRA_TIMEOUT_MS, watchEveryMs: this.watchEveryMs(),
      errorCodeOf: (r) => r.errorCode });
    this.checkAbandoned();
    if (join.errorCode !== 0) return this.onJoinError(join);
    this.memberIdNow = join.memberId;
    this.generationIdNow = join.generationId;
    const leader = join.leader === join.memberId;
    const assignments = leader ? await this.assign(join) : [];
    const sync = await options.link.requestWatched(API_KEYS.SYNC_GROUP, {
      groupId: options.groupId, generationId: join.generationId, memberId: join.memberId,
      groupInstanceId: options.groupInstanceId ?? '', protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: join.protocolName, assignments,
    }, { timeoutMs: options.rebalanceTimeoutMs + JOIN_EXTRA_TIMEOUT_MS, watchEveryMs: this.watchEveryMs(),
      errorCodeOf: (r) => r.errorCode });
    this.checkAbandoned();
    if (sync.errorCode !== 0) {
      const error = this.onGroupError(sync.errorCode, 'SyncGroup');
      if (this.fatal !== null) throw this.fatal;
      if (error.code === 'REBALANCE_IN_PROGRESS') return null; // join again with the same id, at once
      throw error;
    }
    const assignment = decodeAssignment(Buffer.from(sync.assignment)).partitions;
    this.lastAssignment = assignment;
    this.stateNow = 'stable';
    this.rejoinReason = null;
    this.lostNow = false;
    this.startHeartbeats();
    options.logger.info({ groupId: options.groupId, generationId: join.generationId, memberId: join.memberId, leader,
      protocol: join.protocolName, assignment }, 'joined the group');
    return { generationId: join.generationId, memberId: join.memberId, leader, protocolName: join.protocolName,
      assignment };
  }

  private onJoinError(join: JoinResponse): null {
    const error = errorFromWire(join.errorCode);
    switch (error.code) {
      case 'MEMBER_ID_REQUIRED':
        assert(join.memberId !== '', 'MEMBER_ID_REQUIRED comes with the member id to use');
        this.memberIdNow = join.memberId;
        return null;
      case 'UNKNOWN_MEMBER_ID':
        this.memberIdNow = '';
        this.generationIdNow = -1;
        return null;
      default:
        if (FATAL_JOIN_ERRORS.has(error.code)) {
          this.setFatal(error);
          throw error;
        }
        throw error; // REBALANCE_IN_PROGRESS and other retriable answers: retried after a back-off
    }
  }

  /** The leader's job: every member's assignment by the chosen assignor, encoded. */
  private async assign(join: JoinResponse): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const assignor = this.options.assignors.find((a) => a.name === join.protocolName);
    if (assignor === undefined) {
      const error = new TributaryError('INCONSISTENT_GROUP_PROTOCOL',
        `The coordinator chose assignor '${join.protocolName}', which this member did not offer`);
      this.setFatal(error);
      throw error;
    }
    const members = join.members.map((m) => {
      const subscription = decodeSubscription(Buffer.from(m.metadata));
      return { memberId: m.memberId, topics: subscription.topics, ownedPartitions: subscription.ownedPartitions };
    });
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    await this.options.metadata.refresh(topics);
    const counts = new Map(topics.map((topic) => {
      const info = this.options.metadata.topic(topic);
      return [topic, info !== undefined && info.errorCode === 0 ? info.partitions.length : 0] as const;
    }));
    const result = assignor.assign(members, counts);
    this.assignedCounts = counts;
    return members.map((m) => {
      const partitions = result.get(m.memberId);
      assert(partitions !== undefined, () => `assignor ${assignor.name} left out member ${m.memberId}`);
      return { memberId: m.memberId, assignment: encodeAssignment({ version: 1, partitions, userData: null }) };
    });
  }

  /** A join that outlived leave()/close() stops here (the coordinator's session timeout drops it). */
  private checkAbandoned(): void {
    if (this.joinAbandoned) throw new TributaryError('UNKNOWN_MEMBER_ID', 'The member left the group during the join');
  }

  private resetGeneration(resetMemberId: boolean, reason: string): void {
    if (this.stateNow === 'stable') this.lostNow = true;
    this.stopHeartbeats();
    this.generationIdNow = -1;
    if (resetMemberId) this.memberIdNow = '';
    this.lastAssignment = [];
    this.assignedCounts = null;
    if (this.stateNow !== 'closed' && this.stateNow !== 'fatal') this.stateNow = 'unjoined';
    this.requestRejoin(reason);
  }

  private setFatal(error: TributaryError): void {
    this.options.logger.error({ groupId: this.options.groupId, code: error.code }, 'the group member failed');
    this.fatal = error;
    this.stopHeartbeats();
    this.stateNow = 'fatal';
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.lastHeartbeatOkMs = Date.now();
    this.scheduleHeartbeat();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = setTimeout(() => { this.heartbeatTick(); }, this.options.heartbeatIntervalMs);
    this.heartbeatTimer.unref(); // as Kafka's daemon heartbeat thread: it never keeps the process alive
  }

  private heartbeatTick(): void {
    this.heartbeatTimer = null;
    if (this.stateNow !== 'stable') return;
    const nowMs = Date.now();
    if (nowMs - this.lastPollMs > this.options.maxPollIntervalMs) {
      this.options.logger.warn({ groupId: this.options.groupId, maxPollIntervalMs: this.options.maxPollIntervalMs },
        'poll() was not called within maxPollIntervalMs; leaving the group');
      void this.leave('poll timeout');
      return;
    }
    if (nowMs - this.lastHeartbeatOkMs > this.options.sessionTimeoutMs) {
      this.options.link.markUnknown('no heartbeat answered within the session timeout');
    }
    if (!this.heartbeatInFlight) void this.sendHeartbeat();
    this.scheduleHeartbeat();
  }

  private async sendHeartbeat(): Promise<void> {
    const generationId = this.generationIdNow;
    const memberId = this.memberIdNow;
    this.heartbeatInFlight = true;
    try {
      const response = await this.options.link.request(API_KEYS.HEARTBEAT, {
        groupId: this.options.groupId, generationId, memberId, groupInstanceId: this.options.groupInstanceId ?? '',
      }, { timeoutMs: this.heartbeatTimeoutMs(), errorCodeOf: (r) => r.errorCode });
      // An answer about a generation that is over (a join went on meanwhile) changes nothing.
      if (this.stateNow !== 'stable' || this.generationIdNow !== generationId || this.memberIdNow !== memberId) return;
      if (response.errorCode === 0) {
        this.lastHeartbeatOkMs = Date.now();
        return;
      }
      this.onGroupError(response.errorCode, 'Heartbeat');
    } catch (error) {
      // Coordinator errors: the link forgot it; the next tick finds it again.
      this.options.logger.debug({ groupId: this.options.groupId, err: error }, 'heartbeat failed');
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  /** How often a long JoinGroup/SyncGroup checks that its coordinator still is the coordinator. */
  private watchEveryMs(): number {
    return Math.max(this.options.heartbeatIntervalMs, Math.min(this.options.sessionTimeoutMs / 3, 5_000));
  }

  /**
   * A heartbeat's timeout: well within the session, so that a coordinator that went silent is
   * looked up again (and heartbeated) before the new one's session for this member runs out.
   */
  private heartbeatTimeoutMs(): number {
    const { heartbeatIntervalMs, requestTimeoutMs, sessionTimeoutMs } = this.options;
    return Math.max(heartbeatIntervalMs, Math.min(requestTimeoutMs, sessionTimeoutMs / 3));
  }

  private backoffMs(attempt: number): number {
    return backoffMs(Math.min(attempt, 16), { backoffInitialMs: this.options.retryBackoffMs,
      backoffMaxMs: this.options.retryBackoffMaxMs }, this.options.prng);
  }
}

/** Errors after which a join round goes on with another attempt. */
function isRejoinError(error: unknown): boolean {
  return error instanceof TributaryError
    && (error.code === 'REBALANCE_IN_PROGRESS' || error.code === 'ILLEGAL_GENERATION' || error.code === 'UNKNOWN_MEMBER_ID');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
