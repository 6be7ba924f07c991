/**
 * The three-broker cluster end to end, with real broker processes on 127.0.0.1 and the client
 * library: a topic of 6 partitions with replication factor 3; 10,000 keyed records produced with
 * acks=all by an idempotent producer while the broker leading the most partitions is SIGKILLed;
 * production resumes on new leaders within seconds; every acknowledged record is read back at its
 * offset, once, in per-partition order; keys land where Kafka's default partitioner puts them; the
 * killed broker restarts with its data and catches up; and after the cluster stops, every replica's
 * committed log on disk holds the same records at the same offsets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import type { SendResult } from '../../src/client/index.js';
import { partitionForKey } from '../../src/client/murmur2.js';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { TestCluster } from '../helpers/cluster.js';
import { committedRecordsOf } from '../helpers/committed_records.js';

const TOPIC = 'events';
const PARTITIONS = 6;
const RECORDS = 10_000;
/** Records the idempotent-retry test leaves in partition 0 before the main test. */
const RETRY_TEST_RECORDS = 2;

interface Acked { partition: number; offset: number; value: string; ackedAtMs: number }

/** Committed records of one partition replica, read from its files after the broker stopped. */
async function committedRecords(dataDirectory: string, partition: number): Promise<Map<number, string>> {
  const { records } = await committedRecordsOf(dataDirectory, `${TOPIC}-${partition}`);
  return new Map(records.map(({ offset, value }) => [offset, value]));
}

describe('a three-broker cluster', () => {
  let cluster: TestCluster;
  let admin: Admin;
  before(async () => {
    cluster = await TestCluster.start(3);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.connect();
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    const described = await admin.describeTopic(TOPIC);
    assert.equal(described.partitions.length, PARTITIONS);
    for (const partition of described.partitions) assert.equal(partition.replicaIds.length, 3);
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  async function leaders(): Promise<Map<number, number>> {
    const result = new Map<number, number>();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const described = await admin.describeTopic(TOPIC);
      for (const p of described.partitions) {
        if (p.leaderId !== null && p.leaderId > 0) result.set(p.partition, p.leaderId);
      }
      if (result.size === PARTITIONS) return result;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`leaders not elected: ${JSON.stringify([...result])}`);
  }

  it('answers a retried idempotent batch (its reply lost) with the original offset, appending nothing', async () => {
    const batch = (sequence: number): Buffer => encodeRecordBatch({ baseTimestamp: Date.now(), producerId: 4242,
      producerEpoch: 0, baseSequence: sequence, records: [{ key: null, value: Buffer.from(`retry-${sequence}`) }] });
    // Sends to partition 0's current leader, following leadership changes (bounded) as a client does.
    const produce = async (bytes: Buffer): Promise<{ errorCode: number; baseOffset: number }> => {
      for (let attempt = 0; ; attempt += 1) {
        const leaderId = (await leaders()).get(0)!;
        const connection = new Connection({ address: cluster.address(leaderId), clientId: 'retry' });
        try {
          const reply = await connection.request(API_KEYS.PRODUCE, { acks: -1, timeoutMs: 5_000,
            partitions: [{ topic: TOPIC, partition: 0, rawFrameIndex: 0 }] }, [bytes]);
          const partition = reply.response.partitions[0]!;
          const moved = partition.errorCode === ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire
            || partition.errorCode === ERROR_TABLE.LEADER_NOT_AVAILABLE.wire;
          if (!moved || attempt >= 50) return { errorCode: partition.errorCode, baseOffset: partition.baseOffset };
        } finally {
          await connection.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const overtaking = await produce(batch(3));
    assert.equal(overtaking.errorCode, ERROR_TABLE.OUT_OF_ORDER_SEQUENCE_NUMBER.wire,
      'a producer the partition has not seen starts at sequence 0');
    const first = await produce(batch(0));
    assert.equal(first.errorCode, 0);
    const retried = await produce(batch(0));
    assert.deepEqual(retried, first, 'the retry gets the original offset');
    const next = await produce(batch(1));
    assert.equal(next.baseOffset, first.baseOffset + 1, 'the retry appended nothing');
    const gap = await produce(batch(5));
    assert.equal(gap.errorCode, ERROR_TABLE.OUT_OF_ORDER_SEQUENCE_NUMBER.wire);
  });

  it('keeps every acknowledged record through a leader crash, on every replica', async () => {
    const initialLeaders = await leaders();
    const counts = new Map<number, number>();
    for (const broker of initialLeaders.values()) counts.set(broker, (counts.get(broker) ?? 0) + 1);
    const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];

    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', idempotent: true, lingerMs: 2,
      requestTimeoutMs: 5_000, deliveryTimeoutMs: 60_000 });
    await producer.connect();
    const acked: Acked[] = [];
    const sends: Promise<void>[] = [];
    let killedAtMs = 0;
    for (let i = 0; i < RECORDS; i += 1) {
      const value = `value-${i}`;
      sends.push(producer.send({ topic: TOPIC, key: `key-${i}`, value }).then((result: SendResult) => {
        acked.push({ partition: result.partition, offset: result.offset, value, ackedAtMs: Date.now() });
      }));
      if (i % 500 === 499) await Promise.all(sends.slice(-500));
      if (i === 3_999) {
        killedAtMs = Date.now();
        await cluster.kill(victim, 'SIGKILL');
      }
    }
    await Promise.all(sends);
    await producer.close();
    assert.equal(acked.length, RECORDS);

    // The controller fences the silent broker: Metadata stops listing it.
    const survivor = cluster.ids().find((id) => id !== victim)!;
    const brokersListed = async (): Promise<number> => (await cluster.metadata(survivor) as { brokers?: unknown[] }
      | null)?.brokers?.length ?? -1;
    const fenceDeadline = Date.now() + 20_000;
    while (await brokersListed() !== 2 && Date.now() < fenceDeadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await brokersListed(), 2, 'the killed broker is fenced');

    // Production resumed within a few seconds of the crash.
    const firstAfterKill = Math.min(...acked.filter((a) => a.ackedAtMs > killedAtMs).map((a) => a.ackedAtMs));
    assert.ok(firstAfterKill - killedAtMs < 10_000, `resumed after ${firstAfterKill - killedAtMs} ms`);

    // Keys land where Kafka's default partitioner puts them; offsets are unique per partition.
    const byPartition = new Map<number, Map<number, string>>();
    for (const record of acked) {
      const index = Number(record.value.slice('value-'.length));
      assert.equal(record.partition, partitionForKey(Buffer.from(`key-${index}`), PARTITIONS));
      const offsets = byPartition.get(record.partition) ?? new Map<number, string>();
      assert.ok(!offsets.has(record.offset), `two records acknowledged at ${record.partition}/${record.offset}`);
      offsets.set(record.offset, record.value);
      byPartition.set(record.partition, offsets);
    }

    cluster.restart(victim);
    const rejoinDeadline = Date.now() + 20_000;
    while (await brokersListed() !== 3 && Date.now() < rejoinDeadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await brokersListed(), 3, 'the restarted broker registers again');

    // Everything acknowledged reads back at its offset, once, in order (no duplicates from retries).
    const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200 });
    await consumer.connect();
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
    for (let partition = 0; partition < PARTITIONS; partition += 1) consumer.seek({ topic: TOPIC, partition }, 'beginning');
    const consumed = new Map<number, { offset: number; value: string }[]>();
    let total = 0;
    const deadline = Date.now() + 60_000;
    while (total < RECORDS + RETRY_TEST_RECORDS && Date.now() < deadline) {
      for (const record of await consumer.poll({ timeoutMs: 500 })) {
        const list = consumed.get(record.partition) ?? [];
        list.push({ offset: record.offset, value: record.value?.toString() ?? '' });
        consumed.set(record.partition, list);
        total += 1;
      }
    }
    await consumer.close();
    assert.equal(total, RECORDS + RETRY_TEST_RECORDS, 'every record consumed exactly once');
    for (const [partition, list] of consumed) {
      list.forEach((record, i) => { assert.equal(record.offset, i, `partition ${partition} is dense and ordered`); });
      for (const record of list) {
        if (record.value.startsWith('retry-')) byPartition.get(partition)?.set(record.offset, record.value);
        assert.equal(byPartition.get(partition)?.get(record.offset), record.value);
      }
    }

    // Give the restarted broker time to catch up, then compare every replica's committed log on disk.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await cluster.stop({ keepData: true });
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      const expected = byPartition.get(partition) ?? new Map<number, string>();
      for (const id of cluster.ids()) {
        const stored = await committedRecords(cluster.dataDirectory(id), partition);
        for (const [offset, value] of expected) {
          assert.equal(stored.get(offset), value, `broker ${id} partition ${partition} offset ${offset}`);
        }
        assert.equal(stored.size, expected.size, `broker ${id} partition ${partition} holds nothing extra`);
      }
    }
  });
});
