/**
 * Goal: gzip batches are Kafka's: codec 1 in attribute bits 0-2, the header in the clear, and
 * everything after recordCount one gzip blob, so that real clients read ours and we read theirs.
 * Method: round trips both ways with kafkajs 2.2.4 (its RecordBatch encoder and decoder with its
 * GZIP codec), random records, the broker's validateBatch on a compressed batch (no
 * decompression), and refusals: no decompressor, unknown codec, corrupt blob, a gzip bomb.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';

import {
  compressRecords,
  decodeBatch,
  decompressRecords,
  encodeBatch,
} from '../../../src/client/compression.js';
import { InvalidRecordError, UnsupportedCompressionError } from '../../../src/common/errors.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  computeBatchCrc,
  CRC_OFFSET,
  decodeRecordBatch,
  encodeRecordBatch,
  LOG_OVERHEAD_BYTES,
  readBatchHeader,
  RECORDS_OFFSET,
  validateBatch,
} from '../../../src/protocol/record_batch.js';
import type { DecodedRecord, RecordInput } from '../../../src/protocol/record_batch.js';
import { kafkajsDecodeBatch, kafkajsEncodeBatch, randomRecords, TestPrng } from '../protocol/helpers.js';
import type { KafkajsRecordArgs } from '../protocol/helpers.js';

const T0 = 1_700_000_000_000;
const LIMITS = { batchBytesMax: 1 << 24, zstdAllowed: true };

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** Records kafkajs can express: header values non-null, one value per header key. */
function kafkajsFriendly(prng: TestPrng, count: number): RecordInput[] {
  return randomRecords(prng, count, T0).map((record, i) => ({
    key: record.key,
    value: record.value,
    timestamp: T0 + i * 3,
    headers: prng.chance(0.5) ? [] : [{ key: `h${i}`, value: text(`v${i}`) }],
  }));
}

function assertSameRecords(ours: readonly DecodedRecord[], inputs: readonly RecordInput[]): void {
  assert.equal(ours.length, inputs.length);
  ours.forEach((record, i) => {
    const input = inputs[i];
    assert.ok(input !== undefined);
    assert.deepEqual(record.key, input.key === null ? null : Buffer.from(input.key));
    assert.deepEqual(record.value, input.value === null ? null : Buffer.from(input.value));
    assert.equal(record.timestamp, input.timestamp);
    assert.equal(record.offsetDelta, i);
    assert.deepEqual(record.headers.map((h) => [h.key, h.value]),
      (input.headers ?? []).map((h) => [h.key, h.value === null ? null : Buffer.from(h.value)]));
  });
}

void describe('gzip record batches', () => {
  void test('ours: codec bits set, header readable without decompressing, broker validation passes', () => {
    const records = kafkajsFriendly(new TestPrng(1), 50);
    const batch = encodeBatch({ records, compression: 'gzip', producerId: 7, producerEpoch: 0, baseSequence: 10 });
    const header = readBatchHeader(batch);
    assert.equal(header.compression, 'gzip');
    assert.equal(header.attributes & 0x07, 1);
    assert.equal(header.recordCount, 50);
    assert.equal(header.lastOffsetDelta, 49);
    assert.equal(header.baseSequence, 10);
    assert.equal(header.maxTimestamp, T0 + 49 * 3);
    assert.equal(header.batchLength + LOG_OVERHEAD_BYTES, batch.length);
    assert.equal(batch[RECORDS_OFFSET], 0x1f, 'gzip magic after recordCount');
    assert.equal(batch[RECORDS_OFFSET + 1], 0x8b);
    assert.equal(validateBatch(batch, LIMITS).sizeBytes, batch.length);
    const repetitive = Array.from({ length: 100 }, (_, i) => ({ key: null, value: text(`order ${i % 3}`), timestamp: T0 }));
    const plain = encodeRecordBatch({ records: repetitive });
    assert.ok(encodeBatch({ records: repetitive, compression: 'gzip' }).length < plain.length / 3, 'gzip shrinks');
    assertSameRecords(decodeBatch(batch).records, records);
  });

  void test('ours decodes in kafkajs with its GZIP codec', async () => {
    const prng = new TestPrng(2);
    for (let round = 0; round < 10; round++) {
      const records = kafkajsFriendly(prng, prng.int(1, 40));
      const batch = encodeBatch({ records, compression: 'gzip' });
      const theirs = await kafkajsDecodeBatch(batch);
      assert.equal(theirs.records.length, records.length);
      theirs.records.forEach((record, i) => {
        const input = records[i];
        assert.ok(input !== undefined);
        assert.deepEqual(record.key, input.key === null ? null : Buffer.from(input.key));
        assert.deepEqual(record.value, input.value === null ? null : Buffer.from(input.value));
        assert.equal(record.timestamp, String(input.timestamp));
        assert.equal(record.offset, String(i));
        for (const header of input.headers ?? []) {
          assert.deepEqual(record.headers[header.key], header.value);
        }
      });
    }
  });

  void test('kafkajs gzip batches decode with ours, CRC included', async () => {
    const prng = new TestPrng(3);
    for (let round = 0; round < 10; round++) {
      const records = kafkajsFriendly(prng, prng.int(1, 40));
      const args: KafkajsRecordArgs[] = records.map((record, i) => ({
        offsetDelta: i,
        timestampDelta: (record.timestamp ?? T0) - T0,
        key: record.key === null ? null : Buffer.from(record.key),
        value: record.value === null ? null : Buffer.from(record.value),
        headers: Object.fromEntries((record.headers ?? []).map((h) => [h.key, Buffer.from(h.value ?? [])])),
      }));
      const batch = await kafkajsEncodeBatch({
        compression: 1, firstTimestamp: T0, maxTimestamp: T0 + (records.length - 1) * 3, partitionLeaderEpoch: -1,
        lastOffsetDelta: records.length - 1, producerId: -1, producerEpoch: -1, firstSequence: -1,
      }, args);
      assert.equal(readBatchHeader(batch).compression, 'gzip');
      const ours = decodeBatch(batch);
      assertSameRecords(ours.records, records);
      validateBatch(batch, LIMITS);
    }
  });

  void test('without a decompressor a gzip batch is refused; the codec id is kept in the error', () => {
    const batch = encodeBatch({ records: [{ key: null, value: text('v'), timestamp: T0 }], compression: 'gzip' });
    assert.throws(() => decodeRecordBatch(batch),
      (error: unknown) => error instanceof UnsupportedCompressionError && error.codecId === 1);
  });

  void test('codecs other than none and gzip are refused both ways', () => {
    for (const codec of ['snappy', 'lz4', 'zstd'] as const) {
      assert.throws(() => compressRecords(codec, text('x')), UnsupportedCompressionError);
      assert.throws(() => decompressRecords(codec, text('x')), UnsupportedCompressionError);
    }
    assert.equal(decompressRecords('none', text('x')).toString(), 'x');
  });

  void test('a corrupt blob is InvalidRecordError, not a crash', () => {
    const batch = encodeBatch({ records: [{ key: null, value: text('hello'), timestamp: T0 }], compression: 'gzip' });
    const broken = Buffer.from(batch);
    broken.fill(0x55, RECORDS_OFFSET + 10);
    broken.writeUInt32BE(computeBatchCrc(broken), CRC_OFFSET);
    assert.throws(() => decodeBatch(broken),
      (error: unknown) => error instanceof InvalidRecordError && error.reason === 'MALFORMED_RECORD');
  });

  void test('output over the bound is refused (gzip bomb)', () => {
    const bomb = gzipSync(Buffer.alloc(1 << 20));
    assert.ok(bomb.length < 2048);
    assert.throws(() => decompressRecords('gzip', bomb, 1 << 16), InvalidRecordError);
    assert.equal(decompressRecords('gzip', bomb).length, 1 << 20);
  });

  void test('a gzip batch whose records do not fill the blob is malformed', () => {
    // Two records inside, header says one: the decoder must notice the trailing bytes.
    const two = encodeBatch({ records: [{ key: null, value: text('a'), timestamp: T0 },
      { key: null, value: text('b'), timestamp: T0 }], compression: 'gzip' });
    const lying = Buffer.from(two);
    lying.writeInt32BE(0, 23);
    lying.writeInt32BE(1, 57);
    lying.writeUInt32BE(computeBatchCrc(lying), CRC_OFFSET);
    assert.throws(() => decodeBatch(lying), InvalidRecordError);
    assert.equal(lying.readInt16BE(ATTRIBUTES_OFFSET) & 7, 1);
    assert.equal(lying.readInt32BE(BATCH_LENGTH_OFFSET) + LOG_OVERHEAD_BYTES, lying.length);
  });
});
