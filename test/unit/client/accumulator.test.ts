/**
 * Goal: the record accumulator batches like Kafka's RecordAccumulator and keeps its promises:
 * linger and size close batches, memory stays under bufferBytesMax, every send resolves with its
 * offset in order or rejects with its batch's error, retries resend the same bytes and sequence,
 * and sticky partitioning fills one batch before moving on. Method: a fake clock (no timers),
 * decoding every drained batch with our decoder (and kafkajs' for gzip).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import { appendPartitioned, BATCH_BYTES_INITIAL, RecordAccumulator } from '../../../src/client/accumulator.js';
import type { AccumulatorConfig, AppendedBatch, AppendResult, ProducerBatch, RecordMetadata }
  from '../../../src/client/accumulator.js';
import { decodeBatch, encodeBatch } from '../../../src/client/compression.js';
import { DefaultPartitioner } from '../../../src/client/partitioner.js';
import type { PartitionInput, Partitioner } from '../../../src/client/partitioner.js';
import { ProducerSequences } from '../../../src/client/producer_state.js';
import { MessageTooLargeError, TributaryError } from '../../../src/common/errors.js';
import { BATCH_HEADER_BYTES, decodeRecordBatch, readBatchHeader } from '../../../src/protocol/record_batch.js';
import type { RecordHeaderInput } from '../../../src/protocol/record_batch.js';
import { kafkajsDecodeBatch } from '../protocol/helpers.js';

const T0 = 1_700_000_000_000;

class FakeClock {
  constructor(public now = T0) {}
  nowMs(): number {
    return this.now;
  }
}

function setup(overrides: Partial<AccumulatorConfig> = {}): { clock: FakeClock; accumulator: RecordAccumulator } {
  const clock = new FakeClock();
  const accumulator = new RecordAccumulator({
    batchBytesMax: 1024, lingerMs: 10, bufferBytesMax: 64 * 1024, clock, ...overrides,
  });
  return { clock, accumulator };
}

interface TestRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: readonly RecordHeaderInput[];
  readonly timestamp?: number;
}

function record(value: string, key: string | null = null): TestRecord {
  return { key: key === null ? null : Buffer.from(key), value: Buffer.from(value) };
}

function append(accumulator: RecordAccumulator, topic: string, partition: number, r: TestRecord): AppendResult {
  return accumulator.append(topic, partition, r.key, r.value, r.headers ?? [], r.timestamp);
}

function delivered(result: AppendResult): Promise<RecordMetadata> {
  assert.ok(result instanceof Promise, `appended, not ${result instanceof Promise ? '' : result.kind}`);
  return result;
}

/** Remembers the partition it chose last: appendPartitioned's final choice for a record. */
class RecordingPartitioner implements Partitioner {
  last = -1;
  constructor(private readonly inner: Partitioner) {}
  partition(input: PartitionInput): number {
    this.last = this.inner.partition(input);
    return this.last;
  }
  onNewBatch(topic: string, partition: number, input: PartitionInput): void {
    this.inner.onNewBatch(topic, partition, input);
  }
}

/** appendPartitioned of a record with key input.key and this value, and the partition it went to. */
function partitioned(accumulator: RecordAccumulator, partitioner: RecordingPartitioner, input: PartitionInput,
  value: string): { partition: number; result: AppendResult } {
  const result = appendPartitioned(accumulator, partitioner, input, Buffer.from(value), [], undefined);
  return { partition: partitioner.last, result };
}

function values(batch: ProducerBatch): string[] {
  return decodeBatch(batch.bytes).records.map((r) => r.value?.toString() ?? '<null>');
}

void describe('RecordAccumulator', () => {
  void test('a batch waits lingerMs after its first record, then drains', () => {
    const { clock, accumulator } = setup();
    assert.equal(accumulator.nextDeadlineMs(), null);
    void delivered(append(accumulator, 't', 0, record('a')));
    clock.now += 4;
    void delivered(append(accumulator, 't', 0, record('b')));
    assert.equal(accumulator.nextDeadlineMs(), T0 + 10);
    assert.deepEqual(accumulator.ready(T0 + 9), []);
    const batches = accumulator.ready(T0 + 10);
    assert.equal(batches.length, 1);
    const [batch] = batches;
    assert.ok(batch !== undefined);
    assert.deepEqual(values(batch), ['a', 'b']);
    assert.equal(batch.recordCount, 2);
    assert.equal(batch.baseSequence, -1);
    const header = readBatchHeader(batch.bytes);
    assert.equal(header.baseTimestamp, T0);
    assert.equal(header.maxTimestamp, T0 + 4);
    assert.equal(header.producerId, -1);
    assert.equal(accumulator.nextDeadlineMs(), null);
    assert.deepEqual(accumulator.ready(T0 + 100), []);
  });

  void test('lingerMs 0 drains at once; flush ignores linger', () => {
    const zero = setup({ lingerMs: 0 });
    void delivered(append(zero.accumulator, 't', 0, record('a')));
    assert.equal(zero.accumulator.ready(T0).length, 1);
    const { accumulator } = setup({ lingerMs: 1000 });
    void delivered(append(accumulator, 't', 0, record('a')));
    void delivered(append(accumulator, 't', 1, record('b')));
    accumulator.flush();
    assert.equal(accumulator.nextDeadlineMs(), T0);
    assert.equal(accumulator.ready(T0).length, 2);
  });

  void test('a record that would pass batchBytesMax closes the batch, which drains without lingering', () => {
    const { accumulator } = setup({ batchBytesMax: 200, lingerMs: 1000 });
    const value = 'x'.repeat(30);
    for (let i = 0; i < 12; i++) void delivered(append(accumulator, 't', 0, record(value)));
    const batches = accumulator.ready(T0);
    assert.ok(batches.length >= 2, `${batches.length} full batches`);
    for (const batch of batches) {
      assert.ok(batch.bytes.length <= 200, `batch of ${batch.bytes.length} bytes`);
      assert.ok(batch.bytes.length > 200 - 40, 'full batches are nearly full');
    }
    accumulator.flush();
    const total = [...batches, ...accumulator.ready(T0)].reduce((n, b) => n + b.recordCount, 0);
    assert.equal(total, 12);
  });

  void test('a record larger than batchBytesMax gets a batch of its own; larger than the buffer throws', () => {
    const { accumulator } = setup({ batchBytesMax: 100, bufferBytesMax: 1000, lingerMs: 0 });
    void delivered(append(accumulator, 't', 0, record('small')));
    void delivered(append(accumulator, 't', 0, record('y'.repeat(300))));
    void delivered(append(accumulator, 't', 0, record('after')));
    const batches = accumulator.ready(T0);
    assert.deepEqual(batches.map(values), [['small'], ['y'.repeat(300)], ['after']]);
    assert.throws(() => append(accumulator, 't', 0, record('z'.repeat(1000))),
      (error: unknown) => error instanceof MessageTooLargeError && error.sizeBytesMax === 1000);
  });

  void test('buffered bytes stay under bufferBytesMax; completing a batch frees space', async () => {
    const { accumulator } = setup({ batchBytesMax: 256, bufferBytesMax: 1024, lingerMs: 0 });
    const deliveries: Promise<RecordMetadata>[] = [];
    let full: AppendResult | null = null;
    for (let i = 0; i < 100 && full === null; i++) {
      const result = append(accumulator, 't', i % 3, record(`value-${i}-${'p'.repeat(40)}`));
      if (result instanceof Promise) deliveries.push(result);
      else full = result;
      assert.ok(accumulator.bufferedBytes <= 1024);
    }
    assert.ok(full !== null && !(full instanceof Promise) && full.kind === 'buffer-full', 'the buffer fills');
    const again = append(accumulator, 't', 5, record('m'.repeat(200)));
    assert.ok(!(again instanceof Promise) && again.kind === 'buffer-full', 'still full');
    let freed = false;
    void full.spaceFreed.then(() => { freed = true; });
    const batches = accumulator.ready(T0);
    await Promise.resolve();
    assert.equal(freed, false, 'draining alone frees nothing: the batch is still in flight');
    const [first] = batches;
    assert.ok(first !== undefined);
    accumulator.complete(first, 0);
    await full.spaceFreed;
    assert.ok(freed);
    void delivered(append(accumulator, 't', 0, record('more')));
    for (const batch of [...batches.slice(1), ...(accumulator.flush(), accumulator.ready(T0))]) {
      accumulator.complete(batch, 0);
    }
    await Promise.all(deliveries);
    assert.equal(accumulator.bufferedBytes, 0);
  });

  void test('each send resolves with its offset, in order within a partition', async () => {
    const { accumulator } = setup({ batchBytesMax: 150, lingerMs: 0 });
    const sends: { value: string; partition: number; delivery: Promise<RecordMetadata> }[] = [];
    for (let i = 0; i < 40; i++) {
      const partition = i % 2;
      const value = `r${i}`;
      sends.push({ value, partition, delivery: delivered(append(accumulator, 't', partition, record(value))) });
    }
    const batches = accumulator.ready(T0);
    const logs = new Map<number, string[]>([[0, []], [1, []]]);
    for (const batch of batches) {
      const log = logs.get(batch.partition);
      assert.ok(log !== undefined);
      accumulator.complete(batch, 1000 + log.length);
      log.push(...values(batch));
    }
    for (const send of sends) {
      const metadata = await send.delivery;
      assert.equal(metadata.topic, 't');
      assert.equal(metadata.partition, send.partition);
      assert.equal(logs.get(send.partition)?.[metadata.offset - 1000], send.value, 'offset points at the record');
      assert.equal(metadata.timestamp, T0);
    }
    assert.deepEqual(logs.get(0), sends.filter((s) => s.partition === 0).map((s) => s.value), 'append order kept');
  });

  void test('every record resolves with its own offset and CreateTime, whatever order batches complete in',
    async () => {
      const { clock, accumulator } = setup({ batchBytesMax: 200, lingerMs: 0 });
      const sends: { partition: number; timestamp: number; delivery: Promise<RecordMetadata> }[] = [];
      for (let i = 0; i < 30; i++) {
        const partition = i % 3;
        const explicit = i % 4 === 0 ? T0 - 1000 + i : undefined;
        const r = { ...record(`value-${i}-${'z'.repeat(20)}`), ...(explicit === undefined ? {} : { timestamp: explicit }) };
        sends.push({ partition, timestamp: explicit ?? clock.now, delivery: delivered(append(accumulator, 't', partition, r)) });
        clock.now += 1;
      }
      const batches = accumulator.ready(clock.now);
      assert.ok(batches.length > 3, 'several batches per partition');
      const baseOffsets = new Map<number, number>();
      const next = new Map<number, number>();
      for (const batch of batches) {
        const base = next.get(batch.partition) ?? 100 * batch.partition;
        baseOffsets.set(batch.id, base);
        next.set(batch.partition, base + batch.recordCount);
      }
      for (const batch of [...batches].reverse()) accumulator.complete(batch, baseOffsets.get(batch.id) ?? -1);
      const expectedOffset = new Map<number, number>();
      for (const send of sends) {
        const offset = expectedOffset.get(send.partition) ?? 100 * send.partition;
        expectedOffset.set(send.partition, offset + 1);
        assert.deepEqual(await send.delivery, { topic: 't', partition: send.partition, offset, timestamp: send.timestamp });
      }
    });

  void test('records appended without a promise (appendUntracked) leave the others\' offsets right', async () => {
    const { accumulator } = setup({ batchBytesMax: 300, lingerMs: 0 });
    // Tracked and untracked records interleaved in one partition, untracked first in some batches.
    const tracked: { value: string; delivery: Promise<RecordMetadata> }[] = [];
    const untracked: { value: string; batch: AppendedBatch; slot: number }[] = [];
    for (let i = 0; i < 60; i++) {
      const value = `r${i}`;
      if (i % 3 === 0) {
        tracked.push({ value, delivery: delivered(append(accumulator, 't', 0, record(value))) });
        continue;
      }
      const result = accumulator.appendUntracked('t', 0, null, Buffer.from(value), [], undefined);
      assert.ok(result.kind === 'appended', `appended, not ${result.kind}`);
      untracked.push({ value, batch: result, slot: result.recordCount - 1 });
    }
    const batches = accumulator.ready(T0);
    assert.ok(batches.length >= 3, `several batches: ${batches.length}`);
    const log: string[] = [];
    for (const batch of batches) {
      accumulator.complete(batch, log.length);
      log.push(...values(batch));
    }
    for (const send of tracked) assert.equal(log[(await send.delivery).offset], send.value);
    for (const { value, batch, slot } of untracked) {
      const outcome = await batch.outcome.promise;
      assert.ok(outcome.ok);
      assert.equal(log[outcome.baseOffset + slot], value, 'base offset + place in the batch is the record');
      assert.equal(batch.timestampOf(slot), T0);
    }
    assert.equal(log.length, 60);
  });

  void test('nextDeadlineMs follows batches opening, closing, draining and coming back', () => {
    const { clock, accumulator } = setup({ lingerMs: 10 });
    void delivered(append(accumulator, 't', 0, record('a')));
    assert.equal(accumulator.nextDeadlineMs(), T0 + 10);
    clock.now += 3;
    void delivered(append(accumulator, 't', 1, record('b')));
    void delivered(append(accumulator, 't', 0, record('c')));
    assert.equal(accumulator.nextDeadlineMs(), T0 + 10, 'adding to an open batch changes nothing');
    const [first] = accumulator.ready(T0 + 10);
    assert.ok(first !== undefined && first.partition === 0);
    assert.equal(accumulator.nextDeadlineMs(), T0 + 13);
    accumulator.reenqueue(first);
    assert.equal(accumulator.nextDeadlineMs(), T0, 'a batch back for a retry is due');
    accumulator.ready(T0 + 10);
    accumulator.flush();
    assert.equal(accumulator.nextDeadlineMs(), T0 + 3, 'flushed batches are due');
    accumulator.ready(T0 + 10);
    assert.equal(accumulator.nextDeadlineMs(), null);
  });

  void test('complete with a LogAppendTime stamps every record with it', async () => {
    const { accumulator } = setup({ lingerMs: 0 });
    const delivery = delivered(append(accumulator, 't', 0, { ...record('a'), timestamp: 5 }));
    const [batch] = accumulator.ready(T0);
    assert.ok(batch !== undefined);
    accumulator.complete(batch, 7, T0 + 99);
    assert.deepEqual(await delivery, { topic: 't', partition: 0, offset: 7, timestamp: T0 + 99 });
  });

  void test("a failed batch rejects all its records with the batch's error and frees its bytes", async () => {
    const { accumulator } = setup({ lingerMs: 0 });
    const deliveries = ['a', 'b', 'c'].map((v) => delivered(append(accumulator, 't', 0, record(v))));
    const other = delivered(append(accumulator, 't', 1, record('d')));
    const batches = accumulator.ready(T0);
    const error = new TributaryError('NOT_ENOUGH_REPLICAS');
    for (const batch of batches) {
      if (batch.partition === 0) accumulator.fail(batch, error);
      else accumulator.complete(batch, 0);
    }
    for (const delivery of deliveries) await assert.rejects(delivery, (e: unknown) => e === error);
    assert.equal((await other).offset, 0);
    assert.equal(accumulator.bufferedBytes, 0);
    const [first] = batches;
    assert.ok(first !== undefined);
    assert.throws(() => { accumulator.complete(first, 0); }, { name: 'AssertionError' });
  });

  void test('abort rejects open and queued batches but leaves drained ones to the sender', async () => {
    const { accumulator } = setup({ lingerMs: 0 });
    const drained = delivered(append(accumulator, 't', 0, record('sent')));
    const [inFlight] = accumulator.ready(T0);
    const queued = delivered(append(accumulator, 't', 1, record('queued')));
    accumulator.flush();
    const open = delivered(append(accumulator, 't', 2, record('open')));
    const error = new Error('closing');
    accumulator.abort(error);
    await assert.rejects(queued, (e: unknown) => e === error);
    await assert.rejects(open, (e: unknown) => e === error);
    assert.ok(inFlight !== undefined);
    accumulator.complete(inFlight, 3);
    assert.equal((await drained).offset, 3);
    assert.equal(accumulator.bufferedBytes, 0);
  });

  void test('allowance holds batches back in order', () => {
    const { accumulator } = setup({ batchBytesMax: 100, lingerMs: 0 });
    for (let i = 0; i < 6; i++) void delivered(append(accumulator, 't', 0, record(`${i}`.repeat(50))));
    void delivered(append(accumulator, 't', 1, record('other')));
    const first = accumulator.ready(T0, (_topic, partition) => (partition === 0 ? 2 : 0));
    assert.deepEqual(first.map(values), [['0'.repeat(50)], ['1'.repeat(50)]]);
    assert.equal(accumulator.nextDeadlineMs(), T0, 'held batches are due');
    const rest = accumulator.ready(T0);
    assert.deepEqual(rest.map((b) => [b.partition, ...values(b)]),
      [[0, '2'.repeat(50)], [0, '3'.repeat(50)], [0, '4'.repeat(50)], [0, '5'.repeat(50)], [1, 'other']]);
  });

  void test('a partition that cannot send keeps filling its lingered batch; it closes once it can be drained', () => {
    const { clock, accumulator } = setup({ batchBytesMax: 1024, lingerMs: 10 });
    const blocked = (_topic: string, partition: number): number => (partition === 0 ? 0 : 1);
    for (let i = 0; i < 5; i++) {
      void delivered(append(accumulator, 't', 0, record(`a${i}`)));
      void delivered(append(accumulator, 't', 1, record(`b${i}`)));
      clock.now += 20; // each round is past the linger
      const drained = accumulator.ready(clock.now, blocked);
      assert.deepEqual(drained.map((b) => [b.partition, ...values(b)]), [[1, `b${i}`]], 'the healthy partition flows');
    }
    // Five lingers later, partition 0 still holds one open batch, not five sealed ones.
    assert.equal(accumulator.bufferedBytes, 5 * 1024 + 1024, "five of partition 1's buffers in flight, one of 0's");
    const unblocked = accumulator.ready(clock.now);
    assert.deepEqual(unblocked.map((b) => [b.partition, ...values(b)]), [[0, 'a0', 'a1', 'a2', 'a3', 'a4']]);
  });

  void test("a partition past its share of the buffer is refused alone; it frees its share as its batches end", async () => {
    // Batches of 256 bytes, a share of 512 (two batches) in a 4 KiB buffer: partition 0 cannot send.
    const { accumulator } = setup({ batchBytesMax: 256, bufferBytesMax: 4096, partitionBufferBytesMax: 512,
      lingerMs: 0 });
    const blocked = (_topic: string, partition: number): number => (partition === 0 ? 0 : 5);
    const deliveries: Promise<RecordMetadata>[] = [];
    let refused: AppendResult | null = null;
    for (let i = 0; i < 50 && refused === null; i++) {
      const result = append(accumulator, 't', 0, record(`a${i}-${'p'.repeat(150)}`));
      if (result instanceof Promise) deliveries.push(result);
      else refused = result;
    }
    assert.ok(refused !== null && !(refused instanceof Promise) && refused.kind === 'partition-full',
      `partition 0 is refused past its share, not the buffer: ${JSON.stringify(refused)}`);
    assert.equal(refused.topic, 't');
    assert.equal(refused.partition, 0);
    assert.equal(deliveries.length, 2, 'two batches of one record each fit the share');
    assert.ok(accumulator.isPartitionFull('t', 0));
    assert.ok(accumulator.anyPartitionFull);
    assert.equal(accumulator.isPartitionFull('t', 1), false);
    // The healthy partition takes many times the blocked one's share.
    for (let i = 0; i < 12; i++) {
      void delivered(append(accumulator, 't', 1, record(`b${i}-${'q'.repeat(150)}`)));
      for (const batch of accumulator.ready(T0, blocked)) accumulator.complete(batch, i);
    }
    assert.ok(!(append(accumulator, 't', 0, record('x')) instanceof Promise), 'partition 0 is still full');
    let freed = false;
    void refused.spaceFreed.then(() => { freed = true; });
    const [first] = accumulator.ready(T0);
    assert.ok(first !== undefined && first.partition === 0);
    accumulator.complete(first, 0);
    await refused.spaceFreed;
    assert.ok(freed);
    assert.equal(accumulator.isPartitionFull('t', 0), false);
    assert.equal(accumulator.anyPartitionFull, false);
    void delivered(append(accumulator, 't', 0, record('after')));
  });

  void test("a partition's first batch is allowed whatever its size; the share is bounded by the buffer", () => {
    const { accumulator } = setup({ batchBytesMax: 256, bufferBytesMax: 4096, partitionBufferBytesMax: 256 });
    void delivered(append(accumulator, 't', 0, record('z'.repeat(1000))));
    const next = append(accumulator, 't', 0, record('small'));
    assert.ok(!(next instanceof Promise) && next.kind === 'partition-full');
    assert.throws(() => setup({ batchBytesMax: 256, bufferBytesMax: 4096, partitionBufferBytesMax: 100 }),
      /partitionBufferBytesMax \(100\) must be from batchBytesMax to bufferBytesMax/);
    assert.throws(() => setup({ batchBytesMax: 256, bufferBytesMax: 4096, partitionBufferBytesMax: 8192 }),
      /partitionBufferBytesMax/);
  });

  void test('idempotence: batches carry the producer id and consecutive sequences per partition', () => {
    const sequences = new ProducerSequences({ producerId: 42, producerEpoch: 3 });
    const { accumulator } = setup({ batchBytesMax: 120, lingerMs: 0, sequences });
    for (let i = 0; i < 10; i++) void delivered(append(accumulator, 't', i % 2, record(`v${i}-${'q'.repeat(20)}`)));
    const batches = accumulator.ready(T0);
    const next = new Map<number, number>();
    for (const batch of batches) {
      const header = readBatchHeader(batch.bytes);
      assert.equal(header.producerId, 42);
      assert.equal(header.producerEpoch, 3);
      assert.equal(header.baseSequence, batch.baseSequence);
      assert.equal(batch.baseSequence, next.get(batch.partition) ?? 0);
      next.set(batch.partition, batch.baseSequence + batch.recordCount);
    }
    assert.equal(sequences.nextSequence('t', 0), 5);
    assert.equal(sequences.nextSequence('t', 1), 5);
  });

  void test('a retried batch is resent with the same bytes and sequence, ahead of younger batches', () => {
    const sequences = new ProducerSequences({ producerId: 1, producerEpoch: 0 });
    const { accumulator } = setup({ batchBytesMax: 100, lingerMs: 0, sequences });
    void delivered(append(accumulator, 't', 0, record('a'.repeat(50))));
    const [first] = accumulator.ready(T0);
    assert.ok(first !== undefined);
    void delivered(append(accumulator, 't', 0, record('b'.repeat(50))));
    accumulator.flush();
    const bytes = Buffer.from(first.bytes);
    accumulator.reenqueue(first);
    const [retry, younger] = accumulator.ready(T0);
    assert.equal(retry, first, 'the same batch object');
    assert.ok(younger !== undefined);
    assert.deepEqual(retry.bytes, bytes);
    assert.equal(retry.baseSequence, 0);
    assert.equal(younger.baseSequence, 1, 'the retry took no new sequence');
    assert.equal(sequences.nextSequence('t', 0), 2);
  });

  void test('gzip batches from the accumulator decode in kafkajs', async () => {
    const { accumulator } = setup({ lingerMs: 0, compression: 'gzip' });
    for (let i = 0; i < 20; i++) void delivered(append(accumulator, 't', 0, record(`hello ${i}`, `k${i}`)));
    const [batch] = accumulator.ready(T0);
    assert.ok(batch !== undefined);
    assert.equal(readBatchHeader(batch.bytes).compression, 'gzip');
    assert.throws(() => decodeRecordBatch(batch.bytes), { name: 'UnsupportedCompressionError' });
    const theirs = await kafkajsDecodeBatch(batch.bytes);
    assert.deepEqual(theirs.records.map((r) => r.value?.toString()), Array.from({ length: 20 }, (_, i) => `hello ${i}`));
    assert.deepEqual(theirs.records.map((r) => r.key?.toString()), Array.from({ length: 20 }, (_, i) => `k${i}`));
  });

  void test('a drained batch carries exactly the bytes encodeBatch gives for the same records', () => {
    const sequences = new ProducerSequences({ producerId: 77, producerEpoch: 2 });
    const { clock, accumulator } = setup({ lingerMs: 0, batchBytesMax: 4096, sequences });
    const records: TestRecord[] = [
      { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') }] },
      { key: null, value: Buffer.from('null key') },
      { key: Buffer.from('tombstone'), value: null, timestamp: T0 - 7 },
      { key: null, value: null, headers: [{ key: 'é☃', value: null }, { key: '', value: Buffer.alloc(0) }] },
      { key: Buffer.alloc(0), value: Buffer.alloc(300, 1), timestamp: T0 + 1234 },
    ];
    for (const r of records) {
      void delivered(append(accumulator, 't', 0, r));
      clock.now += 1;
    }
    const [batch] = accumulator.ready(clock.now);
    assert.ok(batch !== undefined);
    const stamped = records.map((r, i) => ({ ...r, timestamp: r.timestamp ?? T0 + i }));
    assert.deepEqual(batch.bytes, encodeBatch({ records: stamped, compression: 'none', producerId: 77,
      producerEpoch: 2, baseSequence: 0 }));
    assert.equal(readBatchHeader(batch.bytes).maxTimestamp, T0 + 1234);
  });

  void test('callers may reuse their buffers once append returns: the record is encoded then', () => {
    const { accumulator } = setup({ lingerMs: 0 });
    const value = Buffer.from('first');
    const headerValue = Buffer.from('h1');
    void delivered(append(accumulator, 't', 0, { key: null, value, headers: [{ key: 'h', value: headerValue }] }));
    value.write('later');
    headerValue.write('h2');
    const [batch] = accumulator.ready(T0);
    assert.ok(batch !== undefined);
    const [decoded] = decodeBatch(batch.bytes).records;
    assert.ok(decoded !== undefined);
    assert.equal(decoded.value?.toString(), 'first');
    assert.equal(decoded.headers[0]?.value?.toString(), 'h1');
  });

  void test('a batch buffer starts small and doubles up to batchBytesMax; bufferedBytes counts buffers', async () => {
    const { accumulator } = setup({ batchBytesMax: 8 * BATCH_BYTES_INITIAL, bufferBytesMax: 1 << 20, lingerMs: 1000 });
    const value = 'v'.repeat(1000);
    const deliveries = [delivered(append(accumulator, 't', 0, record(value)))];
    assert.equal(accumulator.bufferedBytes, BATCH_BYTES_INITIAL);
    const seen = new Set<number>([accumulator.bufferedBytes]);
    while (accumulator.bufferedBytes < 8 * BATCH_BYTES_INITIAL || deliveries.length < 200) {
      deliveries.push(delivered(append(accumulator, 't', 0, record(value))));
      seen.add(accumulator.bufferedBytes);
    }
    assert.deepEqual([...seen].slice(0, 4), [1, 2, 4, 8].map((n) => n * BATCH_BYTES_INITIAL));
    accumulator.flush();
    const batches = accumulator.ready(T0);
    assert.ok(batches.length >= 2, 'the full batch closed and another opened');
    const [full] = batches;
    assert.ok(full !== undefined && full.bytes.length <= 8 * BATCH_BYTES_INITIAL);
    assert.ok(full.bytes.length > 8 * BATCH_BYTES_INITIAL - 1100, `${full.bytes.length} bytes: nearly full`);
    assert.equal(decodeBatch(full.bytes).records.every((r) => r.value?.toString() === value), true);
    for (const batch of batches) accumulator.complete(batch, 0);
    await Promise.all(deliveries);
    assert.equal(accumulator.bufferedBytes, 0);
  });

  void test("a partition's next batch starts as large as its last one grew", () => {
    const { accumulator } = setup({ batchBytesMax: 8 * BATCH_BYTES_INITIAL, bufferBytesMax: 1 << 20, lingerMs: 0 });
    const value = 'u'.repeat(1000);
    while (accumulator.bufferedBytes < 4 * BATCH_BYTES_INITIAL) void delivered(append(accumulator, 't', 0, record(value)));
    const [grown] = accumulator.ready(T0);
    assert.ok(grown !== undefined && grown.bytes.length > 2 * BATCH_BYTES_INITIAL);
    accumulator.complete(grown, 0);
    assert.equal(accumulator.bufferedBytes, 0);
    void delivered(append(accumulator, 't', 0, record(value)));
    assert.equal(accumulator.bufferedBytes, 4 * BATCH_BYTES_INITIAL, 'the power of two holding the last batch');
    void delivered(append(accumulator, 't', 1, record(value)));
    assert.equal(accumulator.bufferedBytes, 5 * BATCH_BYTES_INITIAL, 'another partition starts small');
  });

  void test('a batch whose buffer cannot grow within bufferBytesMax is closed and due at once', () => {
    const { accumulator } = setup({ batchBytesMax: 4 * BATCH_BYTES_INITIAL, bufferBytesMax: 4 * BATCH_BYTES_INITIAL,
      lingerMs: 1000 });
    const value = 'w'.repeat(1000);
    let grown = 0;
    while (accumulator.bufferedBytes < 2 * BATCH_BYTES_INITIAL) {
      void delivered(append(accumulator, 't', 0, record(value)));
      grown += 1;
    }
    void delivered(append(accumulator, 't', 1, record(value)));
    assert.equal(accumulator.bufferedBytes, 3 * BATCH_BYTES_INITIAL);
    assert.equal(accumulator.nextDeadlineMs(), T0 + 1000, 'lingering');
    // Partition 0 would need 4 x initial, 1 x more than the buffer has: it closes, and the record,
    // which would open a batch as large as the closed one, waits for room.
    let result = append(accumulator, 't', 0, record(value));
    while (result instanceof Promise) {
      grown += 1;
      result = append(accumulator, 't', 0, record(value));
    }
    assert.equal(result.kind, 'buffer-full');
    assert.equal(accumulator.nextDeadlineMs(), T0, 'the closed batch is due');
    assert.equal(accumulator.bufferedBytes, 3 * BATCH_BYTES_INITIAL);
    const [closed] = accumulator.ready(T0);
    assert.ok(closed !== undefined && closed.partition === 0);
    assert.equal(closed.recordCount, grown);
    assert.ok(closed.bytes.length <= 2 * BATCH_BYTES_INITIAL);
    accumulator.complete(closed, 0);
    void delivered(append(accumulator, 't', 0, record(value)));
  });

  void test('config bounds are checked', () => {
    assert.throws(() => setup({ batchBytesMax: BATCH_HEADER_BYTES }), { name: 'AssertionError' });
    assert.throws(() => setup({ batchBytesMax: 2048, bufferBytesMax: 1024 }), { name: 'AssertionError' });
    assert.throws(() => setup({ lingerMs: -1 }), { name: 'AssertionError' });
  });
});

void describe('appendPartitioned (sticky partitioning end to end)', () => {
  void test('null-key records fill one batch, then move to another partition', () => {
    const { accumulator } = setup({ batchBytesMax: 300, lingerMs: 1000 });
    const partitioner = new RecordingPartitioner(new DefaultPartitioner({ prng: new SeededPrng(11) }));
    const input = { topic: 't', key: null, partitionCount: 4 };
    const partitions: number[] = [];
    for (let i = 0; i < 60; i++) {
      const { partition, result } = partitioned(accumulator, partitioner, input, `value-${i}`);
      void delivered(result);
      partitions.push(partition);
    }
    accumulator.flush();
    const batches = accumulator.ready(T0);
    // Runs of one partition, each run one batch; every batch but the last is full.
    const runs = partitions.reduce<number[]>((acc, p, i) => (i > 0 && partitions[i - 1] === p ? acc
      : [...acc, p]), []);
    assert.equal(runs.length, batches.length);
    for (let i = 1; i < runs.length; i++) assert.notEqual(runs[i], runs[i - 1]);
    batches.slice(0, -1).forEach((batch) => { assert.ok(batch.bytes.length > 300 - 25, `${batch.bytes.length}`); });
    assert.deepEqual(batches.map((b) => b.partition).sort(), [...runs].sort());
  });

  void test('a lingered batch being sent moves the sticky partition; keyed records stay put', () => {
    const { accumulator } = setup({ lingerMs: 5 });
    const partitioner = new RecordingPartitioner(new DefaultPartitioner({ prng: new SeededPrng(12) }));
    const input = { topic: 't', key: null, partitionCount: 3 };
    const first = partitioned(accumulator, partitioner, input, 'a');
    void delivered(first.result);
    assert.equal(accumulator.ready(T0 + 5).length, 1);
    const second = partitioned(accumulator, partitioner, input, 'b');
    void delivered(second.result);
    assert.notEqual(second.partition, first.partition);
    const keyed = { topic: 't', key: Buffer.from('foobar'), partitionCount: 3 };
    const k1 = partitioned(accumulator, partitioner, keyed, 'c');
    accumulator.ready(T0 + 100);
    const k2 = partitioned(accumulator, partitioner, keyed, 'd');
    void delivered(k1.result);
    void delivered(k2.result);
    assert.equal(k1.partition, k2.partition);
  });
});
