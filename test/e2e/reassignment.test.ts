/**
 * Moving partitions through Raft membership changes, with real broker processes: four brokers, a
 * topic of 4 partitions with replication factor 3, an idempotent acks=all producer sending all
 * along. `tributary partitions reassign --plan` moves replicas onto broker 4 and off broker 1,
 * one partition losing the broker that leads it; `--verify` is polled until every move is done.
 * Then everything moves back: first the partition that lost its leader's broker, with broker 4
 * killed (removed while down, it deletes that log when it returns), then the others with broker 1
 * killed as the moves start (they wait for it and finish once it is back). Bad plans are refused
 * first and `--generate` proposes a plan off broker 1. Then: the metadata shows the final replica
 * sets; no send failed; the removed replicas' logs are gone; and after the cluster stops, each
 * final replica's committed log on disk holds every acknowledged record exactly once at its
 * acknowledged offset. Prints the longest gap between
 * acknowledgements while the moves ran (a figure, not an assertion).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Admin, Producer } from '../../src/client/index.js';
import type { DecodedMessage, pb } from '../../src/protocol/messages.js';
import { TestCluster } from '../helpers/cluster.js';
import { committedRecordsOf } from '../helpers/committed_records.js';

const TOPIC = 'moving';
const PARTITIONS = 4;
/** Sends in flight at once: enough to keep every partition busy, few enough to measure stalls. */
const IN_FLIGHT = 64;
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

type TopicMetadata = DecodedMessage<pb.TopicMetadata.$Properties>;

interface Acked { partition: number; offset: number; value: string; ackedAtMs: number }

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Committed records (offset to value, and how often each value occurs) of a replica's files. */
async function committedRecords(dataDirectory: string, partition: number):
  Promise<{ byOffset: Map<number, string>; counts: Map<string, number> }> {
  const byOffset = new Map<number, string>();
  const counts = new Map<string, number>();
  for (const { offset, value } of (await committedRecordsOf(dataDirectory, `${TOPIC}-${partition}`)).records) {
    byOffset.set(offset, value);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return { byOffset, counts };
}

/**
 * Broker 4 joins every partition it lacks in place of that partition's leader; every other
 * partition holding broker 1 swaps it for the broker missing from it.
 */
function planFor(current: readonly { partition: number; replicas: readonly number[]; leader: number }[]):
  { partition: number; replicas: number[] }[] {
  return current.map(({ partition, replicas, leader }) => {
    if (!replicas.includes(4)) return { partition, replicas: replicas.map((id) => (id === leader ? 4 : id)) };
    const missing = [1, 2, 3, 4].find((id) => !replicas.includes(id)) ?? 1;
    return { partition, replicas: replicas.map((id) => (id === 1 ? missing : id)) };
  });
}

describe('partition reassignment under load', () => {
  let cluster: TestCluster;
  let admin: Admin;
  const workDirectory = mkdtempSync(path.join(tmpdir(), 'tributary-reassign-'));

  before(async () => {
    cluster = await TestCluster.start(4);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.connect();
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
    rmSync(workDirectory, { recursive: true, force: true });
  });

  /**
   * Each partition's replicas and leader, once every partition has one. Asks every broker: one
   * without a replica of a partition does not know its leader.
   */
  async function placement(): Promise<{ partition: number; replicas: readonly number[]; leader: number }[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = new Map<number, { partition: number; replicas: readonly number[]; leader: number }>();
      for (const id of cluster.ids()) {
        const metadata = await cluster.metadata(id) as { topics: readonly TopicMetadata[] } | null;
        for (const p of metadata?.topics.find((t) => t.name === TOPIC)?.partitions ?? []) {
          if (p.leaderId <= 0) continue;
          found.set(p.partition, { partition: p.partition, replicas: p.replicaIds, leader: p.leaderId });
        }
      }
      if (found.size === PARTITIONS) return [...found.values()].sort((a, b) => a.partition - b.partition);
      assert.ok(Date.now() < deadline, 'every partition elects a leader');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  function writePlan(name: string, moves: readonly { partition: number; replicas: readonly number[] }[]): string {
    const file = path.join(workDirectory, name);
    writeFileSync(file, JSON.stringify({ version: 1,
      partitions: moves.map((move) => ({ topic: TOPIC, partition: move.partition, replicas: move.replicas })) }));
    return file;
  }

  /** Polls `--verify --json` until every move of the plan is done (bounded). */
  async function verifyUntilDone(planFile: string): Promise<void> {
    let verified: { done: boolean; partitions: { done: boolean }[] } = { done: false, partitions: [] };
    const deadline = Date.now() + 30_000;
    while (!verified.done && Date.now() < deadline) {
      const output = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan', planFile,
        '--verify', '--json']);
      assert.equal(output.code, 0, output.stderr);
      verified = JSON.parse(output.stdout) as typeof verified;
      if (!verified.done) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(verified.done, `every move finishes: ${JSON.stringify(verified)}`);
  }

  it('moves replicas onto broker 4 and off broker 1 while an idempotent producer keeps going', async () => {
    // A request to a killed broker is retried after 5 s rather than the default 30 s.
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
          const result = await producer.send({ topic: TOPIC, partition: index % PARTITIONS,
            value: Buffer.from(value) });
          acked.push({ partition: result.partition, offset: result.offset, value, ackedAtMs: Date.now() });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const senders = Array.from({ length: IN_FLIGHT }, () => sender());
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.ok(acked.length > 0, 'production is under way before the moves');

      const before = await placement();
      const plan = planFor(before);
      assert.ok(plan.some((move, i) => !move.replicas.includes(before[i]?.leader ?? 0)),
        'one partition loses the broker leading it');
      // Bad plans: a typed error, and nothing moves (a good entry beside a bad one included).
      const good = plan.find((move, i) => move.replicas.join() !== before[i]?.replicas.join());
      assert.ok(good !== undefined);
      const badPlans: [string, { partition: number; replicas: number[] }[], string][] = [
        ['unknown broker', [{ partition: 0, replicas: [1, 2, 9] }], 'INVALID_REPLICA_ASSIGNMENT'],
        ['duplicate replica', [{ partition: 0, replicas: [1, 2, 2] }], 'INVALID_REPLICA_ASSIGNMENT'],
        ['empty replica list', [{ partition: 0, replicas: [] }], 'INVALID_REPLICA_ASSIGNMENT'],
        ['more replicas than brokers', [{ partition: 0, replicas: [1, 2, 3, 4, 5] }], 'INVALID_REPLICATION_FACTOR'],
        ['unknown partition', [good, { partition: PARTITIONS, replicas: [1, 2, 3] }], 'UNKNOWN_TOPIC_OR_PARTITION'],
      ];
      for (const [what, moves, code] of badPlans) {
        const refused = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan',
          writePlan('bad.json', moves)]);
        assert.equal(refused.code, 1, what);
        assert.match(refused.stderr, new RegExp(`^tributary partitions reassign: .*\\(${code}\\)\\n$`), what);
      }
      assert.deepEqual(await admin.listPartitionReassignments(), [], 'no bad plan started a move');
      const generated = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--generate',
        '--topics', TOPIC, '--brokers', '2,3,4', '--json']);
      assert.equal(generated.code, 0, generated.stderr);
      const proposal = JSON.parse(generated.stdout) as { version: number;
        partitions: { partition: number; replicas: number[] }[] };
      const copied = proposal.partitions.flatMap((move) => move.replicas.filter((id) =>
        !(before[move.partition]?.replicas.includes(id) ?? false)));
      assert.equal(copied.length, 3, 'off broker 1: its three replicas, one per partition, move (others only reorder)');
      assert.ok(proposal.partitions.every((move) => !move.replicas.includes(1) && move.replicas.length === 3));

      const planFile = writePlan('plan.json', plan);
      const movesStartedMs = Date.now();
      const started = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan', planFile,
        '--throttle', '4MB']);
      assert.equal(started.code, 0, started.stderr);
      assert.match(started.stdout, /Started moving 4 partitions, catch-up throttled to 4194304 bytes\/s/);

      // Refused while under way, by the brokers: the same check the CLI's up-front validation gets.
      const moving = plan.find((move, i) => move.replicas.join() !== before[i]?.replicas.join());
      assert.ok(moving !== undefined);
      const [again] = await admin.reassignPartitions([{ topic: TOPIC, ...moving }]);
      assert.equal(again?.error?.code, 'REASSIGNMENT_IN_PROGRESS', 'a second move of a moving partition is refused');

      await verifyUntilDone(planFile);
      const movesDoneMs = Date.now();
      const text = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan', planFile,
        '--verify']);
      assert.equal(text.stdout.trim().split('\n').filter((line) => line.endsWith('is complete.')).length, PARTITIONS);
      const during = acked.filter((a) => a.ackedAtMs >= movesStartedMs && a.ackedAtMs <= movesDoneMs)
        .map((a) => a.ackedAtMs).sort((a, b) => a - b);
      let stallMs = 0;
      for (let i = 1; i < during.length; i++) stallMs = Math.max(stallMs, (during[i] ?? 0) - (during[i - 1] ?? 0));
      console.log(`reassignment: ${plan.length} partitions moved in ${movesDoneMs - movesStartedMs} ms under load; ` +
        `${during.length} records acknowledged during the moves; longest production stall ${stallMs} ms ` +
        '(catch-up throttled to 4 MiB/s)');

      // The partition that lost its leader's broker goes back first, with broker 4 killed before:
      // it is removed while down, and deletes what is left of that replica once it returns.
      const star = plan.findIndex((move, i) => !move.replicas.includes(before[i]?.leader ?? 0));
      const starBack = writePlan('back-star.json', before.filter((_, i) => i === star));
      await cluster.kill(4);
      const starStarted = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan', starBack]);
      assert.equal(starStarted.code, 0, starStarted.stderr);
      await verifyUntilDone(starBack);
      cluster.restart(4);
      await cluster.waitUntilRegistered(20_000);

      // The others go back with broker 1 (which deleted its replicas and must rejoin them as a new
      // learner) killed as the moves start: they wait for it, and finish by themselves once it is back.
      const back = writePlan('back.json', before.filter((_, i) => i !== star));
      const backStarted = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan', back]);
      assert.equal(backStarted.code, 0, backStarted.stderr);
      await cluster.kill(1);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const waiting = await cli(['partitions', 'reassign', '--bootstrap', cluster.bootstrap, '--plan', back,
        '--verify']);
      assert.match(waiting.stdout, /still in progress/, 'a move onto a dead broker waits for it');
      cluster.restart(1);
      await verifyUntilDone(back);
      const final = before.map((move) => ({ partition: move.partition, replicas: [...move.replicas] }));

      await new Promise((resolve) => setTimeout(resolve, 1_000));
      producing = false;
      await Promise.all(senders);
      await producer.flush();

      console.log(`reassignment: ${acked.length} records acknowledged in all`);
      assert.deepEqual(failures.map(String), [], 'no send failed');

      const after = await admin.describeTopic(TOPIC);
      for (const move of final) {
        assert.deepEqual(after.partitions[move.partition]?.replicaIds, move.replicas,
          `partition ${move.partition} shows its target replicas`);
      }

      // Let followers learn the last commit index, then read every target replica's files.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await cluster.stop({ keepData: true });
      for (const move of final) {
        const expected = acked.filter((a) => a.partition === move.partition);
        for (const id of move.replicas) {
          const stored = await committedRecords(cluster.dataDirectory(id), move.partition);
          for (const record of expected) {
            assert.equal(stored.byOffset.get(record.offset), record.value,
              `broker ${id} partition ${move.partition} offset ${record.offset}`);
            assert.equal(stored.counts.get(record.value), 1, `${record.value} stored once on broker ${id}`);
          }
        }
        for (const id of [1, 2, 3, 4].filter((broker) => !move.replicas.includes(broker))) {
          assert.ok(!existsSync(path.join(cluster.dataDirectory(id), 'partitions', `${TOPIC}-${move.partition}`)),
            `broker ${id} deleted its replica of partition ${move.partition}`);
        }
      }
    } finally {
      producing = false;
      await Promise.all(senders);
      await producer.close();
    }
  });
});
