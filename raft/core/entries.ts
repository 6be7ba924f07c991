/** Log entries, hard state, membership and snapshots: the data the host persists. */
import type { NodeId, RaftIndex, Term } from './ids.js';

export const EntryType = { normal: 'normal', noop: 'noop', config: 'config' } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: Term;
  readonly index: RaftIndex;
  readonly type: EntryType;
  /** Opaque payload; for 'config' entries an encoded ConfChange (conf_change.ts). */
  readonly data: Uint8Array;
}

/** What must be durable before the messages that depend on it leave the node. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: RaftIndex;
}

export const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Membership: voters count towards quorums, learners only receive the log. Disjoint sets. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export const emptyConfState: ConfState = { voters: [], learners: [] };

export interface SnapshotMetadata {
  /** The last log index the snapshot covers, and its term. */
  readonly index: RaftIndex;
  readonly term: Term;
  /** Membership as of index. */
  readonly conf: ConfState;
}

/** A state machine image at metadata.index; data is opaque bytes made by the host. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/** Fixed per-entry cost counted against byte limits besides the payload. */
export const entryOverheadBytes = 24;

export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes;
}

/** Sum of entry sizes, for limits on messages and uncommitted bytes. */
export function entriesSizeBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const entry of entries) total += entrySizeBytes(entry);
  return total;
}
