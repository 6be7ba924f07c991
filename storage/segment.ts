/**
 * One append-only segment file, named by the Raft index of its first frame. Writes gather frame
 * headers and payloads with writev (payloads are never copied); durability comes from datasync.
 */
import path from 'node:path';
import { assert } from '../raft/core/assert.js';
import { StorageFullError, StorageIoError } from './errors.js';
import type { FileIo } from './file_io.js';
import { segmentFileName } from './paths.js';

export class Segment {
  /** Raft index of the last frame, or baseIndex - 1 while the segment is empty. */
  lastIndex: number;
  /** Largest record timestamp of any frame, or -1. */
  maxTimestampMs: number;
  sizeBytes: number;
  /** Bytes covered by the last completed datasync. */
  durableSizeBytes: number;
  private fd: number | null;

  private constructor(
    private readonly io: FileIo,
    readonly file: string,
    readonly baseIndex: number,
    fd: number,
    sizeBytes: number,
    /** When the first frame was written, or when this process opened a non-empty file. */
    public firstAppendAtMs: number | null,
  ) {
    this.fd = fd;
    this.sizeBytes = sizeBytes;
    this.durableSizeBytes = sizeBytes;
    this.lastIndex = baseIndex - 1;
    this.maxTimestampMs = -1;
  }

  static create(io: FileIo, directory: string, baseIndex: number): Segment {
    const file = path.join(directory, segmentFileName(baseIndex));
    assert(!io.exists(file), () => `segment ${file} already exists`);
    const fd = io.openAppend(file);
    // The new name must survive a power loss as surely as the frames written into it.
    io.syncDirectory(directory);
    return new Segment(io, file, baseIndex, fd, 0, null);
  }

  static open(io: FileIo, directory: string, baseIndex: number, nowMs: number): Segment {
    const file = path.join(directory, segmentFileName(baseIndex));
    const fd = io.openAppend(file);
    const sizeBytes = io.sizeOf(fd);
    return new Segment(io, file, baseIndex, fd, sizeBytes, sizeBytes > 0 ? nowMs : null);
  }

  get isEmpty(): boolean {
    return this.lastIndex < this.baseIndex;
  }

  private descriptor(): number {
    assert(this.fd !== null, () => `segment ${this.file} is closed`);
    return this.fd;
  }

  /** Appends whole frames; on failure the file is cut back so no partial frame stays behind. */
  append(buffers: readonly Uint8Array[], bytes: number): void {
    const fd = this.descriptor();
    const position = this.sizeBytes;
    try {
      const written = this.io.writev(fd, buffers, position);
      assert(written === bytes, () => `writev wrote ${written} of ${bytes} bytes to ${this.file}`);
    } catch (error) {
      this.rollBackTo(fd, position);
      throw classifyWriteError(this.file, error);
    }
    this.sizeBytes = position + bytes;
  }

  private rollBackTo(fd: number, position: number): void {
    try {
      this.io.truncate(fd, position);
    } catch {
      // Recovery on the next open cuts any torn tail; nothing more can be done here.
    }
  }

  read(into: Buffer, length: number, position: number): number {
    return this.io.read(this.descriptor(), into, 0, length, position);
  }

  truncate(sizeBytes: number): void {
    assert(sizeBytes <= this.sizeBytes, 'a segment can only be truncated shorter');
    this.io.truncate(this.descriptor(), sizeBytes);
    this.sizeBytes = sizeBytes;
    this.durableSizeBytes = Math.min(this.durableSizeBytes, sizeBytes);
  }

  /** Starts a datasync covering everything written so far; resolves to the size it covered. */
  async sync(): Promise<number> {
    const covered = this.sizeBytes;
    try {
      await this.io.datasync(this.descriptor());
    } catch (error) {
      throw new StorageIoError(this.file, 'fdatasync', { cause: error });
    }
    this.durableSizeBytes = Math.max(this.durableSizeBytes, covered);
    return covered;
  }

  syncNow(): void {
    this.io.datasyncNow(this.descriptor());
    this.durableSizeBytes = this.sizeBytes;
  }

  close(): void {
    if (this.fd === null) return;
    this.io.close(this.fd);
    this.fd = null;
  }

  closeAndDelete(): void {
    this.close();
    this.io.remove(this.file);
  }
}

function classifyWriteError(file: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StorageFullError(file, { cause: error });
  if (error instanceof Error && error.name === 'AssertionError') return error;
  return new StorageIoError(file, 'write', { cause: error });
}
