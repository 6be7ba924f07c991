/**
 * Builds one RecordBatch v2 record by record, as Kafka's MemoryRecordsBuilder does: each record is
 * encoded into the batch's own buffer when it is appended, so nothing per record outlives the
 * append (the producer used to keep a RecordInput and the caller's buffers per record until the
 * batch was drained, and encode them all then). build() fills in the 61-byte header once the
 * producer id, epoch and base sequence are known, compressing the records first if asked.
 *
 * The bytes are exactly those encodeRecordBatch (record_batch.ts, where the layout is documented)
 * produces for the same records: both use its record and header writers, and a test compares
 * whole batches. The buffer grows only when the caller says so (growTo), because the caller
 * accounts for the memory.
 */
import { AssertionError, assert } from '../../raft/core/assert.js';
import type { CompressionCodec, RecordHeaderInput, RecordsCodec } from './record_batch.js';
import {
  BATCH_HEADER_BYTES,
  compressBatch,
  recordBodyBytes,
  writeBatchHeader,
  writeRecord,
} from './record_batch.js';
import { VARLONG_MAX, VARLONG_MIN, varintBytes } from './varint.js';

export interface BuildOptions {
  readonly compression: CompressionCodec;
  /** Needed when compression is not 'none'. */
  readonly compress?: RecordsCodec;
  /** -1 (and epoch and sequence -1) without idempotence. */
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

const RECORD_COUNT_MAX = 0x7fffffff;
const EMPTY = Buffer.alloc(0);

export class RecordBatchBuilder {
  /** The first record's timestamp; every record is written as a delta from it. */
  readonly baseTimestamp: number;
  private buffer: Buffer;
  /** Where the next record goes: the uncompressed batch size so far, header included. */
  private position = BATCH_HEADER_BYTES;
  private count = 0;
  /** The highest record timestamp so far (not necessarily the first's: CreateTime is the caller's). */
  private maxTimestampNow = -Infinity;
  private built = false;

  constructor(baseTimestamp: number, capacityBytes: number) {
    assert(Number.isSafeInteger(baseTimestamp), () => `bad baseTimestamp ${baseTimestamp}`);
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes > BATCH_HEADER_BYTES,
      () => `capacity ${capacityBytes} cannot hold a record after the header`);
    this.baseTimestamp = baseTimestamp;
    this.buffer = Buffer.allocUnsafe(capacityBytes);
  }

  /** Bytes of the uncompressed batch so far, header included. */
  get sizeBytes(): number {
    return this.position;
  }

  get capacityBytes(): number {
    return this.buffer.length;
  }

  get recordCount(): number {
    return this.count;
  }

  /** -Infinity before the first record. */
  get maxTimestamp(): number {
    return this.maxTimestampNow;
  }

  /** Body bytes (recordBodyBytes) of the record if it were appended next. */
  nextBodyBytes(key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeaderInput[],
    timestamp: number): number {
    return recordBodyBytes(key, value, headers, this.count, timestamp - this.baseTimestamp);
  }

  /** Moves the records to a buffer of capacityBytes (more than now). */
  growTo(capacityBytes: number): void {
    assert(!this.built, 'a built batch does not grow');
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes > this.buffer.length,
      () => `growing from ${this.buffer.length} to ${capacityBytes} bytes`);
    const grown = Buffer.allocUnsafe(capacityBytes);
    this.buffer.copy(grown, BATCH_HEADER_BYTES, BATCH_HEADER_BYTES, this.position);
    this.buffer = grown;
  }

  /**
   * Encodes the record at offsetDelta recordCount. bodyBytes comes from nextBodyBytes for the same
   * fields; the caller has made room (sizeBytes + its length varint + bodyBytes <= capacityBytes).
   */
  append(key: Uint8Array | null, value: Uint8Array | null, headers: readonly RecordHeaderInput[],
    timestamp: number, bodyBytes: number): void {
    assert(!this.built, 'append after build');
    assert(this.count < RECORD_COUNT_MAX, 'a batch holds at most 2^31 - 1 records');
    const delta = timestamp - this.baseTimestamp;
    // Per record: the checks throw directly, as a closure for a lazy message would be allocated per call.
    if (!(Number.isSafeInteger(timestamp) && delta >= VARLONG_MIN && delta <= VARLONG_MAX)) {
      throw new AssertionError(`bad record timestamp ${timestamp} for baseTimestamp ${this.baseTimestamp}`);
    }
    // Checked before writing: Buffer writes past the end would be dropped silently, not thrown.
    if (this.position + varintBytes(bodyBytes) + bodyBytes > this.buffer.length) {
      throw new AssertionError(`no room for a ${bodyBytes}-byte record at ${this.position} of ${this.buffer.length}`);
    }
    this.position = writeRecord(this.buffer, this.position, key, value, headers, bodyBytes, this.count, delta);
    this.count += 1;
    if (timestamp > this.maxTimestampNow) this.maxTimestampNow = timestamp;
  }

  /**
   * The finished batch (baseOffset 0, partitionLeaderEpoch -1 for the broker to set), its records
   * compressed as asked. Called once; nothing may be appended afterwards. Without compression the
   * result is a view of this builder's buffer.
   */
  build(options: BuildOptions): Buffer {
    assert(!this.built, 'a batch is built once');
    assert(this.count >= 1, 'a batch holds at least one record');
    assertIdentity(options);
    this.built = true;
    const uncompressed = this.buffer.subarray(0, this.position);
    const batch = compressBatch(uncompressed, options.compression, options.compress);
    writeBatchHeader(batch, {
      compression: options.compression,
      transactional: false,
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      recordCount: this.count,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestampNow,
      producerId: options.producerId,
      producerEpoch: options.producerEpoch,
      baseSequence: options.baseSequence,
    });
    // The uncompressed records are garbage once compressed.
    if (batch !== uncompressed) this.buffer = EMPTY;
    return batch;
  }
}

function assertIdentity(options: BuildOptions): void {
  const { producerId, producerEpoch, baseSequence } = options;
  assert(Number.isSafeInteger(producerId) && producerId >= -1, () => `bad producerId ${producerId}`);
  assert(Number.isInteger(producerEpoch) && producerEpoch >= -1 && producerEpoch <= 0x7fff,
    () => `bad producerEpoch ${producerEpoch}`);
  assert(Number.isInteger(baseSequence) && baseSequence >= -1 && baseSequence <= 0x7fffffff,
    () => `bad baseSequence ${baseSequence}`);
  assert(producerId < 0 || baseSequence >= 0, 'an idempotent producer needs baseSequence >= 0');
}
