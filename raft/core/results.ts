/** Outcomes of requests to the core: expected failures are values, never exceptions. */
import type { NodeId, RaftIndex, Term } from './ids.js';

export const DropReason = {
  /** A leadership transfer is under way; retry at the new leader. */
  transferringLeadership: 'transferring_leadership',
  /** Back-pressure: too many uncommitted bytes. */
  uncommittedBytesMax: 'uncommitted_bytes_max',
  /** A previous membership change is not applied yet. */
  confChangePending: 'conf_change_pending',
  /** The membership change does not apply to the current membership. */
  invalidConfChange: 'invalid_conf_change',
  readIndexQueueFull: 'read_index_queue_full',
  /** A new leader has not committed an entry of its term yet; retry shortly. */
  leaderNotReady: 'leader_not_ready',
  /** The transfer target is not a voter, or is this node. */
  invalidTransferTarget: 'invalid_transfer_target',
} as const;
export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export type ProposeResult =
  | { readonly kind: 'accepted'; readonly index: RaftIndex; readonly term: Term }
  | { readonly kind: 'not_leader'; readonly leaderId: NodeId }
  | { readonly kind: 'dropped'; readonly reason: DropReason };

export type RequestResult =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'not_leader'; readonly leaderId: NodeId }
  | { readonly kind: 'dropped'; readonly reason: DropReason };

export const accepted = { kind: 'accepted' } as const;

export function notLeader(leaderId: NodeId): { readonly kind: 'not_leader'; readonly leaderId: NodeId } {
  return { kind: 'not_leader', leaderId };
}

export function dropped(reason: DropReason): { readonly kind: 'dropped'; readonly reason: DropReason } {
  return { kind: 'dropped', reason };
}
