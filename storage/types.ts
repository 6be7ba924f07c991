/**
 * Value types of the log. Raft indexes and record offsets are distinct number spaces: an entry's
 * base offset is the count of records in all earlier entries, so offsets advance by recordCount and
 * indexes by one. Both are safe integers (asserted where they enter the storage layer).
 */
export const EntryType = {
  /** A producer's RecordBatch v2 bytes, opaque to storage. */
  data: 0,
  /** The no-op a Raft leader appends at the start of its term. */
  noop: 1,
  /** A Raft configuration change. */
  config: 2,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export function isEntryType(value: number): value is EntryType {
  return value === EntryType.data || value === EntryType.noop || value === EntryType.config;
}

/** What the Raft host hands to Log.append. Offsets are assigned by the log, never by the caller. */
export interface EntryInput {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Records in the payload (0 for noop and config entries). */
  readonly recordCount: number;
  /** Largest record timestamp in the payload, or -1 when it has none. */
  readonly maxTimestampMs: number;
  readonly payload: Uint8Array;
}

/** An entry read back from the log, with the base offset the log assigned to it. */
export interface StoredEntry extends EntryInput {
  readonly baseOffset: number;
}

/** Where an entry lives, as kept in the index map (Kafka's .index role, per entry). */
export interface EntryLocation {
  readonly index: number;
  readonly term: number;
  readonly segmentBaseIndex: number;
  readonly position: number;
  readonly frameBytes: number;
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly maxTimestampMs: number;
}

/** Raft hard state: must be durable before any vote or message of the term leaves the node. */
export interface HardState {
  readonly term: number;
  readonly vote: number | null;
  readonly commit: number;
}

/** Raw batch bytes for a fetch: views of the stored payloads, whole entries only, never decoded. */
export interface RawRead {
  /**
   * Views of the stored payloads, no copies. They may be pooled memory (ReadBufferPool), reused
   * once they are garbage: keep them, not views made from them (subarray, `.buffer`).
   */
  readonly chunks: readonly Buffer[];
  readonly sizeBytes: number;
  /** Base offset of the first returned entry (it may start below the requested offset). */
  readonly firstOffset: number;
  /** One past the last record returned: where the next fetch should start. */
  readonly nextOffset: number;
}

export interface StorageLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}
