/**
 * Moves this broker's Raft leaderships to other brokers by Raft leadership transfer (the leader
 * brings the target up to date, then tells it to campaign at once; raft/core requests.ts), never
 * by letting a leader die:
 * - handAllAway, on a graceful shutdown: every group this broker leads goes to its most caught-up
 *   follower that can take over, and the broker waits (bounded) until it leads none, or until
 *   nobody is left to take the rest (the other brokers are gone or leaving too);
 * - electPreferred and rebalance: Kafka's preferred-leader election, a partition's leadership goes
 *   back to the first replica of its replica list once that one is in sync.
 * Whom to pick is decided by the pure rules of leader_choice.ts; this module reads the Raft host,
 * starts transfers and waits for them.
 */
import type { GroupId, RequestResult, Status } from '../../raft/core/index.js';
import { noNode } from '../../raft/core/index.js';
import type { ConfState } from '../../raft/core/index.js';
import { chooseTransferTarget, decidePreferredLeader, describeTakeOverProblem } from './leader_choice.js';
import type { LeadershipView, PeerAvailability } from './leader_choice.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

/** What this module needs of the Raft host (raft/host RaftHost). */
export interface TransferHost {
  status(groupId: GroupId): Status | undefined;
  confState(groupId: GroupId): ConfState | undefined;
  matchIndexes(groupId: GroupId): ReadonlyMap<number, number>;
  transferLeadership(groupId: GroupId, target: number): RequestResult | undefined;
}

/** A Raft group this broker hosts, as leadership transfers see it. */
export interface HostedGroup {
  readonly groupId: GroupId;
  /** For logs: a partition's log name, or the controller's. */
  readonly name: string;
  /** Preference order: a partition's replica list (the preferred leader first), the controller's voters. */
  readonly replicas: readonly number[];
}

export interface LeadershipTransfersOptions {
  readonly brokerId: number;
  readonly host: TransferHost;
  readonly availability: (brokerId: number) => PeerAvailability;
  readonly logger: { info(object: object, message: string): void; warn(object: object, message: string): void };
  /** How often a wait looks at the groups again. */
  readonly pollMs?: number;
}

export interface HandAwaySummary {
  /** Groups this broker led that another broker leads now. */
  readonly moved: number;
  /** Groups this broker still leads (nobody could take them, or the time ran out). */
  readonly kept: readonly string[];
  readonly elapsedMs: number;
}

export type ElectionOutcome =
  /** The preferred replica leads now. */
  | { readonly kind: 'elected'; readonly leaderId: number }
  /** This broker is the preferred leader and leads. */
  | { readonly kind: 'not_needed' }
  /** This broker does not lead the group (it may know who does). */
  | { readonly kind: 'not_leader'; readonly leaderId: number | null }
  /** The preferred replica cannot take over (now), or another broker took over instead. */
  | { readonly kind: 'unavailable'; readonly message: string }
  | { readonly kind: 'timed_out'; readonly message: string };

/** Where one group's preferred-leader election stands while electPreferred waits. */
type Election =
  | ElectionOutcome
  /** A transfer to the preferred replica is under way. */
  | { readonly kind: 'moving'; readonly target: number }
  /** The preferred replica lacks committed entries: looked at again until the deadline. */
  | { readonly kind: 'behind'; readonly message: string };

const POLL_MS_DEFAULT = 10;

/** A transfer this module started and waits on. */
interface Attempt {
  target: number;
  /** Targets whose transfer did not take (the target vanished or Raft let the transfer lapse). */
  readonly tried: Set<number>;
}

export class LeadershipTransfers {
  private readonly pollMs: number;

  constructor(private readonly options: LeadershipTransfersOptions) {
    this.pollMs = options.pollMs ?? POLL_MS_DEFAULT;
  }

  /** The leader's view of a group, or null when this broker does not lead it. */
  private view(groupId: GroupId, status: Status | undefined): LeadershipView | null {
    if (status?.role !== 'leader') return null;
    const conf = this.options.host.confState(groupId);
    if (conf === undefined) return null;
    return { self: this.options.brokerId, voters: conf.voters, matchIndexes: this.options.host.matchIndexes(groupId),
      commitIndex: status.commitIndex, availability: this.options.availability };
  }

  /**
   * Hands every group this broker leads to another broker, then waits until this broker leads
   * none and each moved group's new leader is known here (so the replies that send clients on
   * name it), until no group left can go anywhere, until `deadlineMs`, or until `aborted()`.
   * `groups` is read again on every pass (replicas may start or stop meanwhile).
   */
  async handAllAway(groups: () => readonly HostedGroup[], deadlineMs: number, aborted: () => boolean):
    Promise<HandAwaySummary> {
    const startMs = monotonicNowMs();
    const attempts = new Map<GroupId, Attempt>();
    for (;;) {
      let waiting = 0;
      for (const group of groups()) {
        if (this.stepHandAway(group, attempts)) waiting += 1;
      }
      if (waiting === 0 || monotonicNowMs() >= deadlineMs || aborted()) break;
      await sleep(Math.min(this.pollMs, Math.max(1, deadlineMs - monotonicNowMs())));
    }
    const kept: string[] = [];
    let moved = 0;
    for (const group of groups()) {
      const status = this.options.host.status(group.groupId);
      if (status?.role === 'leader') kept.push(group.name);
      else if (attempts.has(group.groupId)) moved += 1;
    }
    return { moved, kept, elapsedMs: monotonicNowMs() - startMs };
  }

  /** One group, one pass of handAllAway; true while it is worth waiting for. */
  private stepHandAway(group: HostedGroup, attempts: Map<GroupId, Attempt>): boolean {
    const { host, availability } = this.options;
    const status = host.status(group.groupId);
    const attempt = attempts.get(group.groupId);
    if (status === undefined) return false;
    // Moved: wait only until the new leader is known here.
    if (status.role !== 'leader') return attempt !== undefined && status.leaderId === noNode;
    const view = this.view(group.groupId, status);
    if (view === null) return false;
    if (attempt !== undefined) {
      // Under way while Raft keeps the transfer (it lets one lapse after an election timeout) and
      // the target is still there; a target that is behind is brought up to date by the transfer.
      if (status.leadTransferee === attempt.target && availability(attempt.target) === 'available') return true;
      attempt.tried.add(attempt.target);
    }
    const tried = attempt?.tried ?? new Set<number>();
    // Each refused target is excluded, so this ends within the group's voter count.
    for (;;) {
      const target = chooseTransferTarget({ ...view, preference: group.replicas, excluded: tried });
      if (target === null) return false;
      attempts.set(group.groupId, { target, tried });
      if (host.transferLeadership(group.groupId, target)?.kind === 'accepted') {
        this.options.logger.info({ group: group.name, target }, 'handing leadership over before shutting down');
        return true;
      }
      tried.add(target);
    }
  }

  /**
   * Preferred-leader election for `groups`, waiting until `deadlineMs` for the transfers it starts:
   * an outcome per group. A preferred replica that is only behind is looked at again until the
   * deadline (under load a follower's match index trails the commit index most of the time, by
   * the entries in flight), and a transfer that lapses is tried again while it can take over.
   */
  async electPreferred(groups: readonly HostedGroup[], deadlineMs: number): Promise<Map<GroupId, ElectionOutcome>> {
    const outcomes = new Map<GroupId, ElectionOutcome>();
    const open = new Map<GroupId, { readonly group: HostedGroup; election: Election }>();
    for (const group of groups) open.set(group.groupId, { group, election: this.startPreferred(group) });
    for (;;) {
      for (const [groupId, entry] of open) {
        if (entry.election.kind === 'moving' || entry.election.kind === 'behind') continue;
        outcomes.set(groupId, entry.election);
        open.delete(groupId);
      }
      if (open.size === 0 || monotonicNowMs() >= deadlineMs) break;
      await sleep(Math.min(this.pollMs, Math.max(1, deadlineMs - monotonicNowMs())));
      for (const entry of open.values()) {
        entry.election = entry.election.kind === 'moving' ? this.preferredProgress(entry.group, entry.election.target)
          : this.startPreferred(entry.group);
      }
    }
    for (const [groupId, { election }] of open) {
      outcomes.set(groupId, election.kind === 'behind' ? { kind: 'unavailable', message: election.message }
        : { kind: 'timed_out', message: `broker ${election.kind === 'moving' ? election.target : '?'} did not take ` +
          'over in time' });
    }
    return outcomes;
  }

  /**
   * The periodic check (Kafka's auto.leader.rebalance.enable): preferred-leader election for every
   * group of `groups` this broker leads with no transfer under way, waiting until `deadlineMs`.
   * Returns how many leaderships moved.
   */
  async rebalance(groups: readonly HostedGroup[], deadlineMs: number): Promise<number> {
    const leading = groups.filter((group) => {
      const status = this.options.host.status(group.groupId);
      return status?.role === 'leader' && status.leadTransferee === noNode;
    });
    if (leading.length === 0) return 0;
    const outcomes = await this.electPreferred(leading, deadlineMs);
    return [...outcomes.values()].filter((outcome) => outcome.kind === 'elected').length;
  }

  /** Decides for one group and starts its transfer if one is due. */
  private startPreferred(group: HostedGroup): Election {
    const status = this.options.host.status(group.groupId);
    const view = this.view(group.groupId, status);
    if (view === null) {
      return { kind: 'not_leader', leaderId: status === undefined || status.leaderId === noNode ? null : status.leaderId };
    }
    const decision = decidePreferredLeader({ ...view, replicas: group.replicas });
    if (decision.kind === 'not_needed') return decision;
    if (decision.kind === 'unavailable') {
      const message = describeTakeOverProblem(decision.preferred, decision.problem);
      return decision.problem === 'behind' ? { kind: 'behind', message } : { kind: 'unavailable', message };
    }
    const result = this.options.host.transferLeadership(group.groupId, decision.target);
    if (result?.kind !== 'accepted') {
      return { kind: 'unavailable', message: `Raft refused the transfer to broker ${decision.target}` };
    }
    this.options.logger.info({ group: group.name, target: decision.target },
      'moving leadership to the preferred replica');
    return { kind: 'moving', target: decision.target };
  }

  /** Where a preferred-leader transfer under way stands now. */
  private preferredProgress(group: HostedGroup, target: number): Election {
    const status = this.options.host.status(group.groupId);
    if (status === undefined) return { kind: 'not_leader', leaderId: null };
    if (status.role !== 'leader') {
      if (status.leaderId === noNode) return { kind: 'moving', target };
      return status.leaderId === target ? { kind: 'elected', leaderId: target }
        : { kind: 'unavailable', message: `broker ${status.leaderId} took over instead of broker ${target}` };
    }
    if (status.leadTransferee === target) return { kind: 'moving', target };
    // Raft let the transfer lapse: try again if the preferred replica can still take over.
    return this.startPreferred(group);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
