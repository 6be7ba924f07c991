/**
 * A broker that is not a controller voter joins a running cluster (issue 13, point 1): three voter
 * brokers run, then broker 4 starts on 127.0.0.14 with an id outside --voters.
 * - `cluster rebalance` spreads a 6-partition RF 3 topic from before it joined onto it: 4 or 5
 *   replicas per broker, and 1 or 2 leaderships (preferred, and actual after the election);
 * - it registers and every broker lists it (Metadata, DescribeCluster asked of broker 4 itself,
 *   `tributary cluster status --json`), while the controller voters stay 1, 2, 3;
 * - a topic created afterwards places its share of replicas on broker 4 (8 partitions of 3 replicas
 *   over 4 brokers: 6 each); a single-replica topic puts one partition on each broker, so broker 4
 *   surely leads one; records produced to every partition of both (acks=all) read back exactly once
 *   at their acknowledged offsets;
 * - broker 4 SIGKILLed while records are written, then restarted: it registers again, is back in
 *   the in-sync replicas of all 6 of its partitions (the leaders say so) and leads its single-replica
 *   partition again;
 * - broker 4 never counts for the controller quorum: with broker 4 and the controller leader both
 *   killed, the two voters left still elect a controller and commit a CreateTopic (were broker 4 a
 *   fourth voter, 2 of 4 would be no majority); no broker ever names broker 4 as the controller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { Producer } from '../../src/client/producer.js';
import type { SendResult } from '../../src/client/producer.js';
import type { ClusterStatus } from '../../src/cli/commands/cluster.js';
import type { BrokerShare } from '../../src/cli/commands/cluster_rebalance.js';
import { TestCluster } from '../helpers/cluster.js';
import { runCli as runCliProcess } from '../helpers/cli_process.js';
import type { CliRun } from '../helpers/cli_process.js';

const NEW_BROKER = 4;
const NEW_HOST = '127.0.0.14';
const TOPIC = 'spread';
const PARTITIONS = 8;
/** One replica per partition on each broker: broker 4 leads its partition, whichever elections win. */
const SOLO = 'solo';
const SOLO_PARTITIONS = 4;
const PER_PARTITION = 20;
const CLI_TIMEOUT_MS = 20_000;

interface WirePartition { partition: number; leaderId: number; replicaIds: number[]; isrIds: number[] }

interface WireMetadata {
  brokers?: { brokerId: number; host: string; port: number }[];
  controllerId?: number;
  topics?: { name: string; partitions?: WirePartition[] }[];
}

function runCli(args: readonly string[]): Promise<CliRun> {
  return runCliProcess(args, CLI_TIMEOUT_MS);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
}

void describe('a broker that is not a controller voter joins a running cluster', () => {
  let cluster: TestCluster;
  const controllersSeen = new Set<number>();

  /** Metadata from one broker, noting which controller it names. */
  const metadataOf = async (id: number): Promise<WireMetadata | null> => {
    const response = await cluster.metadata(id) as WireMetadata | null;
    if (response?.controllerId !== undefined && response.controllerId > 0) controllersSeen.add(response.controllerId);
    return response;
  };

  /** Per partition of TOPIC, the in-sync replicas as its leader reports them (only a leader knows). */
  const isrByLeaders = async (brokerIds: readonly number[]): Promise<Map<number, number[]>> => {
    const isr = new Map<number, number[]>();
    for (const id of brokerIds) {
      const topic = (await metadataOf(id))?.topics?.find((t) => t.name === TOPIC);
      for (const p of topic?.partitions ?? []) if (p.leaderId === id) isr.set(p.partition, p.isrIds);
    }
    return isr;
  };

  before(async () => {
    cluster = await TestCluster.start(3);
  });

  after(async () => {
    await cluster.stop();
  });

  void it('registers, takes and leads replicas, rejoins after SIGKILL, and never counts for the quorum', async () => {
    // A topic from before broker 4 joined: `cluster rebalance` must spread it onto broker 4.
    const early = new Admin({ bootstrap: cluster.address(1), requestTimeoutMs: 10_000 });
    await early.createTopic({ name: 'early', partitions: 6, replicationFactor: 3 });
    const started = Date.now();
    await cluster.addBroker(NEW_BROKER, NEW_HOST);
    const joinedMs = Date.now() - started;

    const admin4 = new Admin({ bootstrap: cluster.address(NEW_BROKER), requestTimeoutMs: 10_000 });
    try {
      const described = await admin4.describeCluster();
      assert.deepEqual(described.brokers.map((b) => b.id).sort(), [1, 2, 3, 4]);
      assert.equal(described.brokers.find((b) => b.id === NEW_BROKER)?.address, cluster.address(NEW_BROKER));
      assert.deepEqual([...described.controllerVoterIds].sort(), [1, 2, 3], 'broker 4 is not a controller voter');
      assert.ok(described.controllerId !== null && described.controllerId !== NEW_BROKER);
    } finally {
      await admin4.close();
    }
    try {
      const rebalanced = await runCli(['cluster', 'rebalance', '--json', '--wait-timeout', '60',
        '--bootstrap', cluster.address(1)]);
      assert.equal(rebalanced.code, 0, rebalanced.stderr);
      const replicas = (await early.describeTopic('early')).partitions.flatMap((p) => p.replicaIds);
      const perBroker = [1, 2, 3, 4].map((id) => replicas.filter((r) => r === id).length);
      process.stdout.write(`# cluster rebalance: ${rebalanced.stdout.trim()}; replicas of 'early' per broker ${perBroker.join(',')}\n`);
      assert.ok(perBroker.every((count) => count >= 4 && count <= 5), `18 replicas spread over 4 brokers: ${perBroker.join(',')}`);
      // Leaders too: 6 partitions over 4 brokers, each leading 1 or 2, preferred and actual (after the election).
      const preferred = (await early.describeTopic('early')).partitions.map((p) => p.replicaIds[0]);
      const preferredPerBroker = [1, 2, 3, 4].map((id) => preferred.filter((leader) => leader === id).length);
      assert.ok(preferredPerBroker.every((count) => count === 1 || count === 2),
        `preferred leaders per broker ${preferredPerBroker.join(',')}`);
      const summary = JSON.parse(rebalanced.stdout) as { after: BrokerShare[] };
      const leadersPerBroker = [1, 2, 3, 4].map((id) => summary.after.find((s) => s.brokerId === id)?.leaders ?? -1);
      assert.ok(leadersPerBroker.every((count) => count === 1 || count === 2),
        `leaders per broker after the election ${leadersPerBroker.join(',')}`);
    } finally {
      await early.close();
    }
    const status = await runCli(['cluster', 'status', '--json', '--bootstrap', cluster.address(1)]);
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as ClusterStatus;
    assert.deepEqual(parsed.brokers.map((b) => `${b.id}@${b.address}`).sort(),
      [1, 2, 3, 4].map((id) => `${id}@${cluster.address(id)}`));

    const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 2, requestTimeoutMs: 10_000,
      topicWaitMs: 10_000 });
    const acknowledged = new Map<string, SendResult>();
    const produceRound = async (round: number, topics: readonly [string, number][]): Promise<void> => {
      const sends: Promise<void>[] = [];
      for (const [topic, partitions] of topics) {
        for (let p = 0; p < partitions; p += 1) {
          for (let i = 0; i < PER_PARTITION; i += 1) {
            const value = `${topic}-r${round}-p${p}-${i}`;
            sends.push(producer.send({ topic, partition: p, value })
              .then((result) => { acknowledged.set(value, result); }));
          }
        }
      }
      await Promise.all(sends);
    };
    const both: [string, number][] = [[TOPIC, PARTITIONS], [SOLO, SOLO_PARTITIONS]];
    let onNewBroker: number[] = [];
    let rejoinedMs = -1;
    try {
      await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
      await admin.createTopic({ name: SOLO, partitions: SOLO_PARTITIONS, replicationFactor: 1 });
      // Another broker may answer before it applied the creation: ask until the topic shows.
      const described = async (name: string): Promise<Awaited<ReturnType<Admin['describeTopic']>>> => {
        let description: Awaited<ReturnType<Admin['describeTopic']>> | undefined;
        await waitFor(`topic ${name} in the metadata`, async () => {
          description = await admin.describeTopic(name).catch(() => undefined);
          return description !== undefined;
        }, 10_000);
        return description!;
      };
      const description = await described(TOPIC);
      onNewBroker = description.partitions.filter((p) => p.replicaIds.includes(NEW_BROKER)).map((p) => p.partition);
      assert.equal(onNewBroker.length, PARTITIONS * 3 / 4, 'broker 4 holds its even share of the replicas');
      const soloOnNew = (await described(SOLO)).partitions.filter((p) => p.replicaIds.includes(NEW_BROKER));
      assert.equal(soloOnNew.length, 1, 'one partition of the single-replica topic is on broker 4');
      const ledByNew = soloOnNew[0]?.partition ?? -1;
      await waitFor('broker 4 leads its single-replica partition', async () => {
        const topic = (await metadataOf(NEW_BROKER))?.topics?.find((t) => t.name === SOLO);
        return topic?.partitions?.find((p) => p.partition === ledByNew)?.leaderId === NEW_BROKER;
      }, 15_000);
      await produceRound(1, both);
      assert.equal([...acknowledged.entries()].filter(([value, r]) => value.startsWith(`${SOLO}-`) &&
        r.partition === ledByNew).length, PER_PARTITION, 'records acknowledged by broker 4 as leader');

      // Broker 4's single-replica partition is down with it; the three-replica topic keeps taking writes.
      await cluster.kill(NEW_BROKER, 'SIGKILL');
      await produceRound(2, [[TOPIC, PARTITIONS]]);
      cluster.restart(NEW_BROKER);
      const restartedAt = Date.now();
      await cluster.waitUntilRegistered(20_000);
      await waitFor('broker 4 is back in sync on all its partitions', async () => {
        const isr = await isrByLeaders(cluster.ids());
        return onNewBroker.every((p) => isr.get(p)?.includes(NEW_BROKER) === true);
      }, 20_000);
      rejoinedMs = Date.now() - restartedAt;
      await produceRound(3, both);
      await producer.flush();
    } finally {
      await producer.close();
      await admin.close();
    }
    assert.equal(acknowledged.size, (3 * PARTITIONS + 2 * SOLO_PARTITIONS) * PER_PARTITION);

    const consumer = new Consumer({ bootstrap: cluster.bootstrap, requestTimeoutMs: 10_000 });
    const seen = new Map<string, { partition: number; offset: number }[]>();
    try {
      const partitions = both.flatMap(([topic, count]) => Array.from({ length: count }, (_, partition) =>
        ({ topic, partition })));
      consumer.assign(partitions);
      for (const tp of partitions) consumer.seek(tp, 'beginning');
      const deadline = Date.now() + 15_000;
      let read = 0;
      while (read < acknowledged.size && Date.now() < deadline) {
        for (const record of await consumer.poll({ timeoutMs: 500 })) {
          const value = record.value?.toString() ?? '';
          seen.set(value, [...seen.get(value) ?? [], { partition: record.partition, offset: record.offset }]);
          assert.ok(value.startsWith(`${record.topic}-`), `${value} read from ${record.topic}`);
          read += 1;
        }
      }
      assert.equal(read, acknowledged.size, 'as many records as acknowledged');
    } finally {
      await consumer.close();
    }
    for (const [value, result] of acknowledged) {
      assert.deepEqual(seen.get(value), [{ partition: result.partition, offset: result.offset }], value);
    }

    // Broker 4 and the controller leader down: 2 of the 3 voters are a majority only if 4 is no voter.
    const leader = (await metadataOf(1))?.controllerId;
    assert.ok(leader !== undefined && [1, 2, 3].includes(leader), `controller leader ${String(leader)}`);
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    await Promise.all([cluster.kill(NEW_BROKER, 'SIGKILL'), cluster.kill(leader, 'SIGKILL')]);
    const killedAt = Date.now();
    const survivorAdmin = new Admin({ bootstrap: survivors.map((id) => cluster.address(id)).join(','),
      requestTimeoutMs: 15_000 });
    try {
      // Answered only once the CreateTopic command is committed and applied: a controller majority.
      await survivorAdmin.createTopic({ name: 'after', partitions: 2, replicationFactor: 1 });
      assert.equal((await survivorAdmin.describeTopic('after')).partitions.length, 2);
    } finally {
      await survivorAdmin.close();
    }
    const committedMs = Date.now() - killedAt;
    await waitFor('a survivor names a new controller leader', async () => {
      const controller = (await metadataOf(survivors[0] ?? 0))?.controllerId ?? -1;
      return survivors.includes(controller);
    }, 5_000);
    assert.ok(!controllersSeen.has(NEW_BROKER), `controllers seen: ${[...controllersSeen].join(',')}`);
    process.stdout.write(`# broker 4 joined in ${joinedMs} ms, was back in sync ${rejoinedMs} ms after its restart; ` +
      `with it and the controller leader killed, the other voters committed a topic in ${committedMs} ms; ` +
      `controllers seen ${[...controllersSeen].join(',')}\n`);
  });
});
