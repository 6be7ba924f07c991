/**
 * Goal: the consumer's decoder (fetched_records.ts, records read straight from the fetched bytes,
 * a batch at a time, as many as a poll asks for) hands out exactly the records decodeRecordBatch
 * decodes, with the same fields in the same order: headers, null and empty keys and values, gzip,
 * LogAppendTime, fetches that start inside a batch, control batches, batches spread over frames,
 * any take size. Damaged bytes throw typed errors before any record of the damaged batch is handed
 * out, and never come out as records. The fetch-ahead buffer keeps replies contiguous and empties
 * on damage. Method: seeded random batches encoded with the client encoder, compared field by field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { decodeBatch, encodeBatch } from '../../../src/client/compression.js';
import { BufferedBatchError, FetchBuffer } from '../../../src/client/fetch_buffer.js';
import type { ConsumerRecord } from '../../../src/client/fetched_records.js';
import { PartitionRecords } from '../../../src/client/fetched_records.js';
import { CorruptMessageError, InvalidRecordError, TributaryError } from '../../../src/common/errors.js';
import {
  assignOffsets, ATTRIBUTES_OFFSET, BATCH_HEADER_BYTES, computeBatchCrc, CRC_OFFSET, MAX_TIMESTAMP_OFFSET,
} from '../../../src/protocol/record_batch.js';
import type { CompressionCodec } from '../../../src/protocol/record_batch.js';
import { randomRecords, TestPrng } from '../protocol/helpers.js';

const T0 = 1_700_000_000_000;
const TOPIC = 'orders';
const PARTITION = 3;

interface BatchSpec {
  readonly count: number;
  readonly compression?: CompressionCodec;
  readonly logAppendTime?: boolean;
  readonly control?: boolean;
}

/** Encoded batches with offsets assigned from `firstOffset` on, as a broker stores them. */
function makeBatches(prng: TestPrng, specs: readonly BatchSpec[], firstOffset = 0): Buffer[] {
  let offset = firstOffset;
  return specs.map((spec) => {
    const batch = encodeBatch({ records: randomRecords(prng, spec.count, T0), compression: spec.compression ?? 'none' });
    if (spec.logAppendTime === true || spec.control === true) {
      batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | (spec.logAppendTime === true ? 0x08 : 0)
        | (spec.control === true ? 0x20 : 0), ATTRIBUTES_OFFSET);
      if (spec.logAppendTime === true) batch.writeBigInt64BE(BigInt(T0 + 777), MAX_TIMESTAMP_OFFSET);
      reseal(batch);
    }
    offset = assignOffsets(batch, offset, 7) + 1;
    return batch;
  });
}

function reseal(batch: Buffer): void {
  batch.writeUInt32BE(computeBatchCrc(batch), CRC_OFFSET);
}

/** What the consumer returned before this decoder: decodeRecordBatch's records, control batches skipped. */
function expectedRecords(batches: readonly Buffer[], fromOffset: number): ConsumerRecord[] {
  return batches.flatMap((batch) => {
    const decoded = decodeBatch(batch);
    if (decoded.header.control) return [];
    return decoded.records.filter((r) => r.offset >= fromOffset).map((r) => ({
      topic: TOPIC, partition: PARTITION, offset: r.offset, key: r.key, value: r.value, headers: r.headers,
      timestamp: r.timestamp,
    }));
  });
}

/** Concatenates batches into frames of `perFrame` batches each. */
function framesOf(batches: readonly Buffer[], perFrame: number): Buffer[] {
  const frames: Buffer[] = [];
  for (let i = 0; i < batches.length; i += perFrame) frames.push(Buffer.concat(batches.slice(i, i + perFrame)));
  return frames;
}

/** Takes everything in polls of `limit` records; each take's records come after the ones before. */
function takeAll(records: PartitionRecords, limit: number): ConsumerRecord[] {
  const all: ConsumerRecord[] = [];
  for (let polls = 0; polls < 100_000; polls++) {
    const out: ConsumerRecord[] = [];
    const done = records.takeInto(out, limit);
    assert.ok(out.length <= limit, `a take of ${out.length} records over the limit ${limit}`);
    all.push(...out);
    assert.equal(records.nextOffset >= (all.at(-1)?.offset ?? -1) + 1, true, 'nextOffset is past what was taken');
    if (done) return all;
  }
  throw new Error('takeInto never finished');
}

void describe('PartitionRecords', () => {
  void test('hands out exactly the records decodeRecordBatch decodes (seeded random batches, any take size)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const prng = new TestPrng(seed);
      const specs: BatchSpec[] = Array.from({ length: prng.int(1, 6) }, () => ({
        count: prng.int(1, 40),
        compression: prng.chance(0.3) ? 'gzip' : 'none',
        logAppendTime: prng.chance(0.2),
        control: prng.chance(0.1),
      }));
      const firstOffset = prng.int(0, 5000);
      const batches = makeBatches(prng, specs, firstOffset);
      const lastOffset = firstOffset + specs.reduce((sum, spec) => sum + spec.count, 0) - 1;
      const fetchOffset = prng.chance(0.5) ? firstOffset : prng.int(firstOffset, lastOffset);
      const records = new PartitionRecords(TOPIC, PARTITION, framesOf(batches, prng.int(1, 3)), fetchOffset);
      assert.equal(records.endOffset, lastOffset + 1, `seed ${seed}: endOffset from the headers`);
      const taken = takeAll(records, prng.chance(0.3) ? Infinity : prng.int(1, 50));
      assert.deepStrictEqual(taken, expectedRecords(batches, fetchOffset), `seed ${seed}`);
      assert.equal(records.nextOffset, lastOffset + 1, `seed ${seed}: the position moves past the last batch`);
      assert.equal(records.oversizedBatch, false);
    }
  });

  void test('records are plain objects with the fields in the order the consumer always had', () => {
    const [batch] = makeBatches(new TestPrng(5), [{ count: 2 }]);
    const [first] = takeAll(new PartitionRecords(TOPIC, PARTITION, [batch!], 0), 10);
    assert.deepEqual(Object.keys(first!), ['topic', 'partition', 'offset', 'key', 'value', 'headers', 'timestamp']);
    assert.equal(Object.getPrototypeOf(first), Object.prototype);
  });

  void test('keys, values and header values are views of the fetched bytes, not copies', () => {
    const batch = encodeBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('value'),
      headers: [{ key: 'h', value: Buffer.from('x') }], timestamp: T0 }] });
    const [record] = takeAll(new PartitionRecords(TOPIC, PARTITION, [batch], 0), 1);
    for (const view of [record!.key, record!.value, record!.headers[0]!.value]) {
      assert.ok(Buffer.isBuffer(view) && view.buffer === batch.buffer);
    }
    assert.deepEqual(record!.headers, [{ key: 'h', value: Buffer.from('x') }]);
  });

  void test('a control batch yields no records, and the position moves past it', () => {
    const batches = makeBatches(new TestPrng(8), [{ count: 3 }, { count: 2, control: true }]);
    const records = new PartitionRecords(TOPIC, PARTITION, [Buffer.concat(batches)], 0);
    assert.deepEqual(takeAll(records, 100).map((r) => r.offset), [0, 1, 2]);
    assert.equal(records.nextOffset, 5);
  });

  void test('a damaged batch is thrown before any of its records; the ones before it come out', () => {
    const prng = new TestPrng(11);
    const batches = makeBatches(prng, [{ count: 5 }, { count: 5 }, { count: 5 }]);
    const damaged = batches.map((batch) => Buffer.from(batch));
    damaged[1]![BATCH_HEADER_BYTES + 3]! ^= 0x40;
    const records = new PartitionRecords(TOPIC, PARTITION, [Buffer.concat(damaged)], 0);
    const out: ConsumerRecord[] = [];
    assert.throws(() => records.takeInto(out, 100), CorruptMessageError);
    assert.deepStrictEqual(out, expectedRecords(batches.slice(0, 1), 0));
    assert.equal(records.nextOffset, 5, 'the position stays at the damaged batch');
    assert.throws(() => records.takeInto([], 100), CorruptMessageError, 'and stays there');
  });

  void test('malformed records under a valid CRC are InvalidRecordError, all or nothing per batch', () => {
    const one = encodeBatch({ records: [{ key: null, value: Buffer.from('a'), timestamp: T0 },
      { key: null, value: Buffer.from('b'), timestamp: T0 }] });
    // Bytes after the last record.
    const trailing = Buffer.concat([one, Buffer.of(0)]);
    trailing.writeInt32BE(trailing.length - 12, 8);
    reseal(trailing);
    // The second record repeats offset delta 0 (its body: length, attributes, timestampDelta, offsetDelta).
    const repeated = Buffer.from(one);
    const secondRecord = BATCH_HEADER_BYTES + 1 + repeated[BATCH_HEADER_BYTES]! / 2;
    assert.equal(repeated[secondRecord + 3], 2, 'offset delta 1 is the ZigZag byte 02');
    repeated[secondRecord + 3] = 0;
    reseal(repeated);
    for (const bad of [trailing, repeated]) {
      const out: ConsumerRecord[] = [];
      assert.throws(() => new PartitionRecords(TOPIC, PARTITION, [bad], 0).takeInto(out, 10),
        (error: unknown) => error instanceof InvalidRecordError && error.reason === 'MALFORMED_RECORD');
      assert.deepEqual(out, []);
    }
  });

  void test('no flipped byte covered by a CRC comes out as a record: typed error or the records before it', () => {
    const prng = new TestPrng(21);
    const batches = makeBatches(prng, [{ count: 4 }, { count: 6, compression: 'gzip' }, { count: 3 }]);
    const frame = Buffer.concat(batches);
    const starts = [0, batches[0]!.length, batches[0]!.length + batches[1]!.length];
    const all = expectedRecords(batches, 0);
    for (let at = 0; at < frame.length; at++) {
      const inBatch = at - Math.max(...starts.filter((start) => start <= at));
      // baseOffset and partitionLeaderEpoch are outside the batch CRC (the broker writes them).
      if (inBatch < 8 || (inBatch >= 12 && inBatch < 16)) continue;
      const damaged = Buffer.from(frame);
      damaged[at]! ^= 1 << prng.int(0, 7);
      const out: ConsumerRecord[] = [];
      try {
        new PartitionRecords(TOPIC, PARTITION, [damaged], 0).takeInto(out, Infinity);
      } catch (error) {
        assert.ok(error instanceof TributaryError, `byte ${at}: ${String(error)}`);
      }
      assert.deepStrictEqual(out, all.slice(0, out.length), `byte ${at}: only intact records, in order`);
      assert.ok(out.length < all.length, `byte ${at}: the damage was noticed`);
    }
  });

  void test('a frame holding only the start of a batch reports an oversized batch', () => {
    const batches = makeBatches(new TestPrng(31), [{ count: 3 }, { count: 3 }]);
    const cut = batches[1]!.subarray(0, 40);
    const alone = new PartitionRecords(TOPIC, PARTITION, [cut], 3);
    assert.deepEqual(takeAll(alone, 10), []);
    assert.equal(alone.oversizedBatch, true);
    assert.equal(alone.endOffset, 3);
    const after = new PartitionRecords(TOPIC, PARTITION, [Buffer.concat([batches[0]!, cut])], 0);
    assert.equal(takeAll(after, 10).length, 3);
    assert.equal(after.oversizedBatch, false, 'a complete batch came first: the fetch size is fine');
    assert.equal(after.nextOffset, 3);
  });
});

void describe('FetchBuffer', () => {
  const prng = new TestPrng(41);
  const batches = makeBatches(prng, [{ count: 10 }, { count: 10 }, { count: 10 }]);
  const reply = (index: number, from: number): PartitionRecords =>
    new PartitionRecords(TOPIC, PARTITION, [batches[index]!], from);

  void test('fetches ahead from where the buffered reply ends, and hands out replies in order', () => {
    const buffer = new FetchBuffer();
    assert.equal(buffer.wantsFetch(30), true);
    assert.equal(buffer.fetchOffset(4), 4);
    buffer.push(reply(0, 4), 4);
    assert.equal(buffer.fetchOffset(4), 10);
    assert.equal(buffer.wantsFetch(30), true, 'more is committed: fetch ahead');
    assert.equal(buffer.wantsFetch(10), false, 'at the high watermark: no fetch ahead');
    buffer.push(reply(1, 10), 4);
    assert.equal(buffer.wantsFetch(30), false, 'one reply ahead at most');
    const out: ConsumerRecord[] = [];
    let position = buffer.takeFromHead(out, 4, 4);
    assert.deepEqual([position, buffer.replyCount()], [8, 2], 'the poll is full inside the first reply');
    position = buffer.takeFromHead(out, 100, position);
    assert.deepEqual([position, buffer.replyCount()], [10, 1], 'one reply per call: the first one ends here');
    position = buffer.takeFromHead(out, 100, position);
    assert.equal(position, 20);
    assert.deepEqual(out.map((r) => r.offset), [...Array(16).keys()].map((i) => i + 4));
    assert.equal(buffer.isEmpty(), true);
  });

  void test('a damaged batch empties the buffer, the replies fetched ahead too', () => {
    const buffer = new FetchBuffer();
    const damaged = Buffer.from(batches[0]!);
    damaged[BATCH_HEADER_BYTES + 1]! ^= 2;
    buffer.push(new PartitionRecords(TOPIC, PARTITION, [damaged], 0), 0);
    buffer.push(reply(1, 10), 0);
    assert.throws(() => buffer.takeFromHead([], 100, 0),
      (error: unknown) => error instanceof BufferedBatchError && error.position === 0
        && error.cause instanceof CorruptMessageError);
    assert.equal(buffer.isEmpty(), true);
    assert.equal(buffer.fetchOffset(0), 0);
  });
});
