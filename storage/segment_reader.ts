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
  /** Why a frame could not be used there, or null at the end of the file or when the caller stopped. */
  readonly problem: string | null;
  /** The caller's wantsFrame ended the walk before the end of the file. */
  readonly stopped: boolean;
}

export interface WalkOptions {
  readonly readAheadBytes: number;
  readonly frameBytesMax: number;
  readonly verifyCrc: boolean;
  /** Where the buffers read into come from (default: a new Buffer per read). */
  readonly buffers?: ReadBuffers;
  /**
   * Asked with the size of each next frame, from its length field, before the frame is read whole
   * or checked; false ends the walk there. A bounded read then stops at its last frame instead of
   * reading the one after it. An unchecked length can only end the walk early, never yield a frame.
   */
  readonly wantsFrame?: (frameBytes: number) => boolean;
}

/** A source of read buffers, e.g. a ReadBufferPool. release() is called once a buffer is walked. */
export interface ReadBuffers {
  allocate(length: number): Buffer;
  release(buffer: Buffer): void;
}

export function* walkFrames(segment: Segment, start: number, options: WalkOptions): Generator<FrameVisit, WalkEnd> {
  assert(start >= 0 && start <= segment.sizeBytes, () => `walk start ${start} outside ${segment.file}`);
  let position = start;
  let wantBytes = Math.max(options.readAheadBytes, FRAME_HEADER_BYTES);
  while (position < segment.sizeBytes) {
    const length = Math.min(wantBytes, segment.sizeBytes - position);
    const buffer = options.buffers?.allocate(length) ?? Buffer.allocUnsafe(length);
    let offset = 0;
    try {
      const bytesRead = segment.read(buffer, length, position);
      assert(bytesRead === length, () => `short read of ${segment.file} at ${position}`);
      while (offset < length) {
        if (options.wantsFrame !== undefined && length - offset >= LENGTH_FIELD_BYTES
          && !options.wantsFrame(frameBytesAt(buffer, offset))) {
          return { position: position + offset, problem: null, stopped: true };
        }
        const header = decodeFrameHeader(buffer, offset, length - offset, options.frameBytesMax);
        if (isFrameProblem(header)) {
          const atFileEnd = position + length >= segment.sizeBytes;
          if (header.problem === 'truncated' && !atFileEnd) break; // read further from this frame on
          return { position: position + offset, problem: header.reason, stopped: false };
        }
        if (options.verifyCrc && !frameCrcMatches(buffer, offset, header)) {
          return { position: position + offset, problem: 'CRC mismatch', stopped: false };
        }
        yield { header, buffer, offsetInBuffer: offset, position: position + offset };
        offset += header.frameBytes;
      }
    } finally {
      options.buffers?.release(buffer);
    }
    // A frame larger than the read-ahead needs a read of its own size.
    wantBytes = offset === 0 ? Math.max(frameBytesAt(buffer, 0), FRAME_HEADER_BYTES)
      : Math.max(options.readAheadBytes, FRAME_HEADER_BYTES);
    position += offset;
  }
  return { position, problem: null, stopped: false };
}

const LENGTH_FIELD_BYTES = 4;

/** The size of the frame at `offset` as its length field says (unchecked); needs 4 bytes there. */
function frameBytesAt(buffer: Buffer, offset: number): number {
  return buffer.readUInt32LE(offset) + LENGTH_FIELD_BYTES;
}
