/**
 * Availability under a silent partition (issue 18's first Done-when), with real brokers whose
 * Raft links, and the clients' links, go through relays that can drop everything silently (a dead
 * switch: nothing closes, nothing passes). An idempotent acks=all producer writes about 1,000
 * records a second over a 6-partition topic of replication factor 3. The broker leading the most
 * partitions is cut off silently from both peers for 20 s, then healed:
 * - variant 1: clients still reach it (it must step down and send them to the new leaders);
 * - variant 2: clients are cut off from it too (their requests to it must fail, not wait 30 s).
 * No partition may stop acknowledging for more than 5 s, no send may fail, and within 5 s of the
 * heal the old leader must be back in the in-sync set of every partition. The test prints the
 * longest stall per partition (the longest time without an acknowledgement).
 *
 * Why 20 s and not the issue's 30 s: before the fix, a Raft redial made during the cut hung in
 * its ZMTP handshake for libzmq's default 30 s, so a 30 s cut healed just as that attempt expired
 * and passed by coincidence; after 20 s the old leader came back 11 s after the heal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '../../src/client/index.js';
import { startRelayedCluster } from '../helpers/relayed_cluster.js';
import type { RelayedCluster } from '../helpers/relayed_cluster.js';

const TOPIC = 'silent';
const PARTITIONS = 6;
const BROKERS = [1, 2, 3] as const;
/** Records sent per 10 ms tick: about 1,000 a second. */
const RECORDS_PER_TICK = 10;
const TICK_MS = 10;
const WARMUP_MS = 3_000;
/**
 * 20 s in the suite: a 30 s cut (the issue's figure) let the code before the fix pass by
 * coincidence, its stuck handshake expiring right at the heal. TRIBUTARY_SILENT_CUT_MS=30000 runs
 * the issue's figure.
 */
const CUT_MS = Number(process.env.TRIBUTARY_SILENT_CUT_MS ?? 20_000);
const AFTER_HEAL_MS = 5_000;
const STALL_MAX_MS = 5_000;
const REJOIN_MAX_MS = 5_000;

interface WirePartition { partition: number; leaderId: number; replicaIds?: number[]; isrIds?: number[] }
interface WireMetadata { topics?: { name: string; partitions?: WirePartition[] }[] }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Each partition as the broker that leads it says, where exactly one broker claims it. */
async function leaderViews(relayed: RelayedCluster): Promise<Map<number, WirePartition>> {
  const claims = new Map<number, WirePartition[]>();
  for (const id of BROKERS) {
    const metadata = await relayed.cluster.metadata(id) as WireMetadata | null;
    for (const p of metadata?.topics?.find((t) => t.name === TOPIC)?.partitions ?? []) {
      if (p.leaderId === id) claims.set(p.partition, [...(claims.get(p.partition) ?? []), p]);
    }
  }
  const views = new Map<number, WirePartition>();
  for (const [partition, claimed] of claims) {
    const [only] = claimed;
    if (claimed.length === 1 && only !== undefined) views.set(partition, only);
  }
  return views;
}

/** Creates the topic and waits (boundedly) until every partition has one leader. */
async function createTopic(relayed: RelayedCluster): Promise<void> {
  const admin = new Admin({ bootstrap: relayed.bootstrap, requestTimeoutMs: 20_000 });
  await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  await admin.close();
  let views = new Map<number, WirePartition>();
  for (let i = 0; i < 120 && views.size < PARTITIONS; i += 1) {
    views = await leaderViews(relayed);
    if (views.size < PARTITIONS) await sleep(250);
  }
  assert.equal(views.size, PARTITIONS, 'every partition has one leader');
}

async function runSilentPartition(relayed: RelayedCluster, clientsCutOff: boolean): Promise<void> {
  const running = { producing: true };
  const pending = new Set<Promise<void>>();
  const producer = new Producer({ bootstrap: relayed.bootstrap, acks: 'all', idempotent: true, lingerMs: 2 });
  try {
    const ackTimes: number[][] = Array.from({ length: PARTITIONS }, () => []);
    const failures: string[] = [];
    let sent = 0;
    const producing$ = (async () => {
      while (running.producing) {
        for (let i = 0; i < RECORDS_PER_TICK; i += 1) {
          const partition = sent % PARTITIONS;
          const value = `v${sent}`;
          sent += 1;
          const send = producer.send({ topic: TOPIC, partition, value })
            .then(() => { ackTimes[partition]?.push(Date.now()); },
              (error: unknown) => { failures.push(`${value} (partition ${partition}): ${String(error)}`); })
            .finally(() => { pending.delete(send); });
          pending.add(send);
        }
        await sleep(TICK_MS);
      }
    })();

    await sleep(WARMUP_MS);
    const led = new Map<number, number>();
    for (const view of (await leaderViews(relayed)).values()) led.set(view.leaderId, (led.get(view.leaderId) ?? 0) + 1);
    const [oldLeader] = [...led.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
    assert(oldLeader !== undefined, 'some broker leads partitions');
    const peers = BROKERS.filter((id) => id !== oldLeader);
    const links = peers.flatMap((peer) => [relayed.relays.link(oldLeader, peer), relayed.relays.link(peer, oldLeader)]);
    const cutAt = Date.now();
    for (const link of links) link.silence();
    if (clientsCutOff) relayed.clientRelays.get(oldLeader)?.silence();
    await sleep(CUT_MS);
    const healedAt = Date.now();
    for (const link of links) link.heal();
    relayed.clientRelays.get(oldLeader)?.heal();

    // The old leader rejoins the in-sync set of every partition (it is a replica of all of them).
    let rejoinedAt: number | null = null;
    for (let i = 0; i < 200 && rejoinedAt === null; i += 1) {
      const now = await leaderViews(relayed);
      const back = now.size === PARTITIONS
        && [...now.values()].every((view) => view.isrIds?.includes(oldLeader) ?? false);
      if (back) rejoinedAt = Date.now();
      else await sleep(100);
    }
    const remaining = healedAt + AFTER_HEAL_MS - Date.now();
    if (remaining > 0) await sleep(remaining);
    running.producing = false;
    await producing$;
    const endAt = Date.now();
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([Promise.all([...pending]).then(() => true),
      new Promise<boolean>((resolve) => { drainTimer = setTimeout(() => { resolve(false); }, 60_000); })]);
    clearTimeout(drainTimer);
    assert(drained, `${pending.size} sends still pending 60 s after the end`);

    // The longest time each partition went without an acknowledgement, from before the cut to the end.
    const from = cutAt - 1_000;
    const stalls = ackTimes.map((times) => {
      let longest = 0;
      let previous = from;
      for (const at of times.filter((t) => t >= from && t <= endAt)) {
        longest = Math.max(longest, at - previous);
        previous = at;
      }
      return Math.max(longest, endAt - previous);
    });
    const variant = clientsCutOff ? 'clients cut off too' : 'clients reach it';
    console.log(`silent partition (${variant}): broker ${oldLeader} led ${led.get(oldLeader)} of ${PARTITIONS}; `
      + `${sent} sent, ${ackTimes.reduce((n, t) => n + t.length, 0)} acknowledged, ${failures.length} failed; `
      + `longest stall per partition (ms): ${stalls.join(', ')}; old leader back in sync `
      + `${rejoinedAt === null ? 'never' : `${rejoinedAt - healedAt} ms`} after the heal`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} sends failed`);
    for (const [partition, stall] of stalls.entries()) {
      assert(stall <= STALL_MAX_MS, `partition ${partition} acknowledged nothing for ${stall} ms`);
    }
    assert(rejoinedAt !== null && rejoinedAt - healedAt <= REJOIN_MAX_MS,
      `broker ${oldLeader} back in every in-sync set ${rejoinedAt === null ? 'never' : `${rejoinedAt - healedAt} ms`} after the heal`);
  } finally {
    running.producing = false;
    await producer.close();
  }
}

void describe('a leader cut off silently for 20 s under acks=all production', { concurrency: 1 }, () => {
  let relayed: RelayedCluster;
  before(async () => {
    relayed = await startRelayedCluster(BROKERS.length);
    await createTopic(relayed);
  });
  after(async () => {
    await relayed.stop();
  });

  void it('loses no send and stalls no partition over 5 s while clients still reach it', { timeout: 120_000 },
    async () => { await runSilentPartition(relayed, false); });
  // On the same cluster, healed: the broker leading the most partitions now is cut off.
  void it('loses no send and stalls no partition over 5 s when clients are cut off from it too', { timeout: 120_000 },
    async () => { await runSilentPartition(relayed, true); });
});
