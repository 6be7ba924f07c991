/**
 * Goal: the Producer batches records into one Produce request per leader, resolves each send with
 * the offset the broker gave it (acks all and 1) or -1 (acks 0), puts keyed records where Kafka's
 * murmur2 partitioner would, follows a moved leader after NOT_LEADER_OR_FOLLOWER, resends a batch
 * whose reply was lost with the same producer id and sequence (so the broker dedupes it), and
 * fails records on errors that are not retriable. Method: a FakeCluster of RequestServers on
 * 127.0.0.1 holding logs in memory; every wait is bounded and everything is closed at the end.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { partitionForKey } from '../../../src/client/murmur2.js';
import type { ProducerMessage } from '../../../src/client/producer.js';
import { ERROR_TABLE, TributaryError } from '../../../src/common/errors.js';
import { testProducer, withCluster } from './fake_cluster.js';

void describe('Producer', () => {
  void test('an idempotent producer retries InitProducerId while brokers are getting producer ids', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('ids', 1);
      const loading = ERROR_TABLE.COORDINATOR_LOAD_IN_PROGRESS.wire;
      cluster.initProducerIdErrors.push(loading, loading, loading);
      const producer = testProducer(cluster);
      try {
        await producer.connect();
        assert.equal(cluster.initProducerIdErrors.length, 0, 'every error was answered');
        assert.equal(producer.producerId, 1000);
        assert.equal((await producer.send({ topic: 'ids', value: 'v' })).offset, 0);
      } finally {
        await producer.close();
      }
    });
  });

  void test('an InitProducerId error that is not retriable fails connect', async () => {
    await withCluster(1, async (cluster) => {
      cluster.initProducerIdErrors.push(ERROR_TABLE.INVALID_REQUEST.wire);
      const producer = testProducer(cluster);
      try {
        await assert.rejects(producer.connect(), (error: unknown) => error instanceof TributaryError
          && error.code === 'INVALID_REQUEST');
      } finally {
        await producer.close();
      }
    });
  });

  void test('acks all: 300 keyed records, batched per broker, offsets in order, keys on murmur2 partitions', async () => {
    await withCluster(3, async (cluster) => {
      cluster.createTopic('orders', 6);
      const producer = testProducer(cluster, { lingerMs: 20 });
      try {
        await producer.connect();
        assert.ok(producer.idempotent, 'acks all is idempotent by default');
        assert.ok(producer.producerId !== null && producer.producerId >= 1000);
        const sends = Array.from({ length: 300 }, (_, i) => producer.send({
          topic: 'orders', key: `key-${i % 40}`, value: `value-${i}`, headers: { n: String(i) },
        }));
        const results = await Promise.all(sends);
        const perPartition = new Map<number, number[]>();
        results.forEach((result, i) => {
          assert.equal(result.topic, 'orders');
          assert.equal(result.partition, partitionForKey(Buffer.from(`key-${i % 40}`), 6));
          const offsets = perPartition.get(result.partition) ?? [];
          offsets.push(result.offset);
          perPartition.set(result.partition, offsets);
        });
        for (const [partition, offsets] of perPartition) {
          assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${partition} offsets are 0..n-1 in order`);
          const stored = cluster.records('orders', partition);
          assert.equal(stored.length, offsets.length);
          for (const record of stored) {
            const index = Number(record.value?.slice('value-'.length));
            assert.equal(results[index]?.offset, record.offset);
            assert.equal(results[index].partition, partition);
          }
        }
        assert.ok(cluster.produceRequests.length < 60, `batched: ${cluster.produceRequests.length} requests`);
        for (const seen of cluster.produceRequests) {
          assert.equal(seen.acks, -1);
          const partitions = seen.batches.map((b) => b.partition);
          assert.equal(new Set(partitions).size, partitions.length, 'one batch per partition per request');
          for (const batch of seen.batches) {
            assert.equal(cluster.partition('orders', batch.partition).leaderId, seen.brokerId, 'sent to the leader');
            assert.equal(batch.producerId, producer.producerId);
          }
        }
      } finally {
        await producer.close();
      }
    });
  });

  void test('acks 1 resolves with offsets; acks 0 resolves with -1 and the records still land', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const leaderAck = testProducer(cluster, { acks: 1, lingerMs: 0 });
      const noAck = testProducer(cluster, { acks: 0, lingerMs: 0 });
      try {
        assert.equal(leaderAck.idempotent, false);
        const first = await leaderAck.sendBatch([{ topic: 't', value: 'a' }, { topic: 't', value: 'b' }]);
        assert.deepEqual(first.map((r) => r.offset), [0, 1]);
        const blind = await Promise.all([noAck.send({ topic: 't', value: 'c' }), noAck.send({ topic: 't', value: 'd' })]);
        assert.deepEqual(blind.map((r) => r.offset), [-1, -1]);
        for (let i = 0; i < 100 && cluster.records('t', 0).length < 4; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['a', 'b', 'c', 'd']);
        assert.ok(cluster.produceRequests.some((r) => r.acks === 0));
        assert.ok(cluster.produceRequests.every((r) => r.batches.every((b) => b.producerId === -1)));
      } finally {
        await leaderAck.close();
        await noAck.close();
      }
    });
  });

  void test('explicit partition wins over the key; a partition out of range is refused', async () => {
    await withCluster(2, async (cluster) => {
      cluster.createTopic('t', 4);
      const producer = testProducer(cluster, { lingerMs: 0, topicWaitMs: 300 });
      try {
        const result = await producer.send({ topic: 't', key: 'k', value: 'v', partition: 3 });
        assert.equal(result.partition, 3);
        await assert.rejects(producer.send({ topic: 't', value: 'v', partition: 4 }),
          (error: unknown) => error instanceof TributaryError && error.code === 'UNKNOWN_TOPIC_OR_PARTITION');
        await assert.rejects(producer.send({ topic: 'missing', value: 'v' }),
          (error: unknown) => error instanceof TributaryError && error.code === 'UNKNOWN_TOPIC_OR_PARTITION');
      } finally {
        await producer.close();
      }
    });
  });

  void test('partitions added to a topic: an explicit one waits for a refresh, keys move after metadataMaxAgeMs',
    async () => {
      await withCluster(2, async (cluster) => {
        cluster.createTopic('grows', 2);
        const producer = testProducer(cluster, { lingerMs: 0, topicWaitMs: 2_000, metadataMaxAgeMs: 200 });
        try {
          // A key that hashes to partition 1 of 2 and to partition 3 of 4.
          const key = Array.from({ length: 1_000 }, (_, i) => `key-${i}`)
            .find((k) => partitionForKey(Buffer.from(k), 4) === 3);
          assert.ok(key !== undefined);
          assert.equal((await producer.send({ topic: 'grows', key, value: 'before' })).partition, 1);
          cluster.addPartitions('grows', 4);
          const explicit = await producer.send({ topic: 'grows', value: 'explicit', partition: 2 });
          assert.equal(explicit.partition, 2, 'the cached metadata had 2 partitions; the send waited for the refresh');
          const deadline = Date.now() + 3_000;
          let partition = 1;
          while (partition !== 3 && Date.now() < deadline) {
            partition = (await producer.send({ topic: 'grows', key, value: 'after' })).partition;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          assert.equal(partition, 3, 'the key hashes over the new count once metadata is refreshed');
          await assert.rejects(producer.send({ topic: 'grows', value: 'v', partition: 4 }), (error: unknown) =>
            error instanceof TributaryError && error.code === 'UNKNOWN_TOPIC_OR_PARTITION'
            && /has 4 partitions; there is no partition 4/.test(error.message));
        } finally {
          await producer.close();
        }
      });
    });

  void test('NOT_LEADER_OR_FOLLOWER: the leader hint moves the batch to the new leader', async () => {
    await withCluster(3, async (cluster) => {
      cluster.createTopic('t', 1, [1]);
      const producer = testProducer(cluster, { lingerMs: 0 });
      try {
        assert.equal((await producer.send({ topic: 't', value: 'before' })).offset, 0);
        cluster.partition('t', 0).leaderId = 2; // the client's cache still says 1
        const moved = await producer.send({ topic: 't', value: 'after' });
        assert.equal(moved.offset, 1);
        const brokers = cluster.produceRequests.map((r) => r.brokerId);
        assert.deepEqual(brokers, [1, 1, 2], 'refused by the old leader, then sent to the new one');
        // Without a hint: LEADER_NOT_AVAILABLE twice, then a metadata refresh finds the leader.
        cluster.inject('produce', 't', 0, 'LEADER_NOT_AVAILABLE', 2, false);
        assert.equal((await producer.send({ topic: 't', value: 'third' })).offset, 2);
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['before', 'after', 'third']);
      } finally {
        await producer.close();
      }
    });
  });

  void test('idempotent retry after a lost reply keeps producer id and sequence; the broker dedupes', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const producer = testProducer(cluster, { lingerMs: 0, requestTimeoutMs: 300 });
      try {
        await producer.connect();
        cluster.delayNextProduceReplies = { count: 1, delayMs: 3_000 };
        const results = await producer.sendBatch([{ topic: 't', value: 'x' }, { topic: 't', value: 'y' }]);
        assert.deepEqual(results.map((r) => r.offset), [0, 1]);
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['x', 'y'], 'stored once');
        const sent = cluster.produceRequests.flatMap((r) => r.batches);
        const first = sent[0];
        assert.ok(first !== undefined);
        const again = sent.filter((b) => b.baseSequence === first.baseSequence);
        assert.ok(again.length >= 2, 'the batch whose reply was lost was sent again');
        for (const batch of again) {
          assert.equal(batch.producerId, first.producerId);
          assert.equal(batch.recordCount, first.recordCount);
        }
        assert.equal(first.baseSequence, 0);
        const next = await producer.send({ topic: 't', value: 'z' });
        assert.equal(next.offset, 2);
        assert.equal(cluster.produceRequests.at(-1)?.batches[0]?.baseSequence, 2, 'sequences continue');
      } finally {
        await producer.close();
      }
    });
  });

  void test('an out-of-order answer that arrives after the older batch settled is retried, not failed', async () => {
    // Replies held by a quota come back in any order: batch a is refused NOT_LEADER (answered in
    // 300 ms), batch b, sent while a was unsettled, is refused OUT_OF_ORDER (answered in 900 ms,
    // after a's resend landed). b's refusal is explained by a not having landed when b was sent.
    // Linger 1 ms, not 0: at linger 0 b would wait for a's reply (Nagle's rule, test below).
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const producer = testProducer(cluster, { lingerMs: 1 });
      try {
        await producer.connect();
        cluster.inject('produce', 't', 0, 'NOT_LEADER_OR_FOLLOWER', 1, true);
        cluster.delayNextProduceReplies = { count: 1, delayMs: 300 };
        const a = producer.send({ topic: 't', value: 'a' });
        for (let i = 0; i < 100 && cluster.produceRequests.length < 1; i++) await sleep(5);
        cluster.inject('produce', 't', 0, 'OUT_OF_ORDER_SEQUENCE_NUMBER', 1, false);
        cluster.delayNextProduceReplies = { count: 1, delayMs: 900 };
        const b = producer.send({ topic: 't', value: 'b' });
        assert.equal((await a).offset, 0);
        assert.equal((await b).offset, 1);
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['a', 'b']);
      } finally {
        await producer.close();
      }
    });
  });

  void test('retriable back-pressure is retried; a non-retriable error fails only that batch', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 2, [1, 1]);
      const producer = testProducer(cluster, { lingerMs: 0, acks: 1 });
      try {
        cluster.inject('produce', 't', 0, 'TOO_MANY_REQUESTS', 3);
        assert.equal((await producer.send({ topic: 't', value: 'slow', partition: 0 })).offset, 0);
        cluster.inject('produce', 't', 1, 'MESSAGE_TOO_LARGE', 1);
        await assert.rejects(producer.send({ topic: 't', value: 'big', partition: 1 }),
          (error: unknown) => error instanceof TributaryError && error.code === 'MESSAGE_TOO_LARGE');
        assert.equal((await producer.send({ topic: 't', value: 'ok', partition: 1 })).offset, 0);
      } finally {
        await producer.close();
      }
    });
  });

  void test('gzip batches are marked in the attributes and decode back', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const producer = testProducer(cluster, { compression: 'gzip', lingerMs: 5 });
      try {
        const values = Array.from({ length: 50 }, (_, i) => `compressible ${'a'.repeat(50)} ${i}`);
        await producer.sendBatch(values.map((value) => ({ topic: 't', value })));
        assert.ok(cluster.produceRequests.every((r) => r.batches.every((b) => b.compression === 'gzip')));
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), values);
      } finally {
        await producer.close();
      }
    });
  });

  void test('send is done with the message when it returns: reusing its buffers changes nothing sent', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const producer = testProducer(cluster, { lingerMs: 0 });
      try {
        // Before connect the record waits (copied); after, it is encoded into its batch at once.
        const key = Buffer.from('key-1');
        const value = Buffer.from('waiting');
        const first = producer.send({ topic: 't', key, value });
        key.write('XXXXX');
        value.write('XXXXXXX');
        await first;
        const message = { topic: 't', key, value: Buffer.from('appended') };
        const second = producer.send(message);
        message.value.write('YYYYYYYY');
        message.key.write('ZZZZZ');
        await second;
        assert.deepEqual(cluster.records('t', 0).map((r) => [r.key, r.value]),
          [['key-1', 'waiting'], ['XXXXX', 'appended']]);
      } finally {
        await producer.close();
      }
    });
  });

  void test('a partition whose leader hangs holds only its share of the buffer: the others keep flowing', async () => {
    await withCluster(2, async (cluster) => {
      cluster.createTopic('t', 2, [2, 1]);
      // A 32 KiB buffer: partition 0 may hold 4 KiB of it (an eighth), while its 200 records need 40 KiB.
      const producer = testProducer(cluster, { lingerMs: 0, batchBytesMax: 1024, bufferBytesMax: 32 * 1024,
        maxBlockMs: 20_000 });
      try {
        await producer.connect();
        cluster.pause(2);
        const stuck = Array.from({ length: 200 }, (_, i) =>
          producer.send({ topic: 't', partition: 0, value: `stuck-${i}-${'x'.repeat(180)}` }));
        const within = <T>(promise: Promise<T>, what: string): Promise<T> => Promise.race([promise,
          new Promise<T>((_resolve, reject) => { setTimeout(() => { reject(new Error(`${what}: not within 5 s`)); }, 5_000); })]);
        const healthy = await within(Promise.all(Array.from({ length: 50 }, (_, i) =>
          producer.send({ topic: 't', partition: 1, value: `healthy-${i}-${'y'.repeat(180)}` }))), 'explicit partition 1');
        assert.deepEqual(healthy.map((r) => r.offset), Array.from({ length: 50 }, (_, i) => i));
        const unkeyed = await within(Promise.all(Array.from({ length: 20 }, (_, i) =>
          producer.send({ topic: 't', value: `unkeyed-${i}` }))), 'records without key');
        assert.ok(unkeyed.every((r) => r.partition === 1), 'records without key go around the full partition');
        assert.equal(cluster.records('t', 0).length, 0, 'partition 0 wrote nothing while its leader hung');
        cluster.resume(2);
        const settled = await Promise.all(stuck);
        assert.deepEqual(settled.map((r) => r.offset), Array.from({ length: 200 }, (_, i) => i), 'in send order');
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value?.toString().split('-', 2).join('-')),
          Array.from({ length: 200 }, (_, i) => `stuck-${i}`));
        await producer.flush();
      } finally {
        cluster.resume(2);
        await producer.close();
      }
    });
  });

  void test('linger 0: records sent while a request is in flight go together in the next; a full batch goes at once',
    async () => {
      await withCluster(1, async (cluster) => {
        cluster.createTopic('t', 1);
        const producer = testProducer(cluster, { lingerMs: 0, batchBytesMax: 400 });
        try {
          await producer.connect();
          cluster.delayNextProduceReplies = { count: 1, delayMs: 300 };
          const first = producer.send({ topic: 't', value: 'first' });
          const requestsSeen = (): number => cluster.produceRequests.length;
          for (let i = 0; i < 100 && requestsSeen() < 1; i++) await sleep(5);
          assert.equal(requestsSeen(), 1, 'the first record went at once');
          const small = ['a', 'b', 'c'].map((value) => producer.send({ topic: 't', value }));
          await sleep(50);
          assert.equal(requestsSeen(), 1, 'small records wait while the broker has a request in flight');
          // Records of 350 bytes do not fit a 400-byte batch beside others: x seals the batch of
          // a, b and c, and y seals x's. Sealed batches go beside the request in flight; y waits.
          const large = ['x', 'y'].map((letter) => producer.send({ topic: 't', value: letter.repeat(350) }));
          for (let i = 0; i < 100 && requestsSeen() < 3; i++) await sleep(5);
          assert.deepEqual(cluster.produceRequests.map((r) => r.batches.map((b) => b.recordCount)), [[1], [3], [1]],
            'sealed batches are not held back');
          const offsets = (await Promise.all([first, ...small, ...large])).map((r) => r.offset);
          assert.deepEqual(offsets, [0, 1, 2, 3, 4, 5]);
          assert.equal(requestsSeen(), 4, 'the open batch went once the broker was free');
          assert.deepEqual(cluster.records('t', 0).map((r) => r.value?.slice(0, 5)),
            ['first', 'a', 'b', 'c', 'xxxxx', 'yyyyy']);
        } finally {
          await producer.close();
        }
      });
    });

  void test('linger 0: a request that goes anyway, for a sealed batch, takes the open batches of its broker along',
    async () => {
      // Else a partition with few records would wait as long as another's full batches keep the
      // broker busy: here partition 0's replies are slow and its records fill a batch each.
      await withCluster(1, async (cluster) => {
        cluster.createTopic('t', 2);
        const producer = testProducer(cluster, { lingerMs: 0, batchBytesMax: 400 });
        try {
          await producer.connect();
          cluster.delayNextProduceReplies = { count: 10, delayMs: 200 };
          const large = (): ProducerMessage => ({ topic: 't', partition: 0, value: 'x'.repeat(350) });
          const requestsSeen = (): number => cluster.produceRequests.length;
          const first = producer.send(large());
          for (let i = 0; i < 100 && requestsSeen() < 1; i++) await sleep(5);
          const small = producer.send({ topic: 't', partition: 1, value: 'small' });
          await sleep(50);
          assert.equal(requestsSeen(), 1, 'the small record waits while the broker has a request in flight');
          const more = [producer.send(large()), producer.send(large())]; // the second seals the first's batch
          for (let i = 0; i < 100 && requestsSeen() < 2; i++) await sleep(5);
          assert.deepEqual(cluster.produceRequests[1]?.batches.map((b) => [b.partition, b.recordCount]),
            [[0, 1], [1, 1]], 'the sealed batch went at once, and the small record with it');
          assert.equal((await small).offset, 0);
          assert.deepEqual((await Promise.all([first, ...more])).map((r) => r.offset), [0, 1, 2]);
        } finally {
          await producer.close();
        }
      });
    });

  void test('flush sends lingering records; close rejects later sends', async () => {
    await withCluster(1, async (cluster) => {
      cluster.createTopic('t', 1);
      const producer = testProducer(cluster, { lingerMs: 60_000 });
      await producer.connect();
      const pending = producer.send({ topic: 't', value: 'lingering' });
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(cluster.records('t', 0).length, 0, 'still lingering');
      await producer.flush();
      assert.equal((await pending).offset, 0);
      await producer.close();
      await assert.rejects(producer.send({ topic: 't', value: 'late' }), TributaryError);
    });
  });
});
