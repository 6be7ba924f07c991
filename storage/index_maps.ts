/**
 * LMDB index maps, the roles of Kafka's `.index` and `.timeindex` files, for every log of a broker
 * in one environment. Keys are [logId, number] arrays in lmdb's ordered-binary encoding, which sorts
 * numbers correctly up to 2^53 (unlike uint32 keys, which wrap and lose key 0 in reverse scans).
 *
 *   locations  [logId, raft index]   -> [segmentBaseIndex, position, frameBytes, term, baseOffset,
 *                                         recordCount, maxTimestampMs]   one per entry
 *   offsets    [logId, base offset]  -> raft index          entries holding records only
 *   times      [logId, timestamp]    -> [baseOffset, index] only where the running max timestamp grows
 *   segments   [logId, base index]   -> [lastIndex, maxTimestampMs]   written when a segment closes
 *
 * The maps are derived from the segment files and may lag them: LMDB never holds the only copy of a
 * record, and recovery rebuilds whatever is missing. They live in the broker's index environment,
 * opened without fsync (see log_manager.ts). What cannot be derived lives in the state environment,
 * which syncs every commit:
 *   log_ids    name                  -> logId
 *   log_starts logId                 -> [firstIndex, firstOffset, termBeforeFirst]
 */
import type { Database, RootDatabase } from 'lmdb';
import { assert } from '../raft/core/assert.js';
import type { EntryLocation } from './types.js';

type Key = [number, number];
type LocationValue = [number, number, number, number, number, number, number];

export interface LogStart {
  readonly firstIndex: number;
  readonly firstOffset: number;
  readonly termBeforeFirst: number;
}

export interface TimeIndexEntry {
  readonly timestampMs: number;
  readonly baseOffset: number;
  readonly index: number;
}

export interface SegmentMeta {
  readonly lastIndex: number;
  readonly maxTimestampMs: number;
}

/**
 * How long the index writes of appended entries wait to be written together with every other
 * log's. lmdb-js runs each write transaction as a task of Node's thread pool (the one the
 * fdatasyncs use) and commits one per event-loop turn that wrote, so at a light load every append
 * cost a transaction, two thread hand-offs and a task queued beside the syncs. Nothing waits for
 * these writes on the write path: a log reads its entries not yet indexed from memory (Log.pending),
 * so the wait costs only that memory (100 ms of entry locations) and saves a transaction, which
 * rewrites the same few pages of every map each time, ten times over at a light load.
 */
const DEFERRED_WRITE_DELAY_MS = 100;

interface DeferredPut {
  readonly logId: number;
  readonly entries: readonly EntryLocation[];
  readonly times: readonly TimeIndexEntry[];
}

function toValue(location: EntryLocation): LocationValue {
  return [location.segmentBaseIndex, location.position, location.frameBytes, location.term,
    location.baseOffset, location.recordCount, location.maxTimestampMs];
}

function toLocation(index: number, value: LocationValue): EntryLocation {
  const [segmentBaseIndex, position, frameBytes, term, baseOffset, recordCount, maxTimestampMs] = value;
  return { index, segmentBaseIndex, position, frameBytes, term, baseOffset, recordCount, maxTimestampMs };
}

export class IndexMaps {
  private readonly locations: Database<LocationValue, Key>;
  private readonly offsets: Database<number, Key>;
  private readonly times: Database<[number, number], Key>;
  private readonly segments: Database<[number, number], Key>;
  private readonly logStarts: Database<[number, number, number], number>;
  private readonly logIds: Database<number, string>;

  /** Index writes of appended entries not handed to LMDB yet (putEntriesSoon), oldest first. */
  private deferredPuts: DeferredPut[] = [];
  /** Settles with their transaction; null while none are deferred. */
  private deferredCommit: {
    readonly promise: Promise<boolean>;
    readonly resolve: (done: boolean) => void;
    readonly reject: (error: unknown) => void;
    readonly timer: NodeJS.Timeout;
  } | null = null;

  constructor(private readonly root: RootDatabase, private readonly stateRoot: RootDatabase) {
    this.locations = root.openDB({ name: 'locations' });
    this.offsets = root.openDB({ name: 'offsets' });
    this.times = root.openDB({ name: 'times' });
    this.segments = root.openDB({ name: 'segments' });
    this.logStarts = stateRoot.openDB({ name: 'log_starts' });
    this.logIds = stateRoot.openDB({ name: 'log_ids' });
  }

  /** The small integer that stands for a log in every key; assigned once, kept forever. */
  async logIdOf(name: string): Promise<number> {
    const known = this.logIds.get(name);
    if (known !== undefined) return known;
    const next = this.logIds.get('\u0000next') ?? 1;
    await this.logIds.transaction(() => {
      void this.logIds.put(name, next);
      void this.logIds.put('\u0000next', next + 1);
    });
    await this.stateRoot.flushed;
    return next;
  }

  /** Queues the index writes for entries; resolves once LMDB has committed them. */
  putEntries(logId: number, entries: readonly EntryLocation[], timeEntries: readonly TimeIndexEntry[]):
    Promise<boolean> {
    this.writeDeferred();
    return this.putNow(logId, entries, timeEntries);
  }

  /**
   * putEntries for appends: written within DEFERRED_WRITE_DELAY_MS in one transaction with every
   * other log's (or sooner, by writeDeferred); resolves once LMDB has committed them.
   */
  putEntriesSoon(logId: number, entries: readonly EntryLocation[], timeEntries: readonly TimeIndexEntry[]):
    Promise<boolean> {
    this.deferredPuts.push({ logId, entries, times: timeEntries });
    if (this.deferredCommit === null) {
      let resolve!: (done: boolean) => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<boolean>((resolveCommit, rejectCommit) => {
        resolve = resolveCommit;
        reject = rejectCommit;
      });
      this.deferredCommit = { promise, resolve, reject,
        timer: setTimeout(() => { this.writeDeferred(); }, DEFERRED_WRITE_DELAY_MS) };
    }
    return this.deferredCommit.promise;
  }

  /**
   * Hands the deferred index writes to LMDB now. Every other write of these maps calls it first, so
   * LMDB sees the writes in the order they were made (a truncation after the appends it removes).
   */
  writeDeferred(): void {
    const commit = this.deferredCommit;
    if (commit === null) return;
    clearTimeout(commit.timer);
    this.deferredCommit = null;
    const puts = this.deferredPuts;
    this.deferredPuts = [];
    let last: Promise<boolean> = Promise.resolve(true);
    try {
      for (const put of puts) last = this.putNow(put.logId, put.entries, put.times);
    } catch (error) {
      // From the timer nobody would catch it: the appends' waiters get it, as from a failed commit.
      commit.reject(error);
      return;
    }
    last.then(commit.resolve, commit.reject);
  }

  private putNow(logId: number, entries: readonly EntryLocation[], timeEntries: readonly TimeIndexEntry[]):
    Promise<boolean> {
    let last: Promise<boolean> = Promise.resolve(true);
    for (const entry of entries) {
      last = this.locations.put([logId, entry.index], toValue(entry));
      if (entry.recordCount > 0) last = this.offsets.put([logId, entry.baseOffset], entry.index);
    }
    for (const time of timeEntries) {
      last = this.times.put([logId, time.timestampMs], [time.baseOffset, time.index]);
    }
    return last;
  }

  location(logId: number, index: number): EntryLocation | undefined {
    const value = this.locations.get([logId, index]);
    return value === undefined ? undefined : toLocation(index, value);
  }

  /** The indexed entry with the greatest index at or below `index`, if any. */
  floorLocation(logId: number, index: number): EntryLocation | undefined {
    for (const { key, value } of this.locations.getRange({ start: [logId, index], reverse: true, limit: 1 })) {
      return key[0] === logId ? toLocation(key[1], value) : undefined;
    }
    return undefined;
  }

  /** Locations from the highest index down, for recovery's walk back to the last valid frame. */
  *locationsDescending(logId: number): Generator<EntryLocation> {
    for (const { key, value } of this.locations.getRange({ start: [logId, Infinity], end: [logId, -1],
      reverse: true })) {
      yield toLocation(key[1], value);
    }
  }

  /** Raft index of the entry holding `offset`: the greatest base offset at or below it. */
  floorOffset(logId: number, offset: number): number | undefined {
    for (const { key, value } of this.offsets.getRange({ start: [logId, offset], reverse: true, limit: 1 })) {
      return key[0] === logId ? value : undefined;
    }
    return undefined;
  }

  /** The first time-index entry whose timestamp is at or after `timestampMs`. */
  firstTimeAtOrAfter(logId: number, timestampMs: number): TimeIndexEntry | undefined {
    for (const { key, value } of this.times.getRange({ start: [logId, timestampMs], end: [logId, Infinity],
      limit: 1 })) {
      return { timestampMs: key[1], baseOffset: value[0], index: value[1] };
    }
    return undefined;
  }

  lastTimeEntry(logId: number): TimeIndexEntry | undefined {
    for (const { key, value } of this.times.getRange({ start: [logId, Infinity], end: [logId, -Infinity],
      reverse: true, limit: 1 })) {
      return { timestampMs: key[1], baseOffset: value[0], index: value[1] };
    }
    return undefined;
  }

  /** Removes every index entry of entries at or above `index` (suffix truncation, torn tail). */
  removeFrom(logId: number, index: number, offset: number): Promise<boolean> {
    this.writeDeferred();
    return this.root.transaction(() => {
      for (const key of this.locations.getKeys({ start: [logId, index], end: [logId, Infinity] })) {
        void this.locations.remove(key);
      }
      for (const key of this.offsets.getKeys({ start: [logId, offset], end: [logId, Infinity] })) {
        void this.offsets.remove(key);
      }
      for (const { key, value } of this.times.getRange({ start: [logId, -Infinity], end: [logId, Infinity] })) {
        if (value[1] >= index) void this.times.remove(key);
      }
      for (const key of this.segments.getKeys({ start: [logId, index], end: [logId, Infinity] })) {
        void this.segments.remove(key);
      }
      return true;
    });
  }

  /** Durably records the new log start, then removes index entries below it (prefix deletion). */
  async removeBelow(logId: number, start: LogStart): Promise<boolean> {
    this.writeDeferred();
    await this.putLogStart(logId, start);
    return this.root.transaction(() => {
      for (const key of this.locations.getKeys({ start: [logId, -1], end: [logId, start.firstIndex] })) {
        void this.locations.remove(key);
      }
      for (const key of this.offsets.getKeys({ start: [logId, -1], end: [logId, start.firstOffset] })) {
        void this.offsets.remove(key);
      }
      for (const { key, value } of this.times.getRange({ start: [logId, -Infinity], end: [logId, Infinity] })) {
        if (value[1] < start.firstIndex) void this.times.remove(key);
      }
      for (const key of this.segments.getKeys({ start: [logId, -1], end: [logId, start.firstIndex] })) {
        void this.segments.remove(key);
      }
      return true;
    });
  }

  logStart(logId: number): LogStart | undefined {
    const value = this.logStarts.get(logId);
    if (value === undefined) return undefined;
    return { firstIndex: value[0], firstOffset: value[1], termBeforeFirst: value[2] };
  }

  async putLogStart(logId: number, start: LogStart): Promise<boolean> {
    const done = await this.logStarts.put(logId, [start.firstIndex, start.firstOffset, start.termBeforeFirst]);
    await this.stateRoot.flushed;
    return done;
  }

  putSegmentMeta(logId: number, baseIndex: number, meta: SegmentMeta): Promise<boolean> {
    this.writeDeferred();
    assert(meta.lastIndex >= baseIndex, 'a closed segment holds at least one frame');
    return this.segments.put([logId, baseIndex], [meta.lastIndex, meta.maxTimestampMs]);
  }

  segmentMeta(logId: number, baseIndex: number): SegmentMeta | undefined {
    const value = this.segments.get([logId, baseIndex]);
    return value === undefined ? undefined : { lastIndex: value[0], maxTimestampMs: value[1] };
  }

  /** Drops every trace of a log (topic deletion). */
  async removeLog(logId: number): Promise<boolean> {
    this.writeDeferred();
    await this.logStarts.remove(logId);
    return this.root.transaction(() => {
      for (const db of [this.locations, this.offsets, this.times, this.segments] as Database<unknown, Key>[]) {
        for (const key of db.getKeys({ start: [logId, -Infinity], end: [logId, Infinity] })) void db.remove(key);
      }
      return true;
    });
  }
}
