/**
 * Wall-clock steps on real brokers (issue 19's clock faults): three brokers run with the jepsen
 * clock preload (jepsen/clock/skew_preload.ts) and one shared control file, and the test strobes
 * their wall clocks between real time and a step (every 60 ms for a few seconds, as the clock
 * nemesis's strobe does). Durations must not see it (they are measured on the monotonic clock):
 * - a forward step on the controller leader fences no broker (it took every other broker's last
 *   heartbeat as 30 s old), and DescribeQuorum keeps every voter live;
 * - a forward step on a group's coordinator expires no member whose heartbeats keep coming;
 * - a backward step during a Fetch long poll does not stretch the wait by the step (30 s);
 * - a broker restarted while its clock is 60 s behind its last start registers again (the
 *   controller refuses an incarnation older than the registered one).
 * The test process's own clock is never skewed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLOCK_FILE_ENVIRONMENT, skewPreloadArguments, writeClockOffset } from '../../jepsen/clock/clock_control.js';
import { Admin } from '../../src/client/index.js';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { TestCluster } from '../helpers/cluster.js';

const STEP_MS = 30_000;
const STROBE_PERIOD_MS = 60;
const STROBE_MS = 6_000;
const GROUP = 'clock-group';
const TOPIC = 'clock-fetch';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('wall-clock steps on real brokers', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let admin: Admin;
  let folder: string;
  let clockFile: string;
  const connections: Connection[] = [];

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-clock-steps-'));
    clockFile = path.join(folder, 'offset-ms');
    cluster = await TestCluster.startWith(3, { nodeArguments: skewPreloadArguments(),
      env: { [CLOCK_FILE_ENVIRONMENT]: clockFile },
      brokerArguments: ['--offsets-topic-partitions', '1', '--group-min-session-timeout-ms', '1000',
        '--group-initial-rebalance-delay-ms', '0'] });
    admin = new Admin({ bootstrap: cluster.bootstrap, clientId: 'clock-steps', requestTimeoutMs: 10_000 });
    await admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3 });
  });

  after(async () => {
    for (const connection of connections) await connection.close();
    await admin.close();
    await cluster.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  function connectionTo(id: number): Connection {
    const connection = new Connection({ address: cluster.address(id), clientId: 'clock-steps', requestTimeoutMs: 40_000 });
    connections.push(connection);
    return connection;
  }

  /** Runs `during` while every broker's clock flips between real time and real time + offsetMs. */
  async function strobed<T>(offsetMs: number, during: () => Promise<T>): Promise<T> {
    let skewed = false;
    const timer = setInterval(() => {
      skewed = !skewed;
      writeClockOffset(clockFile, skewed ? offsetMs : 0);
    }, STROBE_PERIOD_MS);
    try {
      return await during();
    } finally {
      clearInterval(timer);
      writeClockOffset(clockFile, 0);
    }
  }

  it('fences no broker and keeps every voter live while the controller leader\'s clock jumps ahead', async () => {
    const before = await admin.describeCluster();
    assert.deepEqual(before.fencedBrokers, [], 'no broker is fenced before the steps');
    const fenced = new Set<number>();
    const notLive = new Set<number>();
    await strobed(STEP_MS, async () => {
      const endMs = performance.now() + STROBE_MS;
      while (performance.now() < endMs) {
        for (const broker of (await admin.describeCluster()).fencedBrokers) fenced.add(broker.id);
        for (const voter of (await admin.describeQuorum()).voters) if (!voter.live) notLive.add(voter.id);
        await sleep(50);
      }
    });
    assert.deepEqual({ fenced: [...fenced], notLive: [...notLive] }, { fenced: [], notLive: [] },
      `brokers the controller leader (${String(before.controllerId)}) fenced, voters it called not live`);
  });

  it('expires no group member that heartbeats while its coordinator\'s clock jumps ahead', async () => {
    const found = await connectionTo(1).request(API_KEYS.FIND_COORDINATOR, { key: GROUP });
    // The offsets topic is created by the first FindCoordinator: ask again until it is there (bounded).
    let coordinator = found.response.errorCode === 0 ? found.response.nodeId : -1;
    for (let tries = 0; coordinator < 0 && tries < 100; tries += 1) {
      await sleep(200);
      const again = await connectionTo(1).request(API_KEYS.FIND_COORDINATOR, { key: GROUP });
      if (again.response.errorCode === 0) coordinator = again.response.nodeId;
    }
    assert.ok(coordinator > 0, 'the group has a coordinator');
    const connection = connectionTo(coordinator);
    const joinRequest = { groupId: GROUP, sessionTimeoutMs: 3_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('m') }] };
    const first = await connection.request(API_KEYS.JOIN_GROUP, { ...joinRequest, memberId: '' });
    assert.equal(first.response.errorCode, ERROR_TABLE.MEMBER_ID_REQUIRED.wire);
    const memberId = first.response.memberId;
    const joined = await connection.request(API_KEYS.JOIN_GROUP, { ...joinRequest, memberId });
    assert.equal(joined.response.errorCode, 0, 'the join with the member id completes the rebalance');
    const generationId = joined.response.generationId;
    const synced = await connection.request(API_KEYS.SYNC_GROUP, { groupId: GROUP, memberId, generationId,
      protocolType: 'consumer', assignments: [{ memberId, assignment: Buffer.from('all') }] });
    assert.equal(synced.response.errorCode, 0, 'the sync answers the assignment');
    const answers = await strobed(STEP_MS, async () => {
      const codes: number[] = [];
      const endMs = performance.now() + STROBE_MS;
      while (performance.now() < endMs) {
        codes.push((await connection.request(API_KEYS.HEARTBEAT, { groupId: GROUP, memberId, generationId }))
          .response.errorCode);
        await sleep(300);
      }
      return codes;
    });
    assert.ok(answers.length >= 10, `${answers.length} heartbeats`);
    assert.deepEqual(answers.filter((code) => code !== 0), [],
      `every heartbeat of member ${memberId} answered without error (${ERROR_TABLE.UNKNOWN_MEMBER_ID.wire}: ` +
      'UNKNOWN_MEMBER_ID, the session expired)');
  });

  it('answers a Fetch long poll after its wait, not the wait plus a backward step', async () => {
    const leader = (await admin.describeTopic(TOPIC)).partitions[0]?.leaderId ?? -1;
    assert.ok(leader > 0, 'the partition has a leader');
    const connection = connectionTo(leader);
    const waitsMs = await strobed(-STEP_MS, async () => {
      const took: number[] = [];
      const endMs = performance.now() + STROBE_MS;
      while (performance.now() < endMs) {
        const startMs = performance.now();
        // Nothing is ever written: each Fetch waits its maxWaitMs and answers empty.
        const { response } = await connection.request(API_KEYS.FETCH, { maxWaitMs: 500, minBytes: 1,
          maxBytes: 1 << 20, partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20,
            currentLeaderEpoch: -1 }] });
        assert.equal(response.partitions[0]?.errorCode, 0);
        took.push(Math.round(performance.now() - startMs));
      }
      return took;
    });
    assert.ok(waitsMs.every((ms) => ms < 3_000), `every 500 ms long poll answered within 3 s: ${waitsMs.join(', ')} ms`);
    assert.ok(waitsMs.length >= 5, `${waitsMs.length} fetches`);
  });

  it('lets a broker restarted on a clock 60 s behind register again (and stay unfenced)', async () => {
    const id = 2;
    await cluster.kill(id);
    // Every clock steps back (no strobe): broker 2's new start reads a time before its last start's.
    writeClockOffset(clockFile, -60_000);
    try {
      cluster.restart(id);
      const restartedMs = performance.now();
      // Past the 6 s session: a start the controller refused would be fenced by now, for good.
      let unfencedLate = false;
      let last = '';
      while (!unfencedLate && performance.now() - restartedMs < 30_000) {
        const described = await admin.describeCluster();
        const fenced = described.fencedBrokers.some((broker) => broker.id === id);
        last = `fenced ${described.fencedBrokers.map((broker) => broker.id).join(',') || 'none'}`;
        unfencedLate = !fenced && performance.now() - restartedMs > 8_000
          && described.brokers.some((broker) => broker.id === id);
        await sleep(250);
      }
      assert.ok(unfencedLate, `broker ${id} is registered and unfenced 8 s after its restart (last seen: ${last}; its log: ` +
        `${cluster.stderrOf(id).split('\n').filter((line) => line.includes('incarnation')).slice(-2).join(' | ')})`);
    } finally {
      writeClockOffset(clockFile, 0);
    }
  });
});
