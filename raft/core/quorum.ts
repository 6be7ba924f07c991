/** Majority arithmetic over the voter set: commit index and election tally (pure functions). */
import type { NodeId, RaftIndex } from './ids.js';

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The highest index that a majority of voters has (§5.3); 0 with no voters. */
export function committedIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => RaftIndex): RaftIndex {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf);
  matches.sort((a, b) => b - a);
  return matches[majority(voters.length) - 1] ?? 0;
}

export const VoteResult = { won: 'won', lost: 'lost', pending: 'pending' } as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** Tally of granted and rejected votes among voters (responses from non-voters are ignored). */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const voter of voters) {
    const vote = votes.get(voter);
    if (vote === true) granted += 1;
    if (vote === false) rejected += 1;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return VoteResult.won;
  if (voters.length - rejected < needed) return VoteResult.lost;
  return VoteResult.pending;
}
