/**
 * The replica's view of its log: durable storage plus the unstable tail, with the commit and
 * apply positions. Invariants: applied <= applying <= committed <= lastIndex(), and committed
 * entries are handed out for applying only once they are durable.
 */
import { assert, defined } from './assert.js';
import type { Entry, Snapshot } from './entries.js';
import { EntryType, entrySizeBytes } from './entries.js';
import type { RaftIndex, Term } from './ids.js';
import type { LogStorage } from './storage.js';
import { StorageError, isStorageError } from './storage.js';
import { Unstable } from './unstable.js';

export interface ConflictHint {
  readonly index: RaftIndex;
  readonly term: Term;
}

const bytesUnlimited = Number.MAX_SAFE_INTEGER;

export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  committed: RaftIndex;
  /** Highest index handed to the host for applying (in a Ready not yet advanced, or earlier). */
  applying: RaftIndex;
  applied: RaftIndex;

  constructor(storage: LogStorage, committed: RaftIndex) {
    this.storage = storage;
    this.unstable = new Unstable(storage.lastIndex() + 1);
    const snapshotIndex = storage.firstIndex() - 1;
    assert(committed >= snapshotIndex && committed <= storage.lastIndex(),
      () => `commit ${committed} outside [${snapshotIndex}, ${storage.lastIndex()}]`);
    this.committed = committed;
    this.applying = snapshotIndex;
    this.applied = snapshotIndex;
  }

  firstIndex(): RaftIndex {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): RaftIndex {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index that is durable and not about to be overwritten by the unstable tail. */
  durableLastIndex(): RaftIndex {
    if (this.unstable.snapshot !== undefined) return 0;
    if (this.unstable.entries.length === 0) return this.storage.lastIndex();
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
  }

  termOrError(index: RaftIndex): Term | StorageError {
    const unstableTerm = this.unstable.maybeTerm(index);
    if (unstableTerm !== undefined) return unstableTerm;
    if (index < this.firstIndex() - 1) return StorageError.compacted;
    if (index > this.lastIndex()) return StorageError.unavailable;
    return this.storage.term(index);
  }

  /** Term at index, or 0 when the index is compacted or beyond the log. */
  termOrZero(index: RaftIndex): Term {
    const term = this.termOrError(index);
    return isStorageError(term) ? 0 : term;
  }

  lastTerm(): Term {
    const term = this.termOrError(this.lastIndex());
    assert(typeof term === 'number', 'the last term is always known');
    return term;
  }

  matchTerm(index: RaftIndex, term: Term): boolean {
    return this.termOrError(index) === term;
  }

  /** §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: RaftIndex, lastTerm: Term): boolean {
    const ourLastTerm = this.lastTerm();
    return lastTerm > ourLastTerm || (lastTerm === ourLastTerm && lastIndex >= this.lastIndex());
  }

  /** Appends entries that follow on from the log (a leader's own proposals). */
  append(entries: readonly Entry[]): RaftIndex {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    assert(first.index - 1 >= this.committed, () => `append at ${first.index} overwrites committed`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /**
   * §5.3 follower append: if the log matches (prevIndex, prevTerm), append entries from the first
   * conflict on and return the index of the last new entry, else undefined.
   */
  maybeAppend(prevIndex: RaftIndex, prevTerm: Term, entries: readonly Entry[], truncate: boolean):
    RaftIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      assert(conflictIndex > this.committed, () => `conflict ${conflictIndex} <= commit ${this.committed}`);
      const lastIndex = this.lastIndex();
      // TEST ONLY (Mutation.noTruncateOnConflict): keep conflicting entries, append only beyond them.
      const from = truncate ? conflictIndex : Math.max(conflictIndex, lastIndex + 1);
      const tail = entries.slice(from - prevIndex - 1);
      if (tail.length > 0) this.append(tail);
    }
    return lastNewIndex;
  }

  /** Index of the first entry whose term differs from ours or that we lack; 0 if none. */
  findConflict(entries: readonly Entry[]): RaftIndex {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The last index <= index whose term is <= term, with its term: where a leader (or follower)
   * can resume probing after a rejection without stepping back one entry at a time.
   */
  findConflictByTerm(index: RaftIndex, term: Term): ConflictHint {
    let probe = Math.min(index, this.lastIndex());
    for (;;) {
      const probeTerm = this.termOrError(probe);
      if (isStorageError(probeTerm)) return { index: probe, term: 0 };
      if (probeTerm <= term) return { index: probe, term: probeTerm };
      probe -= 1;
    }
  }

  commitTo(index: RaftIndex): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Entries [lo, hiExclusive) up to bytesMax (at least one), from storage and the unstable tail. */
  slice(lo: RaftIndex, hiExclusive: RaftIndex, bytesMax: number): readonly Entry[] | StorageError {
    if (lo >= hiExclusive) return [];
    if (lo < this.firstIndex()) return StorageError.compacted;
    assert(hiExclusive <= this.lastIndex() + 1, () => `slice end ${hiExclusive} beyond the log`);
    const offset = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hiExclusive, offset), bytesMax);
      if (isStorageError(stored)) return stored;
      result = stored.slice();
      if (lo + stored.length < Math.min(hiExclusive, offset)) return result;
    }
    if (hiExclusive > offset) {
      let bytes = 0;
      for (const entry of result) bytes += entrySizeBytes(entry);
      for (const entry of this.unstable.slice(Math.max(lo, offset), hiExclusive)) {
        bytes += entrySizeBytes(entry);
        if (result.length > 0 && bytes > bytesMax) break;
        result.push(entry);
      }
    }
    return result;
  }

  entriesFrom(lo: RaftIndex, bytesMax: number): readonly Entry[] | StorageError {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, bytesMax);
  }

  /** Committed, durable entries not yet handed out for applying; advances applying past them. */
  takeCommittedEntries(bytesMax: number): readonly Entry[] {
    const hi = Math.min(this.committed, this.durableLastIndex());
    if (hi <= this.applying) return [];
    const entries = this.slice(this.applying + 1, hi + 1, bytesMax);
    assert(!isStorageError(entries), () => `committed entries after ${this.applying} unreadable`);
    this.applying = defined(entries[entries.length - 1], 'last committed entry').index;
    return entries;
  }

  hasCommittedEntries(): boolean {
    return Math.min(this.committed, this.durableLastIndex()) > this.applying;
  }

  /** Whether a committed config entry is not yet applied (a node must not campaign then). */
  hasUnappliedConfig(): boolean {
    if (this.committed <= this.applying) return false;
    const entries = this.slice(this.applying + 1, this.committed + 1, bytesUnlimited);
    if (isStorageError(entries)) return true;
    return entries.some((entry) => entry.type === EntryType.config);
  }

  appliedTo(index: RaftIndex): void {
    assert(index <= this.applying && index >= this.applied, () => `applied ${index} out of order`);
    this.applied = index;
  }

  snapshot(): Snapshot | StorageError {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log by a leader's snapshot (§7); entries up to its index count as committed. */
  restore(snapshot: Snapshot): void {
    assert(snapshot.metadata.index > this.committed, 'restore must move commit forward');
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** The host installed the snapshot: its index is applied. */
  snapshotApplied(index: RaftIndex): void {
    this.unstable.stableSnapshotTo(index);
    this.applying = Math.max(this.applying, index);
    this.applied = Math.max(this.applied, index);
  }
}
