/**
 * Brokers that are not controller voters (KRaft's observers): pure decisions about the controller
 * group's membership and about where a broker's controller requests go.
 *
 * The voters are fixed at bootstrap (--voters). Every other registered broker follows the metadata
 * log as a learner of the controller group: the controller leader adds it with an addLearner conf
 * change once its registration is committed (the registration carries the Raft address the leader
 * needs to reach it). A learner applies the log like a voter but never votes, never counts for a
 * commit and never campaigns (raft/core: promotable() requires a voter).
 *
 * A broker that is not yet a learner knows no controller leader, so it sends its registration to
 * every voter it knows (from the applied membership, else --voters); the leader proposes it, and a
 * member that knows another leader relays it there once (so a stale --voters list still reaches it).
 *
 * Operators change the voters one at a time (`tributary cluster controllers add|remove`): a caught-up
 * learner is promoted, a voter is removed (the leader hands leadership away first rather than remove
 * itself). The checks below decide whether such a change may be proposed now.
 *
 * A decommissioned broker leaves the other way: once it is unregistered and silent, the leader
 * removes it from the learners (learnerToRemove).
 */
import type { ConfState } from '../../raft/core/index.js';
import type { ErrorCode } from '../common/errors.js';

/** The registered broker the controller leader adds next as a learner (lowest id first), if any. */
export function nextLearner(registeredIds: readonly number[], conf: ConfState): number | undefined {
  let next: number | undefined;
  for (const id of registeredIds) {
    if (conf.voters.includes(id) || conf.learners.includes(id)) continue;
    if (next === undefined || id < next) next = id;
  }
  return next;
}

/**
 * The learner of the controller group the leader removes next (lowest id first), if any: one no
 * longer registered (a decommissioned broker, see controller/decommission.ts) that has been silent
 * for silenceMs. Silence comes first because the decommissioned process exits once it has applied
 * its unregistration; removed earlier, it might never receive that entry and would run on, cut off
 * from the metadata. A broker that registered again (a new start of it) is registered and stays.
 * silentForMs(id) is how long the leader has not heard from id (Infinity: never).
 */
export function learnerToRemove(registeredIds: readonly number[], conf: ConfState,
  silentForMs: (id: number) => number, silenceMs: number): number | undefined {
  let next: number | undefined;
  for (const id of conf.learners) {
    if (registeredIds.includes(id) || silentForMs(id) < silenceMs) continue;
    if (next === undefined || id < next) next = id;
  }
  return next;
}

/**
 * Where a command or heartbeat for the controller leader is sent from a broker that does not lead:
 * to the leader when known, else to every voter but itself (the leader among them acts on it).
 */
export function controllerTargets(selfId: number, leaderId: number, voterIds: Iterable<number>): number[] {
  if (leaderId !== 0 && leaderId !== selfId) return [leaderId];
  return [...voterIds].filter((id) => id !== selfId).sort((a, b) => a - b);
}

/** Why a voter change is refused: a typed code (retriable ones may succeed later) and a message. */
export interface QuorumChangeProblem {
  readonly code: ErrorCode;
  readonly message: string;
}

/** What the leader knows of a broker named in a voter change. */
export interface QuorumCandidate {
  /** Undefined when the broker is not registered. */
  readonly fenced: boolean | undefined;
  /** The highest index known to match the leader's log (0 when unknown). */
  readonly matchIndex: number;
}

/**
 * Whether brokerId may be promoted from learner to voter now. A learner counts as caught up within
 * `catchUpEntriesMax` entries of the leader's last index (the bound partition moves use).
 */
export function addVoterProblem(conf: ConfState, brokerId: number, candidate: QuorumCandidate,
  lastIndex: number, catchUpEntriesMax: number): QuorumChangeProblem | undefined {
  if (!Number.isSafeInteger(brokerId) || brokerId <= 0) {
    return { code: 'INVALID_REQUEST', message: `broker id ${brokerId} is not a positive integer` };
  }
  if (conf.voters.includes(brokerId)) {
    return { code: 'DUPLICATE_VOTER', message: `broker ${brokerId} is a controller voter already` };
  }
  if (candidate.fenced === undefined) {
    return { code: 'BROKER_ID_NOT_REGISTERED', message: `broker ${brokerId} is not registered; start it first` };
  }
  if (candidate.fenced) {
    return { code: 'BROKER_NOT_AVAILABLE', message: `broker ${brokerId} is fenced (down or silent)` };
  }
  if (!conf.learners.includes(brokerId)) {
    return { code: 'REQUEST_TIMED_OUT',
      message: `broker ${brokerId} is not a controller learner yet (it becomes one shortly after registering); retry` };
  }
  const behind = lastIndex - candidate.matchIndex;
  if (behind > catchUpEntriesMax) {
    return { code: 'REQUEST_TIMED_OUT', message: `broker ${brokerId} is ${behind} metadata entries behind the ` +
      `controller leader (at most ${catchUpEntriesMax} allowed); retry once it caught up` };
  }
  return undefined;
}

/** Whether brokerId may be removed from the voters (by this leader or, if it is the one, by the next). */
export function removeVoterProblem(conf: ConfState, brokerId: number): QuorumChangeProblem | undefined {
  if (!Number.isSafeInteger(brokerId) || brokerId <= 0) {
    return { code: 'INVALID_REQUEST', message: `broker id ${brokerId} is not a positive integer` };
  }
  if (!conf.voters.includes(brokerId)) {
    return { code: 'VOTER_NOT_FOUND', message: `broker ${brokerId} is not a controller voter ` +
      `(voters: ${conf.voters.join(', ')})` };
  }
  if (conf.voters.length === 1) {
    return { code: 'INVALID_REQUEST', message: `broker ${brokerId} is the last controller voter; add another first` };
  }
  return undefined;
}

/**
 * The voter a leader that is asked to remove itself hands leadership to: the most caught-up other
 * voter that is live and within catchUpEntriesMax of lastIndex (lowest id on ties), if any.
 */
export function leadershipHeir(conf: ConfState, selfId: number, matchIndex: (id: number) => number,
  live: (id: number) => boolean, lastIndex: number, catchUpEntriesMax: number): number | undefined {
  let heir: number | undefined;
  for (const id of conf.voters) {
    if (id === selfId || !live(id) || lastIndex - matchIndex(id) > catchUpEntriesMax) continue;
    if (heir === undefined || matchIndex(id) > matchIndex(heir) ||
      (matchIndex(id) === matchIndex(heir) && id < heir)) heir = id;
  }
  return heir;
}

/**
 * The members (voters and learners) the controller leader has not heard from within silenceMs: it
 * sends them its own Raft address, since a member that joined with a --voters list not naming the
 * leader, and has no metadata yet, cannot answer it otherwise.
 */
export function silentMembers(conf: ConfState, selfId: number, lastHeardMs: (id: number) => number | undefined,
  nowMs: number, silenceMs: number): number[] {
  return [...conf.voters, ...conf.learners].filter((id) => {
    const heard = lastHeardMs(id);
    return id !== selfId && (heard === undefined || nowMs - heard > silenceMs);
  });
}
