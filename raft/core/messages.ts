/**
 * Messages between replicas of one group. Every message carries its groupId so the host can
 * multiplex many groups on one connection, and the sender's term for the term checks of §5.1.
 */
import type { Entry, Snapshot } from './entries.js';
import type { GroupId, NodeId, RaftIndex, Term } from './ids.js';

export const MessageType = {
  voteRequest: 'vote_request',
  voteResponse: 'vote_response',
  appendRequest: 'append_request',
  appendResponse: 'append_response',
  heartbeatRequest: 'heartbeat_request',
  heartbeatResponse: 'heartbeat_response',
  snapshotRequest: 'snapshot_request',
  timeoutNow: 'timeout_now',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

interface Envelope {
  readonly groupId: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** RequestVote (§5.2) or PreVote (the thesis §9.6): the candidate's last log position. */
export interface VoteRequest extends Envelope {
  readonly type: typeof MessageType.voteRequest;
  readonly preVote: boolean;
  readonly lastLogIndex: RaftIndex;
  readonly lastLogTerm: Term;
  /** Sent after TimeoutNow: voters skip the leader-lease check. */
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: typeof MessageType.voteResponse;
  readonly preVote: boolean;
  readonly granted: boolean;
}

/** AppendEntries (§5.3); commitIndex is the leader's commit index. */
export interface AppendRequest extends Envelope {
  readonly type: typeof MessageType.appendRequest;
  readonly prevLogIndex: RaftIndex;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly commitIndex: RaftIndex;
}

/**
 * Reply to AppendRequest and SnapshotRequest. On success index is the last index known to match
 * the leader. On rejection index is the rejected prevLogIndex, and (hintIndex, hintTerm) is the
 * follower's last entry that may still match, for fast back-off.
 */
export interface AppendResponse extends Envelope {
  readonly type: typeof MessageType.appendResponse;
  readonly success: boolean;
  readonly index: RaftIndex;
  readonly hintIndex: RaftIndex;
  readonly hintTerm: Term;
}

/** Empty AppendEntries; readSeq > 0 asks the follower to confirm for a ReadIndex round. */
export interface HeartbeatRequest extends Envelope {
  readonly type: typeof MessageType.heartbeatRequest;
  readonly commitIndex: RaftIndex;
  readonly readSeq: number;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: typeof MessageType.heartbeatResponse;
  readonly readSeq: number;
}

/** InstallSnapshot (§7), in one message; the follower answers with an AppendResponse. */
export interface SnapshotRequest extends Envelope {
  readonly type: typeof MessageType.snapshotRequest;
  readonly snapshot: Snapshot;
}

/** Leadership transfer: the target starts an election at once (thesis §3.10). */
export interface TimeoutNow extends Envelope {
  readonly type: typeof MessageType.timeoutNow;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow;

/** Distributes Omit over the union so that each variant keeps its own fields. */
export type MessageBody<M extends Message = Message> = M extends Message ? Omit<M, keyof Envelope> : never;
