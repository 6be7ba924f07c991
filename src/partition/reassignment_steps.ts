/**
 * The next Raft membership change of a partition move, as a pure function of the group's applied
 * membership and the target replicas (Kafka's reassignment, carried out by single-server changes,
 * Raft thesis §4.1): add every new replica as a learner, promote each once it has caught up, and
 * only then remove the replicas that leave, the leader last and by handing its leadership over
 * first. Each step changes the voters by at most one, so any two majorities of consecutive
 * configurations overlap, and no voter is removed while a target replica is still a learner: the
 * voters never drop below the target's members that already hold the log.
 */
import { ConfChangeType, applyConfChange, assert } from '../../raft/core/index.js';
import type { ConfChange, ConfState, NodeId } from '../../raft/core/index.js';

export type ReassignmentStep =
  /** Propose this membership change. */
  | { readonly kind: 'change'; readonly change: ConfChange }
  /** The leader leaves the group: hand leadership to `to` (a caught-up target voter) first. */
  | { readonly kind: 'transferLeadership'; readonly to: NodeId }
  /** Learners of the target are still catching up; nothing to change yet. */
  | { readonly kind: 'waitForLearners'; readonly learners: readonly NodeId[] }
  /** The leader must leave, but no target voter is caught up to take over yet. */
  | { readonly kind: 'waitForSuccessor' }
  /** The voters are the target and no learner is left. */
  | { readonly kind: 'done' };

/**
 * The step from `conf` towards `target` on leader `self`; `caughtUp(id)` tells whether a member's
 * log reaches far enough to count on it (to promote it, or to hand leadership to it).
 */
export function nextReassignmentStep(conf: ConfState, target: readonly NodeId[], self: NodeId,
  caughtUp: (id: NodeId) => boolean): ReassignmentStep {
  assert(target.length > 0 && new Set(target).size === target.length, 'a move needs distinct target replicas');
  assert(conf.voters.includes(self), 'only a voter leads a move');
  const strayLearner = conf.learners.find((id) => !target.includes(id));
  if (strayLearner !== undefined) return change(ConfChangeType.removeNode, strayLearner);
  const missing = target.find((id) => !conf.voters.includes(id) && !conf.learners.includes(id));
  if (missing !== undefined) return change(ConfChangeType.addLearner, missing);
  if (conf.learners.length > 0) {
    const ready = conf.learners.find(caughtUp);
    return ready === undefined ? { kind: 'waitForLearners', learners: conf.learners }
      : change(ConfChangeType.promoteLearner, ready);
  }
  // Every target replica is a voter now; the others leave, the leader last.
  const leaving = conf.voters.filter((id) => !target.includes(id));
  const other = leaving.find((id) => id !== self);
  if (other !== undefined) return change(ConfChangeType.removeNode, other);
  if (leaving.includes(self)) {
    const successor = target.find((id) => id !== self && caughtUp(id));
    return successor === undefined ? { kind: 'waitForSuccessor' } : { kind: 'transferLeadership', to: successor };
  }
  return { kind: 'done' };
}

function change(type: ConfChangeType, nodeId: NodeId): ReassignmentStep {
  return { kind: 'change', change: { type, nodeId } };
}

/**
 * Every step from `start` to `target` when every member keeps up and leadership moves to the
 * first caught-up target replica: the plan a move follows, for tests and for showing it.
 */
export function reassignmentPlan(start: ConfState, target: readonly NodeId[], leader: NodeId): ReassignmentStep[] {
  const steps: ReassignmentStep[] = [];
  let conf = start;
  let self = leader;
  for (let guard = 0; guard < 4 * (conf.voters.length + conf.learners.length + target.length) + 4; guard++) {
    const step = nextReassignmentStep(conf, target, self, () => true);
    steps.push(step);
    if (step.kind === 'done') return steps;
    if (step.kind === 'transferLeadership') self = step.to;
    else if (step.kind === 'change') conf = applyConfChange(conf, step.change);
    else assert(false, `a move where everyone keeps up never waits (${step.kind})`);
  }
  assert(false, 'a move ends within a bounded number of steps');
  return steps;
}
