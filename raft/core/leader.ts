/**
 * The leader's replication (§5.3): pipelined appends within each follower's inflight window,
 * fast back-off on rejection, InstallSnapshot for followers behind the log start, the
 * current-term commit rule (§5.4.2), heartbeats, and ReadIndex confirmation.
 */
import { assert } from './assert.js';
import type { NodeId } from './ids.js';
import type { AppendResponse, HeartbeatResponse } from './messages.js';
import { MessageType } from './messages.js';
import { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { isStorageError } from './storage.js';

/** §5.4.2: commit the majority match index only if its entry is of the current term. */
export function maybeCommit(r: Raft): boolean {
  const index = r.tracker.committedIndex();
  if (index <= r.log.committed) return false;
  if (!r.mutated.commitAnyTerm && r.log.termOrZero(index) !== r.term) return false;
  r.log.commitTo(index);
  return true;
}

/** Sends the next append to a follower if its progress allows; returns whether one was sent. */
export function sendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const progress = r.tracker.progress.get(to);
  if (progress === undefined || to === r.id || progress.isPaused()) return false;
  const prevLogIndex = progress.next - 1;
  const prevLogTerm = r.log.termOrError(prevLogIndex);
  const entries = r.log.entriesFrom(progress.next, r.config.appendBytesMax);
  if (isStorageError(prevLogTerm) || isStorageError(entries)) return sendSnapshot(r, to);
  if (entries.length === 0 && !sendIfEmpty) return false;
  r.send({ type: MessageType.appendRequest, groupId: r.config.groupId, from: r.id, to, term: r.term,
    prevLogIndex, prevLogTerm, entries, commitIndex: r.log.committed });
  progress.sentEntries(prevLogIndex + entries.length, entries.length);
  return true;
}

/** §7: the entries the follower needs are compacted; send the latest snapshot instead. */
function sendSnapshot(r: Raft, to: NodeId): boolean {
  const progress = r.tracker.progress.get(to);
  if (progress === undefined || !progress.recentActive) return false;
  const snapshot = r.log.snapshot();
  if (isStorageError(snapshot)) return false;
  progress.becomeSnapshot(snapshot.metadata.index);
  r.send({ type: MessageType.snapshotRequest, groupId: r.config.groupId, from: r.id, to, term: r.term,
    snapshot });
  return true;
}

export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.progress.keys()) {
    if (id !== r.id) sendAppend(r, id, true);
  }
}

/** The commit index moved: tell the followers now, or (broadcastCommit off) with what goes out next. */
export function announceCommit(r: Raft): void {
  if (r.config.broadcastCommit) {
    bcastAppend(r);
    return;
  }
  // Entries still waiting for a follower go now as always; the commit rides on them or on a heartbeat.
  for (const id of r.tracker.progress.keys()) {
    if (id !== r.id) sendAppend(r, id, false);
  }
}

export function bcastHeartbeat(r: Raft): void {
  const readSeq = r.readIndexQueue.size() > 0 ? r.readIndexQueue.lastSeqValue() : 0;
  for (const [id, progress] of r.tracker.progress) {
    if (id === r.id) continue;
    r.send({ type: MessageType.heartbeatRequest, groupId: r.config.groupId, from: r.id, to: id, term: r.term,
      commitIndex: Math.min(progress.match, r.log.committed), readSeq });
  }
}

/** A lost snapshot must not stall a follower forever: fall back to probing after a timeout. */
export function tickSnapshots(r: Raft, elapsedTicks: number): void {
  for (const progress of r.tracker.progress.values()) {
    if (progress.state !== ProgressState.snapshot) continue;
    progress.snapshotElapsedTicks += elapsedTicks;
    if (progress.snapshotElapsedTicks >= r.config.snapshotTimeoutTicks) progress.becomeProbe();
  }
}

export function onAppendResponse(r: Raft, m: AppendResponse): void {
  const progress = r.tracker.progress.get(m.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  if (!m.success) {
    let matchHint = m.hintIndex;
    if (m.hintTerm > 0) matchHint = r.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
    if (progress.maybeDecrTo(m.index, matchHint)) {
      if (progress.state === ProgressState.replicate) progress.becomeProbe();
      sendAppend(r, m.from, true);
    }
    return;
  }
  const wasPaused = progress.isPaused();
  if (!progress.maybeUpdate(m.index)) {
    if (wasPaused && progress.state === ProgressState.probe) sendAppend(r, m.from, true);
    return;
  }
  switch (progress.state) {
    case ProgressState.probe:
      progress.becomeReplicate();
      break;
    case ProgressState.snapshot:
      if (progress.match + 1 >= r.log.firstIndex()) progress.becomeReplicate();
      break;
    case ProgressState.replicate:
      progress.inflights.freeLE(m.index);
      break;
  }
  if (maybeCommit(r)) announceCommit(r);
  // Pipelining: fill the window; the loop ends when the window is full or nothing is left.
  for (let sent = 0; sent <= r.config.inflightMessagesMax; sent++) {
    if (!sendAppend(r, m.from, sent === 0 && wasPaused)) break;
  }
  if (m.from === r.leadTransferee && progress.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  assert(to !== r.id, 'no TimeoutNow to self');
  r.send({ type: MessageType.timeoutNow, groupId: r.config.groupId, from: r.id, to, term: r.term });
}

export function onHeartbeatResponse(r: Raft, m: HeartbeatResponse): void {
  const progress = r.tracker.progress.get(m.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  progress.probeSent = false;
  // A lost append must not keep a full window closed forever.
  if (progress.state === ProgressState.replicate && progress.inflights.full()) {
    progress.inflights.freeFirstOne();
  }
  if (progress.match < r.log.lastIndex()) sendAppend(r, m.from, true);
  if (m.readSeq === 0 || progress.isLearner) return;
  const released = r.readIndexQueue.ack(m.from, m.readSeq, (acks) => r.tracker.hasQuorum(acks));
  for (const read of released) r.readStates.push(read);
}
