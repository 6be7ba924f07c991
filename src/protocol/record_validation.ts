/**
 * Record validation on append (Kafka's LogValidator): before a producer's batch reaches Raft the
 * leader walks every record in it, so a batch that cannot be decoded is never stored. A batch
 * with a correct CRC but malformed records would otherwise stop every consumer at its offset.
 *
 * validateBatch (record_batch.ts) checks the header and the CRC; validateProduceBatch adds the
 * walk over the records (record_batch.ts documents the layout). The walk reads varints straight
 * from the bytes, by the rules of varint.ts's ByteReader but with no object at all: nothing is
 * allocated per record or per batch (bar a gzip body's inflated copy). The stored bytes are the
 * producer's, unchanged: we refuse, we never rewrite.
 *
 * Rules, each an InvalidRecordError (INVALID_RECORD) naming the record index and byte position:
 * - the records fill the region exactly: recordCount records, no bytes after the last
 *   (lastOffsetDelta = recordCount - 1 > -1 is validateBatch's check, so empty batches are refused);
 * - each record's length varint covers exactly its fields; varints at most 5 bytes and within
 *   int32, varlongs at most 10 bytes and within +-2^52 (what the decoders can represent);
 * - offsetDelta of record i is i (Kafka requires 0..n-1 in order from clients);
 * - key and value lengths >= -1, header count >= 0, header key length >= 0, header value >= -1,
 *   every length within the record;
 * - CreateTime: baseTimestamp + timestampDelta is a safe integer for every record, and the
 *   header's maxTimestamp equals the largest of them. Kafka rewrites a wrong maxTimestamp; we do
 *   not rewrite, and Tributary's time index trusts maxTimestamp (ListOffsets by time), so a batch
 *   whose maxTimestamp lies is refused. LogAppendTime record timestamps are not read by anyone
 *   (every record takes maxTimestamp), so only their varlong form is checked.
 * - record attributes are ignored, as Kafka ignores them (no record-level attribute is defined).
 *
 * Compression: gzip bodies are inflated (off the event loop on the produce path:
 * validateRecordsOffLoop) with a bound (RECORDS_INFLATED_BYTES_MAX, the same bound
 * clients decode with, so anything stored decodes on a consumer); a body that inflates past it is
 * refused without allocating more than the bound. The broker has no snappy, lz4 or zstd
 * decompressor (node 20's zlib has none, and no such package is installed), so batches in those
 * codecs are stored as they came once their header and CRC pass, as Redpanda does: the CRC covers
 * the compressed body, so what the producer sent is what consumers get, and a consumer decodes it
 * (or, the native client, refuses a codec it lacks with a typed error). Kafka clients (kcat,
 * librdkafka) produce them; Tributary's own producer writes only none and gzip. A codec number
 * outside Kafka's (5-7) is refused with UNSUPPORTED_COMPRESSION_TYPE.
 */
import { gunzip, gunzipSync } from 'node:zlib';

import { InvalidRecordError, UnsupportedCompressionError } from '../common/errors.js';
import type { BatchHeader, ProduceBatchLimits, ValidatedBatch } from './record_batch.js';
import { COMPRESSION_CODEC_MASK, RECORD_BYTES_MIN, RECORDS_OFFSET, validateBatch } from './record_batch.js';
import { VARINT_BYTES_MAX, VARLONG_BYTES_MAX, VARLONG_MAX } from './varint.js';

/**
 * The most bytes one compressed batch's records may inflate to: 8 times the broker's default
 * batch limit (8 MiB), and what a consumer accepts (src/client/compression.ts uses this bound), so
 * the broker never stores a batch its consumers would refuse. Kafka's fetch.max.bytes is 50 MiB.
 */
export const RECORDS_INFLATED_BYTES_MAX = 64 * 1024 * 1024;

export interface ProduceValidationOptions extends ProduceBatchLimits {
  /**
   * Only for measuring what validation costs (`tributary bench produce
   * --unsafe-skip-record-validation`): the records are not walked, so a malformed batch is stored.
   */
  readonly unsafeSkipRecordValidation?: boolean;
  /** Defaults to RECORDS_INFLATED_BYTES_MAX. */
  readonly inflatedBytesMax?: number;
}

/**
 * validateBatch, then every record of the batch. Throws what validateBatch throws, then
 * UnsupportedCompressionError (a codec number Kafka does not define) and InvalidRecordError (any malformed record,
 * a gzip body that does not inflate or inflates past the bound).
 */
export function validateProduceBatch(bytes: Uint8Array, options: ProduceValidationOptions): ValidatedBatch {
  const validated = validateBatch(bytes, options);
  if (options.unsafeSkipRecordValidation !== true) {
    validateRecords(bytes, validated.header, options.inflatedBytesMax ?? RECORDS_INFLATED_BYTES_MAX);
  }
  return validated;
}

/** Walks the records of a batch whose header validateBatch accepted (the batch fills `batch`). */
export function validateRecords(batch: Uint8Array, header: BatchHeader,
  inflatedBytesMax = RECORDS_INFLATED_BYTES_MAX): void {
  switch (header.compression) {
    case 'none':
      walkRecords(batch, RECORDS_OFFSET, header, 'the batch');
      return;
    case 'gzip':
      walkRecords(inflateGzip(batch.subarray(RECORDS_OFFSET), inflatedBytesMax), 0, header,
        'the inflated records');
      return;
    case 'snappy':
    case 'lz4':
    case 'zstd':
      return; // stored as they came (see the header): the CRC checked the body the consumer will read
    case 'unknown':
      throw new UnsupportedCompressionError(header.attributes & COMPRESSION_CODEC_MASK,
        'not a Kafka compression codec');
  }
}

/**
 * validateRecords for a compressed batch with the inflating off the event loop, in libuv's thread
 * pool: a body inflating to tens of MiB takes about a hundred milliseconds of CPU, which on the
 * event loop held up the broker's Raft heartbeats (a client sending gzip bombs made partitions
 * change leaders). Uncompressed batches are walked at once.
 */
export async function validateRecordsOffLoop(batch: Uint8Array, header: BatchHeader,
  inflatedBytesMax = RECORDS_INFLATED_BYTES_MAX): Promise<void> {
  if (header.compression !== 'gzip') {
    validateRecords(batch, header, inflatedBytesMax);
    return;
  }
  const body = batch.subarray(RECORDS_OFFSET);
  await inflateSlots.acquire();
  try {
    const inflated = await new Promise<Uint8Array>((resolve, reject) => {
      gunzip(body, { maxOutputLength: inflatedBytesMax }, (error, result) => {
        if (error === null) resolve(result);
        else reject(inflateError(error, body.length, inflatedBytesMax));
      });
    });
    walkRecords(inflated, 0, header, 'the inflated records');
  } finally {
    inflateSlots.release();
  }
}

/**
 * Inflates running at once in a process. Each may hold up to the inflated bound (64 MiB) until it
 * is walked: without a limit, a client sending gzip bombs had hundreds inflating together.
 */
export const INFLATES_CONCURRENT_MAX = 2;

/** A counting semaphore: waiters are served in arrival order. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(count: number) {
    this.free = count;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => { this.waiting.push(resolve); });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.free += 1;
    else next();
  }
}

const inflateSlots = new Slots(INFLATES_CONCURRENT_MAX);

function inflateGzip(body: Uint8Array, bytesMax: number): Uint8Array {
  try {
    return gunzipSync(body, { maxOutputLength: bytesMax });
  } catch (error: unknown) {
    throw inflateError(error, body.length, bytesMax);
  }
}

function inflateError(error: unknown, bodyBytes: number, bytesMax: number): InvalidRecordError {
  if (error instanceof RangeError && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    return new InvalidRecordError('INFLATED_TOO_LARGE',
      `the ${bodyBytes} gzip bytes inflate past ${bytesMax} bytes`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new InvalidRecordError('MALFORMED_RECORD', `gzip records of ${bodyBytes} bytes: ${detail}`,
    { cause: error });
}

/**
 * Reads records[start, end) as header.recordCount records. `where` names the bytes in messages
 * (the batch itself, or the inflated body of a compressed one).
 */
function walkRecords(records: Uint8Array, start: number, header: BatchHeader, where: string): void {
  const { recordCount } = header;
  const end = records.length;
  if (recordCount > (end - start) / RECORD_BYTES_MIN) {
    throw new InvalidRecordError('BAD_RECORD_COUNT',
      `recordCount ${recordCount} cannot fit in the ${end - start} bytes of ${where}`);
  }
  const createTime = header.timestampType === 'CreateTime';
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  let index = 0;
  let position = start;
  try {
    for (; index < recordCount; index++) {
      if (position === end) {
        throw new InvalidRecordError('BAD_RECORD_COUNT', `recordCount is ${recordCount} but the records end here`);
      }
      const timestampDelta = walkRecord(records, position, end, index);
      position = cursor;
      if (createTime) {
        const timestamp = header.baseTimestamp + timestampDelta;
        if (!Number.isSafeInteger(timestamp)) {
          throw new InvalidRecordError('UNSAFE_INTEGER',
            `timestamp ${header.baseTimestamp} + ${timestampDelta} is beyond 2^53`);
        }
        if (timestamp > maxTimestamp) maxTimestamp = timestamp;
      }
    }
  } catch (error: unknown) {
    if (error instanceof InvalidRecordError) {
      throw new InvalidRecordError(error.reason,
        `record ${index} (from byte ${position} of ${where}): ${error.detail}`, { cause: error });
    }
    throw error;
  }
  if (position !== end) {
    throw new InvalidRecordError('MALFORMED_RECORD', `${end - position} bytes after the last of ` +
      `${recordCount} records (from byte ${position} of ${where}): trailing bytes or a recordCount too low`);
  }
  if (createTime && maxTimestamp !== header.maxTimestamp) {
    throw new InvalidRecordError('BAD_TIMESTAMP',
      `maxTimestamp ${header.maxTimestamp} but the largest record timestamp is ${maxTimestamp}`);
  }
}

/**
 * Where the last read below stopped: the readers return their value and leave the next position
 * here (a second return value without an object per read; the walk is synchronous).
 */
let cursor = 0;

/**
 * Walks the record at bytes[position] (record `index` of its batch), leaves the position after it
 * in `cursor` and returns its timestampDelta.
 */
function walkRecord(bytes: Uint8Array, position: number, end: number, index: number): number {
  const bodyBytes = readVarint(bytes, position, end);
  if (bodyBytes < 0 || bodyBytes > end - cursor) {
    throw new InvalidRecordError('MALFORMED_RECORD',
      `record length ${bodyBytes} runs past the end (${end - cursor} bytes left)`);
  }
  const bodyEnd = cursor + bodyBytes;
  // Byte 0 of the body is the record attributes: ignored, as Kafka does. Every read from here on
  // is bounded by bodyEnd.
  if (bodyBytes === 0) throw new InvalidRecordError('MALFORMED_RECORD', 'record length 0');
  const timestampDelta = readVarlong(bytes, cursor + 1, bodyEnd);
  const offsetDelta = readVarint(bytes, cursor, bodyEnd);
  if (offsetDelta !== index) {
    throw new InvalidRecordError('BAD_OFFSET_DELTA', `offsetDelta ${offsetDelta}, expected ${index}`);
  }
  skipNullableBytes(bytes, cursor, bodyEnd, 'key');
  skipNullableBytes(bytes, cursor, bodyEnd, 'value');
  const headerCount = readVarint(bytes, cursor, bodyEnd);
  // Each header takes at least two bytes: a count beyond that cannot be honest.
  if (headerCount < 0 || headerCount > (bodyEnd - cursor) / 2) {
    throw new InvalidRecordError('MALFORMED_RECORD',
      `header count ${headerCount} with ${bodyEnd - cursor} record bytes left`);
  }
  for (let h = 0; h < headerCount; h++) {
    const keyBytes = readVarint(bytes, cursor, bodyEnd);
    if (keyBytes < 0 || keyBytes > bodyEnd - cursor) {
      throw new InvalidRecordError('MALFORMED_RECORD', `header ${h} key length ${keyBytes} ` +
        `(${bodyEnd - cursor} record bytes left; header keys are never null)`);
    }
    skipNullableBytes(bytes, cursor + keyBytes, bodyEnd, 'header value');
  }
  if (cursor !== bodyEnd) {
    throw new InvalidRecordError('MALFORMED_RECORD',
      `record length ${bodyBytes} does not match its fields (they end ${bodyEnd - cursor} bytes short)`);
  }
  return timestampDelta;
}

/** Skips a length-prefixed byte string at position (length -1: null) that must end by bodyEnd. */
function skipNullableBytes(bytes: Uint8Array, position: number, bodyEnd: number, field: string): void {
  const length = readVarint(bytes, position, bodyEnd);
  if (length < -1 || length > bodyEnd - cursor) {
    throw new InvalidRecordError('MALFORMED_RECORD', `${field} length ${length} (${bodyEnd - cursor} record bytes left)`);
  }
  if (length > 0) cursor += length;
}

/**
 * The ZigZag varint (int32) at bytes[position, end); leaves the next position in cursor. Same
 * rules as ByteReader.readVarint (varint.ts): at most 5 bytes, the fifth within 32 bits.
 */
function readVarint(bytes: Uint8Array, position: number, end: number): number {
  let z = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (position >= end) throw malformed('unexpected end of record data');
    const byte = bytes[position++] as number;
    if (shift === 28 && byte > 0x0f) throw malformed('varint does not fit in 32 bits');
    z |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor = position;
      return (z >>> 1) ^ -(z & 1);
    }
  }
  throw malformed(`varint longer than ${VARINT_BYTES_MAX} bytes`);
}

/**
 * The ZigZag varlong at bytes[position, end); leaves the next position in cursor. Same rules as
 * ByteReader.readVarlong: at most 10 bytes, within [-2^52, 2^52 - 1] (what decoders represent).
 */
function readVarlong(bytes: Uint8Array, position: number, end: number): number {
  let z = 0;
  let scale = 1;
  for (let count = 0; count < VARLONG_BYTES_MAX; count++) {
    if (position >= end) throw malformed('unexpected end of record data');
    const byte = bytes[position++] as number;
    // Each term is exact; a sum that rounds is above 2^53 and is refused below.
    z += (byte & 0x7f) * scale;
    scale *= 0x80;
    if (byte < 0x80) {
      if (z > 2 * VARLONG_MAX + 1) throw malformed('varlong outside [-2^52, 2^52 - 1]');
      cursor = position;
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
  }
  throw malformed(`varlong longer than ${VARLONG_BYTES_MAX} bytes`);
}

function malformed(detail: string): InvalidRecordError {
  return new InvalidRecordError('MALFORMED_RECORD', detail);
}
