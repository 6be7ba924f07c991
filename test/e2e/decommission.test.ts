/**
 * Broker decommission with real processes: three controller voters and broker 4 (a non-voter on
 * 127.0.0.14).
 * - Bad input changes nothing and answers one typed line: an unknown id (BROKER_ID_NOT_REGISTERED),
 *   a controller voter (INVALID_REQUEST naming `cluster controllers remove`), and broker 4 killed
 *   while it holds the only replica of a partition of a replication-factor-1 topic
 *   (INVALID_REPLICA_ASSIGNMENT); broker 4 is started again afterwards.
 * - Then a 6-partition topic of replication factor 3, created once broker 4 is back, is written by
 *   an idempotent acks=all producer (paced at about 1,000 records/s). The decommission is started
 *   through the Admin client: a topic created then has no replica on broker 4 and `partitions
 *   reassign --generate` refuses it as a target. `tributary cluster decommission --id 4` then
 *   continues it: it exits 0; broker 4's process exits 0 by itself; no broker lists broker 4 any
 *   more and no partition (the single-replica topic's included) has a replica on it; running the
 *   command again says it is done; started again later, broker 4 registers as an ordinary broker;
 *   and after the cluster stops, every final replica's committed log holds every acknowledged
 *   record exactly once at its acknowledged offset.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { Producer } from '../../src/client/producer.js';
import { TestCluster } from '../helpers/cluster.js';
import { runCli } from '../helpers/cli_process.js';
import type { CliRun } from '../helpers/cli_process.js';
import { committedRecordsOf } from '../helpers/committed_records.js';

const LEAVING = 4;
const LEAVING_HOST = '127.0.0.14';
const TOPIC = 'busy';
const PARTITIONS = 6;
const SINGLE = 'single';
/** The producer is paced: every TICK_MS, PER_TICK more sends (about 1,000 records/s)... */
const TICK_MS = 10;
const PER_TICK = 10;
/** ...while fewer than this many are unacknowledged (a stalled cluster is not buried in sends). */
const IN_FLIGHT_MAX = 1_000;

interface Acked { readonly partition: number; readonly offset: number; readonly value: string }

/** The lines of a broker's log that name a topic (its replicas' starts, leaders, move steps). */
/** A broker's log lines on a topic, and its warnings and errors (a failed group is logged by its id only). */
function linesOn(log: string, topic: string): string {
  return log.split('\n').filter((line) => line.includes(`"${topic}`) || /^\{"level":(40|50|60),/.test(line))
    .join('\n').slice(-6_000);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
}

void describe('broker decommission', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let admin: Admin;
  let voters: string;

  const decommission = (id: number, extra: readonly string[] = []): Promise<CliRun> =>
    runCli(['cluster', 'decommission', '--bootstrap', voters, '--id', String(id), ...extra], 60_000);

  /** The partitions of a topic with their replicas. */
  const replicasOf = async (topic: string): Promise<number[][]> =>
    (await admin.describeTopic(topic)).partitions.map((p) => [...p.replicaIds]);

  before(async () => {
    // At info, so that a move that does not advance shows its steps (and why one was refused) below.
    cluster = await TestCluster.start(3, [], { TRIBUTARY_LOG_LEVEL: 'info' });
    await cluster.addBroker(LEAVING, LEAVING_HOST);
    voters = [1, 2, 3].map((id) => cluster.address(id)).join(',');
    admin = new Admin({ bootstrap: voters, requestTimeoutMs: 20_000 });
    await admin.connect();
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  it('refuses an unknown broker, a controller voter and a down broker with the only copy, changing nothing', async () => {
    const unknown = await decommission(9);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr,
      /^tributary cluster decommission: .*broker 9 is not registered.*\(BROKER_ID_NOT_REGISTERED\)\n$/);
    const voter = await decommission(1);
    assert.equal(voter.code, 1);
    assert.match(voter.stderr, new RegExp('^tributary cluster decommission: .*controller voter.*' +
      '`tributary cluster controllers remove --id 1`.*\\(INVALID_REQUEST\\)\n$'));

    // One partition per broker: broker 4 holds the only copy of one.
    await admin.createTopic({ name: SINGLE, partitions: 4, replicationFactor: 1 });
    const single = await replicasOf(SINGLE);
    assert.equal(single.filter((replicas) => replicas[0] === LEAVING).length, 1, JSON.stringify(single));
    await cluster.kill(LEAVING);
    await waitFor('broker 4 is fenced', async () =>
      (await admin.describeCluster()).fencedBrokers.some((b) => b.id === LEAVING), 15_000);
    const onlyCopy = await decommission(LEAVING);
    assert.equal(onlyCopy.code, 1);
    assert.match(onlyCopy.stderr, new RegExp('^tributary cluster decommission: .*down \\(fenced\\) and holds the ' +
      'only replica of single-\\d.*\\(INVALID_REPLICA_ASSIGNMENT\\)\n$'));
    const described = await admin.describeCluster();
    assert.deepEqual(described.decommissioningBrokerIds, [], 'no refusal marked a broker');
    assert.deepEqual(await replicasOf(SINGLE), single);
    assert.deepEqual(await admin.listPartitionReassignments(), []);

    cluster.restart(LEAVING);
    await cluster.waitUntilRegistered(20_000);
    // Registered is not enough: the next case needs broker 4 unfenced (caught up and heartbeating).
    await waitFor('broker 4 is unfenced again', async () =>
      !(await admin.describeCluster()).fencedBrokers.some((b) => b.id === LEAVING), 20_000);
  });

  it('moves every replica off broker 4 under load, unregisters it, and its process exits', async () => {
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    const before = await replicasOf(TOPIC);
    const held = before.filter((replicas) => replicas.includes(LEAVING)).length;
    assert.ok(held >= 3, `broker 4 holds its share of the topic: ${JSON.stringify(before)}`);

    const producer = new Producer({ bootstrap: voters, acks: 'all', idempotent: true, lingerMs: 2,
      requestTimeoutMs: 5_000, deliveryTimeoutMs: 60_000 });
    const acked: Acked[] = [];
    const failures: unknown[] = [];
    const pending = new Set<Promise<void>>();
    let sent = 0;
    const sendOne = (): void => {
      const index = sent++;
      const value = `value-${index}`;
      const sending = producer.send({ topic: TOPIC, partition: index % PARTITIONS, value: Buffer.from(value) })
        .then((result) => { acked.push({ partition: result.partition, offset: result.offset, value }); },
          (error: unknown) => { failures.push(error); })
        .finally(() => { pending.delete(sending); });
      pending.add(sending);
    };
    const pacer = setInterval(() => {
      for (let i = 0; i < PER_TICK && pending.size < IN_FLIGHT_MAX; i++) sendOne();
    }, TICK_MS);
    let run: CliRun;
    let elapsedMs = 0;
    let ackedBefore = 0;
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.ok(acked.length > 0, 'production is under way before the decommission');
      // Started by hand first (the command then continues from there): nothing new goes to broker 4.
      await admin.decommissionBroker(LEAVING, 'start');
      assert.deepEqual((await admin.describeCluster()).decommissioningBrokerIds, [LEAVING]);
      await admin.createTopic({ name: 'after-start', partitions: 4, replicationFactor: 3 });
      assert.ok((await replicasOf('after-start')).every((replicas) => !replicas.includes(LEAVING)));
      const generated = await runCli(['partitions', 'reassign', '--bootstrap', voters, '--generate', '--topics', TOPIC,
        '--brokers', '1,2,4'], 20_000);
      assert.equal(generated.code, 1);
      assert.match(generated.stderr, /brokers 4 are being decommissioned \(INVALID_REPLICA_ASSIGNMENT\)/);
      const startedMs = Date.now();
      ackedBefore = acked.length;
      // Its own wait gives up before this test's 60 s bound on the process, so a move that does not
      // finish fails with the command's message and the moves still open, not with a killed process.
      run = await decommission(LEAVING, ['--json', '--throttle', '8MB', '--wait-timeout', '45']);
      elapsedMs = Date.now() - startedMs;
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      clearInterval(pacer);
      await Promise.all([...pending]);
      await producer.close();
    }
    const open = run.code === 0 ? [] : await admin.listPartitionReassignments();
    const singleNow = run.code === 0 ? [] : (await admin.describeTopic(SINGLE)).partitions;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}\nmoves open: ${JSON.stringify(open)}\n` +
      `${SINGLE}: ${JSON.stringify(singleNow)}\n` +
      [1, 2, 3, LEAVING].map((id) => `broker ${id}, its lines on ${SINGLE} and its warnings:\n${linesOn(cluster.stderrOf(id), SINGLE)}\n` +
        `its last lines:\n${cluster.stderrOf(id).slice(-3_000)}`).join('\n'));
    const summary = JSON.parse(run.stdout) as { brokerId: number; moved: number };
    assert.equal(summary.brokerId, LEAVING);
    assert.ok(summary.moved >= held + 1, `moved ${summary.moved}: at least the ${held} + 1 partitions on broker 4`);
    assert.deepEqual(failures, [], 'no send failed');
    console.log(`decommission: \`cluster decommission\` moved ${summary.moved} partitions off broker 4 in ` +
      `${elapsedMs} ms (the CLI process included) while ${acked.length - ackedBefore} records were acknowledged`);

    assert.equal(await cluster.waitForExit(LEAVING, 15_000), 0,
      `broker 4 exits 0 by itself:\n${cluster.stderrOf(LEAVING)}`);
    assert.match(cluster.stderrOf(LEAVING), /this broker was decommissioned and unregistered; stopping/);
    for (const id of [1, 2, 3]) {
      const metadata = await cluster.metadata(id) as { brokers?: { brokerId: number }[] } | null;
      assert.deepEqual(metadata?.brokers?.map((b) => b.brokerId).sort(), [1, 2, 3], `broker ${id} lists 1, 2, 3`);
    }
    const cluster4 = await admin.describeCluster();
    assert.ok(![...cluster4.brokers, ...cluster4.fencedBrokers].some((b) => b.id === LEAVING));
    assert.deepEqual(cluster4.decommissioningBrokerIds, []);
    const after = await replicasOf(TOPIC);
    assert.ok(after.every((replicas) => replicas.length === 3 && !replicas.includes(LEAVING)), JSON.stringify(after));
    assert.ok((await replicasOf(SINGLE)).every((replicas) => replicas.length === 1 && replicas[0] !== LEAVING));

    const again = await decommission(LEAVING);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Broker 4 is decommissioned already/);

    // Started again later (a new incarnation, after the leader dropped it from the controller
    // learners once silent for 3 s), broker 4 registers as an ordinary, empty broker.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    cluster.restart(LEAVING);
    await cluster.waitUntilRegistered(20_000);
    const back = await admin.describeCluster();
    assert.ok(back.brokers.some((b) => b.id === LEAVING), 'broker 4 is registered again');
    assert.deepEqual(back.decommissioningBrokerIds, []);
    assert.deepEqual(await replicasOf(TOPIC), after, 'its return moves nothing');

    // Every acknowledged record, once, at its offset, on every final replica.
    await admin.close();
    await cluster.stop({ keepData: true });
    for (const [partition, replicas] of after.entries()) {
      const expected = acked.filter((a) => a.partition === partition);
      for (const id of replicas) {
        const byOffset = new Map<number, string>();
        const counts = new Map<string, number>();
        for (const { offset, value } of (await committedRecordsOf(cluster.dataDirectory(id), `${TOPIC}-${partition}`))
          .records) {
          byOffset.set(offset, value);
          counts.set(value, (counts.get(value) ?? 0) + 1);
        }
        for (const record of expected) {
          assert.equal(byOffset.get(record.offset), record.value, `${TOPIC}-${partition} on broker ${id} offset ` +
            `${record.offset}`);
          assert.equal(counts.get(record.value), 1, `${record.value} once on broker ${id}`);
        }
      }
    }
    admin = new Admin({ bootstrap: voters, requestTimeoutMs: 1_000 });
  });
});
