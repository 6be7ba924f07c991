/**
 * Scale-out without downtime (issue 13's end-to-end test), with real broker processes. Three
 * brokers run a 12-partition topic of replication factor 3 while an idempotent acks=all producer
 * writes about 1,000 records a second and a consumer reads them live. Then, without stopping either:
 * - brokers 4 and 5 join as non-voters on 127.0.0.14 and 127.0.0.15, advertising those addresses;
 * - `cluster rebalance` spreads replicas (7 or 8 of the 36 per broker) and leaders (2 or 3 of the
 *   12 per broker) over the five;
 * - the controller voter 1 is replaced by broker 4 (`cluster controllers add`, then `remove`);
 * - broker 1 is decommissioned: its replicas move away, it is deregistered and its process exits;
 * - the topic grows to 16 partitions and the producer writes to the new ones too.
 * At the end every acknowledged record reads back exactly once at its acknowledged offset, and the
 * live consumer saw every partition's offsets dense and in order. The test prints the longest gap
 * between two acknowledgements (a figure for the notes, not an assertion of speed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { runCli } from '../helpers/cli_process.js';
import type { CliRun } from '../helpers/cli_process.js';

const TOPIC = 'scale';
const PARTITIONS = 12;
const GROWN_PARTITIONS = 16;
/** Records sent per 10 ms tick: about 1,000 a second. */
const RECORDS_PER_TICK = 10;
const TICK_MS = 10;
const JOINERS = [{ id: 4, host: '127.0.0.14' }, { id: 5, host: '127.0.0.15' }] as const;
const CLI_TIMEOUT_MS = 150_000;

interface Acked { partition: number; offset: number; value: string; ackedAtMs: number }
interface WirePartition { partition: number; leaderId: number; replicaIds: number[] }
interface WireMetadata {
  brokers?: { brokerId: number }[];
  topics?: { name: string; partitions?: WirePartition[] }[];
}

function cli(args: readonly string[]): Promise<CliRun> {
  return runCli(args, CLI_TIMEOUT_MS);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
}

/** How many of `ids` each broker in `brokers` appears as, in order. */
function countsPer(brokers: readonly number[], ids: readonly number[]): number[] {
  return brokers.map((broker) => ids.filter((id) => id === broker).length);
}

void describe('scale-out under load: brokers join, a voter is replaced, a broker leaves, the topic grows', () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start(3);
  });
  after(async () => {
    await cluster.stop();
  });

  /** Each partition's replicas and leader, as the brokers leading them say (bounded wait). */
  async function placement(brokers: readonly number[], partitions: number): Promise<WirePartition[]> {
    let found = new Map<number, WirePartition>();
    await waitFor(`every partition of ${TOPIC} has a leader among ${brokers.join(',')}`, async () => {
      found = new Map();
      for (const id of brokers) {
        const metadata = await cluster.metadata(id) as WireMetadata | null;
        for (const p of metadata?.topics?.find((t) => t.name === TOPIC)?.partitions ?? []) {
          if (p.leaderId === id) found.set(p.partition, p);
        }
      }
      return found.size === partitions;
    }, 30_000);
    return [...found.values()].sort((a, b) => a.partition - b.partition);
  }

  void it('keeps every acknowledged record, exactly once, at its offset', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    await placement([1, 2, 3], PARTITIONS);

    /** Flags the loops below check; the test body clears them at the end. */
    const running = { producing: true, reading: true };
    const acked: Acked[] = [];
    const failures: string[] = [];
    let partitionCount = PARTITIONS;
    let sent = 0;
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 2,
      requestTimeoutMs: 10_000, topicWaitMs: 20_000 });
    const pending = new Set<Promise<void>>();
    const producing$ = (async () => {
      while (running.producing) {
        for (let i = 0; i < RECORDS_PER_TICK; i += 1) {
          const value = `v${sent}`;
          const partition = sent % partitionCount;
          sent += 1;
          const send = producer.send({ topic: TOPIC, partition, key: `k${partition}`, value })
            .then((result) => {
              assert.equal(result.partition, partition);
              acked.push({ partition, offset: result.offset, value, ackedAtMs: Date.now() });
            }, (error: unknown) => { failures.push(`${value}: ${String(error)}`); })
            .finally(() => { pending.delete(send); });
          pending.add(send);
        }
        await new Promise((resolve) => setTimeout(resolve, TICK_MS));
      }
    })();

    // A live reader of the first 12 partitions: offsets must come dense and in order.
    const live = new Consumer({ bootstrap: cluster.bootstrap, requestTimeoutMs: 10_000 });
    const nextOffset = new Map<number, number>();
    let liveRead = 0;
    live.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
    for (let partition = 0; partition < PARTITIONS; partition += 1) live.seek({ topic: TOPIC, partition }, 'beginning');
    const reading$ = (async () => {
      while (running.reading) {
        for (const record of await live.poll({ timeoutMs: 200 })) {
          const expected = nextOffset.get(record.partition) ?? 0;
          assert.equal(record.offset, expected, `partition ${record.partition} read in order without gaps`);
          nextOffset.set(record.partition, expected + 1);
          liveRead += 1;
        }
      }
    })();

    const steps: string[] = [];
    const step = async (name: string, args: readonly string[]): Promise<CliRun> => {
      const started = Date.now();
      const run = await cli([...args, '--bootstrap', cluster.bootstrap]);
      assert.equal(run.code, 0, `${name}: ${run.stderr}${run.stdout}`);
      steps.push(`${name} ${Date.now() - started} ms`);
      return run;
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const { id, host } of JOINERS) {
        await cluster.addBroker(id, host, { extraArguments: (port, raftPort) =>
          ['--advertise', `${host}:${port}`, '--raft-advertise', `${host}:${raftPort}`] });
      }
      const described = await admin.describeCluster();
      for (const { id, host } of JOINERS) {
        assert.equal(described.brokers.find((b) => b.id === id)?.address.split(':')[0], host, `broker ${id} advertised`);
      }

      await step('cluster rebalance', ['cluster', 'rebalance', '--wait-timeout', '120']);
      const everyone = [1, 2, 3, 4, 5];
      let spread = await placement(everyone, PARTITIONS);
      const replicaCounts = countsPer(everyone, spread.flatMap((p) => p.replicaIds));
      assert.ok(replicaCounts.every((n) => n === 7 || n === 8), `36 replicas over 5 brokers: ${replicaCounts.join(',')}`);
      // Leaders go to the preferred replicas; an election may still be settling for a moment.
      let leaderCounts: number[] = [];
      await waitFor('leaders spread 2 or 3 per broker', async () => {
        spread = await placement(everyone, PARTITIONS);
        leaderCounts = countsPer(everyone, spread.map((p) => p.leaderId));
        return leaderCounts.every((n) => n === 2 || n === 3);
      }, 20_000);
      steps.push(`after rebalance replicas ${replicaCounts.join(',')} leaders ${leaderCounts.join(',')}`);

      await step('controllers add 4', ['cluster', 'controllers', 'add', '--id', '4']);
      await step('controllers remove 1', ['cluster', 'controllers', 'remove', '--id', '1']);
      await waitFor('controller voters are 2,3,4', async () => {
        const voters = [...(await admin.describeCluster()).controllerVoterIds].sort();
        return voters.join(',') === '2,3,4';
      }, 20_000);

      await step('decommission 1', ['cluster', 'decommission', '--id', '1', '--wait-timeout', '120']);
      assert.equal(await cluster.waitForExit(1, 30_000), 0, 'the decommissioned broker exits by itself, with 0');
      const remaining = [2, 3, 4, 5];
      spread = await placement(remaining, PARTITIONS);
      assert.ok(spread.every((p) => !p.replicaIds.includes(1)), 'no replica left on broker 1');
      await waitFor('Metadata no longer lists broker 1', async () => {
        const brokers = (await cluster.metadata(2) as WireMetadata | null)?.brokers?.map((b) => b.brokerId) ?? [];
        return brokers.length === 4 && !brokers.includes(1);
      }, 20_000);

      await step('topics alter', ['topics', 'alter', TOPIC, '--partitions', String(GROWN_PARTITIONS)]);
      await placement(remaining, GROWN_PARTITIONS);
      partitionCount = GROWN_PARTITIONS;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    } finally {
      running.producing = false;
      await producing$;
      await Promise.allSettled([...pending]);
      await producer.close();
      running.reading = false;
      await reading$;
      await live.close();
    }

    const gaps = acked.map((a) => a.ackedAtMs).sort((a, b) => a - b)
      .map((t, i, all) => (i === 0 ? 0 : t - (all[i - 1] ?? t)));
    process.stdout.write(`# scale-out: ${sent} sent, ${acked.length} acknowledged, ${failures.length} failed; ` +
      `longest gap between acknowledgements ${Math.max(...gaps)} ms; live consumer read ${liveRead}; ` +
      `${steps.join('; ')}\n`);
    assert.deepEqual(failures, [], 'no send fails');
    assert.ok(acked.some((a) => a.partition >= PARTITIONS), 'records went to the new partitions');

    // The final read: every partition from the beginning, from the brokers that are left.
    const drain = new Consumer({ bootstrap: [2, 3, 4, 5].map((id) => cluster.address(id)).join(','),
      requestTimeoutMs: 10_000 });
    const seen = new Map<string, { partition: number; offset: number }[]>();
    try {
      drain.assign(Array.from({ length: GROWN_PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
      for (let partition = 0; partition < GROWN_PARTITIONS; partition += 1) {
        drain.seek({ topic: TOPIC, partition }, 'beginning');
      }
      const deadline = Date.now() + 30_000;
      let read = 0;
      while (read < acked.length && Date.now() < deadline) {
        for (const record of await drain.poll({ timeoutMs: 500 })) {
          const value = record.value?.toString() ?? '';
          seen.set(value, [...seen.get(value) ?? [], { partition: record.partition, offset: record.offset }]);
          read += 1;
        }
      }
      assert.equal(read, acked.length, 'as many records as acknowledged');
    } finally {
      await drain.close();
      await admin.close();
    }
    for (const record of acked) {
      assert.deepEqual(seen.get(record.value), [{ partition: record.partition, offset: record.offset }], record.value);
    }
  });
});
