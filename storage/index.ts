/** Public surface of the storage layer. */
export { LogManager } from './log_manager.js';
export { nodeFileIo } from './file_io.js';
export type { FileIo } from './file_io.js';
export { PowerLossFileIo } from './power_loss_file_io.js';
export type { PowerLossFileIoOptions } from './power_loss_file_io.js';
export { withoutFsync } from './no_fsync_file_io.js';
export type { LogManagerOptions } from './log_manager.js';
export { Log } from './log.js';
export type { AppendResult, RecordDeltaAtOrAfter, TimestampLookup } from './log.js';
export { defaultLogConfig } from './log_config.js';
export type { LogConfig, RetentionPolicy } from './log_config.js';
export { EntryType } from './types.js';
export type { EntryInput, EntryLocation, HardState, RawRead, StoredEntry, StorageLogger } from './types.js';
export {
  StorageError, CorruptSegmentError, OffsetOutOfRangeError, IndexCompactedError, IndexUnavailableError,
  EntryTooLargeError, StorageFullError, StorageIoError,
} from './errors.js';
export type { StorageErrorCode } from './errors.js';
export { crc32c } from './crc32c.js';
export { logNameOf, partitionDirectory, segmentFileName } from './paths.js';
export { RaftLogStorage } from './raft_log_storage.js';
export type { PayloadDescription, RaftLogStorageOptions } from './raft_log_storage.js';
