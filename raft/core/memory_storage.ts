/**
 * In-memory LogStorage for tests and the simulator. Its write methods mirror the on-disk log:
 * append (truncating any conflicting suffix), setHardState, applySnapshot, createSnapshot and
 * compact (delete the prefix covered by a snapshot).
 */
import { assert, defined } from './assert.js';
import type { ConfState, Entry, HardState, Snapshot } from './entries.js';
import { emptyConfState, emptyHardState, entrySizeBytes } from './entries.js';
import type { RaftIndex, Term } from './ids.js';
import type { InitialState, LogStorage } from './storage.js';
import { StorageError, clampedInitialState } from './storage.js';

export class MemoryStorage implements LogStorage {
  private hardStateValue: HardState = emptyHardState;
  private snapshotValue: Snapshot;
  /** entriesValue[i] has index snapshotIndex + 1 + i. */
  private entriesValue: Entry[] = [];
  /**
   * Durable: the last index of the log before a dropDurableSuffix, until the log reaches it again
   * (0 then). It survives crashes, unlike a clamped commit, which the next hard state overwrites.
   */
  private lostThroughIndex: RaftIndex = 0;

  constructor(confState: ConfState = emptyConfState) {
    this.snapshotValue = { metadata: { index: 0, term: 0, conf: confState }, data: new Uint8Array(0) };
  }

  /** A log that lost entries clamps its commit and reports what it lost (clampedInitialState). */
  initialState(): InitialState {
    return clampedInitialState(this.hardStateValue, this.snapshotValue.metadata.conf, this.lastIndex(),
      this.lostThroughIndex);
  }

  hardState(): HardState {
    return this.hardStateValue;
  }

  firstIndex(): RaftIndex {
    return this.snapshotValue.metadata.index + 1;
  }

  lastIndex(): RaftIndex {
    return this.snapshotValue.metadata.index + this.entriesValue.length;
  }

  term(index: RaftIndex): Term | StorageError {
    const snapshotIndex = this.snapshotValue.metadata.index;
    if (index < snapshotIndex) return StorageError.compacted;
    if (index === snapshotIndex) return this.snapshotValue.metadata.term;
    if (index > this.lastIndex()) return StorageError.unavailable;
    return defined(this.entriesValue[index - snapshotIndex - 1], 'entry').term;
  }

  entries(lo: RaftIndex, hiExclusive: RaftIndex, bytesMax: number): readonly Entry[] | StorageError {
    assert(lo <= hiExclusive, () => `bad range [${lo}, ${hiExclusive})`);
    if (lo < this.firstIndex()) return StorageError.compacted;
    if (hiExclusive > this.lastIndex() + 1) return StorageError.unavailable;
    const offset = this.snapshotValue.metadata.index + 1;
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = lo; index < hiExclusive; index++) {
      const entry = defined(this.entriesValue[index - offset], 'entry');
      bytes += entrySizeBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  snapshot(): Snapshot {
    return this.snapshotValue;
  }

  setHardState(hardState: HardState): void {
    this.hardStateValue = hardState;
  }

  /** Appends entries, first deleting every entry at or after entries[0].index. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.snapshotValue.metadata.index + 1;
    assert(first.index >= offset, () => `append at ${first.index} below first index ${offset}`);
    assert(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap`);
    this.entriesValue.length = first.index - offset;
    for (const entry of entries) {
      assert(entry.index === offset + this.entriesValue.length, 'appended entries must be contiguous');
      this.entriesValue.push(entry);
    }
    this.forgetLossOnceRecovered();
  }

  /**
   * TEST ONLY: loses the durable entries from fromIndex on, as a corrupt segment tail would (the
   * simulator's disk fault). The snapshot is kept, so fromIndex must lie above it.
   */
  dropDurableSuffix(fromIndex: RaftIndex): void {
    const offset = this.snapshotValue.metadata.index + 1;
    assert(fromIndex >= offset, () => `drop from ${fromIndex} below first index ${offset}`);
    if (fromIndex > this.lastIndex()) return;
    this.lostThroughIndex = Math.max(this.lostThroughIndex, this.lastIndex());
    this.entriesValue.length = fromIndex - offset;
  }

  private forgetLossOnceRecovered(): void {
    if (this.lastIndex() >= this.lostThroughIndex) this.lostThroughIndex = 0;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    assert(snapshot.metadata.index >= this.snapshotValue.metadata.index, 'snapshot must not go back');
    this.snapshotValue = snapshot;
    this.entriesValue = [];
    this.forgetLossOnceRecovered();
  }

  /** Records a snapshot the host's state machine made at index (<= last index). */
  createSnapshot(index: RaftIndex, conf: ConfState, data: Uint8Array): Snapshot {
    assert(index > this.snapshotValue.metadata.index && index <= this.lastIndex(),
      () => `snapshot index ${index} out of range`);
    const term = this.term(index);
    assert(typeof term === 'number', 'snapshot term must be known');
    const offset = this.snapshotValue.metadata.index + 1;
    this.entriesValue = this.entriesValue.slice(index - offset + 1);
    this.snapshotValue = { metadata: { index, term, conf }, data };
    return this.snapshotValue;
  }

  /** Copies the durable contents, for the simulator's crash model. */
  clone(): MemoryStorage {
    const copy = new MemoryStorage(this.snapshotValue.metadata.conf);
    copy.hardStateValue = this.hardStateValue;
    copy.snapshotValue = this.snapshotValue;
    copy.entriesValue = this.entriesValue.slice();
    copy.lostThroughIndex = this.lostThroughIndex;
    return copy;
  }
}
