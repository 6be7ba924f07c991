/** Limits of one partition log. Every size and age has a name and a bound (validateLogConfig). */
import { assert } from '../raft/core/assert.js';

export interface LogConfig {
  /** Roll to a new segment once the active one reaches this size (Kafka segment.bytes). */
  readonly segmentBytesMax: number;
  /** Roll once the active segment's first frame is this old (Kafka segment.ms). */
  readonly segmentAgeMsMax: number;
  /** Largest frame, header included; a larger entry is refused with EntryTooLargeError. */
  readonly frameBytesMax: number;
  /** Bytes read per system call when walking frames. */
  readonly readAheadBytes: number;
  /** Entries appended but not yet committed to the LMDB index; appends beyond it are refused. */
  readonly pendingIndexEntriesMax: number;
}

export const defaultLogConfig: LogConfig = {
  segmentBytesMax: 1024 * 1024 * 1024,
  segmentAgeMsMax: 7 * 24 * 60 * 60 * 1000,
  frameBytesMax: 16 * 1024 * 1024,
  readAheadBytes: 1024 * 1024,
  pendingIndexEntriesMax: 1_000_000,
};

export function validateLogConfig(config: LogConfig): LogConfig {
  for (const [name, value] of Object.entries(config)) {
    assert(Number.isSafeInteger(value) && value > 0, () => `${name} must be a positive integer, got ${value}`);
  }
  assert(config.frameBytesMax <= 2 ** 31, 'frameBytesMax must fit a u32 frame length');
  return config;
}

/** Retention, as Kafka's retention.ms and retention.bytes; -1 means unlimited. */
export interface RetentionPolicy {
  readonly retentionMs: number;
  readonly retentionBytes: number;
}
