/**
 * One partition replica's Raft log: the partition itself. Entries are frames in append-only segment
 * files; the LMDB index maps locate them by Raft index, by offset and by timestamp.
 *
 * Invariants (asserted):
 *  - indexes are contiguous: firstIndex <= lastIndex + 1, and segment i+1 starts at segment i's
 *    lastIndex + 1;
 *  - terms never decrease along the log; base offsets are the running record count;
 *  - durableIndex <= lastIndex; nothing at or below the persisted commit index is ever truncated;
 *  - every entry in [firstIndex, lastIndex] is in the index maps or in the pending overlay.
 *
 * Writes are synchronous system calls into the page cache (append) plus one asynchronous fdatasync
 * shared by every append made before it started (sync: group commit). Index writes to LMDB are
 * asynchronous; until LMDB commits them, reads find the entries in the pending overlay.
 */
import { assert } from '../raft/core/assert.js';
import { boundCommitByLog } from './commit_bound.js';
import {
  CorruptSegmentError, EntryTooLargeError, IndexCompactedError, IndexUnavailableError, OffsetOutOfRangeError,
} from './errors.js';
import { FRAME_HEADER_BYTES, framePayload, sealContiguousFrame, sealSeparateFrame, writeFrameHeader }
  from './frame.js';
import type { LogStart, TimeIndexEntry } from './index_maps.js';
import type { LogContext } from './log_context.js';
import type { RetentionPolicy } from './log_config.js';
import { frameContinuityProblem, locationOf, recoverLog } from './recovery.js';
import type { RecoveredLog } from './recovery.js';
import { selectSegmentsToDelete } from './retention.js';
import type { RetentionPlan } from './retention.js';
import { Segment } from './segment.js';
import { walkFrames } from './segment_reader.js';
import type { FrameVisit, WalkOptions } from './segment_reader.js';
import { EntryType } from './types.js';
import type { EntryInput, EntryLocation, HardState, RawRead, StoredEntry } from './types.js';

/** Payloads up to this size are copied next to their frame header; larger ones are written in place. */
const COPY_PAYLOAD_BYTES_MAX = 8192;
/** A raw read asks for bytesMax plus this much, for the frame headers between the payloads. */
const RAW_READ_SLACK_BYTES = 64 * 1024;
/** Raw reads read at least this much (a small fetch still reads a useful amount at once)... */
const RAW_READ_MIN_BYTES = 64 * 1024;
/** ...and at most this much, or a pool slab (a larger first entry gets a read of its own size). */
const RAW_READ_MAX_BYTES = 8 * 1024 * 1024;

/** How readRaw walks frames: its read size, read buffers and where it stops. */
type RawWalk = Pick<WalkOptions, 'readAheadBytes' | 'buffers' | 'wantsFrame'>;

export interface AppendResult {
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Base offset of the first appended entry. */
  readonly baseOffset: number;
  /** Log end offset after the append. */
  readonly nextOffset: number;
}

/** Picks, inside one stored payload, the first record at or after a timestamp (its offset delta). */
export type RecordDeltaAtOrAfter = (payload: Uint8Array, timestampMs: number) => number | null;

export interface TimestampLookup {
  readonly offset: number;
  readonly index: number;
}

export class Log {
  private readonly segments: Segment[];
  private firstIndexValue: number;
  private termBeforeFirst: number;
  private logStartOffsetValue: number;
  private lastIndexValue: number;
  private lastTermValue: number;
  private nextOffsetValue: number;
  private timeIndexMaxMs: number;
  private durableIndexValue: number;
  /** Entries appended whose LMDB index writes have not committed yet, contiguous by index. */
  private pending: EntryLocation[] = [];
  private pendingTimes: TimeIndexEntry[] = [];
  private indexWrites: Promise<unknown> = Promise.resolve();
  private syncInFlight: Promise<void> | null = null;
  /** Bumped by every truncation so a sync that raced it does not vouch for the new entries. */
  private truncations = 0;
  /** Set while a truncation or deletion runs; sync() waits for it rather than touch files it may delete. */
  private exclusiveWork: Promise<void> | null = null;
  private closed = false;

  private constructor(private readonly context: LogContext, recovered: RecoveredLog, logStartOffset: number) {
    this.segments = recovered.segments;
    this.firstIndexValue = recovered.firstIndex;
    this.termBeforeFirst = recovered.termBeforeFirst;
    this.lastIndexValue = recovered.lastIndex;
    this.lastTermValue = recovered.lastTerm;
    this.nextOffsetValue = recovered.nextOffset;
    this.timeIndexMaxMs = recovered.timeIndexMaxMs;
    this.durableIndexValue = recovered.lastIndex;
    this.logStartOffsetValue = logStartOffset;
  }

  /** Opens (recovering if needed) the log in context.directory. */
  static async open(context: LogContext): Promise<Log> {
    const recovered = await recoverLog(context);
    await boundCommitByLog(context, recovered.lastIndex);
    const log = new Log(context, recovered, recovered.nextOffset);
    // locate() re-indexes the first entry from its segment if its index entry was lost.
    if (log.firstIndex <= log.lastIndex) log.logStartOffsetValue = log.locate(log.firstIndex).baseOffset;
    return log;
  }

  get name(): string { return this.context.name; }
  get firstIndex(): number { return this.firstIndexValue; }
  get lastIndex(): number { return this.lastIndexValue; }
  get lastTerm(): number { return this.lastTermValue; }
  /** The last index covered by a completed fdatasync. */
  get durableIndex(): number { return this.durableIndexValue; }
  /** Kafka's log start offset: the first offset still held. */
  get logStartOffset(): number { return this.logStartOffsetValue; }
  /** Kafka's log end offset: the offset the next record will get. */
  get nextOffset(): number { return this.nextOffsetValue; }
  get segmentCount(): number { return this.segments.length; }
  get sizeBytes(): number { return this.segments.reduce((sum, segment) => sum + segment.sizeBytes, 0); }

  private get active(): Segment {
    const segment = this.segments[this.segments.length - 1];
    assert(segment !== undefined, 'a log always has an active segment');
    return segment;
  }

  /**
   * Appends entries after lastIndex, assigning base offsets. Nothing is durable until sync() resolves.
   * All entries are checked before any is written; a disk error can leave a prefix of them appended
   * (lastIndex says how far), never a partial frame.
   */
  append(entries: readonly EntryInput[]): AppendResult {
    this.assertWritable();
    assert(entries.length > 0, 'append needs at least one entry');
    assert(this.pending.length + entries.length <= this.context.config.pendingIndexEntriesMax,
      'index writes are too far behind the appends');
    this.checkEntries(entries);
    const firstIndex = this.lastIndexValue + 1;
    const baseOffset = this.nextOffsetValue;
    let chunkStart = 0;
    let chunkBytes = 0;
    for (let slot = 0; slot < entries.length; slot += 1) {
      const entry = entries[slot];
      assert(entry !== undefined, 'slot in range');
      const frameBytes = FRAME_HEADER_BYTES + entry.payload.length;
      if (this.shouldRoll(chunkBytes, frameBytes)) {
        this.writeChunk(entries, chunkStart, slot);
        this.roll();
        chunkStart = slot;
        chunkBytes = 0;
      }
      chunkBytes += frameBytes;
    }
    this.writeChunk(entries, chunkStart, entries.length);
    return { firstIndex, lastIndex: this.lastIndexValue, baseOffset, nextOffset: this.nextOffsetValue };
  }

  private checkEntries(entries: readonly EntryInput[]): void {
    let expectedIndex = this.lastIndexValue + 1;
    let lastTerm = this.lastTermValue;
    for (const entry of entries) {
      assert(entry.index === expectedIndex, () => `append of index ${entry.index} where ${expectedIndex} is next`);
      assert(Number.isSafeInteger(entry.term) && entry.term >= lastTerm,
        () => `term ${entry.term} at index ${entry.index} is below the previous term ${lastTerm}`);
      assert(entry.type === EntryType.data || entry.recordCount === 0,
        () => `entry type ${entry.type} cannot hold ${entry.recordCount} records`);
      assert(Number.isSafeInteger(entry.maxTimestampMs) && entry.maxTimestampMs >= -1, 'bad max timestamp');
      const frameBytes = FRAME_HEADER_BYTES + entry.payload.length;
      if (frameBytes > this.context.config.frameBytesMax) {
        throw new EntryTooLargeError(frameBytes, this.context.config.frameBytesMax);
      }
      expectedIndex += 1;
      lastTerm = entry.term;
    }
  }

  private shouldRoll(chunkBytes: number, frameBytes: number): boolean {
    const active = this.active;
    if (active.isEmpty && chunkBytes === 0) return false;
    const { segmentBytesMax, segmentAgeMsMax } = this.context.config;
    if (active.sizeBytes + chunkBytes + frameBytes > segmentBytesMax) return true;
    return active.firstAppendAtMs !== null && this.context.nowMs() - active.firstAppendAtMs >= segmentAgeMsMax;
  }

  /**
   * Writes entries[from, to) into the active segment with one gathered write. Small payloads are
   * copied next to their header so one CRC call covers the frame; large ones are gathered in place.
   */
  private writeChunk(entries: readonly EntryInput[], from: number, to: number): void {
    if (from === to) return;
    const segment = this.active;
    let stagingBytes = 0;
    for (let slot = from; slot < to; slot += 1) {
      const payloadBytes = entries[slot]?.payload.length ?? 0;
      stagingBytes += FRAME_HEADER_BYTES + (payloadBytes <= COPY_PAYLOAD_BYTES_MAX ? payloadBytes : 0);
    }
    const staging = Buffer.allocUnsafe(stagingBytes);
    const buffers: Uint8Array[] = [];
    const locations: EntryLocation[] = [];
    const times: TimeIndexEntry[] = [];
    let cursor = 0;
    let regionStart = 0;
    let position = segment.sizeBytes;
    let baseOffset = this.nextOffsetValue;
    let timeIndexMaxMs = this.timeIndexMaxMs;
    for (let slot = from; slot < to; slot += 1) {
      const entry = entries[slot];
      assert(entry !== undefined, 'slot in range');
      const { payload, term, index, recordCount, maxTimestampMs } = entry;
      const frameBytes = FRAME_HEADER_BYTES + payload.length;
      writeFrameHeader(staging, cursor, { type: entry.type, term, index, recordCount, baseOffset, maxTimestampMs },
        payload.length);
      if (payload.length <= COPY_PAYLOAD_BYTES_MAX) {
        staging.set(payload, cursor + FRAME_HEADER_BYTES);
        sealContiguousFrame(staging, cursor, frameBytes);
        cursor += frameBytes;
      } else {
        sealSeparateFrame(staging, cursor, payload);
        cursor += FRAME_HEADER_BYTES;
        buffers.push(staging.subarray(regionStart, cursor), payload);
        regionStart = cursor;
      }
      locations.push({ index, term, segmentBaseIndex: segment.baseIndex, position, frameBytes, baseOffset,
        recordCount, maxTimestampMs });
      if (maxTimestampMs > timeIndexMaxMs) {
        timeIndexMaxMs = maxTimestampMs;
        times.push({ timestampMs: maxTimestampMs, baseOffset, index });
      }
      position += frameBytes;
      baseOffset += recordCount;
    }
    if (cursor > regionStart) buffers.push(staging.subarray(regionStart, cursor));
    segment.append(buffers, position - segment.sizeBytes);
    this.recordAppended(segment, locations, times, baseOffset, timeIndexMaxMs);
  }

  private recordAppended(segment: Segment, locations: EntryLocation[], times: TimeIndexEntry[],
    nextOffset: number, timeIndexMaxMs: number): void {
    const last = locations[locations.length - 1];
    assert(last !== undefined, 'a chunk holds entries');
    segment.firstAppendAtMs ??= this.context.nowMs();
    segment.lastIndex = last.index;
    segment.maxTimestampMs = Math.max(segment.maxTimestampMs, timeIndexMaxMs);
    this.lastIndexValue = last.index;
    this.lastTermValue = last.term;
    this.nextOffsetValue = nextOffset;
    this.timeIndexMaxMs = timeIndexMaxMs;
    this.pending.push(...locations);
    this.pendingTimes.push(...times);
    const write = this.context.maps.putEntriesSoon(this.context.logId, locations, times);
    this.indexWrites = write.then(() => { this.dropPendingThrough(last.index); });
  }

  /** Waits until LMDB has committed every index write of this log's appends, handing deferred ones over now. */
  private async indexWritesDone(): Promise<void> {
    this.context.maps.writeDeferred();
    await this.indexWrites;
  }

  private dropPendingThrough(index: number): void {
    const first = this.pending[0];
    if (first === undefined || first.index > index) return;
    this.pending.splice(0, index - first.index + 1);
    while (this.pendingTimes[0] !== undefined && this.pendingTimes[0].index <= index) this.pendingTimes.shift();
  }

  /** Closes the active segment (made durable first) and opens the next one. */
  private roll(): void {
    const closing = this.active;
    assert(!closing.isEmpty, 'only a non-empty segment rolls');
    closing.syncNow();
    this.durableIndexValue = Math.max(this.durableIndexValue, closing.lastIndex);
    void this.context.maps.putSegmentMeta(this.context.logId, closing.baseIndex,
      { lastIndex: closing.lastIndex, maxTimestampMs: closing.maxTimestampMs });
    this.segments.push(Segment.create(this.context.io, this.context.directory, closing.lastIndex + 1));
  }

  /**
   * Makes every entry appended before the call durable; resolves to the durable index. Concurrent
   * callers share one fdatasync (group commit): a call that arrives while one runs waits for it and
   * then, if its entries were not covered, starts the next one for everybody waiting.
   */
  async sync(): Promise<number> {
    const target = this.lastIndexValue;
    while (this.exclusiveWork !== null) await this.exclusiveWork.catch(() => undefined);
    while (this.durableIndexValue < Math.min(target, this.lastIndexValue)) {
      if (this.syncInFlight === null) {
        this.syncInFlight = this.runSync().finally(() => { this.syncInFlight = null; });
      }
      await this.syncInFlight;
    }
    return this.durableIndexValue;
  }

  private async runSync(): Promise<void> {
    const segment = this.active;
    const covered = segment.lastIndex;
    const truncations = this.truncations;
    await segment.sync();
    if (truncations === this.truncations) this.durableIndexValue = Math.max(this.durableIndexValue, covered);
  }

  /** The term of the entry at `index`; index firstIndex - 1 gives the term before the log start. */
  termAt(index: number): number {
    if (index === this.firstIndexValue - 1) return this.termBeforeFirst;
    if (index === this.lastIndexValue) return this.lastTermValue;
    return this.locate(index).term;
  }

  /** Where the entry at `index` lives. */
  locate(index: number): EntryLocation {
    if (index < this.firstIndexValue) throw new IndexCompactedError(index, this.firstIndexValue);
    if (index > this.lastIndexValue) throw new IndexUnavailableError(index, this.lastIndexValue);
    const firstPending = this.pending[0];
    if (firstPending !== undefined && index >= firstPending.index) {
      const location = this.pending[index - firstPending.index];
      assert(location?.index === index, 'the pending overlay is contiguous');
      return location;
    }
    return this.context.maps.location(this.context.logId, index) ?? this.repairLocation(index);
  }

  /** An index entry missing inside the log: find the frame from the nearest indexed one and re-index it. */
  private repairLocation(index: number): EntryLocation {
    const floor = this.context.maps.floorLocation(this.context.logId, index);
    const segment = this.segmentFor(floor?.segmentBaseIndex ?? this.segmentBaseFor(index));
    const start = floor !== undefined && floor.segmentBaseIndex === segment.baseIndex ? floor.position : 0;
    for (const visit of this.walk(segment, start, false)) {
      if (visit.header.index < index) continue;
      assert(visit.header.index === index, () => `frame for index ${index} missing from ${segment.file}`);
      const location = locationOf(visit.header, segment.baseIndex, visit.position);
      void this.context.maps.putEntries(this.context.logId, [location], []);
      return location;
    }
    throw new CorruptSegmentError(segment.file, segment.sizeBytes, `no frame for index ${index}`);
  }

  private segmentBaseFor(index: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      const segment = this.segments[middle];
      assert(segment !== undefined, 'slot in range');
      if (segment.baseIndex <= index) low = middle;
      else high = middle - 1;
    }
    const segment = this.segments[low];
    assert(segment !== undefined, 'slot in range');
    return segment.baseIndex;
  }

  private segmentFor(baseIndex: number): Segment {
    const segment = this.segments.find((s) => s.baseIndex === baseIndex);
    assert(segment !== undefined, () => `no segment starts at index ${baseIndex}`);
    return segment;
  }

  /** The frames of one segment from `start`; returns true when `raw.wantsFrame` ended the walk. */
  private walk(segment: Segment, start: number, verifyCrc: boolean, raw?: RawWalk): Generator<FrameVisit, boolean> {
    const { readAheadBytes, frameBytesMax } = this.context.config;
    const walk = walkFrames(segment, start, raw === undefined ? { readAheadBytes, frameBytesMax, verifyCrc }
      : { ...raw, frameBytesMax, verifyCrc });
    return (function* frames(): Generator<FrameVisit, boolean> {
      try {
        for (let step = walk.next(); ; step = walk.next()) {
          if (step.done === true) {
            if (step.value.problem !== null) {
              throw new CorruptSegmentError(segment.file, step.value.position, step.value.problem);
            }
            return step.value.stopped;
          }
          yield step.value;
        }
      } finally {
        // Ended early by the reader: the walk's finally hands its read buffer back.
        walk.return({ position: start, problem: null, stopped: true });
      }
    })();
  }

  /**
   * Frames of entries from `index` on, across segments, checked against the log's own view (index,
   * term and offset continuity). Stops after lastIndex.
   */
  private *framesFrom(index: number, verifyCrc: boolean, raw?: RawWalk): Generator<FrameVisit> {
    const location = this.locate(index);
    let slot = this.segments.findIndex((s) => s.baseIndex === location.segmentBaseIndex);
    let position = location.position;
    let expected = { expectedIndex: index, expectedOffset: location.baseOffset as number | null,
      lastTerm: location.term };
    for (; slot < this.segments.length; slot += 1, position = 0) {
      const segment = this.segments[slot];
      assert(segment !== undefined, 'slot in range');
      const walk = this.walk(segment, position, verifyCrc, raw);
      try {
        let step = walk.next();
        for (; step.done !== true; step = walk.next()) {
          const visit = step.value;
          if (visit.header.index > this.lastIndexValue) return;
          const problem = frameContinuityProblem(visit.header, expected);
          if (problem !== null) throw new CorruptSegmentError(segment.file, visit.position, problem);
          expected = { expectedIndex: visit.header.index + 1,
            expectedOffset: visit.header.baseOffset + visit.header.recordCount, lastTerm: visit.header.term };
          yield visit;
        }
        if (step.value) return; // the reader wants no more frames
      } finally {
        walk.return(false); // ends the walk early too, which hands its read buffer back
      }
      if (expected.expectedIndex > this.lastIndexValue) return;
    }
  }

  /**
   * Entries [low, high), CRC-checked, at most `bytesMax` of payload but always at least one entry
   * (Raft replication and the state machine read through here).
   */
  entries(low: number, high: number, bytesMax = Number.POSITIVE_INFINITY): StoredEntry[] {
    assert(low <= high, () => `entries(${low}, ${high}): empty or inverted range`);
    if (low === high) return [];
    if (high > this.lastIndexValue + 1) throw new IndexUnavailableError(high - 1, this.lastIndexValue);
    const result: StoredEntry[] = [];
    let bytes = 0;
    for (const { header, buffer, offsetInBuffer } of this.framesFrom(low, true)) {
      const payload = framePayload(buffer, offsetInBuffer, header);
      if (result.length > 0 && bytes + payload.length > bytesMax) break;
      result.push({ term: header.term, index: header.index, type: header.type, recordCount: header.recordCount,
        maxTimestampMs: header.maxTimestampMs, baseOffset: header.baseOffset, payload });
      bytes += payload.length;
      if (header.index + 1 >= high) break;
    }
    assert(result.length > 0 && result[0]?.index === low, 'entries returns the first entry asked for');
    return result;
  }

  /**
   * Raw record-batch bytes from the entry holding `offset`, up to `bytesMax` (at least one whole
   * entry, as KIP-74) and below `endOffset` (the high watermark). Only frame headers are parsed:
   * payloads come back as views, individual records are never decoded. Every frame's CRC is
   * checked (one native CRC-32C pass), so damaged bytes raise CorruptSegmentError, never reach a reader.
   *
   * The frames are read with one read of about bytesMax (not in read-ahead steps, which read the
   * frame after the last one too), into the context's ReadBufferPool when it has one: the chunks
   * are then pooled memory, reserved while they are reachable (see read_buffer_pool.ts).
   */
  readRaw(offset: number, bytesMax: number, endOffset = this.nextOffsetValue): RawRead {
    if (offset < this.logStartOffsetValue || offset > this.nextOffsetValue) {
      throw new OffsetOutOfRangeError(offset, this.logStartOffsetValue, this.nextOffsetValue);
    }
    const limit = Math.min(endOffset, this.nextOffsetValue);
    const empty: RawRead = { chunks: [], sizeBytes: 0, firstOffset: offset, nextOffset: offset };
    if (offset >= limit) return empty;
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    let firstOffset = -1;
    let nextOffset = offset;
    const pool = this.context.readBuffers;
    const raw: RawWalk = {
      readAheadBytes: Math.min(Math.max(bytesMax + RAW_READ_SLACK_BYTES, RAW_READ_MIN_BYTES),
        pool?.slabBytes ?? RAW_READ_MAX_BYTES),
      ...(pool === undefined ? {} : { buffers: pool }),
      // The frame that would go over bytesMax is not read at all.
      wantsFrame: (frameBytes) => chunks.length === 0 || sizeBytes + frameBytes - FRAME_HEADER_BYTES <= bytesMax,
    };
    for (const { header, buffer, offsetInBuffer } of this.framesFrom(this.indexHoldingOffset(offset), true, raw)) {
      if (header.baseOffset >= limit) break;
      if (header.recordCount === 0 || header.baseOffset + header.recordCount <= offset) continue;
      const payload = framePayload(buffer, offsetInBuffer, header);
      if (chunks.length > 0 && sizeBytes + payload.length > bytesMax) break;
      if (firstOffset < 0) firstOffset = header.baseOffset;
      chunks.push(pool === undefined ? payload : pool.track(payload));
      sizeBytes += payload.length;
      nextOffset = header.baseOffset + header.recordCount;
      if (sizeBytes >= bytesMax) break;
    }
    return firstOffset < 0 ? empty : { chunks, sizeBytes, firstOffset, nextOffset };
  }

  /** The Raft index of the data entry whose records include `offset` (or an earlier entry). */
  private indexHoldingOffset(offset: number): number {
    const pending = this.pending;
    const firstPending = pending[0];
    if (firstPending !== undefined && offset >= firstPending.baseOffset) {
      let low = 0;
      let high = pending.length - 1;
      while (low < high) { // first pending entry whose records end after `offset`
        const middle = (low + high) >> 1;
        const entry = pending[middle];
        assert(entry !== undefined, 'slot in range');
        if (entry.baseOffset + entry.recordCount > offset) high = middle;
        else low = middle + 1;
      }
      const found = pending[low];
      assert(found !== undefined, 'slot in range');
      return found.index;
    }
    const index = this.context.maps.floorOffset(this.context.logId, offset);
    return index === undefined || index < this.firstIndexValue ? this.firstIndexValue : index;
  }

  /**
   * The first offset whose timestamp is at or after `timestampMs`, or null if none. The time index
   * finds the first entry whose max timestamp qualifies; payloads are opaque here, so `recordDelta`
   * (given by the broker, which knows the batch format) picks the record inside it. Without it the
   * entry's base offset is the answer.
   */
  offsetForTimestamp(timestampMs: number, recordDelta?: RecordDeltaAtOrAfter): TimestampLookup | null {
    const found = this.context.maps.firstTimeAtOrAfter(this.context.logId, timestampMs)
      ?? this.pendingTimes.find((time) => time.timestampMs >= timestampMs);
    // A time entry above the log end is one a truncation is still removing from LMDB.
    if (found === undefined || found.index > this.lastIndexValue) return null;
    if (found.index < this.firstIndexValue) return { offset: this.logStartOffsetValue, index: this.firstIndexValue };
    if (recordDelta === undefined) return { offset: found.baseOffset, index: found.index };
    const [entry] = this.entries(found.index, found.index + 1);
    assert(entry !== undefined && entry.recordCount > 0, 'the time index points at a data entry');
    const delta = recordDelta(entry.payload, timestampMs) ?? 0;
    assert(delta >= 0 && delta < entry.recordCount, () => `record delta ${delta} outside the entry`);
    return { offset: found.baseOffset + delta, index: found.index };
  }

  /** Removes entries from `index` on (a Raft conflict). Entries at or below the commit index are kept. */
  async truncateSuffix(index: number): Promise<void> {
    this.assertWritable();
    assert(index >= this.firstIndexValue && index <= this.lastIndexValue + 1,
      () => `truncateSuffix(${index}) outside [${this.firstIndexValue}, ${this.lastIndexValue + 1}]`);
    if (index === this.lastIndexValue + 1) return;
    const commit = this.context.hardStates.load(this.context.logId).commit;
    assert(index > commit, () => `truncateSuffix(${index}) would remove committed entries (commit ${commit})`);
    await this.exclusive(async () => {
      await this.indexWritesDone();
      const cut = this.locate(index);
      const termBefore = this.termAt(index - 1);
      // Cut the files first: an index entry left pointing past them is dropped by recovery.
      while (this.segments.length > 1 && this.active.baseIndex >= index) this.segments.pop()?.closeAndDelete();
      if (this.active.baseIndex >= index) this.active.truncate(0);
      // A cut at the first frame of a segment just deleted leaves the one before it whole: its
      // position is in the deleted file.
      else if (cut.segmentBaseIndex === this.active.baseIndex) this.active.truncate(cut.position);
      this.active.syncNow();
      this.active.lastIndex = index - 1;
      this.truncations += 1;
      this.lastIndexValue = index - 1;
      this.lastTermValue = termBefore;
      this.nextOffsetValue = cut.baseOffset;
      this.durableIndexValue = Math.min(this.durableIndexValue, index - 1);
      await this.context.hardStates.lowerHighWater(this.context.logId, index - 1);
      this.pending = this.pending.filter((location) => location.index < index);
      this.pendingTimes = this.pendingTimes.filter((time) => time.index < index);
      await this.context.maps.removeFrom(this.context.logId, index, cut.baseOffset);
      this.timeIndexMaxMs = this.context.maps.lastTimeEntry(this.context.logId)?.timestampMs ?? -1;
    });
  }

  /**
   * Forgets entries below `index` (retention, snapshots): whole segments below it are deleted and the
   * log start moves. `index` may be lastIndex + 1, which empties the log but keeps its offsets.
   */
  async deletePrefix(index: number): Promise<void> {
    this.assertWritable();
    assert(index >= this.firstIndexValue && index <= this.lastIndexValue + 1,
      () => `deletePrefix(${index}) outside [${this.firstIndexValue}, ${this.lastIndexValue + 1}]`);
    if (index === this.firstIndexValue) return;
    await this.exclusive(async () => {
      await this.indexWritesDone();
      const firstOffset = index <= this.lastIndexValue ? this.locate(index).baseOffset : this.nextOffsetValue;
      const termBeforeFirst = this.termAt(index - 1);
      // Record the new start before deleting files, so a crash in between cannot resurrect them.
      await this.context.maps.removeBelow(this.context.logId, { firstIndex: index, firstOffset, termBeforeFirst });
      while (this.segments.length > 1 && (this.segments[1]?.baseIndex ?? Infinity) <= index) {
        this.segments.shift()?.closeAndDelete();
      }
      if (this.active.lastIndex < index && this.active.baseIndex < index) {
        this.segments.shift()?.closeAndDelete();
        this.segments.push(Segment.create(this.context.io, this.context.directory, index));
      }
      this.firstIndexValue = index;
      this.termBeforeFirst = termBeforeFirst;
      this.logStartOffsetValue = firstOffset;
    });
  }

  /**
   * Discards every entry and continues the log at `start` (a Raft snapshot installed on a follower
   * whose log it replaces). The snapshot must cover the persisted commit index.
   */
  async resetTo(start: LogStart): Promise<void> {
    this.assertWritable();
    const commit = this.context.hardStates.load(this.context.logId).commit;
    assert(start.firstIndex - 1 >= commit, () => `resetTo(${start.firstIndex}) below the commit index ${commit}`);
    await this.exclusive(async () => {
      await this.indexWritesDone();
      // Record the new start first: recovery drops whatever a crash leaves below it.
      await this.context.maps.putLogStart(this.context.logId, start);
      await this.context.maps.removeFrom(this.context.logId, 0, 0);
      for (const segment of this.segments.splice(0)) segment.closeAndDelete();
      this.segments.push(Segment.create(this.context.io, this.context.directory, start.firstIndex));
      this.truncations += 1;
      this.pending = [];
      this.pendingTimes = [];
      this.firstIndexValue = start.firstIndex;
      this.termBeforeFirst = start.termBeforeFirst;
      this.lastIndexValue = start.firstIndex - 1;
      this.lastTermValue = start.termBeforeFirst;
      this.nextOffsetValue = start.firstOffset;
      this.logStartOffsetValue = start.firstOffset;
      this.durableIndexValue = this.lastIndexValue;
      await this.context.hardStates.lowerHighWater(this.context.logId, this.lastIndexValue);
      this.timeIndexMaxMs = -1;
    });
  }

  /**
   * Deletes closed segments past retention, oldest first, never one holding an entry at or above
   * `safeIndex` (entries not yet committed and applied). Returns how many segments went.
   */
  async applyRetention(policy: RetentionPolicy, safeIndex: number): Promise<number> {
    const plan = this.retentionPlan(policy, safeIndex);
    if (plan.count === 0) return 0;
    this.context.logger.info({ log: this.name, segments: plan.count, reason: plan.reason, newFirstIndex:
      plan.nextFirstIndex }, 'retention deletes segments');
    await this.deletePrefix(plan.nextFirstIndex);
    return plan.count;
  }

  /** What applyRetention would delete now: how many segments, and the first index kept. */
  retentionPlan(policy: RetentionPolicy, safeIndex: number): RetentionPlan {
    return selectSegmentsToDelete(this.segments, policy, safeIndex, this.context.nowMs());
  }

  hardState(): HardState {
    return this.context.hardStates.load(this.context.logId);
  }

  /**
   * The hard state as far as the log can honour it at open. When recovery cut the log below the
   * persisted commit index (a corrupt tail, or writes that never reached the disk), the commit is
   * clamped to the log and `lostThrough` names the old commit: the replica must get those entries
   * back from its peers before it takes part in elections (InitialState.recoveringThrough).
   */
  recoveredHardState(): { readonly hardState: HardState; readonly lostThrough: number | null } {
    const stored = this.hardState();
    const highWater = this.context.hardStates.highWater(this.context.logId);
    const lostThrough = Math.max(stored.commit, highWater);
    if (lostThrough <= this.lastIndexValue) return { hardState: stored, lostThrough: null };
    this.context.logger.error({ log: this.name, commit: stored.commit, highWater, lastIndex: this.lastIndexValue },
      'the log lost entries it had made durable; recovering them from peers before voting');
    return { hardState: { ...stored, commit: Math.min(stored.commit, this.lastIndexValue) }, lostThrough };
  }

  /**
   * Persists term, vote and commit durably (LMDB flushed) before resolving. The commit index may not
   * run past the log, so a host appends a batch's entries before saving the hard state that commits them.
   */
  async saveHardState(state: HardState): Promise<void> {
    assert(state.commit <= this.lastIndexValue, () => `commit ${state.commit} beyond last index ${this.lastIndexValue}`);
    // While entries lost below the stored commit are not back, that commit stays: it is the durable
    // mark that keeps this replica out of elections, across restarts too (recoveredHardState).
    const stored = this.context.hardStates.load(this.context.logId).commit;
    const commit = stored > this.lastIndexValue ? stored : state.commit;
    await this.context.hardStates.save(this.context.logId, { ...state, commit }, this.durableIndexValue);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync();
    await this.indexWritesDone();
    this.closed = true;
    for (const segment of this.segments) segment.close();
  }

  private assertWritable(): void {
    assert(!this.closed, () => `log ${this.name} is closed`);
    assert(this.exclusiveWork === null, () => `log ${this.name} is being truncated`);
  }

  /** Runs a truncation or deletion alone: no append starts, and no fdatasync is left on a file it deletes. */
  private async exclusive(work: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      while (this.syncInFlight !== null) await this.syncInFlight.catch(() => undefined);
      await work();
    };
    this.exclusiveWork = run();
    try {
      await this.exclusiveWork;
    } finally {
      this.exclusiveWork = null;
    }
  }
}
