/**
 * The records of one partition in one Fetch reply, handed out as polls ask for them (Kafka's
 * CompletedFetch): batches are checked and decoded one at a time, when a poll reaches them, so a
 * poll that takes a few hundred records makes a few hundred record objects, not the tens of
 * thousands a 4 MiB fetch holds. Records that are returned and dropped soon die young, which is
 * most of what a consumer's garbage collection costs.
 *
 * Each batch is checked whole before any of its records is handed out, as decodeRecordBatch checks
 * it: magic, length, the CRC-32C of the batch (once per batch), the header, the record count, then
 * every record's lengths and varints against the record bytes, and no byte left over. Damaged or
 * malformed bytes throw CorruptMessageError or InvalidRecordError; no record of such a batch is
 * returned. Beyond decodeRecordBatch, offset deltas must rise within the batch and stay within its
 * lastOffsetDelta, so a broker cannot hand out offsets twice or out of order.
 *
 * Why not decodeRecordBatch: at a million records a second its intermediate DecodedRecord per
 * record, the ConsumerRecord copied from it and its cursor object cost half the consumer's time.
 * Here records are read straight from the batch bytes into ConsumerRecords; key, value and header
 * values are views of the fetched bytes (or of the decompressed records), never copies.
 */
import { assert } from '../../raft/core/assert.js';
import { InvalidRecordError, UnsupportedCompressionError } from '../common/errors.js';
import type { BatchHeader, DecodedHeader } from '../protocol/record_batch.js';
import {
  BASE_OFFSET_OFFSET, BATCH_LENGTH_MIN, BATCH_LENGTH_OFFSET, checkBatchCrc, COMPRESSION_CODEC_MASK,
  LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD_BYTES, MAGIC_OFFSET, MAGIC_V2, readBatchHeader, RECORD_BYTES_MIN,
  RECORDS_OFFSET,
} from '../protocol/record_batch.js';
import { decompressRecords } from './compression.js';

export interface ConsumerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Views into the fetched bytes. */
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly DecodedHeader[];
  readonly timestamp: number;
}

/** Shared by every record without headers (most of them): one array fewer per record. */
const NO_HEADERS: readonly DecodedHeader[] = Object.freeze([]);
const NO_RECORDS: readonly ConsumerRecord[] = Object.freeze([]);

export class PartitionRecords {
  private frameIndex = 0;
  /** Where the next batch starts in frames[frameIndex]. */
  private frameAt = 0;
  /** A complete batch was seen in frames[frameIndex]. */
  private frameHadBatch = false;
  /** The decoded records of the current batch; those from `taken` on are still to be handed out. */
  private decoded: readonly ConsumerRecord[] = NO_RECORDS;
  private taken = 0;
  /** lastOffset + 1 of the current batch: the position once all its records are handed out. */
  private batchEnd = 0;
  private nextOffsetValue: number;
  private oversizedBatchSeen = false;
  /**
   * Where the next fetch starts once these records are handed out: one past the last complete
   * batch, as its header says. Read before the batch is checked: a damaged header can only make a
   * fetch ahead start in the wrong place, and the damage is thrown before any record of it is
   * returned (FetchBuffer then drops what was fetched after it).
   */
  readonly endOffset: number;

  /**
   * `frames` are the partition's raw frames of the reply, in order; `startOffset` is the offset the
   * fetch asked for: records below it (the start of the batch that holds it) are skipped.
   */
  constructor(readonly topic: string, readonly partition: number, private readonly frames: readonly Buffer[],
    readonly startOffset: number) {
    assert(Number.isSafeInteger(startOffset) && startOffset >= 0, () => `bad fetch offset ${startOffset}`);
    this.nextOffsetValue = startOffset;
    this.endOffset = endOffsetOf(frames, startOffset);
  }

  /** The offset of the next record to hand out: one past the last record or batch taken. */
  get nextOffset(): number {
    return this.nextOffsetValue;
  }

  /**
   * A frame held only the cut-off start of a batch (KIP-74 style): the partition's fetch size is
   * smaller than that batch, and the consumer should ask for more.
   */
  get oversizedBatch(): boolean {
    return this.oversizedBatchSeen;
  }

  /**
   * Appends records to `out` until it holds `limit` records or this reply has none left; true when
   * none are left. Throws (CorruptMessageError, InvalidRecordError, UnsupportedCompressionError)
   * at a damaged batch, before handing out any of its records; nextOffset then stays at its start.
   */
  takeInto(out: ConsumerRecord[], limit: number): boolean {
    for (;;) {
      const decoded = this.decoded;
      if (this.taken < decoded.length) {
        const stop = Math.min(decoded.length, this.taken + limit - out.length);
        for (let i = this.taken; i < stop; i++) out.push(decoded[i] as ConsumerRecord);
        if (stop > this.taken) this.nextOffsetValue = (decoded[stop - 1] as ConsumerRecord).offset + 1;
        this.taken = stop;
        if (stop < decoded.length) return false;
      }
      // Control batches and gaps after the last record: the position moves past the whole batch.
      if (this.batchEnd > this.nextOffsetValue) this.nextOffsetValue = this.batchEnd;
      this.decoded = NO_RECORDS;
      this.taken = 0;
      if (out.length >= limit) return this.atEnd();
      if (!this.decodeNextBatch()) return true;
    }
  }

  /** No bytes left to look at (a cut-off tail still counts: the next take notes it). */
  private atEnd(): boolean {
    for (let index = this.frameIndex; index < this.frames.length; index++) {
      const frame = this.frames[index] as Buffer;
      if ((index === this.frameIndex ? this.frameAt : 0) < frame.length) return false;
    }
    return true;
  }

  /** Checks and decodes the next batch that reaches nextOffset; false when the frames are used up. */
  private decodeNextBatch(): boolean {
    for (; this.frameIndex < this.frames.length; this.frameIndex++, this.frameAt = 0, this.frameHadBatch = false) {
      const frame = this.frames[this.frameIndex] as Buffer;
      while (this.frameAt < frame.length) {
        const size = completeBatchBytes(frame, this.frameAt);
        if (size === null) {
          // A cut-off tail ends the frame; alone in it, the batch is larger than the fetch size.
          if (!this.frameHadBatch) this.oversizedBatchSeen = true;
          break;
        }
        const batch = frame.subarray(this.frameAt, this.frameAt + size);
        const header = checkedBatchHeader(batch);
        // Only now, the batch checked: a damaged one is met again by whoever reads on from here.
        this.frameAt += size;
        this.frameHadBatch = true;
        const lastOffset = header.baseOffset + header.lastOffsetDelta;
        if (lastOffset < this.nextOffsetValue) continue;
        this.decoded = header.control ? NO_RECORDS
          : decodeRecords(batch, header, this.topic, this.partition, this.nextOffsetValue);
        this.taken = 0;
        this.batchEnd = lastOffset + 1;
        return true;
      }
    }
    return false;
  }
}

/** One past the last record of the last complete batch (headers only, unchecked), at least `from`. */
function endOffsetOf(frames: readonly Buffer[], from: number): number {
  let endOffset = from;
  for (const frame of frames) {
    for (let start = 0; start < frame.length;) {
      const remaining = frame.length - start;
      if (remaining < RECORDS_OFFSET) break;
      const size = frame.readInt32BE(start + BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES;
      if (size < RECORDS_OFFSET || size > remaining) break;
      const lastOffset = Number(frame.readBigInt64BE(start + BASE_OFFSET_OFFSET))
        + frame.readInt32BE(start + LAST_OFFSET_DELTA_OFFSET);
      if (Number.isSafeInteger(lastOffset) && lastOffset + 1 > endOffset) endOffset = lastOffset + 1;
      start += size;
    }
  }
  return endOffset;
}

/**
 * The size of the complete batch at `start` (batchLength + 12), or null when the frame ends
 * before it does. A batchLength below the v2 minimum leaves nothing after it locatable.
 */
function completeBatchBytes(frame: Buffer, start: number): number | null {
  const remaining = frame.length - start;
  if (remaining < LOG_OVERHEAD_BYTES) return null;
  const batchLength = frame.readInt32BE(start + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN) {
    throw new InvalidRecordError('BAD_LENGTH', `batchLength ${batchLength} at byte ${start}`);
  }
  const size = batchLength + LOG_OVERHEAD_BYTES;
  return size <= remaining ? size : null;
}

/** Magic, then the CRC (a flipped bit reads as corruption, not as a bad field), then the header. */
function checkedBatchHeader(batch: Buffer): BatchHeader {
  const magic = batch.readInt8(MAGIC_OFFSET);
  if (magic !== MAGIC_V2) throw new InvalidRecordError('BAD_MAGIC', `magic ${magic}, only 2 is supported`);
  checkBatchCrc(batch);
  const header = readBatchHeader(batch);
  if (header.lastOffsetDelta < 0) {
    throw new InvalidRecordError('BAD_RECORD_COUNT', `lastOffsetDelta ${header.lastOffsetDelta}`);
  }
  return header;
}

/** The uncompressed record bytes of a checked batch: a view of it, or the decompressed copy. */
function recordBytesOf(batch: Buffer, header: BatchHeader): Buffer {
  const region = batch.subarray(RECORDS_OFFSET);
  if (header.compression === 'none') return region;
  if (header.compression === 'unknown') {
    throw new UnsupportedCompressionError(header.attributes & COMPRESSION_CODEC_MASK, 'unknown codec');
  }
  const plain = decompressRecords(header.compression, region);
  return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Record decoding. The cursor is module state, not an object: the readers below then stay small
// enough for V8 to inline into the record loop (a cursor object measured about 1.5x slower). Only
// decodeRecords sets it, and it runs to its end synchronously, so no two decodes share it.

let at = 0;
let end = 0;
/** The memory of the record bytes being decoded, for the views made of them. */
let viewMemory: ArrayBufferLike = new ArrayBuffer(0);
let viewBase = 0;

function malformed(detail: string): InvalidRecordError {
  return new InvalidRecordError('MALFORMED_RECORD', detail);
}

function nextByte(bytes: Buffer): number {
  if (at >= end) throw malformed('unexpected end of record data');
  return bytes[at++] as number;
}

/** A ZigZag varint (int32), at most 5 bytes, as varint.ts reads it. */
function readVarint(bytes: Buffer): number {
  let byte = nextByte(bytes);
  if (byte < 0x80) return (byte >>> 1) ^ -(byte & 1);
  let z = byte & 0x7f;
  for (let shift = 7; shift < 35; shift += 7) {
    byte = nextByte(bytes);
    if (shift === 28 && byte > 0x0f) throw malformed('varint does not fit in 32 bits');
    z |= (byte & 0x7f) << shift;
    if (byte < 0x80) return (z >>> 1) ^ -(z & 1);
  }
  throw malformed('varint longer than 5 bytes');
}

const VARLONG_BYTES_MAX = 10;
/** The largest ZigZag form of a varlong in [-2^52, 2^52 - 1] (varint.ts). */
const ZIGZAG_VARLONG_MAX = 2 ** 53 - 1;

/** A ZigZag varlong in [-2^52, 2^52 - 1], at most 10 bytes, as varint.ts reads it. */
function readVarlong(bytes: Buffer): number {
  let z = 0;
  let scale = 1;
  for (let count = 0; count < VARLONG_BYTES_MAX; count++) {
    const byte = nextByte(bytes);
    z += (byte & 0x7f) * scale;
    scale *= 0x80;
    if (byte < 0x80) {
      if (z > ZIGZAG_VARLONG_MAX) throw malformed('varlong outside [-2^52, 2^52 - 1]');
      // Un-ZigZag without a branch: a negative delta first met in optimized code would deoptimize it.
      const odd = z % 2;
      return ((z + odd) / 2) * (1 - 2 * odd);
    }
  }
  throw malformed('varlong longer than 10 bytes');
}

/** Moves past the next `length` bytes, bounds-checked; returns where they start. */
function skip(length: number): number {
  if (length < 0 || length > end - at) throw malformed(`length ${length} runs past the end (${end - at} bytes left)`);
  const start = at;
  at += length;
  return start;
}

/** A nullable key or value: a view of the record bytes (length -1 is null). */
function readNullableView(bytes: Buffer): Buffer | null {
  const length = readVarint(bytes);
  if (length === -1) return null;
  const start = skip(length);
  return Buffer.from(viewMemory, viewBase + start, length);
}

function readHeaders(bytes: Buffer, bodyEnd: number): readonly DecodedHeader[] {
  const count = readVarint(bytes);
  // Each header takes at least two bytes, which bounds the count before any allocation.
  if (count < 0 || count > (bodyEnd - at) / 2) throw malformed(`header count ${count}`);
  if (count === 0) return NO_HEADERS;
  const headers: DecodedHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyBytes = readVarint(bytes);
    if (keyBytes < 0) throw malformed('null header key');
    const keyStart = skip(keyBytes);
    headers.push({ key: bytes.toString('utf8', keyStart, keyStart + keyBytes), value: readNullableView(bytes) });
  }
  return headers;
}

function safeSum(base: number, delta: number, field: string): number {
  const sum = base + delta;
  if (!Number.isSafeInteger(sum)) {
    throw new InvalidRecordError('UNSAFE_INTEGER', `${field} ${base} + ${delta} is beyond 2^53`);
  }
  return sum;
}

/**
 * Every record of a checked, non-control batch, validated; those at or after `fromOffset` become
 * ConsumerRecords. All or nothing: a malformed record throws before any record is returned.
 */
export function decodeRecords(batch: Buffer, header: BatchHeader, topic: string, partition: number,
  fromOffset: number): ConsumerRecord[] {
  const bytes = recordBytesOf(batch, header);
  const count = header.recordCount;
  if (count < 0 || count > bytes.length / RECORD_BYTES_MIN) {
    throw new InvalidRecordError('BAD_RECORD_COUNT', `recordCount ${count} for ${bytes.length} record bytes`);
  }
  const { baseOffset, baseTimestamp, lastOffsetDelta } = header;
  const appendTime = header.timestampType === 'LogAppendTime' ? header.maxTimestamp : null;
  const records: ConsumerRecord[] = [];
  at = 0;
  end = bytes.length;
  viewMemory = bytes.buffer;
  viewBase = bytes.byteOffset;
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    const bodyBytes = readVarint(bytes);
    if (bodyBytes < 0 || bodyBytes > end - at) throw malformed(`record length ${bodyBytes} runs past the end`);
    const bodyEnd = at + bodyBytes;
    nextByte(bytes); // record attributes: unused
    const timestampDelta = readVarlong(bytes);
    const offsetDelta = readVarint(bytes);
    if (offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw malformed(`offset delta ${offsetDelta} after ${previousDelta} in a batch of last delta ${lastOffsetDelta}`);
    }
    previousDelta = offsetDelta;
    const offset = safeSum(baseOffset, offsetDelta, 'offset');
    if (offset < fromOffset) {
      skipRecordRest(bytes, bodyEnd);
      continue;
    }
    const key = readNullableView(bytes);
    const value = readNullableView(bytes);
    const headers = readHeaders(bytes, bodyEnd);
    if (at !== bodyEnd) throw malformed(`record length ${bodyBytes} does not match its fields`);
    const timestamp = appendTime ?? safeSum(baseTimestamp, timestampDelta, 'timestamp');
    records.push({ topic, partition, offset, key, value, headers, timestamp });
  }
  if (at !== end) throw malformed(`${end - at} bytes after the last record`);
  return records;
}

/** Checks the fields of a record that is not returned (below the fetch position) without making views. */
function skipRecordRest(bytes: Buffer, bodyEnd: number): void {
  for (let field = 0; field < 2; field++) {
    const length = readVarint(bytes);
    if (length !== -1) skip(length);
  }
  readHeaders(bytes, bodyEnd);
  if (at !== bodyEnd) throw malformed('record length does not match its fields');
}
