/**
 * Opening a log after any stop, clean or not (the role of Kafka's LogLoader). The LMDB index may lag
 * the segment files or point past them, so recovery trusts the files:
 *  1. walk the index back from its end to the last entry whose frame is really there and intact;
 *  2. drop every index entry after it, then scan the frames after it, re-indexing each good one;
 *  3. a torn or corrupt frame in the last segment is where the log ends: the file is cut there and
 *     the cut is logged; in an earlier (closed) segment it is a CorruptSegmentError, never skipped.
 */
import { assert } from '../raft/core/assert.js';
import { CorruptSegmentError } from './errors.js';
import { decodeFrameHeader, frameCrcMatches, isFrameProblem } from './frame.js';
import type { FrameHeader } from './frame.js';
import type { LogStart, TimeIndexEntry } from './index_maps.js';
import type { LogContext } from './log_context.js';
import { parseSegmentFileName } from './paths.js';
import { Segment } from './segment.js';
import { walkFrames } from './segment_reader.js';
import { EntryType } from './types.js';
import type { EntryLocation } from './types.js';

export interface RecoveredLog {
  readonly segments: Segment[];
  readonly firstIndex: number;
  readonly termBeforeFirst: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly nextOffset: number;
  readonly timeIndexMaxMs: number;
}

/** Where the scan of unindexed frames starts, and what it expects to find there. */
interface ScanCursor {
  segmentSlot: number;
  position: number;
  expectedIndex: number;
  expectedOffset: number | null;
  lastTerm: number;
  timeIndexMaxMs: number;
}

const INDEX_BATCH_ENTRIES = 10_000;

export async function recoverLog(context: LogContext): Promise<RecoveredLog> {
  const { io, directory, maps, logId } = context;
  io.makeDirectory(directory);
  const logStart = maps.logStart(logId);
  const segments = openSegments(context, logStart);
  if (segments.length === 0) {
    const firstIndex = logStart?.firstIndex ?? 1;
    segments.push(Segment.create(io, directory, firstIndex));
    await maps.removeFrom(logId, firstIndex, logStart?.firstOffset ?? 0);
    return {
      segments, firstIndex, termBeforeFirst: logStart?.termBeforeFirst ?? 0, lastIndex: firstIndex - 1,
      lastTerm: logStart?.termBeforeFirst ?? 0, nextOffset: logStart?.firstOffset ?? 0, timeIndexMaxMs: -1,
    };
  }
  const firstSegment = segments[0];
  assert(firstSegment !== undefined, 'at least one segment');
  const firstIndex = Math.max(logStart?.firstIndex ?? firstSegment.baseIndex, firstSegment.baseIndex);
  const termBeforeFirst = logStart?.firstIndex === firstIndex ? logStart.termBeforeFirst : 0;
  const cursor = await startCursor(context, segments, firstIndex);
  await scanTail(context, segments, cursor);
  if (cursor.expectedIndex < firstIndex) {
    // All that survives lies below the recorded start (a reset to a snapshot was cut short): start afresh.
    context.logger.warn({ log: context.name, firstIndex, lastIndexFound: cursor.expectedIndex - 1 },
      'discarding segments wholly below the log start');
    for (const segment of segments.splice(0)) segment.closeAndDelete();
    segments.push(Segment.create(io, directory, firstIndex));
    await maps.removeFrom(logId, 0, 0);
    return { segments, firstIndex, termBeforeFirst, lastIndex: firstIndex - 1, lastTerm: termBeforeFirst,
      nextOffset: logStart?.firstOffset ?? 0, timeIndexMaxMs: -1 };
  }
  await settleSegmentMetadata(context, segments, cursor);
  return {
    segments, firstIndex, termBeforeFirst, lastIndex: cursor.expectedIndex - 1, lastTerm: cursor.lastTerm,
    nextOffset: cursor.expectedOffset ?? logStart?.firstOffset ?? 0, timeIndexMaxMs: cursor.timeIndexMaxMs,
  };
}

/** Opens the segment files in index order, deleting any left wholly below the recorded log start. */
function openSegments(context: LogContext, logStart: LogStart | undefined): Segment[] {
  const baseIndexes = context.io.listDirectory(context.directory)
    .map(parseSegmentFileName)
    .filter((base): base is number => base !== null)
    .sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (const [slot, baseIndex] of baseIndexes.entries()) {
    const segment = Segment.open(context.io, context.directory, baseIndex, context.nowMs());
    const nextBase = baseIndexes[slot + 1];
    // A crash between recording a new log start and deleting the files below it leaves them behind.
    if (logStart !== undefined && nextBase !== undefined && nextBase <= logStart.firstIndex) {
      context.logger.info({ file: segment.file }, 'deleting a segment below the log start');
      segment.closeAndDelete();
      continue;
    }
    segments.push(segment);
  }
  return segments;
}

/** Walks the index back to its last entry whose frame is present and intact. */
async function startCursor(context: LogContext, segments: readonly Segment[], firstIndex: number):
  Promise<ScanCursor> {
  const { maps, logId } = context;
  let anchor: EntryLocation | undefined;
  let dropped = 0;
  for (const location of maps.locationsDescending(logId)) {
    if (location.index < firstIndex) break;
    if (frameMatchesLocation(context, segments, location)) {
      anchor = location;
      break;
    }
    dropped += 1;
  }
  if (anchor !== undefined) {
    const verified = lastIntactLocation(context, segments, anchor);
    if (verified !== anchor) {
      dropped += anchor.index - (verified?.index ?? firstIndex - 1);
      anchor = verified;
    }
  }
  const firstSegment = segments[0];
  assert(firstSegment !== undefined, 'at least one segment');
  const cursor: ScanCursor = anchor === undefined
    // From the start of the first file: frames below the log start may have any earlier term.
    ? { segmentSlot: 0, position: 0, expectedIndex: firstSegment.baseIndex, expectedOffset: null,
      lastTerm: 0, timeIndexMaxMs: -1 }
    : { segmentSlot: segments.findIndex((s) => s.baseIndex === anchor.segmentBaseIndex),
      position: anchor.position + anchor.frameBytes, expectedIndex: anchor.index + 1,
      expectedOffset: anchor.baseOffset + anchor.recordCount, lastTerm: anchor.term, timeIndexMaxMs: -1 };
  if (dropped > 0) {
    context.logger.warn({ log: context.name, dropped, resumeAt: cursor.expectedIndex },
      'dropped index entries that point past the segment files or at other frames');
  }
  // Everything indexed after the anchor is stale or missing: clear it, then rebuild from the files.
  await maps.removeFrom(logId, cursor.expectedIndex, cursor.expectedOffset ?? 0);
  cursor.timeIndexMaxMs = maps.lastTimeEntry(logId)?.timestampMs ?? -1;
  return cursor;
}

/**
 * The index only proves the anchor's own frame intact. Damage inside the last segment below it (a bad
 * sector, a flipped byte) would otherwise surface only when a committed entry is read, so the
 * active segment is CRC-checked up to the anchor, and the anchor moves back before the first bad
 * frame; scanTail then cuts the log there. Closed segments are checked on read (CorruptSegmentError).
 */
function lastIntactLocation(context: LogContext, segments: readonly Segment[], anchor: EntryLocation):
  EntryLocation | undefined {
  const last = segments[segments.length - 1];
  if (last?.baseIndex !== anchor.segmentBaseIndex) return anchor;
  const end = anchor.position + anchor.frameBytes;
  const walk = walkFrames(last, 0, { readAheadBytes: 4 * context.config.readAheadBytes,
    frameBytesMax: context.config.frameBytesMax, verifyCrc: true });
  let lastGood: EntryLocation | undefined;
  for (let step = walk.next(); ; step = walk.next()) {
    if (step.done === true) {
      if (step.value.problem === null || step.value.position >= end) return anchor;
      break;
    }
    if (step.value.position >= end) return anchor;
    lastGood = locationOf(step.value.header, last.baseIndex, step.value.position);
  }
  context.logger.warn({ file: last.file, anchorIndex: anchor.index, lastIntactIndex: lastGood?.index ?? null },
    'a damaged frame lies below the last indexed entry of the active segment');
  return lastGood ?? context.maps.location(context.logId, last.baseIndex - 1);
}

function frameMatchesLocation(context: LogContext, segments: readonly Segment[], location: EntryLocation): boolean {
  const segment = segments.find((s) => s.baseIndex === location.segmentBaseIndex);
  if (segment === undefined || location.position + location.frameBytes > segment.sizeBytes) return false;
  const buffer = Buffer.allocUnsafe(location.frameBytes);
  if (segment.read(buffer, location.frameBytes, location.position) !== location.frameBytes) return false;
  const header = decodeFrameHeader(buffer, 0, location.frameBytes, context.config.frameBytesMax);
  return !isFrameProblem(header) && header.frameBytes === location.frameBytes && header.index === location.index
    && header.term === location.term && frameCrcMatches(buffer, 0, header);
}

/** Scans every frame after the cursor, re-indexing good frames and cutting a torn tail. */
async function scanTail(context: LogContext, segments: Segment[], cursor: ScanCursor): Promise<void> {
  for (let slot = cursor.segmentSlot; slot < segments.length; slot += 1) {
    const segment = segments[slot];
    assert(segment !== undefined, 'segment slot in range');
    const isLast = slot === segments.length - 1;
    const start = slot === cursor.segmentSlot ? cursor.position : 0;
    if (start === 0 && segment.baseIndex !== cursor.expectedIndex) {
      if (isLast && segment.sizeBytes === 0) {
        // An empty segment created under the wrong name cannot hold data; start afresh under the right one.
        segment.closeAndDelete();
        segments[slot] = Segment.create(context.io, context.directory, cursor.expectedIndex);
        return;
      }
      throw new CorruptSegmentError(segment.file, 0,
        `segment starts at index ${segment.baseIndex} but the log continues at ${cursor.expectedIndex}`);
    }
    const problem = await scanSegment(context, segment, start, cursor);
    if (problem === null) continue;
    if (!isLast) throw new CorruptSegmentError(segment.file, problem.position, problem.reason);
    const cutBytes = segment.sizeBytes - problem.position;
    context.logger.warn({ file: segment.file, position: problem.position, cutBytes, reason: problem.reason,
      lastIndex: cursor.expectedIndex - 1 }, 'truncating a torn or corrupt tail of the log');
    segment.truncate(problem.position);
    segment.syncNow();
    return;
  }
}

async function scanSegment(
  context: LogContext, segment: Segment, start: number, cursor: ScanCursor,
): Promise<{ position: number; reason: string } | null> {
  const walk = walkFrames(segment, start, { readAheadBytes: 4 * context.config.readAheadBytes,
    frameBytesMax: context.config.frameBytesMax, verifyCrc: true });
  let locations: EntryLocation[] = [];
  let times: TimeIndexEntry[] = [];
  for (let step = walk.next(); ; step = walk.next()) {
    if (step.done === true) {
      await context.maps.putEntries(context.logId, locations, times);
      return step.value.problem === null ? null : { position: step.value.position, reason: step.value.problem };
    }
    const { header, position } = step.value;
    const reason = frameContinuityProblem(header, cursor);
    if (reason !== null) {
      await context.maps.putEntries(context.logId, locations, times);
      return { position, reason };
    }
    locations.push(locationOf(header, segment.baseIndex, position));
    if (header.maxTimestampMs > cursor.timeIndexMaxMs) {
      cursor.timeIndexMaxMs = header.maxTimestampMs;
      times.push({ timestampMs: header.maxTimestampMs, baseOffset: header.baseOffset, index: header.index });
    }
    cursor.expectedIndex = header.index + 1;
    cursor.expectedOffset = header.baseOffset + header.recordCount;
    cursor.lastTerm = header.term;
    segment.lastIndex = header.index;
    segment.maxTimestampMs = Math.max(segment.maxTimestampMs, header.maxTimestampMs);
    if (locations.length >= INDEX_BATCH_ENTRIES) {
      await context.maps.putEntries(context.logId, locations, times);
      locations = [];
      times = [];
    }
  }
}

/** Why a CRC-valid frame still cannot follow the log so far, or null when it can. */
export function frameContinuityProblem(header: FrameHeader, cursor: Pick<ScanCursor,
  'expectedIndex' | 'expectedOffset' | 'lastTerm'>): string | null {
  if (header.index !== cursor.expectedIndex) return `index ${header.index} where ${cursor.expectedIndex} was due`;
  if (header.term < cursor.lastTerm) return `term ${header.term} below the previous term ${cursor.lastTerm}`;
  if (cursor.expectedOffset !== null && header.baseOffset !== cursor.expectedOffset) {
    return `base offset ${header.baseOffset} where ${cursor.expectedOffset} was due`;
  }
  if (header.type !== EntryType.data && header.recordCount !== 0) {
    return `entry type ${header.type} with ${header.recordCount} records`;
  }
  return null;
}

export function locationOf(header: FrameHeader, segmentBaseIndex: number, position: number): EntryLocation {
  return { index: header.index, term: header.term, segmentBaseIndex, position, frameBytes: header.frameBytes,
    baseOffset: header.baseOffset, recordCount: header.recordCount, maxTimestampMs: header.maxTimestampMs };
}

/**
 * Gives every segment its last index and max timestamp: closed segments from their LMDB record (or
 * a header scan when it is missing), scanned segments from the scan.
 */
async function settleSegmentMetadata(context: LogContext, segments: Segment[], cursor: ScanCursor): Promise<void> {
  for (const [slot, segment] of segments.entries()) {
    const next = segments[slot + 1];
    if (next !== undefined) segment.lastIndex = next.baseIndex - 1;
    if (slot >= cursor.segmentSlot) {
      // The part before the scan start (the anchor's segment) was not read: stay conservative.
      if (slot === cursor.segmentSlot) segment.maxTimestampMs = Math.max(segment.maxTimestampMs, cursor.timeIndexMaxMs);
      continue;
    }
    const meta = context.maps.segmentMeta(context.logId, segment.baseIndex);
    if (meta !== undefined && meta.lastIndex === segment.lastIndex) {
      segment.maxTimestampMs = meta.maxTimestampMs;
      continue;
    }
    segment.maxTimestampMs = scanMaxTimestamp(context, segment);
    if (!segment.isEmpty) {
      await context.maps.putSegmentMeta(context.logId, segment.baseIndex,
        { lastIndex: segment.lastIndex, maxTimestampMs: segment.maxTimestampMs });
    }
  }
}

function scanMaxTimestamp(context: LogContext, segment: Segment): number {
  let maxTimestampMs = -1;
  const walk = walkFrames(segment, 0, { readAheadBytes: 4 * context.config.readAheadBytes,
    frameBytesMax: context.config.frameBytesMax, verifyCrc: false });
  for (let step = walk.next(); step.done !== true; step = walk.next()) {
    maxTimestampMs = Math.max(maxTimestampMs, step.value.header.maxTimestampMs);
  }
  return maxTimestampMs;
}
