/** Client and admin requests to a leader: proposals, membership changes, transfer, ReadIndex. */
import type { ConfChange } from './conf_change.js';
import { confChangeProblem, encodeConfChange } from './conf_change.js';
import type { Entry } from './entries.js';
import { EntryType, entryOverheadBytes } from './entries.js';
import type { NodeId } from './ids.js';
import { Role, noNode } from './ids.js';
import { bcastHeartbeat, sendAppend, sendTimeoutNow } from './leader.js';
import type { Raft } from './raft.js';
import type { ProposeResult, RequestResult } from './results.js';
import { DropReason, accepted, dropped, notLeader } from './results.js';

function proposeEntry(r: Raft, type: EntryType, data: Uint8Array): ProposeResult {
  if (r.role !== Role.leader) return notLeader(r.leaderId);
  if (r.leadTransferee !== noNode) return dropped(DropReason.transferringLeadership);
  const bytes = data.byteLength + entryOverheadBytes;
  // Back-pressure, but a single entry always fits when nothing is outstanding.
  if (r.uncommittedBytes > 0 && r.uncommittedBytes + bytes > r.config.uncommittedBytesMax) {
    return dropped(DropReason.uncommittedBytesMax);
  }
  const entry: Entry = { term: r.term, index: 0, type, data };
  const index = r.appendEntries([entry]);
  return { kind: 'accepted', index, term: r.term };
}

export function propose(r: Raft, data: Uint8Array): ProposeResult {
  return proposeEntry(r, EntryType.normal, data);
}

/**
 * One membership change at a time: refused while an earlier one is unapplied (which also covers
 * the new leader's no-op, so a leader has committed an entry of its term before any change).
 */
export function proposeConfChange(r: Raft, change: ConfChange): ProposeResult {
  if (r.role !== Role.leader) return notLeader(r.leaderId);
  if (r.pendingConfIndex > r.log.applying) return dropped(DropReason.confChangePending);
  if (confChangeProblem(r.tracker.conf, change) !== undefined) return dropped(DropReason.invalidConfChange);
  const result = proposeEntry(r, EntryType.config, encodeConfChange(change));
  if (result.kind === 'accepted') r.pendingConfIndex = result.index;
  return result;
}

/** Thesis §3.10: bring the target up to date, then tell it to start an election at once. */
export function transferLeadership(r: Raft, target: NodeId): RequestResult {
  if (r.role !== Role.leader) return notLeader(r.leaderId);
  if (target === r.id || !r.tracker.isVoter(target)) return dropped(DropReason.invalidTransferTarget);
  if (r.leadTransferee === target) return accepted;
  r.leadTransferee = target;
  // The transfer is abandoned if it has not finished within an election timeout.
  r.electionElapsedTicks = 0;
  const progress = r.tracker.progress.get(target);
  if (progress !== undefined && progress.match === r.log.lastIndex()) {
    sendTimeoutNow(r, target);
  } else {
    sendAppend(r, target, true);
  }
  return accepted;
}

/**
 * Thesis §6.4: a read at the current commit index, served once a heartbeat round confirms that
 * this node is still leader. A new leader first needs an entry of its term committed.
 */
export function readIndex(r: Raft, context: number): RequestResult {
  if (r.role !== Role.leader) return notLeader(r.leaderId);
  if (r.log.termOrZero(r.log.committed) !== r.term) return dropped(DropReason.leaderNotReady);
  if (r.tracker.voters().length === 1) {
    r.readStates.push({ context, index: r.log.committed });
    return accepted;
  }
  if (r.readIndexQueue.full()) return dropped(DropReason.readIndexQueueFull);
  r.readIndexQueue.add(context, r.log.committed, r.id);
  bcastHeartbeat(r);
  return accepted;
}
