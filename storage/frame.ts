/**
 * Segment frame layout. A segment file is a sequence of frames; each frame is one Raft entry.
 * All integers little-endian; 64-bit fields are written as (low u32, high i32) pairs and must be
 * safe integers.
 *
 *   byte  field          notes
 *   0     length  u32    bytes after this field: 44 + payload length
 *   4     crc     u32    CRC-32C of bytes 8 .. end of payload
 *   8     magic   u8     FRAME_MAGIC (1)
 *   9     type    u8     EntryType: 0 data, 1 noop, 2 config
 *   10    reserved u16   0
 *   12    term    u64
 *   20    index   u64    Raft index
 *   28    records u32    records in the payload
 *   32    base offset u64
 *   40    max timestamp i64   -1 when the entry has none
 *   48    payload        opaque (RecordBatch v2 bytes for data entries)
 *
 * The CRC covers the header fields after itself, so a torn or flipped header is caught as surely as
 * a damaged payload.
 */
import { AssertionError } from '../raft/core/assert.js';
import { crc32c } from './crc32c.js';
import { isEntryType } from './types.js';
import type { EntryType } from './types.js';

export const FRAME_MAGIC = 1;
export const FRAME_HEADER_BYTES = 48;
const LENGTH_FIELD_BYTES = 4;
const CRC_START = 8;
const TWO_32 = 2 ** 32;

export interface FrameFields {
  readonly type: EntryType;
  readonly term: number;
  readonly index: number;
  readonly recordCount: number;
  readonly baseOffset: number;
  readonly maxTimestampMs: number;
}

export interface FrameHeader extends FrameFields {
  /** Total frame size in bytes, header included. */
  readonly frameBytes: number;
  readonly crc: number;
}

// Hot path (once per entry): checks throw directly instead of building assert messages.
function writeU64(buffer: Buffer, position: number, value: number): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new AssertionError(`u64 field out of range: ${value}`);
  buffer.writeUInt32LE(value % TWO_32, position);
  buffer.writeUInt32LE(Math.floor(value / TWO_32), position + 4);
}

function writeI64(buffer: Buffer, position: number, value: number): void {
  if (!Number.isSafeInteger(value)) throw new AssertionError(`i64 field out of range: ${value}`);
  const high = Math.floor(value / TWO_32);
  buffer.writeUInt32LE(value - high * TWO_32, position);
  buffer.writeInt32LE(high, position + 4);
}

function readU64(buffer: Buffer, position: number): number {
  return buffer.readUInt32LE(position) + buffer.readUInt32LE(position + 4) * TWO_32;
}

function readI64(buffer: Buffer, position: number): number {
  return buffer.readUInt32LE(position) + buffer.readInt32LE(position + 4) * TWO_32;
}

/** Writes every header field but the CRC at `position`; seal the frame afterwards. */
export function writeFrameHeader(buffer: Buffer, position: number, fields: FrameFields, payloadBytes: number): void {
  buffer.writeUInt32LE(FRAME_HEADER_BYTES - LENGTH_FIELD_BYTES + payloadBytes, position);
  buffer[position + 8] = FRAME_MAGIC;
  buffer[position + 9] = fields.type;
  buffer.writeUInt16LE(0, position + 10);
  writeU64(buffer, position + 12, fields.term);
  writeU64(buffer, position + 20, fields.index);
  if (!(fields.recordCount >= 0 && fields.recordCount < TWO_32)) throw new AssertionError('record count overflows u32');
  buffer.writeUInt32LE(fields.recordCount, position + 28);
  writeU64(buffer, position + 32, fields.baseOffset);
  writeI64(buffer, position + 40, fields.maxTimestampMs);
}

/** Writes the CRC of a frame whose payload follows its header in the same buffer. */
export function sealContiguousFrame(buffer: Buffer, position: number, frameBytes: number): void {
  buffer.writeUInt32LE(crc32c(buffer.subarray(position + CRC_START, position + frameBytes)), position + 4);
}

/** Writes the CRC of a frame whose payload lives in its own buffer (gathered by writev, not copied). */
export function sealSeparateFrame(buffer: Buffer, position: number, payload: Uint8Array): void {
  const headerRest = buffer.subarray(position + CRC_START, position + FRAME_HEADER_BYTES);
  buffer.writeUInt32LE(crc32c(payload, crc32c(headerRest)), position + 4);
}

/** A frame header that could not be read: too few bytes (torn) or fields out of range. */
export interface FrameProblem {
  readonly problem: 'truncated' | 'invalid';
  readonly reason: string;
}

/**
 * Parses the header at `position`. `available` is how many bytes of the frame exist from `position`
 * (the file may be shorter than the frame says: a torn write). The CRC is not checked here.
 */
export function decodeFrameHeader(
  buffer: Buffer, position: number, available: number, frameBytesMax: number,
): FrameHeader | FrameProblem {
  if (available < FRAME_HEADER_BYTES) {
    return { problem: 'truncated', reason: `only ${available} bytes where a header needs ${FRAME_HEADER_BYTES}` };
  }
  const frameBytes = buffer.readUInt32LE(position) + LENGTH_FIELD_BYTES;
  const magic = buffer.readUInt8(position + 8);
  const type = buffer.readUInt8(position + 9);
  if (magic !== FRAME_MAGIC) return { problem: 'invalid', reason: `bad magic ${magic}` };
  if (!isEntryType(type)) return { problem: 'invalid', reason: `bad entry type ${type}` };
  if (frameBytes < FRAME_HEADER_BYTES || frameBytes > frameBytesMax) {
    return { problem: 'invalid', reason: `bad frame length ${frameBytes}` };
  }
  if (frameBytes > available) {
    return { problem: 'truncated', reason: `frame of ${frameBytes} bytes but only ${available} present` };
  }
  return {
    frameBytes,
    crc: buffer.readUInt32LE(position + 4),
    type,
    term: readU64(buffer, position + 12),
    index: readU64(buffer, position + 20),
    recordCount: buffer.readUInt32LE(position + 28),
    baseOffset: readU64(buffer, position + 32),
    maxTimestampMs: readI64(buffer, position + 40),
  };
}

export function isFrameProblem(value: FrameHeader | FrameProblem): value is FrameProblem {
  return 'problem' in value;
}

/** True when the frame at `position` (whose header was decoded) has an intact CRC. */
export function frameCrcMatches(buffer: Buffer, position: number, header: FrameHeader): boolean {
  const covered = buffer.subarray(position + CRC_START, position + header.frameBytes);
  return crc32c(covered) === header.crc;
}

/** The payload view of a decoded frame (shares memory with `buffer`). */
export function framePayload(buffer: Buffer, position: number, header: FrameHeader): Buffer {
  return buffer.subarray(position + FRAME_HEADER_BYTES, position + header.frameBytes);
}
