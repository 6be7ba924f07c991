/**
 * Goal: the broker refuses, before Raft, every batch whose records a consumer could not decode,
 * and accepts every batch a real producer writes. Method: hand-built poison batches (each with a
 * correct CRC, so only the record walk can catch them) for every malformation class the client
 * protocol fuzz found, the fuzz's own example, gzip bombs built at test time, valid batches from
 * our encoder and from kafkajs 2.2.4, and seeded single-byte mutations checking the invariant
 * "whatever is accepted decodes".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { compressRecords, decompressRecords } from '../../../src/client/compression.js';
import { InvalidRecordError, UnsupportedCompressionError } from '../../../src/common/errors.js';
import type { InvalidRecordReason } from '../../../src/common/errors.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  computeBatchCrc,
  CRC_OFFSET,
  decodeRecordBatch,
  encodeRecordBatch,
  LAST_OFFSET_DELTA_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  RECORD_COUNT_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  TIMESTAMP_TYPE_MASK,
  validateBatch,
} from '../../../src/protocol/record_batch.js';
import type { CompressionCodec, EncodeBatchOptions } from '../../../src/protocol/record_batch.js';
import {
  RECORDS_INFLATED_BYTES_MAX, validateProduceBatch, validateRecordsOffLoop,
} from '../../../src/protocol/record_validation.js';
import { writeVarint, writeVarlong } from '../../../src/protocol/varint.js';
import { kafkajsEncodeBatch, randomRecords, TestPrng } from './helpers.js';

const LIMITS = { batchBytesMax: 1 << 20, zstdAllowed: true };
const T0 = 1_700_000_000_000;
const CODEC_IDS: Readonly<Record<CompressionCodec, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** The fuzz finding's example: one record whose key length is -5, CRC correct. */
const POISON_KEY_LENGTH_HEX = '00000000000000000000003affffffff02eb342b9f0000000000000000018bcfe56be8' +
  '0000018bcfe56be8ffffffffffffffffffffffffffff0000000110000000096b027600';

function varint(n: number): Buffer {
  const out = Buffer.alloc(5);
  return out.subarray(0, writeVarint(out, 0, n));
}

function varlong(n: number): Buffer {
  const out = Buffer.alloc(10);
  return out.subarray(0, writeVarlong(out, 0, n));
}

interface RawRecord {
  readonly offsetDelta: number;
  readonly timestampDelta?: number;
  readonly attributes?: number;
  /** A Buffer, null, or a raw length with no bytes after it (to lie about lengths). */
  readonly key?: Buffer | null | { readonly length: number };
  readonly value?: Buffer | null | { readonly length: number };
  readonly headerCount?: number;
  readonly headers?: readonly (readonly [Buffer | { readonly length: number }, Buffer | null])[];
  /** Added to the true body length in the length varint. */
  readonly lengthSkew?: number;
}

function nullable(field: Buffer | null | { readonly length: number } | undefined): Buffer {
  if (field === undefined || field === null) return varint(-1);
  if (Buffer.isBuffer(field)) return Buffer.concat([varint(field.length), field]);
  return varint(field.length);
}

/** One record's bytes, written field by field so that any field can lie. */
function rawRecord(r: RawRecord): Buffer {
  const headers = r.headers ?? [];
  const body = Buffer.concat([
    Buffer.of(r.attributes ?? 0), varlong(r.timestampDelta ?? 0), varint(r.offsetDelta),
    nullable(r.key === undefined ? Buffer.from('key') : r.key),
    nullable(r.value === undefined ? Buffer.from('value-0123456789') : r.value),
    varint(r.headerCount ?? headers.length),
    ...headers.map(([key, value]) => Buffer.concat([nullable(key), nullable(value)])),
  ]);
  return Buffer.concat([varint(body.length + (r.lengthSkew ?? 0)), body]);
}

interface BatchFields {
  readonly recordCount: number;
  readonly lastOffsetDelta?: number;
  readonly codec?: CompressionCodec;
  readonly maxTimestamp?: number;
  readonly baseTimestamp?: number;
  readonly logAppendTime?: boolean;
}

/** A batch header (from our encoder) over `region` as the records, with the fields given and a correct CRC. */
function batchOf(region: Buffer, fields: BatchFields): Buffer {
  const template = encodeRecordBatch({ baseTimestamp: T0, records: [{ key: null, value: null }] });
  const batch = Buffer.concat([template.subarray(0, BATCH_HEADER_BYTES), region]);
  batch.writeInt32BE(batch.length - 12, BATCH_LENGTH_OFFSET);
  batch.writeInt16BE(CODEC_IDS[fields.codec ?? 'none'] | (fields.logAppendTime === true ? TIMESTAMP_TYPE_MASK : 0),
    ATTRIBUTES_OFFSET);
  batch.writeInt32BE(fields.lastOffsetDelta ?? fields.recordCount - 1, LAST_OFFSET_DELTA_OFFSET);
  batch.writeInt32BE(fields.recordCount, RECORD_COUNT_OFFSET);
  batch.writeBigInt64BE(BigInt(fields.baseTimestamp ?? T0), BASE_TIMESTAMP_OFFSET);
  batch.writeBigInt64BE(BigInt(fields.maxTimestamp ?? fields.baseTimestamp ?? T0), MAX_TIMESTAMP_OFFSET);
  return resealed(batch);
}

function resealed(batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch), CRC_OFFSET);
  return batch;
}

/** Records 0..count-1, all well formed. */
function goodRecords(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => rawRecord({ offsetDelta: i }));
}

function assertRefused(batch: Buffer, reason: InvalidRecordReason, detail?: RegExp): InvalidRecordError {
  // The header and the CRC are fine: only the record walk can refuse these.
  validateBatch(batch, LIMITS);
  let caught: unknown;
  try {
    validateProduceBatch(batch, LIMITS);
  } catch (error: unknown) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidRecordError, `expected InvalidRecordError, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  assert.equal(caught.wireCode, 87);
  if (detail !== undefined) assert.match(caught.message, detail);
  return caught;
}

function assertAccepted(batch: Buffer): void {
  validateProduceBatch(batch, LIMITS);
  const decoded = decodeRecordBatch(batch, { decompress: (codec, blob) => decompressRecords(codec, blob) });
  assert.equal(decoded.records.length, decoded.header.recordCount);
}

void describe('record validation on append: poison batches', () => {
  void test('the fuzz example (key length -5) is refused, naming the record and the byte', () => {
    const batch = Buffer.from(POISON_KEY_LENGTH_HEX, 'hex');
    assert.equal(batch.length, 70);
    assertRefused(batch, 'MALFORMED_RECORD', /record 0 \(from byte 61 of the batch\): key length -5/);
    // What a consumer would have hit at that offset.
    assert.throws(() => decodeRecordBatch(batch), InvalidRecordError);
  });

  void test('negative lengths and counts', () => {
    const cases: [string, RawRecord][] = [
      ['key length -2', { offsetDelta: 0, key: { length: -2 } }],
      ['value length -7', { offsetDelta: 0, value: { length: -7 } }],
      ['header count -1', { offsetDelta: 0, headerCount: -1 }],
      ['null header key', { offsetDelta: 0, headers: [[{ length: -1 }, null]] }],
      ['header value length -3', { offsetDelta: 0, headers: [[Buffer.from('h'), null]] }],
    ];
    for (const [name, record] of cases) {
      let bytes = rawRecord(record);
      if (name === 'header value length -3') {
        // The last byte is the header value's null marker (varint -1 = 0x01); -3 is 0x05.
        bytes = Buffer.from(bytes);
        bytes[bytes.length - 1] = 0x05;
      }
      const error = assertRefused(batchOf(bytes, { recordCount: 1 }), 'MALFORMED_RECORD');
      assert.match(error.message, /record 0 \(from byte 61/, name);
    }
  });

  void test('over-long and out-of-range varints', () => {
    const record = rawRecord({ offsetDelta: 0 });
    // Replace the key length (at body byte 3: after attributes, timestampDelta, offsetDelta) with
    // a six-byte varint, a five-byte one whose top bits do not fit 32 bits, and int32 max.
    const bodyStart = 1;
    const keyLengthAt = bodyStart + 3;
    for (const [bad, pattern] of [
      [Buffer.of(0x82, 0x80, 0x80, 0x80, 0x80, 0x00), /does not fit in 32 bits/],
      [Buffer.of(0x82, 0x80, 0x80, 0x80, 0x7f), /does not fit in 32 bits/],
      [Buffer.of(0xfe, 0xff, 0xff, 0xff, 0x0f), /key length 2147483647/],
    ] as const) {
      const body = Buffer.concat([record.subarray(bodyStart, keyLengthAt), bad, record.subarray(keyLengthAt + 1)]);
      const tampered = Buffer.concat([varint(body.length), body]);
      assertRefused(batchOf(tampered, { recordCount: 1 }), 'MALFORMED_RECORD', pattern);
    }
    // An 11-byte varlong timestamp delta.
    const body = Buffer.concat([Buffer.of(0), Buffer.alloc(10, 0x80), Buffer.of(0), record.subarray(3)]);
    assertRefused(batchOf(Buffer.concat([varint(body.length), body]), { recordCount: 1 }), 'MALFORMED_RECORD',
      /varlong longer than 10 bytes/);
    // A record length varint cut off by the end of the batch.
    assertRefused(batchOf(Buffer.concat([record, Buffer.of(0x80)]), { recordCount: 2 }), 'MALFORMED_RECORD',
      /record 1 .*unexpected end/);
  });

  void test('lengths past the end of the record or the batch', () => {
    assertRefused(batchOf(rawRecord({ offsetDelta: 0, lengthSkew: 1 }), { recordCount: 1 }), 'MALFORMED_RECORD',
      /record length \d+ runs past the end/);
    assertRefused(batchOf(rawRecord({ offsetDelta: 0, key: { length: 100 } }), { recordCount: 1 }),
      'MALFORMED_RECORD', /key length 100/);
    assertRefused(batchOf(rawRecord({ offsetDelta: 0, value: { length: 2 ** 31 - 1 } }), { recordCount: 1 }),
      'MALFORMED_RECORD', /value length 2147483647/);
    assertRefused(batchOf(rawRecord({ offsetDelta: 0, headers: [[{ length: 50 }, null]] }), { recordCount: 1 }),
      'MALFORMED_RECORD', /header 0 key length 50/);
    // A header count the record's bytes cannot hold.
    assertRefused(batchOf(rawRecord({ offsetDelta: 0, headerCount: 1000 }), { recordCount: 1 }),
      'MALFORMED_RECORD', /header count 1000/);
    // Fields that stop short of the record length: the next record would start inside this one.
    const short = Buffer.concat([rawRecord({ offsetDelta: 0, lengthSkew: 1 }), rawRecord({ offsetDelta: 1 })]);
    assertRefused(batchOf(short, { recordCount: 2 }), 'MALFORMED_RECORD', /does not match its fields/);
  });

  void test('trailing bytes after the last record, in the batch and in a gzip body', () => {
    const region = Buffer.concat([...goodRecords(2), Buffer.of(0)]);
    assertRefused(batchOf(region, { recordCount: 2 }), 'MALFORMED_RECORD', /1 bytes after the last of 2 records/);
    assertRefused(batchOf(gzipSync(region), { recordCount: 2, codec: 'gzip' }), 'MALFORMED_RECORD',
      /of the inflated records/);
  });

  void test('a record count that lies, both ways', () => {
    const three = Buffer.concat(goodRecords(3));
    assertRefused(batchOf(three, { recordCount: 4 }), 'BAD_RECORD_COUNT', /record 3 .*recordCount is 4/);
    assertRefused(batchOf(three, { recordCount: 2 }), 'MALFORMED_RECORD', /after the last of 2 records/);
    assertRefused(batchOf(gzipSync(three), { recordCount: 5, codec: 'gzip' }), 'BAD_RECORD_COUNT');
    assertRefused(batchOf(gzipSync(three), { recordCount: 1, codec: 'gzip' }), 'MALFORMED_RECORD');
  });

  void test('offset deltas out of order, and lastOffsetDelta not recordCount - 1', () => {
    const swapped = Buffer.concat([rawRecord({ offsetDelta: 1 }), rawRecord({ offsetDelta: 0 })]);
    assertRefused(batchOf(swapped, { recordCount: 2 }), 'BAD_OFFSET_DELTA', /record 0 .*offsetDelta 1, expected 0/);
    const gap = Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 2 })]);
    assertRefused(batchOf(gap, { recordCount: 2 }), 'BAD_OFFSET_DELTA', /record 1 /);
    const repeated = Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 0 })]);
    assertRefused(batchOf(gzipSync(repeated), { recordCount: 2, codec: 'gzip' }), 'BAD_OFFSET_DELTA');
    // lastOffsetDelta is a header field: validateBatch already refuses the mismatch.
    const lying = batchOf(Buffer.concat(goodRecords(2)), { recordCount: 2, lastOffsetDelta: 5 });
    assert.throws(() => validateProduceBatch(lying, LIMITS),
      (e: unknown) => e instanceof InvalidRecordError && e.reason === 'BAD_RECORD_COUNT');
  });

  void test('timestamps: maxTimestamp must be the largest record timestamp (CreateTime), sums stay safe', () => {
    const region = Buffer.concat([rawRecord({ offsetDelta: 0, timestampDelta: 5 }),
      rawRecord({ offsetDelta: 1, timestampDelta: -3 })]);
    assertAccepted(batchOf(region, { recordCount: 2, maxTimestamp: T0 + 5 }));
    assertRefused(batchOf(region, { recordCount: 2, maxTimestamp: T0 + 4 }), 'BAD_TIMESTAMP',
      /maxTimestamp 1700000000004 but the largest record timestamp is 1700000000005/);
    assertRefused(batchOf(region, { recordCount: 2, maxTimestamp: T0 + 6 }), 'BAD_TIMESTAMP');
    // LogAppendTime: every record reads as maxTimestamp, so the deltas are not compared with it.
    assertAccepted(batchOf(region, { recordCount: 2, maxTimestamp: T0 + 100, logAppendTime: true }));
    // baseTimestamp + delta beyond 2^53: no consumer could represent it.
    const base = Number.MAX_SAFE_INTEGER - 10;
    const far = rawRecord({ offsetDelta: 0, timestampDelta: 20 });
    assertRefused(batchOf(far, { recordCount: 1, baseTimestamp: base, maxTimestamp: base }), 'UNSAFE_INTEGER',
      /record 0 .*timestamp/);
  });

  void test('garbage gzip bodies and a gzip batch claiming 2^31 - 1 records', () => {
    const garbage = batchOf(Buffer.from('1f8b0800000000000003ffff0000deadbeef', 'hex'), { recordCount: 1, codec: 'gzip' });
    assertRefused(garbage, 'MALFORMED_RECORD', /gzip records/);
    assertRefused(batchOf(Buffer.from('not gzip at all'), { recordCount: 1, codec: 'gzip' }), 'MALFORMED_RECORD');
    const liar = batchOf(gzipSync(rawRecord({ offsetDelta: 0, key: null, value: null })),
      { recordCount: 2 ** 31 - 1, codec: 'gzip' });
    assert.ok(liar.length < 100, `${liar.length} bytes`);
    assertRefused(liar, 'BAD_RECORD_COUNT', /recordCount 2147483647 cannot fit/);
  });

  void test('a gzip bomb is refused at the bound without inflating all of it', () => {
    const zeros = Buffer.alloc(100 * 1024 * 1024);
    const bomb = batchOf(gzipSync(zeros, { level: 9 }), { recordCount: 1, codec: 'gzip' });
    assert.ok(bomb.length < 200 * 1024, `${bomb.length} bytes`);
    const before = process.memoryUsage().arrayBuffers;
    const error = assertRefused(bomb, 'INFLATED_TOO_LARGE', new RegExp(`inflate past ${RECORDS_INFLATED_BYTES_MAX}`));
    assert.equal(error.code, 'INVALID_RECORD');
    // A smaller bound refuses a body that would fit the default one.
    const body = Buffer.concat(goodRecords(200));
    const batch = batchOf(gzipSync(body), { recordCount: 200, codec: 'gzip' });
    assertAccepted(batch);
    assert.throws(() => validateProduceBatch(batch, { ...LIMITS, inflatedBytesMax: body.length - 1 }),
      (e: unknown) => e instanceof InvalidRecordError && e.reason === 'INFLATED_TOO_LARGE');
    assert.ok(process.memoryUsage().arrayBuffers - before < 2 * RECORDS_INFLATED_BYTES_MAX);
  });

  void test('off the event loop: the same verdicts for gzip (bomb, garbage, malformed, good) and plain batches', async () => {
    const bomb = batchOf(gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 9 }), { recordCount: 1, codec: 'gzip' });
    const garbage = batchOf(Buffer.from('not gzip at all'), { recordCount: 1, codec: 'gzip' });
    const malformed = batchOf(gzipSync(Buffer.from(POISON_KEY_LENGTH_HEX, 'hex').subarray(61)),
      { recordCount: 1, codec: 'gzip' });
    const good = batchOf(gzipSync(Buffer.concat(goodRecords(50))), { recordCount: 50, codec: 'gzip' });
    const plain = batchOf(Buffer.concat(goodRecords(3)), { recordCount: 3, codec: 'none' });
    const offLoop = (batch: Buffer): Promise<void> =>
      validateRecordsOffLoop(batch, validateBatch(batch, LIMITS).header);
    // The event loop keeps turning while the bomb inflates in the thread pool.
    let turns = 0;
    const ticker = setInterval(() => { turns += 1; }, 1);
    await assert.rejects(offLoop(bomb),
      (e: unknown) => e instanceof InvalidRecordError && e.reason === 'INFLATED_TOO_LARGE');
    clearInterval(ticker);
    assert.ok(turns > 0, 'the event loop turned during the inflate');
    await assert.rejects(offLoop(garbage),
      (e: unknown) => e instanceof InvalidRecordError && e.reason === 'MALFORMED_RECORD');
    await assert.rejects(offLoop(malformed), InvalidRecordError);
    await offLoop(good);
    await offLoop(plain);
  });

  void test('snappy, lz4 and zstd batches are stored as they came once header and CRC pass', () => {
    for (const codec of ['snappy', 'lz4', 'zstd'] as const) {
      const batch = batchOf(Buffer.concat(goodRecords(1)), { recordCount: 1, codec });
      validateProduceBatch(batch, LIMITS);
      const corrupted = Buffer.from(batch);
      corrupted[corrupted.length - 1] = (corrupted[corrupted.length - 1] ?? 0) ^ 0xff;
      assert.throws(() => validateProduceBatch(corrupted, LIMITS), { code: 'CORRUPT_MESSAGE' });
    }
  });

  void test('a codec number Kafka does not define (5-7) is refused', () => {
    const batch = batchOf(Buffer.concat(goodRecords(1)), { recordCount: 1, codec: 'zstd' });
    const odd = Buffer.from(batch);
    odd.writeInt16BE((odd.readInt16BE(21) & ~0x07) | 5, 21);
    odd.writeUInt32BE(computeBatchCrc(odd), CRC_OFFSET);
    assert.throws(() => validateProduceBatch(odd, LIMITS), (error: unknown) => {
      assert.ok(error instanceof UnsupportedCompressionError);
      assert.equal(error.wireCode, 76);
      return true;
    });
  });

  void test('--unsafe-skip-record-validation stores what the walk would refuse (it is for measuring only)', () => {
    const batch = Buffer.from(POISON_KEY_LENGTH_HEX, 'hex');
    validateProduceBatch(batch, { ...LIMITS, unsafeSkipRecordValidation: true });
    assert.throws(() => validateProduceBatch(batch, { ...LIMITS, unsafeSkipRecordValidation: false }),
      InvalidRecordError);
  });
});

void describe('record validation on append: valid batches', () => {
  void test('our encoder: headers, null keys and values, negative deltas, none and gzip', () => {
    const options: EncodeBatchOptions = {
      baseTimestamp: T0,
      records: [
        { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') },
          { key: '', value: null }] },
        { key: null, value: Buffer.from('tombstone?'), timestamp: T0 + 5 },
        { key: Buffer.from('k3'), value: null, timestamp: T0 - 3 },
        { key: null, value: null },
      ],
    };
    assertAccepted(encodeRecordBatch(options));
    assertAccepted(encodeRecordBatch({ ...options, compression: 'gzip', compress: compressRecords }));
  });

  void test('record attributes are ignored, as Kafka ignores them', () => {
    assertAccepted(batchOf(rawRecord({ offsetDelta: 0, attributes: 0x7f }), { recordCount: 1 }));
  });

  void test('an empty batch stays refused (recordCount 0: lastOffsetDelta -1)', () => {
    const empty = batchOf(Buffer.alloc(0), { recordCount: 0 });
    assert.throws(() => validateProduceBatch(empty, LIMITS),
      (e: unknown) => e instanceof InvalidRecordError && e.reason === 'BAD_RECORD_COUNT');
  });

  void test('kafkajs 2.2.4 batches, none and gzip', async () => {
    const records = [
      { offsetDelta: 0, timestampDelta: 0, key: Buffer.from('k1'), value: Buffer.from('v1'),
        headers: { h: Buffer.from('x') } },
      { offsetDelta: 1, timestampDelta: 70, key: null, value: Buffer.from('v'.repeat(200)), headers: {} },
      { offsetDelta: 2, timestampDelta: 9000, key: Buffer.from(''), value: null,
        headers: { a: Buffer.from(''), b: Buffer.from('é☃') } },
    ];
    const args = { firstTimestamp: T0, maxTimestamp: T0 + 9000, partitionLeaderEpoch: -1, lastOffsetDelta: 2,
      producerId: -1, producerEpoch: -1, firstSequence: -1 };
    assertAccepted(await kafkajsEncodeBatch(args, records));
    assertAccepted(await kafkajsEncodeBatch({ ...args, compression: 1 }, records));
  });

  void test('seeded random batches are accepted; single-byte mutations are refused or still decode', () => {
    const prng = new TestPrng(0x5eed);
    let refused = 0;
    let accepted = 0;
    for (let round = 0; round < 60; round++) {
      const records = randomRecords(prng, prng.int(1, 12), T0);
      const gzip = round % 3 === 0;
      const options: EncodeBatchOptions = { records, ...(gzip ? { compression: 'gzip', compress: compressRecords } : {}) };
      const batch = encodeRecordBatch(options);
      assertAccepted(batch);
      const plain = gzip ? encodeRecordBatch({ records }) : batch;
      for (let m = 0; m < 40; m++) {
        // Mutate one byte of the (uncompressed) records, re-compress if needed, fix the CRC.
        const region = Buffer.from(plain.subarray(BATCH_HEADER_BYTES));
        const at = prng.int(0, region.length - 1);
        region[at] = (region[at]! + prng.int(1, 255)) & 0xff;
        const mutated = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), gzip ? gzipSync(region) : region]);
        mutated.writeInt32BE(mutated.length - 12, BATCH_LENGTH_OFFSET);
        resealed(mutated);
        try {
          validateProduceBatch(mutated, LIMITS);
        } catch (error: unknown) {
          assert.ok(error instanceof InvalidRecordError, `round ${round} byte ${at}: ${String(error)}`);
          refused++;
          continue;
        }
        accepted++;
        // The invariant: anything stored decodes, with as many records as the header says.
        const decoded = decodeRecordBatch(mutated, { decompress: (codec, blob) => decompressRecords(codec, blob) });
        assert.equal(decoded.records.length, decoded.header.recordCount);
      }
    }
    // Both outcomes happen (a value byte changes nothing structural; a length byte breaks the batch).
    assert.ok(refused > 50 && accepted > 50, `refused ${refused}, accepted ${accepted}`);
  });
});
