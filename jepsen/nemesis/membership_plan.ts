/**
 * The membership nemesis's choices, pure: which membership fault comes next given the brokers and
 * controller voters now, and which replica set a moved partition gets. The broker count stays
 * between the run's starting count and starting + 2 at every step (a step that adds a broker and
 * then removes one passes through +1), and a broker id is used once per run.
 */
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { pickOne, pickSeveral, sorted } from './targets.js';

/** How many brokers above the starting count a run may reach. */
export const EXTRA_BROKERS_MAX = 2;

export interface MembershipState {
  /** Brokers when the run started. */
  readonly startCount: number;
  /** Members now. */
  readonly brokers: readonly number[];
  /** Controller voters now (members or not). */
  readonly voters: readonly number[];
  /** Members whose decommission went unanswered: they may leave by themselves at any time. */
  readonly leaving: readonly number[];
  /** The id a joining broker would get, and how many more may join this run. */
  readonly nextId: number;
  readonly spareIds: number;
  /** Whether some partition can move: one exists with fewer replicas than live brokers. */
  readonly movable: boolean;
}

export type MembershipStep =
  | { readonly kind: 'move' }
  | { readonly kind: 'add'; readonly id: number }
  /** Decommission `id`; `added`: it is the broker this step starts first. */
  | { readonly kind: 'remove'; readonly id: number; readonly added: boolean }
  /** Promote `promote` to controller voter, then demote `demote`; `added`: `promote` is started first. */
  | { readonly kind: 'replace-voter'; readonly promote: number; readonly demote: number; readonly added: boolean };

/** Non-voters that are not already leaving: the brokers a step may decommission or promote. */
export function nonVoters(state: MembershipState): number[] {
  return state.brokers.filter((id) => !state.voters.includes(id) && !state.leaving.includes(id));
}

/** Every step possible now, before the seeded pick (each kind once, its targets drawn). */
export function possibleSteps(prng: Prng, state: MembershipState): MembershipStep[] {
  const count = state.brokers.length;
  assert(count >= state.startCount && count <= state.startCount + EXTRA_BROKERS_MAX,
    () => `${count} brokers, outside ${state.startCount}..${state.startCount + EXTRA_BROKERS_MAX}`);
  const canAdd = count + 1 <= state.startCount + EXTRA_BROKERS_MAX && state.spareIds > 0;
  const spares = nonVoters(state);
  const steps: MembershipStep[] = [];
  if (state.movable) steps.push({ kind: 'move' });
  if (canAdd) steps.push({ kind: 'add', id: state.nextId });
  // A broker that may still leave counts as gone: removing another must not go below the start.
  if (count - state.leaving.length > state.startCount && spares.length > 0) {
    steps.push({ kind: 'remove', id: pickOne(prng, spares), added: false });
  } else if (canAdd) {
    // Nothing to remove without going below the start: add one first, then remove it.
    steps.push({ kind: 'remove', id: state.nextId, added: true });
  }
  const voters = state.voters.filter((id) => state.brokers.includes(id) && !state.leaving.includes(id));
  if (voters.length > 0) {
    if (spares.length > 0) {
      steps.push({ kind: 'replace-voter', promote: pickOne(prng, spares), demote: pickOne(prng, voters), added: false });
    } else if (canAdd) {
      steps.push({ kind: 'replace-voter', promote: state.nextId, demote: pickOne(prng, voters), added: true });
    }
  }
  return steps;
}

/** The next membership fault, or null when none is possible (no spare id left, nothing to move). */
export function chooseMembershipStep(prng: Prng, state: MembershipState): MembershipStep | null {
  const steps = possibleSteps(prng, state);
  return steps.length === 0 ? null : pickOne(prng, steps);
}

/** The brokers after a step fully applied: the bound every step keeps. */
export function brokersAfter(state: MembershipState, step: MembershipStep): number[] {
  switch (step.kind) {
    case 'move': return [...state.brokers];
    case 'add': return [...state.brokers, step.id];
    case 'remove': return (step.added ? [...state.brokers, step.id] : [...state.brokers]).filter((id) => id !== step.id);
    case 'replace-voter': return step.added ? [...state.brokers, step.promote] : [...state.brokers];
  }
}

/**
 * A new replica set for a partition: as many brokers as it has now, drawn from `live`, not the
 * same set (in the order given: the first is the preferred leader); null when `live` has no other
 * set of that size.
 */
export function chooseNewReplicas(prng: Prng, current: readonly number[], live: readonly number[]): number[] | null {
  assert(current.length > 0, 'a partition has replicas');
  const pool = sorted([...new Set(live)]);
  if (pool.length < current.length) return null;
  const now = sorted(current);
  if (pool.length === now.length && pool.every((id, i) => id === now[i])) return null;
  // Bounded: a differing set exists, and each draw finds one with probability at least 1/C(n,k) > 0;
  // after the draws, replace one current replica with a live non-replica (exists: pool is not `now`).
  for (let attempt = 0; attempt < 16; attempt += 1) {
    // In drawn order: the first replica is the preferred leader, so leadership moves too.
    const drawn = pickSeveral(prng, pool, now.length);
    if (sorted(drawn).some((id, i) => id !== now[i])) return drawn;
  }
  const outside = pool.filter((id) => !now.includes(id));
  assert(outside.length > 0, 'a live broker outside the replica set exists');
  const replaced = pickOne(prng, now);
  return [...now.filter((id) => id !== replaced), pickOne(prng, outside)];
}
