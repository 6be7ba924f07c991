/** Leader election (§5.2, §5.4.1) with PreVote (thesis §9.6): campaigning, voting, tallying. */
import { Role, noNode } from './ids.js';
import type { VoteRequest, VoteResponse } from './messages.js';
import { MessageType } from './messages.js';
import { VoteResult, voteResult } from './quorum.js';
import type { Raft } from './raft.js';

export type CampaignKind = 'pre_vote' | 'vote';

/** Starts a pre-election (term unchanged) or an election (term + 1, vote for self). */
export function campaign(r: Raft, kind: CampaignKind, transfer: boolean): void {
  const preVote = kind === 'pre_vote';
  if (preVote) {
    r.becomePreCandidate();
  } else {
    r.becomeCandidate();
  }
  const voteTerm = preVote ? r.term + 1 : r.term;
  r.votes.set(r.id, true);
  if (voteResult(r.tracker.voters(), r.votes) === VoteResult.won) {
    onElectionWon(r, preVote);
    return;
  }
  const lastLogIndex = r.log.lastIndex();
  const lastLogTerm = r.log.lastTerm();
  for (const voter of r.tracker.voters()) {
    if (voter === r.id) continue;
    r.send({ type: MessageType.voteRequest, groupId: r.config.groupId, from: r.id, to: voter, term: voteTerm,
      preVote, lastLogIndex, lastLogTerm, transfer });
  }
}

function onElectionWon(r: Raft, preVote: boolean): void {
  if (preVote) {
    campaign(r, 'vote', false);
  } else {
    r.becomeLeader();
  }
}

/**
 * §5.2 and §5.4.1: grant at most one vote per term, first come first served, and only to a
 * candidate whose log is at least as up to date as ours. A pre-vote is granted on the same log
 * test for a future term, and records nothing. A replica recovering lost entries grants nothing.
 */
export function onVoteRequest(r: Raft, m: VoteRequest): void {
  const canVote = r.mutated.voteTwice || r.vote === m.from || (r.vote === noNode && r.leaderId === noNode) ||
    (m.preVote && m.term > r.term);
  const upToDate = r.mutated.voteWithoutLogCheck || r.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  // A replica that lost entries it had acknowledged must not decide an election (see recovering()).
  const granted = canVote && upToDate && !r.recovering();
  if (granted && !m.preVote) {
    r.electionElapsedTicks = 0;
    r.vote = m.from;
  }
  r.send({ type: MessageType.voteResponse, groupId: r.config.groupId, from: r.id, to: m.from,
    term: granted ? m.term : r.term, preVote: m.preVote, granted });
}

export function onVoteResponse(r: Raft, m: VoteResponse): void {
  const expectPreVote = r.role === Role.preCandidate;
  if (m.preVote !== expectPreVote) return;
  r.votes.set(m.from, m.granted);
  switch (voteResult(r.tracker.voters(), r.votes)) {
    case VoteResult.won:
      onElectionWon(r, expectPreVote);
      return;
    case VoteResult.lost:
      r.becomeFollower(r.term, noNode);
      return;
    case VoteResult.pending:
      return;
  }
}

