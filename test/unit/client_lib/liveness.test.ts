/**
 * Goal: the clients stay live whatever the brokers do (two bugs the Jepsen harness found).
 * - Consumer.poll returns within its timeout plus a small bound while a broker is paused (it holds
 *   its connections open and answers nothing, as under SIGSTOP), and a paused leader holds up only
 *   its own partitions; after the resume reading goes on with no record skipped or repeated.
 * - A producer keeps refreshing metadata while a partition's leader is unknown: a topic cached from
 *   the first (all-topics) reply while leaderless is refreshed too, and a broker whose replies name
 *   no leader does not pin the client.
 * Method: a FakeCluster of RequestServers on 127.0.0.1 with its pause and stale-metadata switches;
 * every poll has a timeout, every loop a count and a time bound, and everything is closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import { Consumer } from '../../../src/client/consumer.js';
import type { ConsumerRecord } from '../../../src/client/consumer.js';
import type { Producer } from '../../../src/client/producer.js';
import type { ProducerOptions } from '../../../src/client/producer.js';
import type { FakeCluster } from './fake_cluster.js';
import { testProducer, withCluster } from './fake_cluster.js';

/** How much longer than its timeout a poll may take (timers, one pass of the loop). */
const POLL_SLACK_MS = 250;

function producerFor(cluster: FakeCluster, options: Partial<ProducerOptions> = {}): Producer {
  return testProducer(cluster, { lingerMs: 0, ...options }, 5);
}

/** One poll, checked to end within its timeout plus POLL_SLACK_MS. */
async function timedPoll(consumer: Consumer, timeoutMs: number): Promise<ConsumerRecord[]> {
  const startMs = Date.now();
  const records = await consumer.poll({ timeoutMs });
  const tookMs = Date.now() - startMs;
  assert.ok(tookMs <= timeoutMs + POLL_SLACK_MS, `poll({ timeoutMs: ${timeoutMs} }) took ${tookMs} ms`);
  return records;
}

/** Polls (each poll timed) until count records of the partition arrived, at most pollsMax polls. */
async function pollPartition(consumer: Consumer, partition: number, count: number, pollsMax: number):
  Promise<ConsumerRecord[]> {
  const records: ConsumerRecord[] = [];
  for (let i = 0; i < pollsMax && records.length < count; i++) {
    records.push(...(await timedPoll(consumer, 200)).filter((r) => r.partition === partition));
  }
  return records;
}

const valuesOf = (records: readonly ConsumerRecord[]): string[] => records.map((r) => r.value?.toString() ?? '');

void describe('Client liveness', () => {
  void test('poll returns in time while a leader is paused; the other leader is read meanwhile', async () => {
    await withCluster(2, async (cluster) => {
      cluster.createTopic('t', 2, [1, 2]);
      const producer = producerFor(cluster);
      // A request timeout far above the poll timeout: a poll waiting on the paused broker would show.
      const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 50, retryBackoffMs: 10,
        retryBackoffMaxMs: 50, prng: new SeededPrng(3), requestTimeoutMs: 20_000, autoOffsetReset: 'earliest' });
      try {
        await producer.send({ topic: 't', partition: 0, value: 'a0' });
        await producer.send({ topic: 't', partition: 1, value: 'b0' });
        consumer.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
        const before: ConsumerRecord[] = [];
        for (let i = 0; i < 25 && before.length < 2; i++) before.push(...await timedPoll(consumer, 200));
        assert.deepEqual(valuesOf(before).sort(), ['a0', 'b0']);

        cluster.pause(2);
        await producer.send({ topic: 't', partition: 0, value: 'a1' });
        const duringPause: ConsumerRecord[] = [];
        for (let i = 0; i < 6; i++) duringPause.push(...await timedPoll(consumer, 300));
        assert.deepEqual(valuesOf(duringPause.filter((r) => r.partition === 0)), ['a1'],
          'the healthy leader is read while the other is paused');
        assert.equal(duringPause.filter((r) => r.partition === 1).length, 0);

        cluster.resume(2);
        await producer.send({ topic: 't', partition: 1, value: 'b1' });
        const afterResume = await pollPartition(consumer, 1, 1, 25);
        assert.deepEqual(valuesOf(afterResume), ['b1'], 'after the resume: the next record, none skipped or repeated');
      } finally {
        await producer.close();
        await consumer.close();
      }
    });
  });

  void test('poll returns in time when every broker is paused before the first metadata', async () => {
    await withCluster(2, async (cluster) => {
      cluster.createTopic('t', 1, [1]);
      const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 50, retryBackoffMs: 10,
        prng: new SeededPrng(3), requestTimeoutMs: 20_000 });
      try {
        consumer.assign([{ topic: 't', partition: 0 }]);
        cluster.pause(1);
        cluster.pause(2);
        for (let i = 0; i < 3; i++) assert.deepEqual(await timedPoll(consumer, 300), []);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('a topic first cached while leaderless is refreshed until its leader is known', async () => {
    await withCluster(3, async (cluster) => {
      cluster.createTopic('early', 2, [1, 2]);
      cluster.partition('early', 1).leaderId = -1;
      const producer = producerFor(cluster, { deliveryTimeoutMs: 3_000 });
      try {
        // With no topic of interest yet, the first refresh names every topic: early/1 is cached leaderless.
        await producer.connect();
        // A topic created later makes the interest non-empty; refreshes used to ask about it alone.
        cluster.createTopic('later', 1, [3]);
        await producer.send({ topic: 'later', value: 'x' });
        cluster.partition('early', 1).leaderId = 2;
        const result = await producer.send({ topic: 'early', partition: 1, value: 'y' });
        assert.equal(result.offset, 0);
        assert.deepEqual(cluster.records('early', 1).map((r) => r.value), ['y']);
      } finally {
        await producer.close();
      }
    });
  });

  void test('a broker whose metadata names no leader does not pin the producer', async () => {
    await withCluster(3, async (cluster) => {
      cluster.createTopic('t', 1, [2]);
      cluster.staleMetadataBrokers.add(1); // the bootstrap broker, asked first
      const producer = producerFor(cluster, { deliveryTimeoutMs: 3_000 });
      try {
        const result = await producer.send({ topic: 't', partition: 0, value: 'z' });
        assert.equal(result.offset, 0);
        assert.deepEqual(cluster.records('t', 0).map((r) => r.value), ['z']);
      } finally {
        await producer.close();
      }
    });
  });
});
