/**
 * Goal: with TRIBUTARY_TEST_POWER_LOSS=1 (unsynced segment bytes live only in process memory, so a
 * SIGKILL acts like a power loss of every broker at once), a three-broker cluster still keeps every
 * record it acknowledged with acks=all: an acknowledgement must follow fsyncs on a majority, and a
 * restarted broker must come back from exactly what it synced.
 * Method: real broker processes on 127.0.0.1; acknowledged sends, then more sends in flight while
 * all three brokers are SIGKILLed together and restarted; once the cluster answers again, every
 * acknowledged record (before or after the crash) is read back at its offset. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'durable';
const PARTITIONS = 3;
const ACKED_BEFORE_CRASH = 1_500;
const IN_FLIGHT_AT_CRASH = 500;

describe('a three-broker cluster on power-loss storage', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start(3, [], { TRIBUTARY_TEST_POWER_LOSS: '1' });
  });
  after(async () => { await cluster.stop(); });

  it('keeps every acks=all record across a SIGKILL and restart of all brokers', async () => {
    for (const id of cluster.ids()) {
      assert.match(cluster.stderrOf(id), /TEST MODE TRIBUTARY_TEST_POWER_LOSS=1/, `broker ${id} warns of the test mode`);
    }
    const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.connect();
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    await admin.close();

    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', idempotent: true, lingerMs: 2,
      requestTimeoutMs: 3_000, deliveryTimeoutMs: 25_000 });
    await producer.connect();
    const acked = new Map<string, { partition: number; offset: number }>();
    const send = (value: string): Promise<void> => producer.send({ topic: TOPIC, key: value, value })
      .then((result) => { acked.set(value, { partition: result.partition, offset: result.offset }); });
    const before = Array.from({ length: ACKED_BEFORE_CRASH }, (_, i) => send(`before-${i}`));
    await Promise.all(before);
    const inFlight = Array.from({ length: IN_FLIGHT_AT_CRASH }, (_, i) => send(`during-${i}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await Promise.all(cluster.ids().map((id) => cluster.kill(id, 'SIGKILL')));
    for (const id of cluster.ids()) cluster.restart(id);
    await cluster.waitUntilRegistered(20_000);
    // Sends caught by the crash either fail or are retried to the restarted cluster; all are bounded.
    await Promise.allSettled(inFlight);
    await producer.close();
    assert.ok(acked.size >= ACKED_BEFORE_CRASH, `${acked.size} records acknowledged`);

    const expected = new Map<number, Map<number, string>>();
    for (const [value, { partition, offset }] of acked) {
      const offsets = expected.get(partition) ?? new Map<number, string>();
      assert.ok(!offsets.has(offset), `two records acknowledged at ${partition}/${offset}`);
      offsets.set(offset, value);
      expected.set(partition, offsets);
    }
    const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200 });
    await consumer.connect();
    const consumed = new Map<number, Map<number, string>>();
    try {
      consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
      for (let partition = 0; partition < PARTITIONS; partition += 1) {
        consumer.seek({ topic: TOPIC, partition }, 'beginning');
      }
      const missing = (): number => [...expected].reduce((sum, [partition, offsets]) => sum
        + [...offsets.keys()].filter((offset) => !(consumed.get(partition)?.has(offset) ?? false)).length, 0);
      const deadline = Date.now() + 20_000;
      while (missing() > 0 && Date.now() < deadline) {
        for (const record of await consumer.poll({ timeoutMs: 500 })) {
          const offsets = consumed.get(record.partition) ?? new Map<number, string>();
          offsets.set(record.offset, record.value?.toString() ?? '');
          consumed.set(record.partition, offsets);
        }
      }
    } finally {
      await consumer.close();
    }
    for (const [partition, offsets] of expected) {
      for (const [offset, value] of offsets) {
        assert.equal(consumed.get(partition)?.get(offset), value, `acknowledged record at ${partition}/${offset}`);
      }
    }
    for (const id of cluster.ids()) {
      assert.doesNotMatch(cluster.stderrOf(id), /DURABILITY VIOLATED|AssertionError/, `broker ${id} stderr`);
    }
  });
});
