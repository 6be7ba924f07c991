/**
 * Goal: clients move on from a dead broker within seconds (issue 20, item 1). Method: three real
 * brokers on 127.0.0.1, a 6-partition RF 3 topic; an idempotent acks=all producer sends about 100
 * records/s, round robin over the partitions, one at a time per partition (as an application
 * awaiting each send would); the broker leading the most partitions is SIGKILLed and stays down.
 * Every partition must acknowledge a send again within 10 s of the kill and no send may fail; a
 * consumer reading all partitions must read records of every partition produced after the kill
 * within 10 s of their acknowledgement. The longest gaps are printed (figures, not assertions).
 * `cluster status` then shows the dead broker as down.
 * Then a producer with a bootstrap where nothing listens fails within its documented bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { TributaryError } from '../../src/common/errors.js';
import { formatStatus } from '../../src/cli/commands/cluster.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'liveness';
const PARTITIONS = 6;
const RATE_PER_S = 100;
const RUN_AFTER_KILL_MS = 20_000;
const RESUME_BOUND_MS = 10_000;

describe('clients when a broker dies and stays down', () => {
  let cluster: TestCluster;
  let admin: Admin;
  /** The broker the first test kills; it stays down. */
  let victim: number | null = null;
  before(async () => {
    cluster = await TestCluster.start(3);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 10_000 });
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  async function leaderCounts(): Promise<Map<number, number>> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const described = await admin.describeTopic(TOPIC);
      const leaders = described.partitions.map((p) => p.leaderId ?? -1);
      if (leaders.every((id) => id > 0)) {
        const counts = new Map<number, number>();
        for (const id of leaders) counts.set(id, (counts.get(id) ?? 0) + 1);
        return counts;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('leaders were not elected');
  }

  it('a producer and a consumer keep going on the other brokers', { timeout: 120_000 }, async () => {
    const counts = await leaderCounts();
    victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 0 });
    const consumer = new Consumer({ bootstrap: cluster.bootstrap, autoOffsetReset: 'earliest', maxWaitMs: 100 });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
    const ackedAt = new Map<string, number>(); // value -> ack time
    const lastAck = new Array<number>(PARTITIONS).fill(0);
    const firstAckAfterKill = new Array<number>(PARTITIONS).fill(0);
    const failures: string[] = [];
    const run = { killedAtMs: 0, stopped: false, sent: false };
    const consumed = new Map<string, number>(); // value -> read time
    const unreadAck = (): boolean => [...ackedAt.keys()].some((value) => !consumed.has(value));
    // Reads until every send has settled and every acknowledged value is read (a send in flight
    // when the run stops may still be acknowledged after it).
    const reading = (async () => {
      while (!run.sent || unreadAck()) {
        for (const record of await consumer.poll({ timeoutMs: 200 })) {
          consumed.set(record.value?.toString() ?? '', Date.now());
        }
        if (run.stopped && Date.now() - run.killedAtMs > RUN_AFTER_KILL_MS + 30_000) break;
      }
    })();
    // One send in flight per partition, as an application awaiting each send.
    const partitionLoop = async (partition: number): Promise<void> => {
      for (let i = 0; !run.stopped; i++) {
        const value = `${partition}-${i}`;
        const started = Date.now();
        try {
          await producer.send({ topic: TOPIC, partition, value });
          const now = Date.now();
          ackedAt.set(value, now);
          lastAck[partition] = now;
          if (run.killedAtMs > 0 && firstAckAfterKill[partition] === 0 && started > run.killedAtMs) {
            firstAckAfterKill[partition] = now;
          }
        } catch (error) {
          failures.push(`${value}: ${error instanceof Error ? error.message : String(error)}`);
        }
        const pauseMs = Math.max(0, PARTITIONS * 1000 / RATE_PER_S - (Date.now() - started));
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };
    const sending = Array.from({ length: PARTITIONS }, (_, partition) => partitionLoop(partition));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    run.killedAtMs = Date.now();
    await cluster.kill(victim, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, RUN_AFTER_KILL_MS));
    run.stopped = true;
    await Promise.all(sending);
    run.sent = true;
    await reading;
    await producer.close();
    await consumer.close();
    const resumeMs = firstAckAfterKill.map((at) => (at === 0 ? Infinity : at - run.killedAtMs));
    const unread = [...ackedAt.keys()].filter((value) => !consumed.has(value));
    const readDelays = [...ackedAt].filter(([value]) => consumed.has(value))
      .map(([value, at]) => (consumed.get(value) ?? 0) - at);
    process.stdout.write(`# broker ${victim} (leading ${counts.get(victim)} of ${PARTITIONS}) killed; ` +
      `first ack after the kill per partition (ms): ${resumeMs.join(', ')}; ${ackedAt.size} acknowledged, ` +
      `longest ack-to-read delay ${Math.max(...readDelays)} ms\n`);
    assert.deepEqual(failures, [], 'no send fails');
    for (const [partition, ms] of resumeMs.entries()) {
      assert.ok(ms < RESUME_BOUND_MS, `partition ${partition} acknowledged again ${ms} ms after the kill`);
    }
    assert.deepEqual(unread, [], 'every acknowledged record is read');
    // cluster status lists the dead broker as down, not not at all.
    const described = await admin.describeCluster();
    assert.deepEqual(described.fencedBrokers.map((b) => b.id), [victim]);
    assert.equal(described.brokers.length, 2);
    assert.match(formatStatus({ ...described, controllerLearnerIds: null, topics: [] }), new RegExp(`\\t${victim}\\t[^\\n]*\\tDOWN \\(fenced\\)`));
  });

  it('a client whose bootstrap names the dead broker first asks the next at once', { timeout: 60_000 }, async () => {
    assert.ok(victim !== null, 'the first test killed a broker');
    const others = cluster.ids().filter((id) => id !== victim).map((id) => cluster.address(id));
    const deadFirst = new Admin({ bootstrap: [cluster.address(victim), ...others].join(','), requestTimeoutMs: 10_000 });
    try {
      const started = Date.now();
      assert.ok((await deadFirst.listTopics()).includes(TOPIC));
      const tookMs = Date.now() - started;
      process.stdout.write(`# topics listed in ${tookMs} ms with the dead broker first in the bootstrap\n`);
      // Waiting on the dead broker would take its 5 s metadata timeout.
      assert.ok(tookMs < 2_500, `listed after ${tookMs} ms`);
    } finally {
      await deadFirst.close();
    }
  });

  it('a producer whose bootstrap answers nothing fails within its bound', { timeout: 60_000 }, async () => {
    const producer = new Producer({ bootstrap: '127.0.0.1:1', acks: 'all', maxBlockMs: 5_000 });
    const started = Date.now();
    await assert.rejects(producer.send({ topic: TOPIC, value: 'x' }), (error: unknown) => error instanceof TributaryError);
    const tookMs = Date.now() - started;
    process.stdout.write(`# a send with nothing at the bootstrap failed after ${tookMs} ms (maxBlockMs 5000)\n`);
    assert.ok(tookMs < 10_000, `failed after ${tookMs} ms`);
    await producer.close();
  });
});
