/**
 * The tail of a Raft log kept in memory as it was appended, so the reads Raft makes right after an
 * append (committed entries to apply, entries for a follower the leader's window held back, the
 * term at prevLogIndex) do not go back to the segment files: each such read cost a file read, a
 * CRC pass over the frames, an index lookup and a fresh Buffer for the garbage collector.
 *
 * Holds a contiguous run of entries [first, last] ending at the log's last index, bounded in
 * bytes and in age (at least the newest entry is kept). The age bound is for the garbage
 * collector: an entry's payload is an external buffer (often a view of the ZeroMQ frame it came
 * in), and one held across two young-generation collections is promoted, so it is freed only by a
 * full collection. Under a steady light load the byte bound alone held every payload for seconds,
 * and V8's step for promoted external memory started a full collection on every broker every
 * seven seconds, each a pause of 5-15 ms on the write path (docs/performance.md, "Full collections
 * at a light load"). Entries are what was written, stamped payloads included (the stamp happens in
 * place before the write), so a read from here returns the same bytes a read from the segment
 * would. Any change below the tail (truncation, reset, prefix deletion) goes through dropFrom/clear.
 */
import { assert } from '../raft/core/assert.js';
import type { Entry } from '../raft/core/index.js';

/** Raft reads an entry within milliseconds of its append (apply, a held-back follower, prevLogTerm). */
export const RECENT_ENTRIES_AGE_MS_MAX = 100;

export class RecentEntries {
  private entries: Entry[] = [];
  /** When each entry of `entries` was appended (same positions). */
  private appendedAtMs: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly bytesMax: number, private readonly ageMsMax = RECENT_ENTRIES_AGE_MS_MAX,
    private readonly nowMs: () => number = () => performance.now()) {
    assert(bytesMax >= 0 && ageMsMax >= 0, 'a byte bound and an age bound');
  }

  /** Index of the oldest entry held, or null when empty. */
  get firstIndex(): number | null {
    return this.entries[this.head]?.index ?? null;
  }

  get lastIndex(): number | null {
    return this.entries.length > this.head ? (this.entries[this.entries.length - 1]?.index ?? null) : null;
  }

  /** Records entries just written after the log's previous last index. */
  appended(written: readonly Entry[]): void {
    const first = written[0];
    if (first === undefined) return;
    const last = this.lastIndex;
    // A rewritten suffix replaces what is held from there; a gap (entries that reached the log
    // without passing here) leaves nothing contiguous to keep.
    if (last !== null && first.index <= last) this.dropFrom(first.index);
    else if (last !== null && first.index > last + 1) this.clear();
    const nowMs = this.nowMs();
    for (const entry of written) {
      const previous = this.lastIndex;
      assert(previous === null || entry.index === previous + 1, 'recent entries are contiguous');
      this.entries.push(entry);
      this.appendedAtMs.push(nowMs);
      this.bytes += entry.data.length;
    }
    this.trim(nowMs);
  }

  /** Forgets entries at and after `index` (the log was truncated there). */
  dropFrom(index: number): void {
    while (this.entries.length > this.head && (this.entries[this.entries.length - 1]?.index ?? -1) >= index) {
      const dropped = this.entries.pop();
      this.appendedAtMs.pop();
      if (dropped !== undefined) this.bytes -= dropped.data.length;
    }
    if (this.entries.length === this.head) this.clear();
  }

  clear(): void {
    this.entries = [];
    this.appendedAtMs = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** The term at `index` if held. */
  term(index: number): number | undefined {
    return this.at(index)?.term;
  }

  /**
   * Entries [low, high) if all are held, with the log's size rule: the first entry always, then
   * entries while their payloads add up to at most bytesMax. Undefined when any is not held.
   */
  slice(low: number, high: number, bytesMax: number): Entry[] | undefined {
    const first = this.firstIndex;
    const last = this.lastIndex;
    if (first === null || last === null || low < first || high - 1 > last || low >= high) return undefined;
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high; index += 1) {
      const entry = this.at(index);
      assert(entry !== undefined && entry.index === index, 'held entries are contiguous');
      if (result.length > 0 && bytes + entry.data.length > bytesMax) break;
      result.push(entry);
      bytes += entry.data.length;
    }
    return result;
  }

  private at(index: number): Entry | undefined {
    const first = this.firstIndex;
    if (first === null || index < first) return undefined;
    return this.entries[this.head + index - first];
  }

  private trim(nowMs: number): void {
    const oldestKeptMs = nowMs - this.ageMsMax;
    while (this.entries.length - this.head > 1
      && (this.bytes > this.bytesMax || (this.appendedAtMs[this.head] ?? nowMs) < oldestKeptMs)) {
      const dropped = this.entries[this.head];
      this.entries[this.head] = undefined as unknown as Entry;
      this.head += 1;
      if (dropped !== undefined) this.bytes -= dropped.data.length;
    }
    // Compact the arrays once the dropped prefix dominates them.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.appendedAtMs = this.appendedAtMs.slice(this.head);
      this.head = 0;
    }
  }
}
