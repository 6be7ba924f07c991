/**
 * Prometheus metrics of three real brokers, each started with `--metrics-listen` on a port of its
 * own: after records are produced (acks=all) and consumed, the records-in counters of the topic,
 * summed over the brokers (each counts what its leader replicas stored), equal what was produced;
 * the records sent to the consumer add up at least to what it read; exactly one broker reports
 * itself leader of the controller group; no partition is under-replicated; and once a broker is
 * SIGKILLed, the survivors report under-replicated partitions within seconds (the controller
 * fences the silent broker, which takes it out of every in-sync set, as in Metadata), back to 0
 * on every broker once it is restarted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { freePorts } from '../../src/cli/free_ports.js';
import type { BrokerSlot } from '../../src/cli/local_cluster.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'metered';
const PARTITIONS = 3;
const RECORDS = 3_000;
/** Records produced after the group committed its positions: its lag. */
const LAGGING = 25;
const GROUP = 'metered-readers';

/** Every sample of `name` whose labels include `labels`, summed; 0 when there is none. */
function sum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) total += Number(match[3]);
  }
  return total;
}

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200);
  return response.text();
}

/** Polls until `check` holds for the scrapes, or fails with the last figures after timeoutMs. */
async function eventually(ports: readonly number[], check: (texts: string[]) => boolean, what: string,
  timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A broker starting up does not answer yet: that is "not yet", not a failure.
    const answers = await Promise.all(ports.map((port) => scrape(port).catch(() => null)));
    const texts = answers.filter((t): t is string => t !== null);
    if (texts.length === ports.length && check(texts)) return texts;
    if (Date.now() > deadline) {
      const figures = answers.map((t) => (t === null ? 'no answer' : ['under_replicated', 'offline']
        .map((n) => sum(t, `tributary_${n}_partitions`)).join('/'))).join(', ');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (under-replicated/offline per broker: ${figures})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('metrics of a three-broker cluster', () => {
  let cluster: TestCluster;
  let admin: Admin;
  let metricsPorts: number[];
  const portOf = (id: number): number => {
    const port = metricsPorts[id - 1];
    assert.ok(port !== undefined);
    return port;
  };

  before(async () => {
    metricsPorts = await freePorts(3);
    const voters = (all: readonly BrokerSlot[]): string => all.map((s) => `${s.id}@127.0.0.1:${s.raftPort}`).join(',');
    cluster = await TestCluster.startWith(3, { brokerSetup: (slot, all) => ({ arguments: ['--id', String(slot.id),
      '--data', slot.dataDirectory, '--listen', `127.0.0.1:${slot.port}`, '--raft-listen', `127.0.0.1:${slot.raftPort}`,
      '--voters', voters(all), '--metrics-listen', `127.0.0.1:${portOf(slot.id)}`] }) });
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.connect();
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  it('counts what was produced and consumed; a killed broker\'s partitions are under-replicated until it returns',
    { timeout: 60_000 }, async () => {
      const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 2, requestTimeoutMs: 10_000 });
      await producer.connect();
      const produce = async (from: number, count: number): Promise<void> => {
        const sends: Promise<unknown>[] = [];
        for (let i = from; i < from + count; i += 1) {
          sends.push(producer.send({ topic: TOPIC, key: `key-${i}`, value: `v-${i}` }));
        }
        await Promise.all(sends);
      };
      await produce(0, RECORDS);

      const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200, groupId: GROUP,
        autoCommit: false });
      await consumer.connect();
      consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
      for (let partition = 0; partition < PARTITIONS; partition += 1) {
        consumer.seek({ topic: TOPIC, partition }, 'beginning');
      }
      let consumed = 0;
      const readDeadline = Date.now() + 20_000;
      while (consumed < RECORDS && Date.now() < readDeadline) {
        consumed += (await consumer.poll({ timeoutMs: 500 })).length;
      }
      assert.equal(consumed, RECORDS);
      await consumer.commitSync();
      await consumer.close();
      await produce(RECORDS, LAGGING);
      await producer.close();

      const ids = cluster.ids();
      const ports = ids.map(portOf);
      // Followers may be an entry behind right after the last produce: settled within a few seconds.
      // The group's lag shows on its coordinator once its replicas' high watermarks have moved; the
      // offsets topic the group made has just been created: its replicas may not know a leader yet.
      const lagOf = (all: string[]): number => all.reduce((total, t) => total + sum(t, 'tributary_consumer_group_lag',
        { group: GROUP, topic: TOPIC }), 0);
      const settled = (t: string): boolean => sum(t, 'tributary_under_replicated_partitions') === 0
        && sum(t, 'tributary_offline_partitions') === 0;
      const texts = await eventually(ports, (all) => all.every(settled) && lagOf(all) === LAGGING,
        `no under-replicated or offline partition and a lag of ${LAGGING}`, 10_000);
      const coordinators = texts.filter((t) => sum(t, 'tributary_consumer_group_lag', { group: GROUP }) > 0);
      assert.equal(coordinators.length, 1, 'one broker coordinates the group');
      const recordsIn = texts.map((t) => sum(t, 'tributary_records_in_total', { topic: TOPIC }));
      assert.equal(recordsIn.reduce((a, b) => a + b, 0), RECORDS + LAGGING,
        `records in per broker: ${recordsIn.join(', ')}`);
      const recordsOut = texts.reduce((total, t) => total + sum(t, 'tributary_records_out_total', { topic: TOPIC }), 0);
      assert.ok(recordsOut >= RECORDS, `records out ${recordsOut}`);
      assert.ok(texts.reduce((total, t) => total + sum(t, 'tributary_bytes_in_total', { topic: TOPIC }), 0)
        > RECORDS * 'v-0'.length);
      const controllerLeaders = texts.map((t) => sum(t, 'tributary_raft_role', { topic: '__controller', role: 'leader' }));
      assert.equal(controllerLeaders.filter((v) => v === 1).length, 1,
        `controller leader flags per broker: ${controllerLeaders.join(', ')}`);
      const topicLeaders = texts.reduce((total, t) => total + sum(t, 'tributary_raft_role', { topic: TOPIC, role: 'leader' }),
        0);
      assert.equal(topicLeaders, PARTITIONS, 'one leader per partition over the brokers');
      for (const t of texts) {
        assert.equal(sum(t, 'tributary_offline_partitions'), 0);
        assert.ok(sum(t, 'tributary_log_segments', { topic: TOPIC }) >= PARTITIONS, 'a replica of each partition');
        assert.ok(sum(t, 'tributary_requests_total', { api: 'METADATA', error: 'NONE' }) > 0);
        assert.ok(sum(t, 'tributary_fsync_latency_seconds_count') > 0);
        assert.ok(t.includes('nodejs_eventloop_lag_seconds'));
      }
      assert.ok(texts.reduce((total, t) => total + sum(t, 'tributary_requests_total', { api: 'PRODUCE', error: 'NONE' }),
        0) > 0);

      const victim = ids[ids.length - 1]!;
      await cluster.kill(victim, 'SIGKILL');
      const survivors = ids.filter((id) => id !== victim).map(portOf);
      const startedMs = Date.now();
      await eventually(survivors, (all) => all.reduce((total, t) => total + sum(t, 'tributary_under_replicated_partitions'),
        0) > 0, 'under-replicated partitions after the kill', 15_000);
      assert.ok(Date.now() - startedMs < 15_000);
      // Every partition has a replica on each broker, so once the victim is fenced every partition a
      // survivor leads is under-replicated: idle ones too, whose dead follower still holds every
      // committed entry (only fencing takes it out of the in-sync set).
      await eventually(survivors, (all) => all.every((t) => sum(t, 'tributary_leader_partitions') > 0
        && sum(t, 'tributary_under_replicated_partitions') === sum(t, 'tributary_leader_partitions')),
      'every partition led by a survivor under-replicated once the victim is fenced', 15_000);

      // Back: unfenced, caught up, in sync again everywhere.
      cluster.restart(victim);
      await eventually(ports, (all) => all.every((t) => sum(t, 'tributary_under_replicated_partitions') === 0
        && sum(t, 'tributary_offline_partitions') === 0), 'no under-replicated partition after the restart', 20_000);
    });
});
