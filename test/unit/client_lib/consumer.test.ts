/**
 * Goal: the Consumer with manual assignment reads each partition from its leader in offset order,
 * seeks to an offset (dropping the earlier records of the batch that contains it), to either end
 * and to a time, pauses and resumes, resets on OFFSET_OUT_OF_RANGE per autoOffsetReset, and
 * follows a leader that moved. Method: records written with the real Producer into a FakeCluster
 * on 127.0.0.1; every poll has a timeout and every loop a bound.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { SeededPrng } from '../../../raft/core/prng.js';
import { encodeBatch } from '../../../src/client/compression.js';
import { Consumer } from '../../../src/client/consumer.js';
import type { ConsumerOptions, ConsumerRecord } from '../../../src/client/consumer.js';
import { Producer } from '../../../src/client/producer.js';
import { CorruptMessageError, TributaryError } from '../../../src/common/errors.js';
import { assignOffsets } from '../../../src/protocol/record_batch.js';
import type { FakeCluster} from './fake_cluster.js';
import { withCluster } from './fake_cluster.js';

function consumerFor(cluster: FakeCluster, options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({
    bootstrap: cluster.bootstrap, maxWaitMs: 50, retryBackoffMs: 10, retryBackoffMaxMs: 50,
    prng: new SeededPrng(3), requestTimeoutMs: 2_000, ...options,
  });
}

/** Writes values to one partition in batches of batchSize records each. */
async function produce(cluster: FakeCluster, topic: string, partition: number, values: readonly string[],
  batchSize = 10, timestamps?: readonly number[]): Promise<void> {
  const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 0, prng: new SeededPrng(1) });
  try {
    for (let i = 0; i < values.length; i += batchSize) {
      await producer.sendBatch(values.slice(i, i + batchSize).map((value, j) => ({
        topic, partition, value, ...(timestamps === undefined ? {} : { timestamp: timestamps[i + j] ?? 0 }),
      })));
    }
  } finally {
    await producer.close();
  }
}

/** Appends `count` batches of `perBatch` records straight into a partition's log (as a broker stores them). */
function appendBatches(cluster: FakeCluster, topic: string, partition: number, count: number, perBatch: number): void {
  const p = cluster.partition(topic, partition);
  for (let i = 0; i < count; i++) {
    const bytes = encodeBatch({ records: values(perBatch, `p${partition}-`).map((value) => ({ key: null,
      value: Buffer.from(value), timestamp: Date.now() })) });
    const lastOffset = assignOffsets(bytes, p.nextOffset, 1);
    p.log.push({ baseOffset: p.nextOffset, lastOffset, bytes });
    p.nextOffset = lastOffset + 1;
  }
}

/** Polls until count records arrived or 5 s passed. */
async function pollUntil(consumer: Consumer, count: number): Promise<ConsumerRecord[]> {
  const records: ConsumerRecord[] = [];
  const deadline = Date.now() + 5_000;
  while (records.length < count && Date.now() < deadline) {
    records.push(...await consumer.poll({ timeoutMs: 200 }));
  }
  return records;
}

const values = (n: number, prefix = 'v'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

void describe('Consumer', () => {
  void test('reads from the beginning in offset order, across partitions on different leaders', async () => {
    await withCluster(2, async (cluster) => {
      cluster.createTopic('t', 2, [1, 2]);
      await produce(cluster, 't', 0, values(35, 'a'));
      await produce(cluster, 't', 1, values(12, 'b'));
      const consumer = consumerFor(cluster);
      try {
        consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
        consumer.seek({ topic: 't', partition: 0 }, 'beginning');
        consumer.seek({ topic: 't', partition: 1 }, 'beginning');
        const records = await pollUntil(consumer, 47);
        for (const [partition, prefix, count] of [[0, 'a', 35], [1, 'b', 12]] as const) {
          const mine = records.filter((r) => r.partition === partition);
          assert.deepEqual(mine.map((r) => r.offset), [...Array(count).keys()]);
          assert.deepEqual(mine.map((r) => r.value?.toString()), values(count, prefix));
        }
        assert.equal(await consumer.position({ topic: 't', partition: 0 }), 35);
        assert.equal(consumer.highWatermark({ topic: 't', partition: 1 }), 12);
        const brokers = new Set(cluster.fetchRequests.map((f) => f.brokerId));
        assert.deepEqual([...brokers].sort(), [1, 2], 'each partition fetched from its own leader');
        assert.deepEqual(await consumer.poll({ timeoutMs: 100 }), [], 'nothing more');
      } finally {
        await consumer.close();
      }
    });
  });

  void test('seek to an offset inside a batch drops the records before it', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      await produce(cluster, 't', 0, values(30), 10);
      const consumer = consumerFor(cluster);
      try {
        consumer.assign([{ topic: 't', partition: 0 }]);
        consumer.seek({ topic: 't', partition: 0 }, 15);
        const records = await pollUntil(consumer, 15);
        assert.deepEqual(records.map((r) => r.offset), [...Array(15).keys()].map((i) => i + 15));
        assert.equal(records[0]?.value?.toString(), 'v15');
        assert.equal(cluster.fetchRequests[0]?.partitions[0]?.offset, 15);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('default position is the end; then new records arrive; seek by timestamp', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const t0 = 1_700_000_000_000;
      await produce(cluster, 't', 0, values(20), 5, values(20).map((_, i) => t0 + i * 1_000));
      const consumer = consumerFor(cluster);
      const tp = { topic: 't', partition: 0 };
      try {
        consumer.assign([tp]);
        assert.deepEqual(await consumer.poll({ timeoutMs: 100 }), [], 'latest: nothing old');
        assert.equal(await consumer.position(tp), 20);
        await produce(cluster, 't', 0, ['new']);
        const fresh = await pollUntil(consumer, 1);
        assert.deepEqual(fresh.map((r) => [r.offset, r.value?.toString()]), [[20, 'new']]);
        consumer.seek(tp, { timestamp: t0 + 7_500 });
        const fromTime = await pollUntil(consumer, 13);
        assert.equal(fromTime[0]?.offset, 8);
        assert.equal(fromTime[0].timestamp, t0 + 8_000);
        consumer.seek(tp, { timestamp: Date.now() + 3_600_000 });
        assert.equal(await consumer.position(tp), 21, 'a time after every record: the end');
        consumer.seek(tp, 'beginning');
        assert.equal(await consumer.position(tp), 0);
        assert.throws(() => { consumer.seek({ topic: 't', partition: 9 }, 0); }, TributaryError);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('pause and resume', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 2, [1, 1]);
      await produce(cluster, 't', 0, values(3, 'a'));
      await produce(cluster, 't', 1, values(3, 'b'));
      const consumer = consumerFor(cluster, { autoOffsetReset: 'earliest' });
      try {
        consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
        consumer.pause([{ topic: 't', partition: 1 }]);
        assert.deepEqual(consumer.paused(), [{ topic: 't', partition: 1 }]);
        const first = await pollUntil(consumer, 3);
        assert.ok(first.every((r) => r.partition === 0));
        assert.deepEqual(await consumer.poll({ timeoutMs: 100 }), []);
        consumer.resume([{ topic: 't', partition: 1 }]);
        const second = await pollUntil(consumer, 3);
        assert.deepEqual(second.map((r) => r.value?.toString()), ['b0', 'b1', 'b2']);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('OFFSET_OUT_OF_RANGE resets to the log start (earliest) or the end (latest), or throws (none)', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      await produce(cluster, 't', 0, values(40), 10);
      cluster.truncateBefore('t', 0, 20);
      const tp = { topic: 't', partition: 0 };
      const earliest = consumerFor(cluster, { autoOffsetReset: 'earliest' });
      const latest = consumerFor(cluster, { autoOffsetReset: 'latest' });
      const none = consumerFor(cluster, { autoOffsetReset: 'none' });
      try {
        for (const consumer of [earliest, latest, none]) {
          consumer.assign([tp]);
          consumer.seek(tp, 5);
        }
        const records = await pollUntil(earliest, 20);
        assert.equal(records[0]?.offset, 20);
        assert.equal(records.length, 20);
        await latest.poll({ timeoutMs: 200 });
        assert.equal(await latest.position(tp), 40);
        await assert.rejects(none.poll({ timeoutMs: 200 }),
          (error: unknown) => error instanceof TributaryError && error.code === 'OFFSET_OUT_OF_RANGE');
      } finally {
        await Promise.all([earliest.close(), latest.close(), none.close()]);
      }
    });
  });

  void test('maxPollRecords bounds every poll; with fetches ahead each record comes once, in order', async () => {
    await withCluster(2, async (cluster) => {
      cluster.createTopic('t', 2, [1, 2]);
      await produce(cluster, 't', 0, values(300, 'a'));
      await produce(cluster, 't', 1, values(120, 'b'));
      // Small fetches: many replies per partition, so most are fetched while the one before is buffered.
      const consumer = consumerFor(cluster, { autoOffsetReset: 'earliest', maxPollRecords: 7, partitionMaxBytes: 400 });
      try {
        consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
        const records: ConsumerRecord[] = [];
        for (let polls = 0; polls < 500 && records.length < 420; polls++) {
          const batch = await consumer.poll({ timeoutMs: 200 });
          assert.ok(batch.length <= 7, `a poll returned ${batch.length} records`);
          records.push(...batch);
        }
        for (const [partition, prefix, count] of [[0, 'a', 300], [1, 'b', 120]] as const) {
          const mine = records.filter((r) => r.partition === partition);
          assert.deepEqual(mine.map((r) => r.offset), [...Array(count).keys()]);
          assert.deepEqual(mine.map((r) => r.value?.toString()), values(count, prefix));
        }
        assert.deepEqual(await consumer.poll({ timeoutMs: 100 }), [], 'nothing more');
        assert.equal(await consumer.position({ topic: 't', partition: 0 }), 300);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('partitions take turns a reply at a time, also when one has its next reply fetched ahead', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 2, [1, 1]);
      for (const partition of [0, 1]) appendBatches(cluster, 't', partition, 5, 10);
      const batchBytes = cluster.partition('t', 0).log[0]?.bytes.length ?? 0;
      // One batch per reply and one record per poll.
      const consumer = consumerFor(cluster, { autoOffsetReset: 'earliest', maxPollRecords: 1,
        partitionMaxBytes: batchBytes });
      try {
        consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
        assert.deepEqual((await pollUntil(consumer, 1)).map((r) => [r.partition, r.offset]), [[0, 0]]);
        await sleep(100); // the replies fetched ahead arrive: each partition holds two now
        const next: ConsumerRecord[] = [];
        for (let i = 0; i < 10; i++) next.push(...await consumer.poll({ timeoutMs: 200 }));
        assert.deepEqual(next.map((r) => [r.partition, r.offset]),
          [...[...Array(9).keys()].map((i) => [0, i + 1]), [1, 0]],
          'partition 0 finishes its reply, then partition 1 has its turn before partition 0 goes on');
      } finally {
        await consumer.close();
      }
    });
  });

  void test('pause and seek while records are buffered: none of them come out', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 2, [1, 1]);
      await produce(cluster, 't', 0, values(30, 'a'));
      await produce(cluster, 't', 1, values(30, 'b'));
      const tp0 = { topic: 't', partition: 0 };
      const tp1 = { topic: 't', partition: 1 };
      const consumer = consumerFor(cluster, { autoOffsetReset: 'earliest', maxPollRecords: 4 });
      try {
        consumer.assign([tp0, tp1]);
        const first = await pollUntil(consumer, 1);
        assert.ok(first.length >= 1 && first.length <= 4);
        consumer.pause([tp1]);
        consumer.seek(tp0, 20);
        const whilePaused = await pollUntil(consumer, 10);
        assert.deepEqual(whilePaused.map((r) => [r.partition, r.offset]),
          [...Array(10).keys()].map((i) => [0, 20 + i]));
        assert.deepEqual(await consumer.poll({ timeoutMs: 100 }), [], 'partition 1 is paused');
        consumer.resume([tp1]);
        const fromOne = first.filter((r) => r.partition === 1).length;
        const resumed = await pollUntil(consumer, 30 - fromOne);
        assert.deepEqual(resumed.map((r) => [r.partition, r.offset]),
          [...Array(30 - fromOne).keys()].map((i) => [1, fromOne + i]), 'the paused partition goes on where it was');
      } finally {
        await consumer.close();
      }
    });
  });

  void test('a damaged batch: the records before it come first, the next poll throws, none lost after', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      await produce(cluster, 't', 0, values(30), 10);
      const stored = cluster.partition('t', 0).log.find((batch) => batch.baseOffset <= 15 && batch.lastOffset >= 15);
      assert.ok(stored !== undefined && stored.baseOffset > 0);
      const firstDamaged = stored.baseOffset;
      stored.bytes[stored.bytes.length - 1]! ^= 0x10;
      const tp = { topic: 't', partition: 0 };
      const consumer = consumerFor(cluster, { autoOffsetReset: 'earliest' });
      try {
        consumer.assign([tp]);
        const before = await pollUntil(consumer, firstDamaged);
        assert.deepEqual(before.map((r) => r.offset), [...Array(firstDamaged).keys()]);
        await assert.rejects(consumer.poll({ timeoutMs: 500 }), CorruptMessageError);
        assert.equal(await consumer.position(tp), firstDamaged, 'the position stays at the damaged batch');
        stored.bytes[stored.bytes.length - 1]! ^= 0x10;
        const after = await pollUntil(consumer, 30 - firstDamaged);
        assert.deepEqual(after.map((r) => r.offset),
          [...Array(30 - firstDamaged).keys()].map((i) => i + firstDamaged));
      } finally {
        await consumer.close();
      }
    });
  });

  void test('a moved leader: NOT_LEADER_OR_FOLLOWER, refresh, fetch from the new leader', async () => {
    await withCluster(3, async (cluster) => {
      cluster.createTopic('t', 1, [1]);
      await produce(cluster, 't', 0, values(5));
      const tp = { topic: 't', partition: 0 };
      const consumer = consumerFor(cluster, { autoOffsetReset: 'earliest' });
      try {
        consumer.assign([tp]);
        assert.equal((await pollUntil(consumer, 5)).length, 5);
        cluster.partition('t', 0).leaderId = 3;
        await produce(cluster, 't', 0, ['after']);
        cluster.inject('fetch', 't', 0, 'LEADER_NOT_AVAILABLE', 2, false);
        const after = await pollUntil(consumer, 1);
        assert.deepEqual(after.map((r) => [r.offset, r.value?.toString()]), [[5, 'after']]);
        assert.equal(cluster.fetchRequests.at(-1)?.brokerId, 3);
      } finally {
        await consumer.close();
      }
    });
  });
});
