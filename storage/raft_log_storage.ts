/**
 * The Raft core's LogStorage on a disk Log: the read side the core calls, and the write side the
 * Raft host calls while performing a Ready (append with conflict truncation, hard state, snapshot
 * install). Entries keep their payloads as they are; a per-group describer says how many records
 * a payload holds and its max timestamp, and an optional hook may stamp each payload with the base
 * offset the log assigns (partitions write it into the RecordBatch header).
 */
import { assert } from '../raft/core/assert.js';
import { EntryType as RaftEntryType, StorageError as RaftStorageError, emptyConfState, noNode }
  from '../raft/core/index.js';
import type { ConfState, Entry, HardState as RaftHardState, InitialState, LogStorage, Snapshot }
  from '../raft/core/index.js';
import { IndexCompactedError, IndexUnavailableError } from './errors.js';
import type { Log } from './log.js';
import { RecentEntries } from './recent_entries.js';
import type { RetentionPolicy } from './log_config.js';
import type { SnapshotStore } from './snapshot_store.js';
import { EntryType } from './types.js';
import type { EntryInput, StoredEntry } from './types.js';

export interface PayloadDescription {
  readonly recordCount: number;
  readonly maxTimestampMs: number;
}

export interface RaftLogStorageOptions {
  /** Records and max timestamp of a normal entry's payload (0 and -1 for non-record payloads). */
  readonly describePayload: (data: Uint8Array) => PayloadDescription;
  /** Called for each normal entry just before it is written, with the base offset it gets. */
  readonly beforeAppend?: (data: Uint8Array, baseOffset: number, term: number) => void;
  /** Bytes of the newest entries kept in memory for Raft's reads right after an append. */
  readonly recentEntriesBytesMax?: number;
}

const RECENT_ENTRIES_BYTES_MAX = 4 * 1024 * 1024;

const toStorageType = {
  [RaftEntryType.normal]: EntryType.data,
  [RaftEntryType.noop]: EntryType.noop,
  [RaftEntryType.config]: EntryType.config,
} as const;

const toRaftType = {
  [EntryType.data]: RaftEntryType.normal,
  [EntryType.noop]: RaftEntryType.noop,
  [EntryType.config]: RaftEntryType.config,
} as const;

function toRaftEntry(entry: StoredEntry): Entry {
  return { term: entry.term, index: entry.index, type: toRaftType[entry.type], data: entry.payload };
}

/** Runs a read of the log, turning its typed range errors into the core's storage error values. */
function orStorageError<T>(read: () => T): T | RaftStorageError {
  try {
    return read();
  } catch (error) {
    if (error instanceof IndexCompactedError) return RaftStorageError.compacted;
    if (error instanceof IndexUnavailableError) return RaftStorageError.unavailable;
    throw error;
  }
}

export class RaftLogStorage implements LogStorage {
  private readonly recent: RecentEntries;

  constructor(
    readonly log: Log,
    private readonly logId: number,
    private readonly snapshots: SnapshotStore,
    private readonly options: RaftLogStorageOptions,
  ) {
    this.recent = new RecentEntries(options.recentEntriesBytesMax ?? RECENT_ENTRIES_BYTES_MAX);
  }

  initialState(): InitialState {
    const { hardState: stored, lostThrough } = this.log.recoveredHardState();
    const hardState: RaftHardState = { term: stored.term, vote: stored.vote ?? noNode, commit: stored.commit };
    const confState = this.snapshots.load(this.logId)?.metadata.conf ?? emptyConfState;
    return lostThrough === null ? { hardState, confState } : { hardState, confState, recoveringThrough: lostThrough };
  }

  firstIndex(): number { return this.log.firstIndex; }
  lastIndex(): number { return this.log.lastIndex; }

  term(index: number): number | RaftStorageError {
    // Entries below the log start (retention) may linger in the recent tail: the log decides there.
    const recent = index >= this.log.firstIndex ? this.recent.term(index) : undefined;
    return recent ?? orStorageError(() => this.log.termAt(index));
  }

  entries(low: number, highExclusive: number, bytesMax: number): readonly Entry[] | RaftStorageError {
    const recent = low >= this.log.firstIndex && highExclusive <= this.log.lastIndex + 1
      ? this.recent.slice(low, highExclusive, bytesMax) : undefined;
    return recent ?? orStorageError(() => this.log.entries(low, highExclusive, bytesMax).map(toRaftEntry));
  }

  snapshot(): Snapshot | RaftStorageError {
    return this.snapshots.load(this.logId) ?? RaftStorageError.unavailable;
  }

  /**
   * Appends a Ready's entries, first truncating any stored suffix they replace (a Raft conflict).
   * Not durable until sync().
   */
  async append(entries: readonly Entry[]): Promise<void> {
    const first = entries[0];
    if (first === undefined) return;
    assert(first.index >= this.log.firstIndex && first.index <= this.log.lastIndex + 1,
      () => `append at ${first.index} leaves a gap after ${this.log.lastIndex}`);
    if (first.index <= this.log.lastIndex) {
      this.recent.dropFrom(first.index);
      await this.log.truncateSuffix(first.index);
    }
    let baseOffset = this.log.nextOffset;
    const inputs = entries.map((entry): EntryInput => {
      const type = toStorageType[entry.type];
      const { recordCount, maxTimestampMs } = type === EntryType.data
        ? this.options.describePayload(entry.data) : { recordCount: 0, maxTimestampMs: -1 };
      if (type === EntryType.data) this.options.beforeAppend?.(entry.data, baseOffset, entry.term);
      baseOffset += recordCount;
      return { term: entry.term, index: entry.index, type, recordCount, maxTimestampMs, payload: entry.data };
    });
    this.log.append(inputs);
    this.recent.appended(entries);
  }

  sync(): Promise<number> {
    return this.log.sync();
  }

  async saveHardState(state: RaftHardState): Promise<void> {
    await this.log.saveHardState({ term: state.term, vote: state.vote === noNode ? null : state.vote,
      commit: state.commit });
  }

  /** Replaces the whole log with a snapshot; the log goes on at snapshot.index + 1 with `nextOffset`. */
  async installSnapshot(snapshot: Snapshot, nextOffset: number): Promise<void> {
    this.recent.clear();
    await this.snapshots.save(this.logId, snapshot);
    await this.log.resetTo({ firstIndex: snapshot.metadata.index + 1, firstOffset: nextOffset,
      termBeforeFirst: snapshot.metadata.term });
  }

  /**
   * Retention for a Raft log: deletes the closed segments past `policy` below `safeIndex` (applied
   * entries only), first recording a snapshot at the last deleted index so a follower that falls
   * behind the new log start can still be brought up by InstallSnapshot. `image(nextOffset)` gives
   * the state machine's snapshot data. Returns how many segments went.
   */
  async applyRetention(policy: RetentionPolicy, safeIndex: number, conf: ConfState,
    image: (nextOffset: number) => Uint8Array): Promise<number> {
    const plan = this.log.retentionPlan(policy, safeIndex);
    if (plan.count === 0) return 0;
    const index = plan.nextFirstIndex - 1;
    const nextOffset = plan.nextFirstIndex <= this.log.lastIndex
      ? this.log.locate(plan.nextFirstIndex).baseOffset : this.log.nextOffset;
    await this.compact({ metadata: { index, term: this.log.termAt(index), conf }, data: image(nextOffset) });
    return plan.count;
  }

  /** Records a snapshot taken by this node and drops the log prefix it covers. */
  async compact(snapshot: Snapshot): Promise<void> {
    assert(snapshot.metadata.index <= this.log.lastIndex, 'a local snapshot covers only stored entries');
    await this.snapshots.save(this.logId, snapshot);
    await this.log.deletePrefix(snapshot.metadata.index + 1);
  }
}
