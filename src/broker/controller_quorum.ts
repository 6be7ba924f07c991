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
 * every voter it was given; only the leader proposes it, the others drop it.
 *
 * A decommissioned broker leaves the other way: once it is unregistered and silent, the leader
 * removes it from the learners (learnerToRemove).
 */
import type { ConfState } from '../../raft/core/index.js';

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
