/**
 * Kafka RecordBatch v2 (magic 2): the one documented place for its byte layout in Tributary.
 * Sources: Kafka DefaultRecordBatch.java / DefaultRecord.java, the protocol guide, and
 * Kafka's message format page (see also docs/protocol.md). All integers are big-endian unless they are varints.
 *
 * Batch header (61 bytes, then the records):
 *
 *   offset size field                 notes
 *   0      8    baseOffset int64      client writes 0; the BROKER OVERWRITES it (assignOffsets)
 *   8      4    batchLength int32     bytes after this field = total size - 12
 *   12     4    partitionLeaderEpoch  the BROKER OVERWRITES it with the Raft term; -1 = unknown
 *   16     1    magic int8 = 2        read before interpreting anything from byte 17 on
 *   17     4    crc uint32            CRC-32C of bytes 21 .. end of batch
 *   21     2    attributes int16      bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd),
 *                                     bit 3 timestamp type (1 = LogAppendTime), bit 4 transactional,
 *                                     bit 5 control, bit 6 delete horizon
 *   23     4    lastOffsetDelta int32 recordCount - 1 for a client batch
 *   27     8    baseTimestamp int64   first record's timestamp
 *   35     8    maxTimestamp int64    highest record timestamp
 *   43     8    producerId int64      -1 when not idempotent
 *   51     2    producerEpoch int16   -1 when unused
 *   53     4    baseSequence int32    -1 when unused
 *   57     4    recordCount int32
 *   61     ...  records               with codec != 0 everything from 61 on is one compressed blob
 *
 * CRC coverage: bytes 21 to the end of the batch. baseOffset (0-7), batchLength (8-11),
 * partitionLeaderEpoch (12-15) and magic (16) are outside it, so a broker may overwrite bytes 0-7
 * and 12-15, and ONLY those, without recomputing the CRC. Tributary never edits anything else.
 *
 * Record (uncompressed), all lengths are varints (see varint.ts for ZigZag and the 7-bit groups):
 *
 *   record     = length:varint  body                (length = byte count of body)
 *   body       = attributes:int8 (unused, 0)  timestampDelta:varlong  offsetDelta:varint
 *                keyLength:varint key  valueLength:varint value  headerCount:varint header*
 *   header     = keyLength:varint utf8Key  valueLength:varint value
 *   keyLength / valueLength = -1 means null (a null value is a tombstone); header keys are never null
 *
 *   Example: key "k1", value "v1", header h=x  ->  1c 00 00 00 04 6b31 04 7631 02 02 68 02 78
 *
 * Numbers: int64 fields are read as bigint and exposed as numbers. A value outside the safe
 * integer range in input bytes is an InvalidRecordError('UNSAFE_INTEGER'); offsets, timestamps and
 * producer ids beyond 2^53 never occur in practice. Encoder inputs out of range are caller bugs
 * (assert). Decoded keys and values are Buffer views into the input bytes (no copy): a caller that
 * reuses the input buffer must copy first.
 *
 * Compression: with codec != 0 the bytes from 61 on are the codec's compression of the record
 * sequence above; the header (recordCount included) stays uncompressed. This file holds no
 * codec: encodeRecordBatch and decodeRecordBatch take a RecordsCodec function (the client's is
 * src/client/compression.ts). validateBatch only reads the header and the CRC; the broker walks
 * the records on append with record_validation.ts, which inflates gzip bodies (bounded) only to
 * read them. decodeRecordBatch refuses compressed batches with UnsupportedCompressionError
 * unless the caller (a client or a test) passes a decompressor.
 */
import { assert } from '../../raft/core/assert.js';
import { crc32c } from '../../storage/crc32c.js';
import {
  CorruptMessageError,
  InvalidRecordError,
  MessageTooLargeError,
  UnsupportedCompressionError,
} from '../common/errors.js';
import { ByteReader, varintBytes, varlongBytes, writeVarint, writeVarlong } from './varint.js';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength (Kafka's LOG_OVERHEAD). */
export const LOG_OVERHEAD_BYTES = 12;
/** The smallest legal batchLength: a header with no records. */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
export const CRC_COVERAGE_START = ATTRIBUTES_OFFSET;
export const MAGIC_V2 = 2;
/** length, attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: 1 byte each. */
export const RECORD_BYTES_MIN = 7;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_MASK = 0x10;
export const CONTROL_MASK = 0x20;

/** Index = codec id in attribute bits 0-2; ids 5-7 are undefined. */
export const COMPRESSION_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionCodec = (typeof COMPRESSION_CODECS)[number];
export type TimestampType = 'CreateTime' | 'LogAppendTime';

export interface BatchHeader {
  readonly baseOffset: number;
  readonly batchLength: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  /** The raw int16; the fields below are decoded from it. */
  readonly attributes: number;
  readonly compression: CompressionCodec | 'unknown';
  readonly timestampType: TimestampType;
  readonly transactional: boolean;
  readonly control: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readSafeInt64(view: DataView, offset: number, field: string): number {
  const value = view.getBigInt64(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InvalidRecordError('UNSAFE_INTEGER', `${field} ${value} is beyond 2^53`);
  }
  return Number(value);
}

function compressionOf(attributes: number): CompressionCodec | 'unknown' {
  return COMPRESSION_CODECS[attributes & COMPRESSION_CODEC_MASK] ?? 'unknown';
}

/**
 * Reads the 61-byte header of the batch starting at position, without touching the records or
 * checking the CRC. Throws InvalidRecordError when fewer than 61 bytes remain or magic is not 2.
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  assert(Number.isSafeInteger(position) && position >= 0, 'position must be a natural number');
  if (bytes.length - position < MAGIC_OFFSET + 1) {
    throw new InvalidRecordError('TRUNCATED', `${bytes.length - position} bytes cannot hold a batch header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + position, bytes.byteLength - position);
  const magic = view.getInt8(MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    throw new InvalidRecordError('BAD_MAGIC', `magic ${magic}, only 2 is supported`);
  }
  if (view.byteLength < BATCH_HEADER_BYTES) {
    throw new InvalidRecordError('TRUNCATED', `${view.byteLength} bytes cannot hold a batch header`);
  }
  const attributes = view.getInt16(ATTRIBUTES_OFFSET);
  return {
    baseOffset: readSafeInt64(view, BASE_OFFSET_OFFSET, 'baseOffset'),
    batchLength: view.getInt32(BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: view.getInt32(PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: view.getUint32(CRC_OFFSET),
    attributes,
    compression: compressionOf(attributes),
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'LogAppendTime' : 'CreateTime',
    transactional: (attributes & TRANSACTIONAL_MASK) !== 0,
    control: (attributes & CONTROL_MASK) !== 0,
    lastOffsetDelta: view.getInt32(LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readSafeInt64(view, BASE_TIMESTAMP_OFFSET, 'baseTimestamp'),
    maxTimestamp: readSafeInt64(view, MAX_TIMESTAMP_OFFSET, 'maxTimestamp'),
    producerId: readSafeInt64(view, PRODUCER_ID_OFFSET, 'producerId'),
    producerEpoch: view.getInt16(PRODUCER_EPOCH_OFFSET),
    baseSequence: view.getInt32(BASE_SEQUENCE_OFFSET),
    recordCount: view.getInt32(RECORD_COUNT_OFFSET),
  };
}

/** The offset of the last record: baseOffset + lastOffsetDelta. */
export function batchLastOffset(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}

/** CRC-32C over bytes 21 to the end of the one batch that fills `batch`. */
export function computeBatchCrc(batch: Uint8Array): number {
  assert(batch.length >= BATCH_HEADER_BYTES, 'a batch is at least 61 bytes');
  return crc32c(batch.subarray(CRC_COVERAGE_START));
}

/** Throws CorruptMessageError when the stored CRC of the batch filling `batch` does not match. */
export function checkBatchCrc(batch: Uint8Array): void {
  const stored = viewOf(batch).getUint32(CRC_OFFSET);
  const computed = computeBatchCrc(batch);
  if (stored !== computed) {
    throw new CorruptMessageError(stored, computed);
  }
}

// ---------------------------------------------------------------------------------------------
// Produce path

export interface ProduceBatchLimits {
  /** Largest accepted batch in bytes, whole batch included (Kafka max.message.bytes). */
  readonly batchBytesMax: number;
  /** Zstd is legal only from Produce v7 on. */
  readonly zstdAllowed: boolean;
}

export interface ValidatedBatch {
  readonly header: BatchHeader;
  readonly sizeBytes: number;
}

/**
 * Checks the header and the CRC of one client batch (a partition's record set in Produce v3+);
 * the produce path then walks the records (record_validation.ts validateProduceBatch). Never
 * decompresses. Throws, in this order:
 * InvalidRecordError (truncated, bad magic, length not filling the bytes: exactly one batch),
 * MessageTooLargeError, CorruptMessageError (CRC), UnsupportedCompressionError (codec 5-7, or
 * zstd when not allowed), InvalidRecordError (control bit, baseOffset != 0, record count,
 * sequence).
 */
export function validateBatch(bytes: Uint8Array, limits: ProduceBatchLimits): ValidatedBatch {
  assert(Number.isSafeInteger(limits.batchBytesMax) && limits.batchBytesMax >= BATCH_HEADER_BYTES,
    'batchBytesMax must hold at least a batch header');
  const sizeBytes = batchExtent(bytes);
  if (sizeBytes !== bytes.length) {
    throw new InvalidRecordError('BAD_LENGTH', `batchLength says ${sizeBytes} bytes, got ${bytes.length}`);
  }
  if (sizeBytes > limits.batchBytesMax) {
    throw new MessageTooLargeError(sizeBytes, limits.batchBytesMax);
  }
  // CRC before interpreting fields: a flipped bit should read as corruption, not as a bad value.
  checkBatchCrc(bytes);
  const header = readBatchHeader(bytes);
  checkProduceCompression(header, limits);
  checkProduceHeader(header, sizeBytes);
  return { header, sizeBytes };
}

/**
 * The total size (batchLength + 12) of the v2 batch at the start of bytes, after checking the
 * magic, that the header fits and that batchLength is at least the header. It may exceed
 * bytes.length (a truncated batch); callers decide what that means.
 */
function batchExtent(bytes: Uint8Array): number {
  if (bytes.length < MAGIC_OFFSET + 1) {
    throw new InvalidRecordError('TRUNCATED', `${bytes.length} bytes cannot hold a batch header`);
  }
  const view = viewOf(bytes);
  const magic = view.getInt8(MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    throw new InvalidRecordError('BAD_MAGIC', `magic ${magic}, only 2 is supported`);
  }
  if (bytes.length < BATCH_HEADER_BYTES) {
    throw new InvalidRecordError('TRUNCATED', `${bytes.length} bytes cannot hold a batch header`);
  }
  const batchLength = view.getInt32(BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN) {
    throw new InvalidRecordError('BAD_LENGTH', `batchLength ${batchLength} < ${BATCH_LENGTH_MIN}`);
  }
  return batchLength + LOG_OVERHEAD_BYTES;
}

function checkProduceCompression(header: BatchHeader, limits: ProduceBatchLimits): void {
  const codecId = header.attributes & COMPRESSION_CODEC_MASK;
  if (header.compression === 'unknown') {
    throw new UnsupportedCompressionError(codecId, 'no such codec');
  }
  if (header.compression === 'zstd' && !limits.zstdAllowed) {
    throw new UnsupportedCompressionError(codecId, 'zstd needs Produce v7 or later');
  }
}

function checkProduceHeader(header: BatchHeader, sizeBytes: number): void {
  if (header.control) {
    throw new InvalidRecordError('CONTROL_BATCH', 'clients may not write control batches');
  }
  if (header.baseOffset !== 0) {
    throw new InvalidRecordError('NONZERO_BASE_OFFSET', `baseOffset ${header.baseOffset}, expected 0`);
  }
  checkRecordCount(header, sizeBytes);
  if (header.producerId >= 0 && header.baseSequence < 0) {
    throw new InvalidRecordError('BAD_SEQUENCE',
      `producerId ${header.producerId} with baseSequence ${header.baseSequence}`);
  }
}

/** recordCount > 0, equal to lastOffsetDelta + 1, and (uncompressed) not more than the bytes allow. */
function checkRecordCount(header: BatchHeader, sizeBytes: number): void {
  const { recordCount, lastOffsetDelta } = header;
  if (recordCount <= 0 || lastOffsetDelta + 1 !== recordCount) {
    throw new InvalidRecordError('BAD_RECORD_COUNT',
      `recordCount ${recordCount}, lastOffsetDelta ${lastOffsetDelta}`);
  }
  const recordBytes = sizeBytes - BATCH_HEADER_BYTES;
  if (header.compression === 'none' && recordCount > recordBytes / RECORD_BYTES_MIN) {
    throw new InvalidRecordError('BAD_RECORD_COUNT',
      `${recordCount} records cannot fit in ${recordBytes} bytes`);
  }
}

/**
 * Overwrites baseOffset (bytes 0-7) and partitionLeaderEpoch (bytes 12-15) of the batch at the
 * start of `batch`, in place. Nothing else changes, so the CRC stays valid. Returns the last
 * offset of the batch (baseOffset + lastOffsetDelta).
 */
export function assignOffsets(batch: Uint8Array, baseOffset: number, leaderEpoch: number): number {
  assert(batch.length >= BATCH_HEADER_BYTES && batch[MAGIC_OFFSET] === MAGIC_V2, 'not a v2 batch');
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `bad baseOffset ${baseOffset}`);
  assert(Number.isInteger(leaderEpoch) && leaderEpoch >= -1 && leaderEpoch <= 0x7fffffff,
    () => `bad leaderEpoch ${leaderEpoch}`);
  const view = viewOf(batch);
  const lastOffset = baseOffset + view.getInt32(LAST_OFFSET_DELTA_OFFSET);
  assert(Number.isSafeInteger(lastOffset) && lastOffset >= baseOffset, 'last offset out of range');
  view.setBigInt64(BASE_OFFSET_OFFSET, BigInt(baseOffset));
  view.setInt32(PARTITION_LEADER_EPOCH_OFFSET, leaderEpoch);
  return lastOffset;
}

// ---------------------------------------------------------------------------------------------
// Encoding (Tributary's own client and tests). The producer builds its batches record by record
// with record_batch_builder.ts, which uses the record and header writers below.

export interface RecordHeaderInput {
  readonly key: string;
  readonly value: Uint8Array | null;
}

export interface RecordInput {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly RecordHeaderInput[];
  /** Defaults to the batch's baseTimestamp. */
  readonly timestamp?: number;
}

/**
 * Compresses (encode) or decompresses (decode) the record bytes after recordCount with `codec`.
 * Encoders are only called with a codec other than 'none'.
 */
export type RecordsCodec = (codec: CompressionCodec, bytes: Uint8Array) => Uint8Array;

export interface EncodeBatchOptions {
  /** At least one record; record i gets offsetDelta i. */
  readonly records: readonly RecordInput[];
  /** Defaults to the first record's timestamp (as Kafka's Java client does). */
  readonly baseTimestamp?: number;
  /** Written in attribute bits 0-2; anything but 'none' needs `compress`. */
  readonly compression?: CompressionCodec;
  readonly compress?: RecordsCodec;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  /** Clients leave these at 0 and -1; the broker sets them with assignOffsets. */
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
}

interface BatchTimestamps {
  readonly base: number;
  readonly max: number;
  readonly deltas: readonly number[];
}

function batchTimestamps(options: EncodeBatchOptions): BatchTimestamps {
  const base = options.baseTimestamp ?? options.records[0]?.timestamp;
  assert(base !== undefined, 'give baseTimestamp or a timestamp on the first record');
  assert(Number.isSafeInteger(base), () => `bad baseTimestamp ${base}`);
  let max = -Infinity;
  const deltas = options.records.map((record) => {
    const timestamp = record.timestamp ?? base;
    assert(Number.isSafeInteger(timestamp), () => `bad record timestamp ${timestamp}`);
    max = Math.max(max, timestamp);
    return timestamp - base;
  });
  return { base, max, deltas };
}

function headerBodyBytes(header: RecordHeaderInput): number {
  const keyBytes = Buffer.byteLength(header.key, 'utf8');
  return varintBytes(keyBytes) + keyBytes + nullableBytesSize(header.value);
}

function nullableBytesSize(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : varintBytes(bytes.length) + bytes.length;
}

/**
 * Bytes of a record's body (everything after its length varint) at offsetDelta and
 * timestampDelta. Fields are passed one by one, not as a RecordInput, so that the producer's
 * batch builder (record_batch_builder.ts) needs no object per record.
 */
export function recordBodyBytes(key: Uint8Array | null, value: Uint8Array | null,
  headers: readonly RecordHeaderInput[], offsetDelta: number, timestampDelta: number): number {
  let size = 1 + varlongBytes(timestampDelta) + varintBytes(offsetDelta);
  size += nullableBytesSize(key) + nullableBytesSize(value) + varintBytes(headers.length);
  // Indexed, not for-of: iterating the producer's frozen empty header list allocates an iterator
  // and a result object per record (a tenth of the producer's heap churn at the peak).
  for (let i = 0; i < headers.length; i += 1) {
    size += headerBodyBytes(headers[i] as RecordHeaderInput);
  }
  return size;
}

function writeNullableBytes(out: Uint8Array, position: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    out[position] = 0x01; // varint -1: null
    return position + 1;
  }
  position = writeVarint(out, position, bytes.length);
  out.set(bytes, position);
  return position + bytes.length;
}

/**
 * Writes one record (length varint, then the body of bodyBytes bytes from recordBodyBytes) at
 * position; returns the position after it. out must have room: callers size it first.
 */
export function writeRecord(out: Buffer, position: number, key: Uint8Array | null, value: Uint8Array | null,
  headers: readonly RecordHeaderInput[], bodyBytes: number, offsetDelta: number, timestampDelta: number): number {
  position = writeVarint(out, position, bodyBytes);
  const bodyStart = position;
  out[position++] = 0; // record attributes: unused
  position = writeVarlong(out, position, timestampDelta);
  position = writeVarint(out, position, offsetDelta);
  position = writeNullableBytes(out, position, key);
  position = writeNullableBytes(out, position, value);
  position = writeVarint(out, position, headers.length);
  for (let i = 0; i < headers.length; i += 1) {
    const header = headers[i] as RecordHeaderInput;
    position = writeVarint(out, position, Buffer.byteLength(header.key, 'utf8'));
    position += out.write(header.key, position, 'utf8');
    position = writeNullableBytes(out, position, header.value);
  }
  assert(position - bodyStart === bodyBytes, 'record size computed and written disagree');
  return position;
}

/** The header fields a client chooses; the rest follow from the records. */
export interface BatchHeaderFields {
  readonly compression: CompressionCodec;
  readonly transactional: boolean;
  readonly baseOffset: number;
  readonly partitionLeaderEpoch: number;
  readonly recordCount: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
}

/**
 * Fills the 61-byte header of the batch that fills `out` (records already in place, compressed
 * or not), CRC last.
 */
export function writeBatchHeader(out: Buffer, fields: BatchHeaderFields): void {
  assert(out.length >= BATCH_HEADER_BYTES && out.length - LOG_OVERHEAD_BYTES <= 0x7fffffff,
    () => `a batch of ${out.length} bytes does not fit batchLength`);
  const view = viewOf(out);
  const codecId = COMPRESSION_CODECS.indexOf(fields.compression);
  assert(codecId >= 0, 'unknown compression codec');
  view.setBigInt64(BASE_OFFSET_OFFSET, BigInt(fields.baseOffset));
  view.setInt32(BATCH_LENGTH_OFFSET, out.length - LOG_OVERHEAD_BYTES);
  view.setInt32(PARTITION_LEADER_EPOCH_OFFSET, fields.partitionLeaderEpoch);
  view.setInt8(MAGIC_OFFSET, MAGIC_V2);
  view.setInt16(ATTRIBUTES_OFFSET, codecId | (fields.transactional ? TRANSACTIONAL_MASK : 0));
  view.setInt32(LAST_OFFSET_DELTA_OFFSET, fields.recordCount - 1);
  view.setBigInt64(BASE_TIMESTAMP_OFFSET, BigInt(fields.baseTimestamp));
  view.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(fields.maxTimestamp));
  view.setBigInt64(PRODUCER_ID_OFFSET, BigInt(fields.producerId));
  view.setInt16(PRODUCER_EPOCH_OFFSET, fields.producerEpoch);
  view.setInt32(BASE_SEQUENCE_OFFSET, fields.baseSequence);
  view.setInt32(RECORD_COUNT_OFFSET, fields.recordCount);
  // Last: the CRC covers everything written above from byte 21 on, and the records.
  view.setUint32(CRC_OFFSET, computeBatchCrc(out));
}

function assertEncodeOptions(options: EncodeBatchOptions): void {
  assert(options.records.length >= 1, 'a batch holds at least one record');
  const producerId = options.producerId ?? -1;
  assert(Number.isSafeInteger(producerId) && producerId >= -1, () => `bad producerId ${producerId}`);
  const epoch = options.producerEpoch ?? -1;
  assert(Number.isInteger(epoch) && epoch >= -1 && epoch <= 0x7fff, () => `bad producerEpoch ${epoch}`);
  const sequence = options.baseSequence ?? -1;
  assert(Number.isInteger(sequence) && sequence >= -1 && sequence <= 0x7fffffff,
    () => `bad baseSequence ${sequence}`);
  assert(producerId < 0 || sequence >= 0, 'an idempotent producer needs baseSequence >= 0');
  const baseOffset = options.baseOffset ?? 0;
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `bad baseOffset ${baseOffset}`);
  const epochLeader = options.partitionLeaderEpoch ?? -1;
  assert(Number.isInteger(epochLeader) && epochLeader >= -1 && epochLeader <= 0x7fffffff,
    () => `bad partitionLeaderEpoch ${epochLeader}`);
  assert(COMPRESSION_CODECS.includes(options.compression ?? 'none'), 'unknown compression codec');
  assert((options.compression ?? 'none') === 'none' || options.compress !== undefined,
    'a compressed batch needs a compress function');
}

/**
 * Encodes a v2 batch with a valid CRC, compressing the records with options.compress when
 * options.compression is not 'none'. Inputs out of range are assertion failures.
 */
export function encodeRecordBatch(options: EncodeBatchOptions): Buffer {
  assertEncodeOptions(options);
  const stamps = batchTimestamps(options);
  const bodySizes = options.records.map((record, i) => recordBodyBytes(record.key, record.value,
    record.headers ?? [], i, stamps.deltas[i] ?? 0));
  let size = BATCH_HEADER_BYTES;
  for (const bodyBytes of bodySizes) {
    size += varintBytes(bodyBytes) + bodyBytes;
  }
  assert(size - LOG_OVERHEAD_BYTES <= 0x7fffffff, 'batch too large for batchLength');
  const out = Buffer.allocUnsafe(size);
  let position = BATCH_HEADER_BYTES;
  options.records.forEach((record, i) => {
    position = writeRecord(out, position, record.key, record.value, record.headers ?? [], bodySizes[i] ?? 0, i,
      stamps.deltas[i] ?? 0);
  });
  assert(position === size, 'batch size computed and written disagree');
  const batch = compressBatch(out, options.compression ?? 'none', options.compress);
  writeBatchHeader(batch, {
    compression: options.compression ?? 'none',
    transactional: options.transactional === true,
    baseOffset: options.baseOffset ?? 0,
    partitionLeaderEpoch: options.partitionLeaderEpoch ?? -1,
    recordCount: options.records.length,
    baseTimestamp: stamps.base,
    maxTimestamp: stamps.max,
    producerId: options.producerId ?? -1,
    producerEpoch: options.producerEpoch ?? -1,
    baseSequence: options.baseSequence ?? -1,
  });
  return batch;
}

/**
 * The batch with its records (the bytes from 61 on) replaced by their compression with `codec`;
 * `uncompressed` itself when codec is 'none'. The header is written afterwards (writeBatchHeader).
 */
export function compressBatch(uncompressed: Buffer, codec: CompressionCodec,
  compress: RecordsCodec | undefined): Buffer {
  if (codec === 'none') {
    return uncompressed;
  }
  assert(compress !== undefined, 'a compressed batch needs a compress function');
  const blob = compress(codec, uncompressed.subarray(RECORDS_OFFSET));
  assert(RECORDS_OFFSET + blob.length - LOG_OVERHEAD_BYTES <= 0x7fffffff, 'batch too large for batchLength');
  const out = Buffer.allocUnsafe(RECORDS_OFFSET + blob.length);
  out.set(blob, RECORDS_OFFSET);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding (clients and tests; brokers never decode records)

export interface DecodedHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface DecodedRecord {
  readonly offsetDelta: number;
  readonly timestampDelta: number;
  /** baseTimestamp + timestampDelta, or maxTimestamp under LogAppendTime (as Kafka defines it). */
  readonly timestamp: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly DecodedHeader[];
}

export interface DecodedBatch {
  readonly header: BatchHeader;
  /** Total bytes of this batch (batchLength + 12); the input may continue after it. */
  readonly sizeBytes: number;
  readonly records: readonly DecodedRecord[];
}

export interface DecodeOptions {
  /** Check the CRC first (default true, like the Java consumer's check.crcs). */
  readonly verifyCrc?: boolean;
  /**
   * Decompresses the records of a compressed batch (clients only). Without it, compressed
   * batches are refused. Decoded keys and values are then views into its output.
   */
  readonly decompress?: RecordsCodec;
}

/**
 * Decodes the batch at the start of bytes, with its records. Throws InvalidRecordError for a
 * malformed or truncated batch, CorruptMessageError on a CRC mismatch and
 * UnsupportedCompressionError for compressed batches when no decompressor is given or the codec
 * is unknown (clients decompress, brokers never do).
 */
export function decodeRecordBatch(bytes: Uint8Array, options: DecodeOptions = {}): DecodedBatch {
  const sizeBytes = batchExtent(bytes);
  if (sizeBytes > bytes.length) {
    throw new InvalidRecordError('TRUNCATED', `batchLength says ${sizeBytes} bytes, only ${bytes.length}`);
  }
  const batch = Buffer.from(bytes.buffer, bytes.byteOffset, sizeBytes);
  if (options.verifyCrc ?? true) {
    checkBatchCrc(batch);
  }
  const header = readBatchHeader(batch);
  const recordBytes = recordRegion(batch, header, options);
  if (header.recordCount < 0 || header.recordCount > recordBytes.length / RECORD_BYTES_MIN) {
    throw new InvalidRecordError('BAD_RECORD_COUNT',
      `recordCount ${header.recordCount} for ${recordBytes.length} record bytes`);
  }
  const reader = new ByteReader(recordBytes, 0, recordBytes.length);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < header.recordCount; i++) {
    records.push(decodeRecord(recordBytes, reader, header));
  }
  if (reader.remaining !== 0) {
    throw new InvalidRecordError('MALFORMED_RECORD', `${reader.remaining} bytes after the last record`);
  }
  return { header, sizeBytes, records };
}

/**
 * The offset delta of the first record whose timestamp is at or after `timestampMs` (ListOffsets by
 * time needs the record, not just its batch), or null when no record qualifies. A compressed batch
 * is not decoded on the broker: its first record (delta 0) stands for it.
 */
export function firstOffsetDeltaAtOrAfter(batch: Uint8Array, timestampMs: number): number | null {
  const header = readBatchHeader(batch);
  if (header.maxTimestamp < timestampMs) return null;
  if (header.compression !== 'none' || header.timestampType === 'LogAppendTime') return 0;
  const found = decodeRecordBatch(batch, { verifyCrc: false }).records.find((r) => r.timestamp >= timestampMs);
  return found === undefined ? null : found.offsetDelta;
}

/** The uncompressed record bytes of batch: a view of it, or the decompressor's output. */
function recordRegion(batch: Buffer, header: BatchHeader, options: DecodeOptions): Buffer {
  const region = batch.subarray(RECORDS_OFFSET);
  if (header.compression === 'none') {
    return region;
  }
  if (header.compression === 'unknown' || options.decompress === undefined) {
    throw new UnsupportedCompressionError(header.attributes & COMPRESSION_CODEC_MASK,
      `${header.compression} batches are not decoded here`);
  }
  const plain = options.decompress(header.compression, region);
  return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
}

/**
 * Reads one record with the batch's own reader (no window reader per record: that was one more
 * allocation per record). Every read stays bounded by the record region; a record whose fields do
 * not end exactly where its length says is malformed either way.
 */
function decodeRecord(batch: Buffer, reader: ByteReader, header: BatchHeader): DecodedRecord {
  const bodyBytes = reader.readVarint();
  if (bodyBytes < 0 || bodyBytes > reader.remaining) {
    throw new InvalidRecordError('MALFORMED_RECORD', `record length ${bodyBytes} runs past the end`);
  }
  const bodyEnd = reader.position + bodyBytes;
  reader.readInt8(); // record attributes: unused
  const timestampDelta = reader.readVarlong();
  const offsetDelta = reader.readVarint();
  const key = readNullableBuffer(batch, reader);
  const value = readNullableBuffer(batch, reader);
  const headers = readHeaders(batch, reader, bodyEnd);
  if (reader.position !== bodyEnd) {
    throw new InvalidRecordError('MALFORMED_RECORD', `record length ${bodyBytes} does not match its fields`);
  }
  const timestamp = header.timestampType === 'LogAppendTime'
    ? header.maxTimestamp
    : safeSum(header.baseTimestamp, timestampDelta, 'timestamp');
  const offset = safeSum(header.baseOffset, offsetDelta, 'offset');
  return { offsetDelta, timestampDelta, timestamp, offset, key, value, headers };
}

/** Shared by every record without headers (most of them): one array fewer per decoded record. */
const NO_HEADERS: readonly DecodedHeader[] = Object.freeze([]);

function readHeaders(batch: Buffer, reader: ByteReader, bodyEnd: number): readonly DecodedHeader[] {
  const count = reader.readVarint();
  // Each header takes at least two bytes, which bounds the count before any allocation.
  if (count < 0 || count > (bodyEnd - reader.position) / 2) {
    throw new InvalidRecordError('MALFORMED_RECORD', `header count ${count}`);
  }
  if (count === 0) return NO_HEADERS;
  const headers: DecodedHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyBytes = reader.readVarint();
    if (keyBytes < 0) {
      throw new InvalidRecordError('MALFORMED_RECORD', 'null header key');
    }
    const keyView = reader.readBytes(keyBytes);
    const key = bufferOf(batch, keyView).toString('utf8');
    headers.push({ key, value: readNullableBuffer(batch, reader) });
  }
  return headers;
}

/** reader must read batch's own bytes: the Buffer is made over batch's memory at the reader's position. */
function readNullableBuffer(batch: Buffer, reader: ByteReader): Buffer | null {
  const length = reader.readVarint();
  if (length === -1) {
    return null;
  }
  const start = reader.skip(length);
  return Buffer.from(batch.buffer, batch.byteOffset + start, length);
}

/** A Buffer over the same memory as view, which lies inside batch. */
function bufferOf(batch: Buffer, view: Uint8Array): Buffer {
  return Buffer.from(batch.buffer, view.byteOffset, view.byteLength);
}

function safeSum(base: number, delta: number, field: string): number {
  const sum = base + delta;
  if (!Number.isSafeInteger(sum)) {
    throw new InvalidRecordError('UNSAFE_INTEGER', `${field} ${base} + ${delta} is beyond 2^53`);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Walking concatenated batches (fetch responses, segment reads)

export interface CompleteBatchSlice {
  readonly kind: 'complete';
  /** Where the batch starts in the input. */
  readonly position: number;
  readonly baseOffset: number;
  readonly batchLength: number;
  /** A view of exactly this batch (batchLength + 12 bytes), no copy. */
  readonly bytes: Uint8Array;
}

/** A tail too short for its batch: allowed at the end of a fetch response (KIP-74 style cut). */
export interface PartialBatchSlice {
  readonly kind: 'partial';
  readonly position: number;
  readonly bytes: Uint8Array;
}

export type BatchSlice = CompleteBatchSlice | PartialBatchSlice;

/**
 * Walks concatenated batches reading only baseOffset and batchLength of each (no magic, CRC or
 * record checks). A short tail is yielded last as a 'partial' slice. Throws InvalidRecordError
 * on a batchLength below the v2 minimum, since nothing after it can be located.
 */
export function* iterateBatches(bytes: Uint8Array): Generator<BatchSlice, void, undefined> {
  const view = viewOf(bytes);
  let position = 0;
  while (position < bytes.length) {
    const remaining = bytes.length - position;
    if (remaining < LOG_OVERHEAD_BYTES) {
      yield { kind: 'partial', position, bytes: bytes.subarray(position) };
      return;
    }
    const batchLength = view.getInt32(position + BATCH_LENGTH_OFFSET);
    if (batchLength < BATCH_LENGTH_MIN) {
      throw new InvalidRecordError('BAD_LENGTH', `batchLength ${batchLength} at byte ${position}`);
    }
    const end = position + LOG_OVERHEAD_BYTES + batchLength;
    if (end > bytes.length) {
      yield { kind: 'partial', position, bytes: bytes.subarray(position) };
      return;
    }
    const baseOffset = readSafeInt64(view, position + BASE_OFFSET_OFFSET, 'baseOffset');
    yield { kind: 'complete', position, baseOffset, batchLength, bytes: bytes.subarray(position, end) };
    position = end;
  }
}

export interface SplitBatches {
  readonly batches: readonly CompleteBatchSlice[];
  readonly partial: PartialBatchSlice | null;
}

/** iterateBatches collected: the complete batches and the partial tail, if any. */
export function splitBatches(bytes: Uint8Array): SplitBatches {
  const batches: CompleteBatchSlice[] = [];
  let partial: PartialBatchSlice | null = null;
  for (const slice of iterateBatches(bytes)) {
    if (slice.kind === 'complete') {
      batches.push(slice);
    } else {
      partial = slice;
    }
  }
  return { batches, partial };
}
