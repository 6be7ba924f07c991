/**
 * Identifiers and counters of the Raft core. They are plain numbers (safe integers >= 0) so that
 * index arithmetic stays cheap; the core checks them with assertNatural where they enter
 * (config, storage, messages from the host).
 */

/** A Raft term: counts elections, never decreases on a node. */
export type Term = number;
/** A position in the Raft log, 1-based; 0 means "before the first entry". */
export type RaftIndex = number;
/** A replica id, >= 1. */
export type NodeId = number;
/** The Raft group (partition or controller) a message belongs to; the host multiplexes groups. */
export type GroupId = number;

/** "No node": no vote cast, no leader known. */
export const noNode: NodeId = 0;

export const Role = {
  follower: 'follower',
  preCandidate: 'pre_candidate',
  candidate: 'candidate',
  leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];
