/**
 * `--auto-rebalance` with real broker processes: three brokers run with it, a topic of 6 partitions
 * with replication factor 3 is written to by an idempotent acks=all producer all along, and broker 4
 * joins (a non-voter on 127.0.0.14). Without any command, the controller leader spreads the topic
 * onto broker 4 (4 or 5 replicas per broker) and has the preferred leaders elected, so that broker
 * 4 leads at least one partition (1 or 2 each). No send fails, every partition's leader reports its log size
 * (Admin.partitionSizes, `topics describe`),
 * and after the cluster stops each final replica's committed log on disk holds every acknowledged
 * record exactly once at its acknowledged offset. Prints how long the rebalance took after the join.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '../../src/client/index.js';
import type { DecodedMessage, pb } from '../../src/protocol/messages.js';
import { runCli } from '../helpers/cli_process.js';
import { TestCluster } from '../helpers/cluster.js';
import { committedRecordsOf } from '../helpers/committed_records.js';

const TOPIC = 'grows';
const PARTITIONS = 6;
const NEW_BROKER = 4;
const IN_FLIGHT = 16;
/** How long broker 4 may take to be balanced onto after it joined. */
const REBALANCE_TIMEOUT_MS = 40_000;

type TopicMetadata = DecodedMessage<pb.TopicMetadata.$Properties>;

interface Acked { partition: number; offset: number; value: string }

void describe('auto rebalance when a broker joins', () => {
  let cluster: TestCluster;
  let admin: Admin;

  before(async () => {
    cluster = await TestCluster.start(3, ['--auto-rebalance']);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  /** Each partition's leader as the brokers hosting it say (-1 none known), and its replicas. */
  async function placement(): Promise<{ leaders: number[]; replicas: number[][] }> {
    const leaders = Array.from({ length: PARTITIONS }, () => -1);
    const replicas: number[][] = Array.from({ length: PARTITIONS }, () => []);
    for (const id of cluster.ids()) {
      const metadata = await cluster.metadata(id) as { topics: readonly TopicMetadata[] } | null;
      for (const p of metadata?.topics.find((t) => t.name === TOPIC)?.partitions ?? []) {
        if (p.leaderId > 0) leaders[p.partition] = p.leaderId;
        replicas[p.partition] = [...p.replicaIds];
      }
    }
    return { leaders, replicas };
  }

  it('spreads replicas and leaders onto broker 4 by itself while a producer keeps going', async () => {
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', idempotent: true, lingerMs: 2,
      requestTimeoutMs: 5_000, deliveryTimeoutMs: 60_000 });
    const acked: Acked[] = [];
    const failures: unknown[] = [];
    let producing = true;
    let sent = 0;
    const sender = async (): Promise<void> => {
      while (producing) {
        const index = sent++;
        const value = `value-${index}`;
        try {
          const result = await producer.send({ topic: TOPIC, partition: index % PARTITIONS, value });
          acked.push({ partition: result.partition, offset: result.offset, value });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const senders = Array.from({ length: IN_FLIGHT }, sender);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const joinedAt = Date.now();
      await cluster.addBroker(NEW_BROKER, '127.0.0.14');
      let settled: { leaders: number[]; replicas: number[][] } | undefined;
      while (settled === undefined && Date.now() - joinedAt < REBALANCE_TIMEOUT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const now = await placement();
        const moving = await admin.listPartitionReassignments();
        // Done: no move under way, broker 4 holds replicas, and every partition is led by its preferred replica.
        if (moving.length === 0 && now.replicas.some((r) => r.includes(NEW_BROKER)) &&
          now.leaders.every((leader, p) => leader === now.replicas[p]?.[0])) settled = now;
      }
      assert.ok(settled !== undefined, `broker 4 holds replicas and preferred replicas lead within ${REBALANCE_TIMEOUT_MS} ms: ` +
        JSON.stringify(await placement()));
      const rebalancedMs = Date.now() - joinedAt;
      const replicasPerBroker = [1, 2, 3, 4].map((id) => settled.replicas.filter((r) => r.includes(id)).length);
      const leadersPerBroker = [1, 2, 3, 4].map((id) => settled.leaders.filter((leader) => leader === id).length);
      console.log(`auto rebalance: balanced ${rebalancedMs} ms after broker 4 joined; ` +
        `replicas per broker ${replicasPerBroker.join(',')}, leaders ${leadersPerBroker.join(',')}`);
      assert.ok(replicasPerBroker.every((n) => n === 4 || n === 5), `replicas ${replicasPerBroker.join(',')}`);
      assert.ok(leadersPerBroker.every((n) => n === 1 || n === 2), `leaders ${leadersPerBroker.join(',')}`);
      const preferred = (await admin.describeTopic(TOPIC)).partitions.map((p) => p.replicaIds[0]);
      const preferredPerBroker = [1, 2, 3, 4].map((id) => preferred.filter((leader) => leader === id).length);
      assert.ok(preferredPerBroker.every((n) => n === 1 || n === 2), `preferred leaders ${preferredPerBroker.join(',')}`);

      await new Promise((resolve) => setTimeout(resolve, 1_000));
      producing = false;
      await Promise.all(senders);
      assert.deepEqual(failures.map(String), [], 'no send failed');
      assert.ok(acked.length > 0);
      const sizes = await admin.partitionSizes([TOPIC]);
      assert.equal(sizes.length, PARTITIONS, 'every leader reports its log size');
      assert.ok(sizes.every((size) => size.bytes > 0), JSON.stringify(sizes));
      const described = await runCli(['topics', 'describe', TOPIC, '--bootstrap', cluster.bootstrap], 20_000);
      assert.equal(described.code, 0, described.stderr);
      const shown = [...described.stdout.matchAll(/\tSize: (\d+)$/gm)].map((match) => Number(match[1]));
      assert.equal(shown.length, PARTITIONS, `topics describe shows every partition's size: ${described.stdout}`);
      assert.ok(shown.every((bytes) => bytes > 0));

      // Let followers learn the last commit index, then read every final replica's files.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await cluster.stop({ keepData: true });
      for (const [partition, replicas] of settled.replicas.entries()) {
        const expected = acked.filter((a) => a.partition === partition);
        for (const id of replicas) {
          const stored = (await committedRecordsOf(cluster.dataDirectory(id), `${TOPIC}-${partition}`)).records;
          const byOffset = new Map(stored.map((r) => [r.offset, r.value]));
          const counts = new Map<string, number>();
          for (const r of stored) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
          for (const record of expected) {
            assert.equal(byOffset.get(record.offset), record.value, `broker ${id} partition ${partition} ` +
              `offset ${record.offset}`);
            assert.equal(counts.get(record.value), 1, `${record.value} stored once on broker ${id}`);
          }
        }
      }
    } finally {
      producing = false;
      await Promise.all(senders);
      await producer.close();
    }
  });
});
