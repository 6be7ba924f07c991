/**
 * Typed operating errors of the storage layer. Storage sits below src/, so it keeps its own small
 * set; the broker maps them onto the wire error table (OFFSET_OUT_OF_RANGE, KAFKA_STORAGE_ERROR).
 * Programmer errors are AssertionErrors (raft/core/assert.ts), never these.
 */
export type StorageErrorCode =
  | 'CORRUPT_SEGMENT'
  | 'OFFSET_OUT_OF_RANGE'
  | 'INDEX_COMPACTED'
  | 'INDEX_UNAVAILABLE'
  | 'ENTRY_TOO_LARGE'
  | 'STORAGE_FULL'
  | 'STORAGE_IO';

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
}

/** A frame that fails its checks where no torn write can be: a closed segment or an indexed frame. */
export class CorruptSegmentError extends StorageError {
  override readonly name = 'CorruptSegmentError';
  readonly code = 'CORRUPT_SEGMENT';
  constructor(readonly file: string, readonly position: number, readonly reason: string) {
    super(`corrupt frame in ${file} at byte ${position}: ${reason}`);
  }
}

/** A read below the log start offset (retention moved it) or above the log end. */
export class OffsetOutOfRangeError extends StorageError {
  override readonly name = 'OffsetOutOfRangeError';
  readonly code = 'OFFSET_OUT_OF_RANGE';
  constructor(readonly offset: number, readonly logStartOffset: number, readonly logEndOffset: number) {
    super(`offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
  }
}

/** A Raft index below the log's first index: it was compacted into a snapshot or deleted. */
export class IndexCompactedError extends StorageError {
  override readonly name = 'IndexCompactedError';
  readonly code = 'INDEX_COMPACTED';
  constructor(readonly index: number, readonly firstIndex: number) {
    super(`raft index ${index} is below the log's first index ${firstIndex}`);
  }
}

/** A Raft index above the log's last index. */
export class IndexUnavailableError extends StorageError {
  override readonly name = 'IndexUnavailableError';
  readonly code = 'INDEX_UNAVAILABLE';
  constructor(readonly index: number, readonly lastIndex: number) {
    super(`raft index ${index} is above the log's last index ${lastIndex}`);
  }
}

export class EntryTooLargeError extends StorageError {
  override readonly name = 'EntryTooLargeError';
  readonly code = 'ENTRY_TOO_LARGE';
  constructor(readonly sizeBytes: number, readonly sizeBytesMax: number) {
    super(`entry of ${sizeBytes} bytes exceeds the limit of ${sizeBytesMax} bytes`);
  }
}

/** The disk is full (ENOSPC/EDQUOT). The partial write was rolled back; the log stays usable. */
export class StorageFullError extends StorageError {
  override readonly name = 'StorageFullError';
  readonly code = 'STORAGE_FULL';
  constructor(readonly file: string, options?: ErrorOptions) {
    super(`no space left to append to ${file}`, options);
  }
}

/** Any other I/O failure, with the file it concerns. */
export class StorageIoError extends StorageError {
  override readonly name = 'StorageIoError';
  readonly code = 'STORAGE_IO';
  constructor(readonly file: string, readonly operation: string, options?: ErrorOptions) {
    super(`${operation} failed on ${file}`, options);
  }
}
