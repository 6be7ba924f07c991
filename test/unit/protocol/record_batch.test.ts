/**
 * Goal: our RecordBatch v2 codec matches Kafka's byte layout and refuses bad input with typed
 * errors. Method: known vectors from the research doc, round trips (hand-picked edge cases and a
 * seeded random generator), byte-for-byte agreement with kafkajs 2.2.4 in both directions, and
 * exhaustive single-byte corruption and truncation of a small batch.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AssertionError } from '../../../raft/core/assert.js';
import { crc32c } from '../../../storage/crc32c.js';
import {
  CorruptMessageError,
  InvalidRecordError,
  MessageTooLargeError,
  TributaryError,
  UnsupportedCompressionError,
} from '../../../src/common/errors.js';
import type { InvalidRecordReason } from '../../../src/common/errors.js';
import {
  assignOffsets,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  batchLastOffset,
  checkBatchCrc,
  computeBatchCrc,
  CRC_OFFSET,
  decodeRecordBatch,
  encodeRecordBatch,
  iterateBatches,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  readBatchHeader,
  RECORD_COUNT_OFFSET,
  splitBatches,
  validateBatch,
} from '../../../src/protocol/record_batch.js';
import type { DecodedRecord, EncodeBatchOptions, RecordInput } from '../../../src/protocol/record_batch.js';
import { kafkajsDecodeBatch, kafkajsEncodeBatch, randomRecords, TestPrng } from './helpers.js';

const LIMITS = { batchBytesMax: 1 << 20, zstdAllowed: true };
const T0 = 1_700_000_000_000;

function bytesOf(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function sampleBatch(): Buffer {
  return encodeRecordBatch({
    baseTimestamp: T0,
    records: [
      { key: bytesOf('k1'), value: bytesOf('v1'), headers: [{ key: 'h', value: bytesOf('x') }] },
      { key: null, value: bytesOf('tombstone?'), timestamp: T0 + 5 },
      { key: bytesOf('k3'), value: null, timestamp: T0 - 3 },
    ],
  });
}

/** Edits a header field and recomputes the CRC, to reach the checks that come after it. */
function withField(batch: Buffer, edit: (view: DataView) => void): Buffer {
  const copy = Buffer.from(batch);
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  edit(view);
  view.setUint32(CRC_OFFSET, computeBatchCrc(copy));
  return copy;
}

/** Fixes batchLength and the CRC after bytes were added or removed. */
function resealed(batch: Buffer): Buffer {
  batch.writeInt32BE(batch.length - 12, BATCH_LENGTH_OFFSET);
  batch.writeUInt32BE(computeBatchCrc(batch), CRC_OFFSET);
  return batch;
}

function assertInvalid(fn: () => unknown, reason: InvalidRecordReason): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidRecordError, `expected InvalidRecordError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    assert.equal(error.code, 'INVALID_RECORD');
    assert.equal(error.wireCode, 87);
    return true;
  });
}

/** Compares decoded records with what was encoded, with the timestamp each should carry. */
function assertSameRecords(decoded: readonly DecodedRecord[], input: readonly RecordInput[],
  baseTimestamp: number, baseOffset = 0): void {
  assert.equal(decoded.length, input.length);
  input.forEach((expected, i) => {
    const actual = decoded[i]!;
    assert.deepEqual(actual.key, expected.key === null ? null : Buffer.from(expected.key));
    assert.deepEqual(actual.value, expected.value === null ? null : Buffer.from(expected.value));
    const headers = (expected.headers ?? []).map((h) => ({
      key: h.key, value: h.value === null ? null : Buffer.from(h.value),
    }));
    assert.deepEqual(actual.headers, headers);
    const timestamp = expected.timestamp ?? baseTimestamp;
    assert.equal(actual.timestamp, timestamp);
    assert.equal(actual.timestampDelta, timestamp - baseTimestamp);
    assert.equal(actual.offsetDelta, i);
    assert.equal(actual.offset, baseOffset + i);
  });
}

function roundTrip(options: EncodeBatchOptions): void {
  const bytes = encodeRecordBatch(options);
  validateBatch(bytes, { batchBytesMax: bytes.length, zstdAllowed: false });
  const decoded = decodeRecordBatch(bytes);
  const base = options.baseTimestamp ?? options.records[0]?.timestamp ?? 0;
  assert.equal(decoded.header.baseTimestamp, base);
  assert.equal(decoded.sizeBytes, bytes.length);
  assertSameRecords(decoded.records, options.records, base);
}

void describe('known vectors', () => {
  void test('CRC32C("123456789") = 0xE3069283', () => {
    assert.equal(crc32c(bytesOf('123456789')), 0xe3069283);
  });

  void test('the worked record example encodes as in the research doc', () => {
    const batch = encodeRecordBatch({
      baseTimestamp: T0,
      records: [{ key: bytesOf('k1'), value: bytesOf('v1'), headers: [{ key: 'h', value: bytesOf('x') }] }],
    });
    const record = batch.subarray(BATCH_HEADER_BYTES).toString('hex');
    assert.equal(record, '1c' + '000000' + '04' + '6b31' + '04' + '7631' + '02' + '02' + '68' + '02' + '78');
  });

  void test('a null key is the single byte 01', () => {
    const batch = encodeRecordBatch({ baseTimestamp: T0, records: [{ key: null, value: null }] });
    // length 6 (0c), attributes, timestampDelta, offsetDelta, key -1, value -1, no headers
    assert.equal(batch.subarray(BATCH_HEADER_BYTES).toString('hex'), '0c' + '000000' + '01' + '01' + '00');
  });

  void test('header fields sit at the documented offsets, and the CRC covers byte 21 to the end', () => {
    const batch = encodeRecordBatch({
      baseTimestamp: T0, producerId: 42, producerEpoch: 3, baseSequence: 7, transactional: true,
      records: [{ key: null, value: bytesOf('a') }, { key: null, value: bytesOf('b'), timestamp: T0 + 9 }],
    });
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    assert.equal(view.getBigInt64(BASE_OFFSET_OFFSET), 0n);
    assert.equal(view.getInt32(BATCH_LENGTH_OFFSET), batch.length - 12);
    assert.equal(view.getInt32(PARTITION_LEADER_EPOCH_OFFSET), -1);
    assert.equal(view.getInt8(MAGIC_OFFSET), 2);
    assert.equal(view.getUint32(CRC_OFFSET), crc32c(batch.subarray(21)));
    assert.equal(view.getInt16(ATTRIBUTES_OFFSET), 0x10);
    assert.equal(view.getInt32(LAST_OFFSET_DELTA_OFFSET), 1);
    assert.equal(view.getBigInt64(PRODUCER_ID_OFFSET), 42n);
    assert.equal(view.getInt32(BASE_SEQUENCE_OFFSET), 7);
    assert.equal(view.getInt32(RECORD_COUNT_OFFSET), 2);
    assert.deepEqual(readBatchHeader(batch), {
      baseOffset: 0, batchLength: batch.length - 12, partitionLeaderEpoch: -1, magic: 2,
      crc: crc32c(batch.subarray(21)), attributes: 0x10, compression: 'none', timestampType: 'CreateTime',
      transactional: true, control: false, lastOffsetDelta: 1, baseTimestamp: T0, maxTimestamp: T0 + 9,
      producerId: 42, producerEpoch: 3, baseSequence: 7, recordCount: 2,
    });
  });
});

void describe('round trips', () => {
  void test('null and empty keys and values', () => {
    roundTrip({
      baseTimestamp: T0,
      records: [
        { key: null, value: null }, { key: Buffer.alloc(0), value: Buffer.alloc(0) },
        { key: null, value: Buffer.alloc(0) }, { key: Buffer.alloc(0), value: null },
      ],
    });
  });

  void test('headers: null values, empty keys and values, unicode keys, duplicates', () => {
    roundTrip({
      baseTimestamp: T0,
      records: [{
        key: bytesOf('k'), value: bytesOf('v'),
        headers: [
          { key: 'n', value: null },
          { key: '', value: Buffer.alloc(0) },
          { key: 'é☃😀', value: bytesOf('u') },
          { key: 'dup', value: bytesOf('1') }, { key: 'dup', value: bytesOf('2') },
        ],
      }],
    });
  });

  void test('many records (offset deltas cross the 1- and 2-byte varint sizes)', () => {
    const records = Array.from({ length: 10_000 }, (_, i) => ({
      key: bytesOf(`key-${i}`), value: bytesOf(`value-${i}`), timestamp: T0 + i,
    }));
    roundTrip({ records });
  });

  void test('a large value (4 MiB)', () => {
    const value = Buffer.alloc(4 << 20, 0xab);
    const bytes = encodeRecordBatch({ baseTimestamp: T0, records: [{ key: null, value }] });
    const decoded = decodeRecordBatch(bytes);
    assert.deepEqual(decoded.records[0]?.value, value);
  });

  void test('key and value lengths at the varint boundaries 63/64/8191/8192', () => {
    const records = [0, 1, 63, 64, 65, 8191, 8192, 8193, 1_048_575, 1_048_576].map((n) => ({
      key: Buffer.alloc(n, 1),
      value: Buffer.alloc(n, 2),
      headers: [{ key: 'x'.repeat(n % 9000), value: null }],
    }));
    roundTrip({ baseTimestamp: T0, records });
  });

  void test('negative and boundary timestamp deltas, and negative timestamps', () => {
    const deltas = [0, -1, 1, 63, -64, 64, -65, 8191, -8192, 8192, 2 ** 31, -(2 ** 31) - 1,
      2 ** 52 - 1, -(2 ** 52)];
    roundTrip({ baseTimestamp: 0, records: deltas.map((d) => ({ key: null, value: null, timestamp: d })) });
    roundTrip({ baseTimestamp: T0, records: [{ key: null, value: null, timestamp: T0 - 10_000 }] });
    roundTrip({ records: [-1, 5].map((timestamp) => ({ key: null, value: null, timestamp })) });
  });

  void test('maxTimestamp is the highest record timestamp and baseTimestamp defaults to the first', () => {
    const bytes = encodeRecordBatch({
      records: [T0 + 5, T0 + 50, T0].map((timestamp) => ({ key: null, value: null, timestamp })),
    });
    const header = readBatchHeader(bytes);
    assert.equal(header.baseTimestamp, T0 + 5);
    assert.equal(header.maxTimestamp, T0 + 50);
    assert.deepEqual(decodeRecordBatch(bytes).records.map((r) => r.timestampDelta), [0, 45, -5]);
  });

  void test('LogAppendTime batches report maxTimestamp for every record', () => {
    const batch = withField(sampleBatch(), (view) => {
      view.setInt16(ATTRIBUTES_OFFSET, 0x08);
      view.setBigInt64(MAX_TIMESTAMP_OFFSET, BigInt(T0 + 1000));
    });
    const decoded = decodeRecordBatch(batch);
    assert.equal(decoded.header.timestampType, 'LogAppendTime');
    assert.deepEqual(decoded.records.map((r) => r.timestamp), [T0 + 1000, T0 + 1000, T0 + 1000]);
  });

  void test('seeded random batches round-trip (property)', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const prng = new TestPrng(seed);
      const baseTimestamp = T0 + prng.int(-(2 ** 30), 2 ** 30);
      const records = randomRecords(prng, prng.int(1, 40), baseTimestamp);
      const producerId = prng.chance(0.5) ? -1 : prng.int(0, 2 ** 40);
      const options: EncodeBatchOptions = {
        records, baseTimestamp, producerId, producerEpoch: producerId < 0 ? -1 : prng.int(0, 32767),
        baseSequence: producerId < 0 ? -1 : prng.int(0, 2 ** 31 - 1),
      };
      try {
        roundTrip(options);
      } catch (error) {
        assert.fail(`seed ${seed}: ${String(error)}`);
      }
    }
  });

  void test('encoding asserts on caller bugs', () => {
    assert.throws(() => encodeRecordBatch({ baseTimestamp: T0, records: [] }), AssertionError);
    assert.throws(() => encodeRecordBatch({ records: [{ key: null, value: null }] }), AssertionError);
    assert.throws(() => encodeRecordBatch({ baseTimestamp: 0, records: [{ key: null, value: null,
      timestamp: 2 ** 52 }] }), AssertionError);
    assert.throws(() => encodeRecordBatch({ baseTimestamp: T0, producerId: 5,
      records: [{ key: null, value: null }] }), AssertionError);
  });
});

void describe('validateBatch (produce path)', () => {
  void test('accepts a client batch and returns its header', () => {
    const batch = sampleBatch();
    const result = validateBatch(batch, LIMITS);
    assert.equal(result.sizeBytes, batch.length);
    assert.equal(result.header.recordCount, 3);
  });

  void test('every single-byte flip is caught, except in the broker-owned partitionLeaderEpoch', () => {
    const batch = sampleBatch();
    for (let i = 0; i < batch.length; i++) {
      const flipped = Buffer.from(batch);
      flipped[i] = flipped[i]! ^ 0x01;
      const where = `byte ${i}`;
      if (i >= PARTITION_LEADER_EPOCH_OFFSET && i < MAGIC_OFFSET) {
        assert.notEqual(validateBatch(flipped, LIMITS).header.partitionLeaderEpoch, -1, where);
      } else if (i < BATCH_LENGTH_OFFSET) {
        // Byte 0 lands above 2^53, the others give a non-zero baseOffset.
        const reason = i === 0 ? 'UNSAFE_INTEGER' : 'NONZERO_BASE_OFFSET';
        assertInvalid(() => validateBatch(flipped, LIMITS), reason);
      } else if (i < PARTITION_LEADER_EPOCH_OFFSET) {
        assertInvalid(() => validateBatch(flipped, LIMITS), 'BAD_LENGTH');
      } else if (i === MAGIC_OFFSET) {
        assertInvalid(() => validateBatch(flipped, LIMITS), 'BAD_MAGIC');
      } else {
        assert.throws(() => validateBatch(flipped, LIMITS), CorruptMessageError, where);
        assert.throws(() => decodeRecordBatch(flipped), CorruptMessageError, where);
      }
    }
  });

  void test('a CRC mismatch is CORRUPT_MESSAGE (2), retriable', () => {
    const batch = sampleBatch();
    batch[batch.length - 1] = batch[batch.length - 1]! ^ 0xff;
    assert.throws(() => validateBatch(batch, LIMITS), (error: unknown) => {
      assert.ok(error instanceof CorruptMessageError);
      assert.equal(error.code, 'CORRUPT_MESSAGE');
      assert.equal(error.wireCode, 2);
      assert.equal(error.retriable, true);
      assert.equal(error.expectedCrc, readBatchHeader(batch).crc);
      return true;
    });
  });

  void test('every truncation is INVALID_RECORD', () => {
    const batch = sampleBatch();
    for (let length = 0; length < batch.length; length++) {
      const prefix = batch.subarray(0, length);
      assert.throws(() => validateBatch(prefix, LIMITS), InvalidRecordError, `length ${length}`);
      assertInvalid(() => decodeRecordBatch(prefix), 'TRUNCATED');
    }
  });

  void test('bad magic (a v0/v1 message set) is INVALID_RECORD', () => {
    for (const magic of [0, 1, 3, -1]) {
      const batch = sampleBatch();
      batch.writeInt8(magic, MAGIC_OFFSET);
      assertInvalid(() => validateBatch(batch, LIMITS), 'BAD_MAGIC');
      assertInvalid(() => readBatchHeader(batch), 'BAD_MAGIC');
    }
  });

  void test('length mismatch: trailing bytes, two batches, batchLength below the header', () => {
    const batch = sampleBatch();
    assertInvalid(() => validateBatch(Buffer.concat([batch, Buffer.of(0)]), LIMITS), 'BAD_LENGTH');
    assertInvalid(() => validateBatch(Buffer.concat([batch, batch]), LIMITS), 'BAD_LENGTH');
    const short = Buffer.from(batch);
    short.writeInt32BE(48, BATCH_LENGTH_OFFSET);
    assertInvalid(() => validateBatch(short, LIMITS), 'BAD_LENGTH');
    assertInvalid(() => decodeRecordBatch(short), 'BAD_LENGTH');
  });

  void test('over the size limit is MESSAGE_TOO_LARGE (10), checked before the CRC', () => {
    const batch = sampleBatch();
    batch[batch.length - 1] = batch[batch.length - 1]! ^ 0xff;
    assert.throws(() => validateBatch(batch, { batchBytesMax: batch.length - 1, zstdAllowed: true }),
      (error: unknown) => {
        assert.ok(error instanceof MessageTooLargeError);
        assert.equal(error.wireCode, 10);
        assert.equal(error.sizeBytes, batch.length);
        assert.equal(error.sizeBytesMax, batch.length - 1);
        return true;
      });
  });

  void test('header rules: control bit, baseOffset, record count, sequence', () => {
    const batch = sampleBatch();
    const validateEdited = (edit: (view: DataView) => void) => () => {
      validateBatch(withField(batch, edit), LIMITS);
    };
    assertInvalid(validateEdited((v) => { v.setInt16(ATTRIBUTES_OFFSET, 0x20); }), 'CONTROL_BATCH');
    assertInvalid(validateEdited((v) => { v.setBigInt64(0, 7n); }), 'NONZERO_BASE_OFFSET');
    assertInvalid(validateEdited((v) => { v.setBigInt64(0, 2n ** 60n); }), 'UNSAFE_INTEGER');
    assertInvalid(validateEdited((v) => { v.setInt32(LAST_OFFSET_DELTA_OFFSET, 1); }), 'BAD_RECORD_COUNT');
    const empty = withField(batch, (v) => {
      v.setInt32(RECORD_COUNT_OFFSET, 0);
      v.setInt32(LAST_OFFSET_DELTA_OFFSET, -1);
    });
    assertInvalid(() => validateBatch(empty, LIMITS), 'BAD_RECORD_COUNT');
    const huge = withField(batch, (v) => {
      v.setInt32(RECORD_COUNT_OFFSET, 1000);
      v.setInt32(LAST_OFFSET_DELTA_OFFSET, 999);
    });
    assertInvalid(() => validateBatch(huge, LIMITS), 'BAD_RECORD_COUNT');
    const noSequence = withField(batch, (v) => { v.setBigInt64(PRODUCER_ID_OFFSET, 9n); });
    assertInvalid(() => validateBatch(noSequence, LIMITS), 'BAD_SEQUENCE');
    const producerZero = withField(batch, (v) => { v.setBigInt64(PRODUCER_ID_OFFSET, 0n); });
    assertInvalid(() => validateBatch(producerZero, LIMITS), 'BAD_SEQUENCE');
    const withSequence = withField(noSequence, (v) => { v.setInt32(BASE_SEQUENCE_OFFSET, 0); });
    assert.equal(validateBatch(withSequence, LIMITS).header.producerId, 9);
  });

  void test('compression: accepted without decompressing, zstd gated, unknown codecs refused', () => {
    const gzip = withField(sampleBatch(), (v) => { v.setInt16(ATTRIBUTES_OFFSET, 1); });
    assert.equal(validateBatch(gzip, LIMITS).header.compression, 'gzip');
    const zstd = withField(sampleBatch(), (v) => { v.setInt16(ATTRIBUTES_OFFSET, 4); });
    assert.equal(validateBatch(zstd, LIMITS).header.compression, 'zstd');
    const refuse = (bytes: Buffer, zstdAllowed: boolean): void => {
      assert.throws(() => validateBatch(bytes, { batchBytesMax: 1 << 20, zstdAllowed }), (error: unknown) => {
        assert.ok(error instanceof UnsupportedCompressionError);
        assert.equal(error.wireCode, 76);
        return true;
      });
    };
    refuse(zstd, false);
    refuse(withField(sampleBatch(), (v) => { v.setInt16(ATTRIBUTES_OFFSET, 7); }), true);
    assert.throws(() => decodeRecordBatch(gzip), UnsupportedCompressionError);
  });
});

void describe('assignOffsets', () => {
  void test('changes only bytes 0-7 and 12-15 and keeps the CRC valid', () => {
    const original = sampleBatch();
    const batch = Buffer.from(original);
    const lastOffset = assignOffsets(batch, 1_234_567_890_123, 77);
    assert.equal(lastOffset, 1_234_567_890_125);
    for (let i = 0; i < batch.length; i++) {
      const owned = i < 8 || (i >= 12 && i < 16);
      if (!owned) {
        assert.equal(batch[i], original[i], `byte ${i} changed`);
      }
    }
    assert.notDeepEqual(batch.subarray(0, 8), original.subarray(0, 8));
    checkBatchCrc(batch);
    const decoded = decodeRecordBatch(batch);
    assert.equal(decoded.header.baseOffset, 1_234_567_890_123);
    assert.equal(decoded.header.partitionLeaderEpoch, 77);
    assert.equal(batchLastOffset(decoded.header), lastOffset);
    assert.deepEqual(decoded.records.map((r) => r.offset), [lastOffset - 2, lastOffset - 1, lastOffset]);
    // The assigned batch is no longer a legal client batch, as Kafka requires.
    assertInvalid(() => validateBatch(batch, LIMITS), 'NONZERO_BASE_OFFSET');
  });

  void test('asserts on bad arguments', () => {
    const batch = sampleBatch();
    assert.throws(() => assignOffsets(batch, -1, 0), AssertionError);
    assert.throws(() => assignOffsets(batch, 2 ** 53, 0), AssertionError);
    assert.throws(() => assignOffsets(batch, 0, -2), AssertionError);
    assert.throws(() => assignOffsets(batch.subarray(0, 60), 0, 0), AssertionError);
  });
});

void describe('iterateBatches / splitBatches', () => {
  function threeBatches(): Buffer[] {
    return [0, 3, 6].map((offset, i) => {
      const batch = encodeRecordBatch({
        baseTimestamp: T0 + i,
        records: Array.from({ length: 3 }, (_, j) => ({ key: null, value: bytesOf(`${i}.${j}`) })),
      });
      assignOffsets(batch, offset, 1);
      return batch;
    });
  }

  void test('walks complete batches by baseOffset and batchLength', () => {
    const batches = threeBatches();
    const split = splitBatches(Buffer.concat(batches));
    assert.equal(split.partial, null);
    assert.deepEqual(split.batches.map((b) => b.baseOffset), [0, 3, 6]);
    split.batches.forEach((slice, i) => {
      assert.deepEqual(Buffer.from(slice.bytes), batches[i]);
      assert.equal(slice.batchLength, batches[i]!.length - 12);
      const offsets = decodeRecordBatch(slice.bytes).records.map((r) => r.offset);
      assert.deepEqual(offsets, [3 * i, 3 * i + 1, 3 * i + 2]);
    });
    assert.deepEqual(splitBatches(Buffer.alloc(0)), { batches: [], partial: null });
  });

  void test('reports a truncated tail as partial, at every cut point', () => {
    const batches = threeBatches();
    const whole = Buffer.concat(batches);
    const lastStart = batches[0]!.length + batches[1]!.length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      const split = splitBatches(whole.subarray(0, cut));
      assert.equal(split.batches.length, 2, `cut ${cut}`);
      assert.equal(split.partial!.position, lastStart);
      assert.equal(split.partial!.bytes.length, cut - lastStart);
    }
  });

  void test('yields lazily and refuses an impossible batchLength', () => {
    const batches = threeBatches();
    const iterator = iterateBatches(Buffer.concat(batches));
    assert.equal(iterator.next().value?.kind, 'complete');
    const broken = Buffer.concat(batches);
    broken.writeInt32BE(10, batches[0]!.length + BATCH_LENGTH_OFFSET);
    assertInvalid(() => splitBatches(broken), 'BAD_LENGTH');
  });
});

void describe('robustness', () => {
  void test('random corruption with the CRC check off throws only typed errors', () => {
    const prng = new TestPrng(99);
    const original = encodeRecordBatch({ baseTimestamp: T0, records: randomRecords(prng, 20, T0) });
    for (let trial = 0; trial < 2000; trial++) {
      const batch = Buffer.from(original);
      const flips = prng.int(1, 4);
      for (let f = 0; f < flips; f++) {
        const at = prng.int(BATCH_HEADER_BYTES - 4, batch.length - 1);
        batch[at] = prng.int(0, 255);
      }
      try {
        decodeRecordBatch(batch, { verifyCrc: false });
      } catch (error) {
        assert.ok(error instanceof TributaryError, `trial ${trial}: ${String(error)}`);
      }
    }
  });

  void test('record-level malformations are MALFORMED_RECORD', () => {
    const one = encodeRecordBatch({ baseTimestamp: T0, records: [{ key: bytesOf('k'), value: null }] });
    // The record length claims a byte more than the batch holds.
    const longer = Buffer.from(one);
    longer[BATCH_HEADER_BYTES] = longer[BATCH_HEADER_BYTES]! + 2;
    longer.writeUInt32BE(computeBatchCrc(longer), CRC_OFFSET);
    assertInvalid(() => decodeRecordBatch(longer), 'MALFORMED_RECORD');
    // A record whose length covers an extra byte its fields do not use.
    const padded = resealed(Buffer.concat([one, Buffer.of(0)]));
    padded[BATCH_HEADER_BYTES] = padded[BATCH_HEADER_BYTES]! + 2;
    padded.writeUInt32BE(computeBatchCrc(padded), CRC_OFFSET);
    assertInvalid(() => decodeRecordBatch(padded), 'MALFORMED_RECORD');
    // Bytes after the last record.
    assertInvalid(() => decodeRecordBatch(resealed(Buffer.concat([one, Buffer.of(0)]))), 'MALFORMED_RECORD');
    // A header key of length -1 (null) is illegal.
    const withHeader = encodeRecordBatch({ baseTimestamp: T0, records: [{ key: null, value: null,
      headers: [{ key: '', value: null }] }] });
    withHeader[withHeader.length - 2] = 0x01;
    withHeader.writeUInt32BE(computeBatchCrc(withHeader), CRC_OFFSET);
    assertInvalid(() => decodeRecordBatch(withHeader), 'MALFORMED_RECORD');
  });
});

void describe('kafkajs 2.2.4 interoperability', () => {
  const kafkajsRecords = [
    { offsetDelta: 0, timestampDelta: 0, key: bytesOf('k1'), value: bytesOf('v1'),
      headers: { h: bytesOf('x') } },
    { offsetDelta: 1, timestampDelta: 70, key: null, value: bytesOf('v'.repeat(200)), headers: {} },
    { offsetDelta: 2, timestampDelta: 9000, key: bytesOf(''), value: null,
      headers: { a: bytesOf(''), b: bytesOf('é☃') } },
  ];
  const ourRecords: RecordInput[] = [
    { key: bytesOf('k1'), value: bytesOf('v1'), headers: [{ key: 'h', value: bytesOf('x') }], timestamp: T0 },
    { key: null, value: bytesOf('v'.repeat(200)), timestamp: T0 + 70 },
    { key: bytesOf(''), value: null, timestamp: T0 + 9000,
      headers: [{ key: 'a', value: bytesOf('') }, { key: 'b', value: bytesOf('é☃') }] },
  ];
  const batchArgs = {
    firstTimestamp: T0, maxTimestamp: T0 + 9000, partitionLeaderEpoch: -1, lastOffsetDelta: 2,
    producerId: 1000, producerEpoch: 2, firstSequence: 40,
  };

  void test('a kafkajs batch decodes to the same records and is byte-identical to ours', async () => {
    const theirs = await kafkajsEncodeBatch(batchArgs, kafkajsRecords);
    const header = validateBatch(theirs, LIMITS).header;
    assert.equal(header.producerId, 1000);
    assert.equal(header.baseSequence, 40);
    assertSameRecords(decodeRecordBatch(theirs).records, ourRecords, T0);
    const ours = encodeRecordBatch({
      records: ourRecords, producerId: 1000, producerEpoch: 2, baseSequence: 40, partitionLeaderEpoch: -1,
    });
    assert.equal(ours.toString('hex'), theirs.toString('hex'));
  });

  void test('a kafkajs gzip batch passes validation but is not decoded', async () => {
    const theirs = await kafkajsEncodeBatch({ ...batchArgs, compression: 1 }, kafkajsRecords);
    const { header } = validateBatch(theirs, LIMITS);
    assert.equal(header.compression, 'gzip');
    assert.equal(header.recordCount, 3);
    assert.throws(() => decodeRecordBatch(theirs), UnsupportedCompressionError);
  });

  void test('our batches decode in kafkajs to the same records (seeded random batches)', async () => {
    for (let seed = 1000; seed < 1060; seed++) {
      const prng = new TestPrng(seed);
      const records = randomRecords(prng, prng.int(1, 20), T0);
      const ours = encodeRecordBatch({ baseTimestamp: T0, records });
      assignOffsets(ours, 5000 + seed, 3);
      const theirs = await kafkajsDecodeBatch(ours);
      assert.equal(theirs.firstOffset, String(5000 + seed));
      assert.equal(theirs.partitionLeaderEpoch, 3);
      assert.equal(theirs.records.length, records.length);
      theirs.records.forEach((record, i) => {
        const expected = records[i]!;
        assert.equal(record.offset, String(5000 + seed + i));
        assert.equal(record.timestamp, String(expected.timestamp));
        assert.deepEqual(record.key, expected.key);
        assert.deepEqual(record.value, expected.value);
        assert.deepEqual(record.headers, kafkajsHeaderObject(expected));
      });
    }
  });
});

/** kafkajs folds headers into an object; a repeated key becomes an array of its values. */
function kafkajsHeaderObject(record: RecordInput): Record<string, Buffer | null | (Buffer | null)[]> {
  const object: Record<string, Buffer | null | (Buffer | null)[]> = {};
  for (const { key, value } of record.headers ?? []) {
    const bytes = value === null ? null : Buffer.from(value);
    const previous = object[key];
    if (previous === undefined) {
      object[key] = bytes;
    } else {
      object[key] = Array.isArray(previous) ? [...previous, bytes] : [previous, bytes];
    }
  }
  return object;
}
