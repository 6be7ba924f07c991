/** A follower's handling of the leader's AppendEntries (§5.3), heartbeats and InstallSnapshot (§7). */
import type { NodeId, RaftIndex, Term } from './ids.js';
import type { AppendRequest, HeartbeatRequest, SnapshotRequest } from './messages.js';
import { MessageType } from './messages.js';
import type { Raft } from './raft.js';

function sendAppendResponse(r: Raft, to: NodeId, success: boolean, index: RaftIndex,
  hintIndex: RaftIndex = 0, hintTerm: Term = 0): void {
  r.send({ type: MessageType.appendResponse, groupId: r.config.groupId, from: r.id, to, term: r.term,
    success, index, hintIndex, hintTerm });
}

/**
 * §5.3: reject unless our log has an entry at prevLogIndex with prevLogTerm; otherwise delete any
 * conflicting entries, append the new ones, and advance commit to min(leader commit, last new).
 * A rejection carries a hint: our last entry at or below prevLogIndex whose term is not above
 * prevLogTerm, so the leader can skip a whole term of mismatching entries at once.
 */
export function onAppendRequest(r: Raft, m: AppendRequest): void {
  if (m.prevLogIndex < r.log.committed) {
    sendAppendResponse(r, m.from, true, r.log.committed);
    return;
  }
  const lastNewIndex = r.log.maybeAppend(m.prevLogIndex, m.prevLogTerm, m.entries, r.mutated.truncate);
  if (lastNewIndex !== undefined) {
    r.log.commitTo(Math.min(m.commitIndex, lastNewIndex));
    sendAppendResponse(r, m.from, true, lastNewIndex);
    return;
  }
  const hint = r.log.findConflictByTerm(Math.min(m.prevLogIndex, r.log.lastIndex()), m.prevLogTerm);
  sendAppendResponse(r, m.from, false, m.prevLogIndex, hint.index, hint.term);
}

/** The leader sends min(its commit, our match), which our log is known to hold. */
export function onHeartbeatRequest(r: Raft, m: HeartbeatRequest): void {
  r.log.commitTo(Math.min(m.commitIndex, r.log.lastIndex()));
  r.send({ type: MessageType.heartbeatResponse, groupId: r.config.groupId, from: r.id, to: m.from,
    term: r.term, readSeq: m.readSeq });
}

/**
 * §7: a snapshot we already cover is acknowledged with our commit; if our log holds the
 * snapshot's last entry we only move commit; otherwise the log is replaced by the snapshot.
 */
export function onSnapshotRequest(r: Raft, m: SnapshotRequest): void {
  const meta = m.snapshot.metadata;
  if (meta.index <= r.log.committed) {
    sendAppendResponse(r, m.from, true, r.log.committed);
    return;
  }
  if (r.log.matchTerm(meta.index, meta.term)) {
    r.log.commitTo(meta.index);
    sendAppendResponse(r, m.from, true, r.log.committed);
    return;
  }
  r.log.restore(m.snapshot);
  r.applyConf(meta.conf);
  sendAppendResponse(r, m.from, true, meta.index);
}
