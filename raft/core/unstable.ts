/**
 * The tail of the log that the host has not yet made durable: entries (and possibly a snapshot
 * received from the leader) handed out in Ready and removed once advance() confirms them.
 * Invariant: entries[i].index === offset + i, and a snapshot, if any, sits at offset - 1.
 */
import { assert, defined } from './assert.js';
import type { Entry, Snapshot } from './entries.js';
import type { RaftIndex, Term } from './ids.js';

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  offset: RaftIndex;

  constructor(offset: RaftIndex) {
    this.offset = offset;
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
    return true;
  }

  stableSnapshotTo(index: RaftIndex): void {
    if (this.snapshot?.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
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
    assert(defined(this.entries[0], 'entry').index === this.offset, 'unstable offset mismatch');
  }

  /** Entries [lo, hiExclusive), which must lie inside the unstable tail. */
  slice(lo: RaftIndex, hiExclusive: RaftIndex): Entry[] {
    assert(lo >= this.offset && hiExclusive <= this.offset + this.entries.length,
      () => `unstable slice [${lo}, ${hiExclusive}) outside [${this.offset}, ` +
        `${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hiExclusive - this.offset);
  }
}
