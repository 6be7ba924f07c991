/**
 * Goal: Admin creates, lists, describes and deletes topics, describes the cluster, and reads each
 * partition's earliest and latest offsets from its leader; topic errors come back as typed errors
 * and a dead bootstrap address is skipped. Method: a FakeCluster on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Admin } from '../../../src/client/admin.js';
import { parseBootstrap } from '../../../src/client/metadata_cache.js';
import { Producer } from '../../../src/client/producer.js';
import { TributaryError } from '../../../src/common/errors.js';
import { FakeCluster } from './fake_cluster.js';

const isCode = (code: string) => (error: unknown): boolean => error instanceof TributaryError && error.code === code;

void describe('Admin', () => {
  void test('topics: create, list, describe, offsets, delete; typed errors', async () => {
    const cluster = await FakeCluster.start(3);
    const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 2_000 });
    try {
      await admin.createTopic({ name: 'b-topic', partitions: 3, replicationFactor: 3, configs: { 'retention.ms': '1000' } });
      await admin.createTopic({ name: 'a-topic', partitions: 1, replicationFactor: 1 });
      assert.deepEqual(await admin.listTopics(), ['a-topic', 'b-topic']);
      await assert.rejects(admin.createTopic({ name: 'a-topic', partitions: 1, replicationFactor: 1 }),
        isCode('TOPIC_ALREADY_EXISTS'));
      await assert.rejects(admin.createTopic({ name: 'zero', partitions: 0, replicationFactor: 1 }),
        (error: unknown) => isCode('INVALID_PARTITIONS')(error) && (error as Error).message.includes('zero'));
      const description = await admin.describeTopic('b-topic');
      assert.equal(description.partitions.length, 3);
      assert.deepEqual(description.partitions.map((p) => p.leaderId), [1, 2, 3]);
      assert.deepEqual(description.partitions[0]?.replicaIds, [1, 2, 3]);
      assert.equal(description.configs['retention.ms'], '1000');
      const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 0 });
      await producer.sendBatch([0, 0, 0, 2].map((partition) => ({ topic: 'b-topic', partition, value: 'x' })));
      await producer.close();
      cluster.truncateBefore('b-topic', 0, 3);
      assert.deepEqual(await admin.fetchOffsets('b-topic'), [
        { partition: 0, earliest: 3, latest: 3 },
        { partition: 1, earliest: 0, latest: 0 },
        { partition: 2, earliest: 0, latest: 1 },
      ]);
      await admin.deleteTopic('a-topic');
      assert.deepEqual(await admin.listTopics(), ['b-topic']);
      await assert.rejects(admin.deleteTopic('a-topic'), isCode('UNKNOWN_TOPIC_OR_PARTITION'));
      await assert.rejects(admin.describeTopic('a-topic'), isCode('UNKNOWN_TOPIC_OR_PARTITION'));
    } finally {
      await admin.close();
      await cluster.close();
    }
  });

  void test('describeCluster; a dead first bootstrap address is skipped', async () => {
    const cluster = await FakeCluster.start(2);
    // Port 1 on 127.0.0.1: nothing listens, zeromq keeps retrying, requests time out.
    const admin = new Admin({ bootstrap: `127.0.0.1:1,${cluster.bootstrap}`, requestTimeoutMs: 3_000 });
    try {
      const described = await admin.describeCluster();
      assert.equal(described.controllerId, 1);
      assert.deepEqual(described.brokers.map((b) => b.id), [1, 2]);
      assert.deepEqual(described.brokers.map((b) => b.address), [cluster.address(1), cluster.address(2)]);
      assert.deepEqual(described.controllerVoterIds, [1, 2]);
    } finally {
      await admin.close();
      await cluster.close();
    }
  });

  void test('bootstrap parsing', () => {
    assert.deepEqual(parseBootstrap('a:1, b:2'), ['a:1', 'b:2']);
    assert.deepEqual(parseBootstrap(['tcp://a:1', 'b:2,c:3']), ['a:1', 'b:2', 'c:3']);
    assert.throws(() => parseBootstrap('nohost'), isCode('INVALID_CONFIG'));
    assert.throws(() => parseBootstrap('h:99999'), isCode('INVALID_CONFIG'));
    assert.throws(() => parseBootstrap(''), isCode('INVALID_CONFIG'));
  });
});
