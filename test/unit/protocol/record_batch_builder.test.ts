/**
 * Goal: RecordBatchBuilder, which encodes records as they are appended, produces exactly the bytes
 * encodeRecordBatch produces for the same records (the reference the other protocol tests check
 * against kafkajs), with and without compression and idempotence fields, however its buffer grew.
 * Method: hand-picked edge cases and seeded random records, compared byte for byte, then validated
 * and decoded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { compressRecords, decodeBatch } from '../../../src/client/compression.js';
import { BATCH_HEADER_BYTES, encodeRecordBatch, validateBatch } from '../../../src/protocol/record_batch.js';
import type { EncodeBatchOptions, RecordInput } from '../../../src/protocol/record_batch.js';
import { RecordBatchBuilder } from '../../../src/protocol/record_batch_builder.js';
import type { BuildOptions } from '../../../src/protocol/record_batch_builder.js';
import { varintBytes } from '../../../src/protocol/varint.js';
import { randomRecords, TestPrng } from './helpers.js';

const T0 = 1_700_000_000_000;
const LIMITS = { batchBytesMax: 1 << 24, zstdAllowed: true };
const NO_IDEMPOTENCE = { producerId: -1, producerEpoch: -1, baseSequence: -1 } as const;

function bytesOf(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** Appends every record (each at its own timestamp, or the first's), growing the buffer when needed. */
function buildWith(records: readonly RecordInput[], options: BuildOptions, capacityBytes = 128): Buffer {
  const baseTimestamp = records[0]?.timestamp ?? T0;
  const builder = new RecordBatchBuilder(baseTimestamp, capacityBytes);
  for (const record of records) {
    const timestamp = record.timestamp ?? baseTimestamp;
    const headers = record.headers ?? [];
    const bodyBytes = builder.nextBodyBytes(record.key, record.value, headers, timestamp);
    const needed = builder.sizeBytes + varintBytes(bodyBytes) + bodyBytes;
    if (needed > builder.capacityBytes) builder.growTo(Math.max(needed, builder.capacityBytes * 2));
    builder.append(record.key, record.value, headers, timestamp, bodyBytes);
  }
  assert.equal(builder.recordCount, records.length);
  return builder.build(options);
}

function reference(records: readonly RecordInput[], options: BuildOptions): Buffer {
  const encodeOptions: EncodeBatchOptions = {
    records,
    compression: options.compression,
    ...(options.compress === undefined ? {} : { compress: options.compress }),
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: options.baseSequence,
  };
  return encodeRecordBatch(encodeOptions);
}

const EDGE_CASES: readonly RecordInput[] = [
  { key: bytesOf('k1'), value: bytesOf('v1'), headers: [{ key: 'h', value: bytesOf('x') }], timestamp: T0 },
  { key: null, value: bytesOf('null key'), timestamp: T0 + 5 },
  { key: bytesOf('tombstone'), value: null, timestamp: T0 - 3 },
  { key: null, value: null, timestamp: T0 + 1 },
  { key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: T0 },
  {
    key: bytesOf('headers'), value: bytesOf('many'), timestamp: T0 + 70_000,
    headers: [{ key: '', value: null }, { key: 'é☃😀', value: Buffer.alloc(0) }, { key: 'dup', value: bytesOf('1') },
      { key: 'dup', value: bytesOf('2') }],
  },
  { key: Buffer.alloc(64, 1), value: Buffer.alloc(8192, 2), timestamp: T0 + 2 },
];

void describe('RecordBatchBuilder', () => {
  void test('the same bytes as encodeRecordBatch: headers, null keys and values, no compression', () => {
    const built = buildWith(EDGE_CASES, { compression: 'none', ...NO_IDEMPOTENCE });
    assert.deepEqual(built, reference(EDGE_CASES, { compression: 'none', ...NO_IDEMPOTENCE }));
    validateBatch(built, LIMITS);
    const decoded = decodeBatch(built);
    assert.equal(decoded.header.maxTimestamp, T0 + 70_000);
    assert.equal(decoded.header.baseTimestamp, T0);
    assert.deepEqual(decoded.records.map((r) => r.value?.toString() ?? null).slice(0, 4),
      ['v1', 'null key', null, null]);
  });

  void test('the same bytes with idempotence fields and with gzip', () => {
    const idempotent = { producerId: 4242, producerEpoch: 7, baseSequence: 2_147_483_000 };
    for (const compression of ['none', 'gzip'] as const) {
      const options = { compression, compress: compressRecords, ...idempotent };
      const built = buildWith(EDGE_CASES, options);
      assert.deepEqual(built, reference(EDGE_CASES, options), compression);
      validateBatch(built, LIMITS);
      assert.equal(decodeBatch(built).records.length, EDGE_CASES.length);
    }
  });

  void test('the same bytes for seeded random batches, whatever the starting capacity', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const prng = new TestPrng(seed);
      const records = randomRecords(prng, prng.int(1, 40), T0);
      const options = { compression: 'none' as const, ...NO_IDEMPOTENCE };
      const capacity = prng.chance(0.5) ? BATCH_HEADER_BYTES + 1 : 1 << 16;
      assert.deepEqual(buildWith(records, options, capacity), reference(records, options), `seed ${seed}`);
    }
  });

  void test('maxTimestamp is the highest record timestamp even when the first is not the lowest', () => {
    const builder = new RecordBatchBuilder(T0, 1024);
    for (const timestamp of [T0, T0 - 10, T0 + 9, T0 + 3]) {
      const bodyBytes = builder.nextBodyBytes(null, bytesOf('v'), [], timestamp);
      builder.append(null, bytesOf('v'), [], timestamp, bodyBytes);
    }
    assert.equal(builder.maxTimestamp, T0 + 9);
  });

  void test('asserts on caller bugs: no room, nothing to build, append or build after build', () => {
    const builder = new RecordBatchBuilder(T0, BATCH_HEADER_BYTES + 8);
    const big = bytesOf('0123456789');
    assert.throws(() => { builder.append(null, big, [], T0, builder.nextBodyBytes(null, big, [], T0)); },
      { name: 'AssertionError' });
    assert.throws(() => builder.build({ compression: 'none', ...NO_IDEMPOTENCE }), { name: 'AssertionError' });
    const small = bytesOf('v');
    builder.append(null, small, [], T0, builder.nextBodyBytes(null, small, [], T0));
    assert.throws(() => builder.build({ compression: 'none', producerId: 5, producerEpoch: 0, baseSequence: -1 }),
      { name: 'AssertionError' });
    builder.build({ compression: 'none', ...NO_IDEMPOTENCE });
    assert.throws(() => builder.build({ compression: 'none', ...NO_IDEMPOTENCE }), { name: 'AssertionError' });
    assert.throws(() => { builder.append(null, small, [], T0, 1); }, { name: 'AssertionError' });
    assert.throws(() => { builder.growTo(4096); }, { name: 'AssertionError' });
  });
});
