/**
 * Walks the frames of one segment from a position, reading ahead in large buffers so a fetch or a
 * recovery scan costs one read per buffer, not one per frame. Yields each frame's header with a view
 * of the buffer holding it; the generator's return value says where and why the walk ended.
 */
import { assert } from '../raft/core/assert.js';
import { decodeFrameHeader, FRAME_HEADER_BYTES, frameCrcMatches, isFrameProblem } from './frame.js';
import type { FrameHeader } from './frame.js';
import type { Segment } from './segment.js';

export interface FrameVisit {
  readonly header: FrameHeader;
  /** Holds the whole frame at `offsetInBuffer`; a fresh buffer per read, safe to keep views of. */
  readonly buffer: Buffer;
  readonly offsetInBuffer: number;
  /** Byte position of the frame in the segment file. */
  readonly position: number;
}

export interface WalkEnd {
  /** Where the walk stopped: the end of the last good frame. */
  readonly position: number;
  /** Why a frame could not be used there, or null at the end of the file. */
  readonly problem: string | null;
}

export interface WalkOptions {
  readonly readAheadBytes: number;
  readonly frameBytesMax: number;
  readonly verifyCrc: boolean;
}

export function* walkFrames(segment: Segment, start: number, options: WalkOptions): Generator<FrameVisit, WalkEnd> {
  assert(start >= 0 && start <= segment.sizeBytes, () => `walk start ${start} outside ${segment.file}`);
  let position = start;
  let wantBytes = Math.max(options.readAheadBytes, FRAME_HEADER_BYTES);
  while (position < segment.sizeBytes) {
    const length = Math.min(wantBytes, segment.sizeBytes - position);
    const buffer = Buffer.allocUnsafe(length);
    const bytesRead = segment.read(buffer, length, position);
    assert(bytesRead === length, () => `short read of ${segment.file} at ${position}`);
    let offset = 0;
    while (offset < length) {
      const header = decodeFrameHeader(buffer, offset, length - offset, options.frameBytesMax);
      if (isFrameProblem(header)) {
        const atFileEnd = position + length >= segment.sizeBytes;
        if (header.problem === 'truncated' && !atFileEnd) break; // read further from this frame on
        return { position: position + offset, problem: header.reason };
      }
      if (options.verifyCrc && !frameCrcMatches(buffer, offset, header)) {
        return { position: position + offset, problem: 'CRC mismatch' };
      }
      yield { header, buffer, offsetInBuffer: offset, position: position + offset };
      offset += header.frameBytes;
    }
    // A frame larger than the read-ahead needs a read of its own size.
    wantBytes = offset === 0 ? frameBytesAt(buffer, length) : Math.max(options.readAheadBytes, FRAME_HEADER_BYTES);
    position += offset;
  }
  return { position, problem: null };
}

/** The size of the frame starting at byte 0 of a buffer too short to hold it. */
function frameBytesAt(buffer: Buffer, length: number): number {
  if (length < FRAME_HEADER_BYTES) return FRAME_HEADER_BYTES;
  return buffer.readUInt32LE(0) + 4;
}
