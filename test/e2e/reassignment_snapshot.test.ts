/**
 * A move onto a broker when retention has moved the log start: the new replica cannot get the
 * entries from index 1, so the leader sends it a Raft snapshot (the next offset and the producer
 * table) and then the entries after it. Three brokers, a one-partition topic with replication
 * factor 2, 64 KiB segments and retention.bytes 256 KiB; after ~1.5 MB the partition moves off one
 * of its brokers onto the third, and more records follow. The new replica's log on disk starts past
 * offset 0 and holds every acknowledged record from its log start, once, at its offset.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '../../src/client/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { committedRecordsOf } from '../helpers/committed_records.js';

const TOPIC = 'trimmed';

describe('a move behind the log start', () => {
  let cluster: TestCluster;
  let admin: Admin;

  before(async () => {
    cluster = await TestCluster.start(3, ['--retention-check-ms', '300']);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 2,
      configs: { 'segment.bytes': String(64 * 1024), 'retention.bytes': String(256 * 1024) } });
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  it('gives the new replica a snapshot and the entries after it', async () => {
    const acked = new Map<number, string>();
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', idempotent: true, lingerMs: 1,
      batchBytesMax: 16 * 1024 });
    const produce = async (count: number, tag: string): Promise<void> => {
      for (let i = 0; i < count; i += 100) {
        await Promise.all(Array.from({ length: 100 }, async (_, j) => {
          const value = `${tag}-${i + j}-${'x'.repeat(1000)}`;
          const result = await producer.send({ topic: TOPIC, value: Buffer.from(value) });
          acked.set(result.offset, value);
        }));
      }
    };
    try {
      await produce(1500, 'before');
      const deadline = Date.now() + 20_000;
      let logStart = 0;
      while (logStart === 0 && Date.now() < deadline) {
        logStart = (await admin.fetchOffsets(TOPIC))[0]?.earliest ?? 0;
        if (logStart === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(logStart > 0, 'retention moved the log start');

      const replicas = (await admin.describeTopic(TOPIC)).partitions[0]?.replicaIds ?? [];
      const newcomer = [1, 2, 3].find((id) => !replicas.includes(id));
      const leaving = replicas[0];
      assert.ok(newcomer !== undefined && leaving !== undefined);
      const target = [newcomer, ...replicas.slice(1)];
      const [started] = await admin.reassignPartitions([{ topic: TOPIC, partition: 0, replicas: target }]);
      assert.equal(started?.error, null);
      const moved = Date.now() + 30_000;
      const done = async (): Promise<boolean> => (await admin.listPartitionReassignments()).length === 0 &&
        (await admin.describeTopic(TOPIC)).partitions[0]?.replicaIds.join() === target.join();
      while (!await done() && Date.now() < moved) await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(await done(), 'the move finished');
      await produce(200, 'after');
      await producer.flush();

      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await cluster.stop({ keepData: true });
      const replica = await committedRecordsOf(cluster.dataDirectory(newcomer), `${TOPIC}-0`);
      assert.ok(replica.logStartOffset >= logStart,
        `the new replica began from a snapshot (log start ${replica.logStartOffset})`);
      const stored = new Map<number, string>();
      for (const record of replica.records) {
        assert.ok(!stored.has(record.offset), `offset ${record.offset} once`);
        stored.set(record.offset, record.value);
      }
      let checked = 0;
      for (const [offset, value] of acked) {
        if (offset < replica.logStartOffset) continue;
        assert.equal(stored.get(offset), value, `offset ${offset} on the new replica`);
        checked += 1;
      }
      assert.ok(checked >= 200, `${checked} acknowledged records checked on the new replica`);
      assert.ok(!existsSync(path.join(cluster.dataDirectory(leaving), 'partitions', `${TOPIC}-0`)),
        'the replica that left deleted its log');
    } finally {
      await producer.close();
    }
  });
});
