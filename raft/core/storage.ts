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
   * segment tail). It must cover every entry the replica may have acknowledged, not just its
   * persisted commit (see clampedInitialState). Until its log reaches this index again,
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

/**
 * The initial state of a log that may have lost entries it once held durably. The commit is
 * clamped to the log, as the core asserts it never runs past it, and recoveringThrough names the
 * highest index lost: the old commit, or lostThroughIndex when the storage knows how far its log
 * once reached. The commit alone is not enough: a replica acknowledges entries before it learns
 * they are committed, and a leader may commit them on that acknowledgement after the loss.
 */
export function clampedInitialState(hardState: HardState, confState: ConfState, lastIndex: RaftIndex,
  lostThroughIndex: RaftIndex = 0): InitialState {
  const recoveringThrough = Math.max(hardState.commit, lostThroughIndex);
  if (recoveringThrough <= lastIndex) return { hardState, confState };
  return { hardState: { ...hardState, commit: Math.min(hardState.commit, lastIndex) }, confState, recoveringThrough };
}

export function isStorageError(value: unknown): value is StorageError {
  return value === StorageError.compacted || value === StorageError.unavailable;
}
