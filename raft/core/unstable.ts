/**
 * The tail of the log that the host has not yet made durable: entries (and possibly a snapshot
 * received from the leader) handed out in Ready and removed once advance() confirms them.
 * Entries up to inProgressTo (and the snapshot, when snapshotInProgress) are in Readies not yet
 * advanced; the next Ready hands out only those after them.
 * Invariants: entries[i].index === offset + i; a snapshot, if any, sits at offset - 1;
 * offset - 1 <= inProgressTo <= the last unstable index (offset - 1 when there are none).
 */
import { assert, defined } from './assert.js';
import type { Entry, Snapshot } from './entries.js';
import type { RaftIndex, Term } from './ids.js';

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: RaftIndex;
  inProgressTo: RaftIndex;
  snapshotInProgress = false;

  constructor(offset: RaftIndex) {
    this.offset = offset;
    this.inProgressTo = offset - 1;
  }

  /** Entries not yet handed out in a Ready. */
  nextEntries(): Entry[] {
    return this.entries.slice(this.inProgressTo + 1 - this.offset);
  }

  hasNextEntries(): boolean {
    return this.inProgressTo + 1 < this.offset + this.entries.length;
  }

  /** The snapshot, if it is not yet handed out in a Ready. */
  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Everything unstable is now in a Ready being persisted. */
  acceptInProgress(): void {
    this.inProgressTo = this.offset + this.entries.length - 1;
    this.snapshotInProgress = this.snapshot !== undefined;
  }

  maybeFirstIndex(): RaftIndex | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): RaftIndex | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  maybeTerm(index: RaftIndex): Term | undefined {
    if (index < this.offset) {
      const snapshot = this.snapshot;
      return snapshot !== undefined && snapshot.metadata.index === index ? snapshot.metadata.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** The host made entries up to index durable; drop them if they are still the same entries. */
  stableTo(index: RaftIndex, term: Term): boolean {
    if (index < this.offset || this.maybeTerm(index) !== term) return false;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    this.inProgressTo = Math.max(this.inProgressTo, index);
    this.checkInProgress();
    return true;
  }

  stableSnapshotTo(index: RaftIndex): void {
    if (this.snapshot?.metadata.index !== index) return;
    this.snapshot = undefined;
    this.snapshotInProgress = false;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
    this.inProgressTo = this.offset - 1;
    this.snapshotInProgress = false;
  }

  /** Appends entries, truncating any unstable entries they overwrite. */
  truncateAndAppend(entries: readonly Entry[]): void {
    const first = defined(entries[0], 'first entry');
    const after = first.index;
    if (after === this.offset + this.entries.length) {
      this.entries.push(...entries);
    } else if (after <= this.offset) {
      // Replaces the whole unstable tail; the host overwrites the durable suffix from `after`.
      this.offset = after;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset);
      this.entries.push(...entries);
    }
    // Entries replaced while a Ready holds them are handed out again, as the new entries.
    this.inProgressTo = Math.min(this.inProgressTo, after - 1);
    assert(defined(this.entries[0], 'entry').index === this.offset, 'unstable offset mismatch');
    this.checkInProgress();
  }

  private checkInProgress(): void {
    assert(this.inProgressTo >= this.offset - 1 && this.inProgressTo <= this.offset + this.entries.length - 1,
      () => `entries in progress to ${this.inProgressTo} outside [${this.offset - 1}, ` +
        `${this.offset + this.entries.length - 1}]`);
  }

  /** Entries [lo, hiExclusive), which must lie inside the unstable tail. */
  slice(lo: RaftIndex, hiExclusive: RaftIndex): Entry[] {
    assert(lo >= this.offset && hiExclusive <= this.offset + this.entries.length,
      () => `unstable slice [${lo}, ${hiExclusive}) outside [${this.offset}, ` +
        `${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hiExclusive - this.offset);
  }
}
