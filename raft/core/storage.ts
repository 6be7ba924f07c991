/**
 * The read side of a replica's durable Raft state, implemented by the host (storage/ on disk,
 * MemoryStorage in tests). The core only reads it; the host writes what Ready tells it to and
 * then calls RawNode.advance(). Expected failures are values, not exceptions.
 *
 * Index layout: entries firstIndex()..lastIndex() are readable; firstIndex() - 1 is the index of
 * the latest snapshot (0 if none), whose term term() still answers.
 */
import type { ConfState, Entry, HardState, Snapshot } from './entries.js';
import type { RaftIndex, Term } from './ids.js';

export const StorageError = {
  /** The index is below firstIndex() - 1: compacted into the snapshot. */
  compacted: 'compacted',
  /** The index is above lastIndex(), or a snapshot is not ready yet: try again later. */
  unavailable: 'unavailable',
} as const;
export type StorageError = (typeof StorageError)[keyof typeof StorageError];

export interface InitialState {
  readonly hardState: HardState;
  /** Membership as of the snapshot (firstIndex() - 1); later config entries are re-applied. */
  readonly confState: ConfState;
  /**
   * Set when entries up to this index were durable once but the log lost them (a corrupt or torn
   * segment tail cut below the persisted commit index). Until its log reaches this index again,
   * from a leader, the replica neither votes nor campaigns: otherwise it could help elect a leader
   * that lacks entries it had acknowledged, and lose committed data.
   */
  readonly recoveringThrough?: RaftIndex;
}

export interface LogStorage {
  initialState(): InitialState;
  firstIndex(): RaftIndex;
  lastIndex(): RaftIndex;
  /** Term of the entry at index, for index in [firstIndex() - 1, lastIndex()]. */
  term(index: RaftIndex): Term | StorageError;
  /**
   * Entries [lo, hiExclusive), stopping before bytesMax is exceeded but always returning at least
   * one entry when lo < hiExclusive.
   */
  entries(lo: RaftIndex, hiExclusive: RaftIndex, bytesMax: number): readonly Entry[] | StorageError;
  /** The latest snapshot, or unavailable while the host is still producing one. */
  snapshot(): Snapshot | StorageError;
}

export function isStorageError(value: unknown): value is StorageError {
  return value === StorageError.compacted || value === StorageError.unavailable;
}
