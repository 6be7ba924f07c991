/**
 * Goal: Producer.sendMany appends records in order as send() would and settles them together:
 * each record's partition, offset and timestamp by its position, records holding the values at
 * those offsets on the broker, whether they were appended at once or had to wait for buffer room
 * (send()'s slower path), mixed with send() calls in the same batches; a refused record rejects the
 * call with its error while the others are still delivered; acks 0 gives -1. Method: the
 * FakeCluster of RequestServers on 127.0.0.1; every wait is bounded and everything is closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { partitionForKey } from '../../../src/client/murmur2.js';
import type { SendResult } from '../../../src/client/producer.js';
import type { SendManyResult } from '../../../src/client/send_many.js';
import { TributaryError } from '../../../src/common/errors.js';
import type { FakeCluster } from './fake_cluster.js';
import { testProducer, withCluster } from './fake_cluster.js';

/** Asserts that each record's (partition, offset) holds its value on the broker. */
function assertStoredAt(cluster: FakeCluster, topic: string, values: readonly string[], result: SendManyResult): void {
  assert.equal(result.offsets.length, values.length);
  const logs = new Map<number, Map<number, string | null>>();
  values.forEach((value, position) => {
    const partition = result.partitions[position] ?? -1;
    let log = logs.get(partition);
    if (log === undefined) {
      log = new Map(cluster.records(topic, partition).map((r) => [r.offset, r.value]));
      logs.set(partition, log);
    }
    assert.equal(log.get(result.offsets[position] ?? -1), value, `record ${position} is at its offset`);
  });
}

void describe('Producer.sendMany', () => {
  void test('keyed records land on murmur2 partitions, each at the offset it is given, beside send() calls',
    async () => {
      await withCluster(3, async (cluster) => {
        cluster.createTopic('orders', 6);
        const producer = testProducer(cluster, { lingerMs: 5 });
        try {
          await producer.connect();
          const values = Array.from({ length: 3_000 }, (_, i) => `value-${i}`);
          const key = (i: number): string => `key-${i % 50}`;
          // send() records before, between and after two sendMany calls, in the same batches.
          const singles: { value: string; delivery: Promise<SendResult> }[] = [];
          const single = (value: string): void => {
            singles.push({ value, delivery: producer.send({ topic: 'orders', key: 'key-7', value }) });
          };
          single('before');
          const first = producer.sendMany(values.slice(0, 1_500).map((value, i) =>
            ({ topic: 'orders', key: key(i), value })));
          single('between');
          const second = producer.sendMany(values.slice(1_500).map((value, i) =>
            ({ topic: 'orders', key: key(1_500 + i), value })));
          single('after');
          const [a, b] = await Promise.all([first, second]);
          assertStoredAt(cluster, 'orders', values.slice(0, 1_500), a);
          assertStoredAt(cluster, 'orders', values.slice(1_500), b);
          values.forEach((_, i) => {
            const result = i < 1_500 ? a : b;
            const position = i < 1_500 ? i : i - 1_500;
            assert.equal(result.partitions[position], partitionForKey(Buffer.from(key(i)), 6));
            assert.ok((result.timestamps[position] ?? 0) > 0, 'a CreateTime');
          });
          for (const { value, delivery } of singles) {
            const sent = await delivery;
            const stored = cluster.records('orders', sent.partition).find((r) => r.offset === sent.offset);
            assert.equal(stored?.value, value, `send() of ${value} is at its offset`);
          }
          // Append order kept within a partition: key-7's records in the order they were handed over.
          const key7 = cluster.records('orders', partitionForKey(Buffer.from('key-7'), 6))
            .filter((r) => r.key === 'key-7').map((r) => r.value);
          const expected = ['before', ...values.slice(0, 1_500).filter((_, i) => i % 50 === 7), 'between',
            ...values.slice(1_500).filter((_, i) => (1_500 + i) % 50 === 7), 'after'];
          assert.deepEqual(key7, expected);
        } finally {
          await producer.close();
        }
      });
    });

  void test('records that must wait for buffer room go through send()\'s slower path, still in order', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 2);
      // A buffer of a few batches: most of the 2,000 records wait for room.
      const producer = testProducer(cluster, { lingerMs: 0, batchBytesMax: 1_024, bufferBytesMax: 4_096 });
      try {
        await producer.connect();
        const values = Array.from({ length: 2_000 }, (_, i) => `v${i}-${'x'.repeat(40)}`);
        const result = await producer.sendMany(values.map((value, i) => ({ topic: 't', partition: i % 2, value })));
        assertStoredAt(cluster, 't', values, result);
        for (const partition of [0, 1]) {
          assert.deepEqual(cluster.records('t', partition).map((r) => r.value), values.filter((_, i) => i % 2 === partition),
            `partition ${partition} holds its records once each, in order`);
        }
      } finally {
        await producer.close();
      }
    });
  });

  void test('a record refused (no such partition) rejects the call with its error; the others are delivered',
    async () => {
      await withCluster(1, async (cluster) => {
        cluster.createTopic('t', 2);
        const producer = testProducer(cluster, { lingerMs: 0 });
        try {
          await producer.connect();
          await assert.rejects(producer.sendMany([{ topic: 't', partition: 0, value: 'a' },
            { topic: 't', partition: 5, value: 'b' }, { topic: 't', partition: 1, value: 'c' }]),
          (error: unknown) => error instanceof TributaryError && error.code === 'UNKNOWN_TOPIC_OR_PARTITION');
          await producer.flush();
          assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['a']);
          assert.deepEqual(cluster.records('t', 1).map((r) => r.value), ['c']);
          const empty = await producer.sendMany([]);
          assert.equal(empty.offsets.length, 0);
        } finally {
          await producer.close();
        }
      });
    });

  void test('acks 0 gives offset -1; the records still land', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const producer = testProducer(cluster, { acks: 0, lingerMs: 0 });
      try {
        await producer.connect();
        const result = await producer.sendMany(['a', 'b', 'c'].map((value) => ({ topic: 't', value })));
        assert.deepEqual([...result.offsets], [-1, -1, -1]);
        for (let i = 0; i < 100 && cluster.records('t', 0).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['a', 'b', 'c']);
      } finally {
        await producer.close();
      }
    });
  });
});
