/**
 * Whom a leader hands its leadership to, decided from a snapshot of what it knows. Pure, so the
 * rules are unit tested apart from the Raft host and the network (leadership_transfers.ts acts on
 * them):
 * - on the way out (graceful shutdown), the most caught-up follower that can take over;
 * - for preferred-leader election (Kafka's), the partition's first replica, once it can take over.
 *
 * A follower can take over when it is a voter of the group, available as far as this broker knows
 * (registered and not fenced, heard from lately, not on its own way out) and in sync: its match
 * index has reached the leader's commit index, so it holds every acknowledged record (the in-sync
 * rule Metadata reports). The entries still in flight are sent to it by the transfer itself before
 * it is told to campaign (Raft thesis §3.10, raft/core/requests.ts), so nothing committed or
 * proposed is left behind.
 */
import { assert } from '../../raft/core/assert.js';

/** What this broker knows of a peer, from the metadata, the Raft traffic and leaving notices. */
export type PeerAvailability = 'available' | 'unregistered' | 'fenced' | 'unreachable' | 'leaving';

/** Why a follower cannot take over now. */
export type TakeOverProblem = Exclude<PeerAvailability, 'available'> | 'not_a_voter' | 'behind';

/** The leader's view of one of its groups. */
export interface LeadershipView {
  /** This broker: the group's leader. */
  readonly self: number;
  /** The group's voters, as applied. */
  readonly voters: readonly number[];
  /** The leader's match index per member (raft/host RaftHost.matchIndexes). */
  readonly matchIndexes: ReadonlyMap<number, number>;
  readonly commitIndex: number;
  readonly availability: (brokerId: number) => PeerAvailability;
}

/** Why `candidate` cannot take the group's leadership over now, or null when it can. */
export function takeOverProblem(view: LeadershipView, candidate: number): TakeOverProblem | null {
  assert(candidate !== view.self, 'the leader does not hand leadership to itself');
  if (!view.voters.includes(candidate)) return 'not_a_voter';
  const availability = view.availability(candidate);
  if (availability !== 'available') return availability;
  if ((view.matchIndexes.get(candidate) ?? 0) < view.commitIndex) return 'behind';
  return null;
}

export interface TransferTargetQuery extends LeadershipView {
  /** Order among equally caught-up followers: the partition's replica list (preferred first). */
  readonly preference: readonly number[];
  /** Followers not to pick again (a transfer to them did not take). */
  readonly excluded: ReadonlySet<number>;
}

/**
 * The follower to hand leadership to on the way out: of those that can take over, the one with
 * the highest match index (the transfer then waits least), ties going to the earlier in the
 * preference order, then to the lower id. Null when nobody can take over.
 */
export function chooseTransferTarget(query: TransferTargetQuery): number | null {
  const rank = (id: number): number => {
    const position = query.preference.indexOf(id);
    return position < 0 ? query.preference.length : position;
  };
  let best: number | null = null;
  for (const candidate of query.voters) {
    if (candidate === query.self || query.excluded.has(candidate)) continue;
    if (takeOverProblem(query, candidate) !== null) continue;
    if (best === null) {
      best = candidate;
      continue;
    }
    const match = query.matchIndexes.get(candidate) ?? 0;
    const bestMatch = query.matchIndexes.get(best) ?? 0;
    if (match > bestMatch || (match === bestMatch && (rank(candidate) < rank(best)
      || (rank(candidate) === rank(best) && candidate < best)))) {
      best = candidate;
    }
  }
  return best;
}

export type PreferredLeaderDecision =
  /** This broker is the preferred leader already. */
  | { readonly kind: 'not_needed' }
  | { readonly kind: 'transfer'; readonly target: number }
  /** The preferred replica cannot take over now; the leader stays. */
  | { readonly kind: 'unavailable'; readonly preferred: number; readonly problem: TakeOverProblem };

/**
 * Kafka's preferred-leader election, for a group this broker leads: the first replica of the
 * partition's replica list is its preferred leader; leadership moves to it when it is not the
 * leader and can take over.
 */
export function decidePreferredLeader(view: LeadershipView & { readonly replicas: readonly number[] }):
  PreferredLeaderDecision {
  const preferred = view.replicas[0];
  assert(preferred !== undefined, 'a partition has at least one replica');
  if (preferred === view.self) return { kind: 'not_needed' };
  const problem = takeOverProblem(view, preferred);
  if (problem !== null) return { kind: 'unavailable', preferred, problem };
  return { kind: 'transfer', target: preferred };
}

/** A problem in words, for logs and replies. */
export function describeTakeOverProblem(brokerId: number, problem: TakeOverProblem): string {
  switch (problem) {
    case 'not_a_voter': return `broker ${brokerId} is not a voter of the partition's Raft group`;
    case 'unregistered': return `broker ${brokerId} is not registered`;
    case 'fenced': return `broker ${brokerId} is fenced (missed its heartbeats)`;
    case 'unreachable': return `broker ${brokerId} has not been heard from lately`;
    case 'leaving': return `broker ${brokerId} is shutting down`;
    case 'behind': return `broker ${brokerId} is not in sync (it lacks committed entries)`;
  }
}
