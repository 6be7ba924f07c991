/**
 * The group coordinator against real brokers (issue 12, the broker side), driven by raw protocol
 * requests over Connection, as a consumer's member loop would send them:
 * - offsets committed outside group management are fetched back, per partition and all at once;
 * - members join (MEMBER_ID_REQUIRED, then the join with the id), the leader's SyncGroup carries the
 *   assignment and each follower gets its own; heartbeats; a leave rebalances the rest;
 * - a removed member's or a stale generation's commit changes nothing;
 * - bad input (an unknown group's heartbeat, a commit for a partition that does not exist, absurd
 *   session timeouts, a member id from another group) gets its typed error and changes nothing;
 * - DeleteGroups refuses a group with members and deletes an empty one with its offsets;
 * - a static member restarted (a join with its instance id and no member id) gets its assignment
 *   back with no rebalance, and its old incarnation is fenced (FENCED_INSTANCE_ID, commit refused);
 * - a broker holding no replica of the group's offsets partition still names its coordinator;
 * - the broker leading the group's offsets partition SIGKILLed: FindCoordinator names the new
 *   leader, every committed offset is there, and the group re-forms;
 * - retention deletes the prefix of an offsets partition (tiny segments in this file) and every
 *   broker is killed and restarted: the groups come back from the snapshots' store images.
 * One four-broker cluster (so some broker holds no replica of a partition) with a 3-partition
 * `__consumer_offsets` for the whole file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE } from '../../src/common/errors.js';
import type { ErrorCode } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import type { ApiKey } from '../../src/protocol/api_keys.js';
import type { DecodedResponseOf, RequestOf } from '../../src/protocol/messages.js';
import { groupPartition, OFFSETS_TOPIC } from '../../src/group/offsets_topic.js';
import { TestCluster } from '../helpers/cluster.js';
import { parseSegmentFileName, partitionDirectory } from '../../storage/paths.js';

const TOPIC = 'group-orders';
const SESSION_MS = 30_000;
const REBALANCE_MS = 15_000;
const RETRIABLE: readonly number[] = (['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'] as
  const).map((code) => ERROR_TABLE[code].wire);

function wire(code: ErrorCode): number {
  return ERROR_TABLE[code].wire;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('group coordinator against real brokers', () => {
  let cluster: TestCluster;
  const connections = new Map<number, Connection>();
  const alive = new Set<number>([1, 2, 3, 4]);

  before(async () => {
    cluster = await TestCluster.start(4, ['--offsets-topic-partitions', '3', '--group-min-session-timeout-ms', '1000',
      '--group-max-session-timeout-ms', '60000', '--group-initial-rebalance-delay-ms', '0',
      '--offsets-topic-segment-bytes', '2048', '--offsets-topic-retention-bytes', '4096', '--retention-check-ms', '300']);
    const created = await connectionTo(1).request(API_KEYS.CREATE_TOPICS, { topics: [{ name: TOPIC, numPartitions: 4,
      replicationFactor: 3 }] });
    assert.equal(created.response.topics[0]?.errorCode, 0);
  });
  after(async () => {
    for (const connection of connections.values()) await connection.close();
    await cluster.stop();
  });

  function connectionTo(id: number): Connection {
    let connection = connections.get(id);
    if (connection === undefined) {
      connection = new Connection({ address: cluster.address(id), clientId: `gc-test-${id}`, requestTimeoutMs: 40_000 });
      connections.set(id, connection);
    }
    return connection;
  }

  /** The coordinator of `group` as a live broker names it (bounded retries while it is being set up). */
  async function findCoordinator(group: string): Promise<number> {
    const deadline = Date.now() + 40_000;
    let last = '';
    while (Date.now() < deadline) {
      for (const id of alive) {
        try {
          const { response } = await connectionTo(id).request(API_KEYS.FIND_COORDINATOR, { key: group },
            [], { timeoutMs: 15_000 });
          if (response.errorCode === 0 && alive.has(response.nodeId)) return response.nodeId;
          last = `broker ${id}: ${response.errorCode} ${response.errorMessage} node ${response.nodeId}`;
        } catch (error) {
          last = String(error);
        }
      }
      await sleep(200);
    }
    throw new Error(`no coordinator for ${group}: ${last}`);
  }

  /** Sends a group request to the group's coordinator, finding it again while it moves (bounded). */
  async function call<A extends ApiKey>(group: string, api: A, request: RequestOf<A>,
    errorOf: (response: DecodedResponseOf<A>) => number): Promise<DecodedResponseOf<A>> {
    const deadline = Date.now() + 40_000;
    for (;;) {
      const coordinator = await findCoordinator(group);
      const { response } = await connectionTo(coordinator).request(api, request);
      if (!RETRIABLE.includes(errorOf(response)) || Date.now() > deadline) return response;
      await sleep(200);
    }
  }

  const commit = (group: string, request: Omit<RequestOf<typeof API_KEYS.OFFSET_COMMIT>, 'groupId'>) =>
    call(group, API_KEYS.OFFSET_COMMIT, { groupId: group, ...request }, (r) => r.partitions[0]?.errorCode ?? 0);
  const fetchOffsets = (group: string, partitions: { topic: string; partition: number }[] = []) =>
    call(group, API_KEYS.OFFSET_FETCH, { groupId: group, partitions }, (r) => r.errorCode);
  const join = (group: string, memberId: string, extra: Partial<RequestOf<typeof API_KEYS.JOIN_GROUP>> = {}) =>
    call(group, API_KEYS.JOIN_GROUP, { groupId: group, memberId, sessionTimeoutMs: SESSION_MS,
      rebalanceTimeoutMs: REBALANCE_MS, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from(`sub-${memberId}`) }], ...extra }, (r) => r.errorCode);
  const sync = (group: string, memberId: string, generationId: number, assignments: Record<string, string> = {}) =>
    call(group, API_KEYS.SYNC_GROUP, { groupId: group, memberId, generationId, protocolType: 'consumer',
      assignments: Object.entries(assignments).map(([id, text]) => ({ memberId: id, assignment: Buffer.from(text) })) },
    (r) => r.errorCode);
  const heartbeat = (group: string, memberId: string, generationId: number) =>
    call(group, API_KEYS.HEARTBEAT, { groupId: group, memberId, generationId }, (r) => r.errorCode);
  const describeGroup = async (group: string) => {
    const response = await call(group, API_KEYS.DESCRIBE_GROUPS, { groupIds: [group] },
      (r) => r.groups[0]?.errorCode ?? 0);
    const described = response.groups[0];
    assert.ok(described !== undefined);
    return described;
  };

  function offsetsOf(response: DecodedResponseOf<typeof API_KEYS.OFFSET_FETCH>): Record<string, number> {
    return Object.fromEntries(response.partitions.map((p) => [`${p.topic}/${p.partition}`, p.committedOffset]));
  }

  /** Two members formed into a group: ids, generation, and the leader's id. */
  async function formGroup(group: string): Promise<{ leader: string; follower: string; generation: number }> {
    const first = await Promise.all(['a', 'b'].map((client) => join(group, '', { protocols: [{ name: 'range',
      metadata: Buffer.from(client) }] })));
    for (const answer of first) assert.equal(answer.errorCode, wire('MEMBER_ID_REQUIRED'));
    const ids = first.map((answer) => answer.memberId);
    assert.ok(ids.every((id) => id.length > 0) && ids[0] !== ids[1]);
    const joined = await Promise.all(ids.map((id) => join(group, id)));
    for (const answer of joined) assert.equal(answer.errorCode, 0);
    const generation = joined[0]?.generationId ?? -1;
    assert.ok(generation >= 1);
    assert.deepEqual(joined.map((answer) => answer.generationId), [generation, generation]);
    const leaderAnswer = joined.find((answer) => answer.memberId === answer.leader);
    const followerAnswer = joined.find((answer) => answer.memberId !== answer.leader);
    assert.ok(leaderAnswer !== undefined && followerAnswer !== undefined);
    assert.deepEqual(leaderAnswer.members.map((m) => m.memberId).sort(), [...ids].sort());
    assert.deepEqual(followerAnswer.members, []);
    const leader = leaderAnswer.memberId;
    const follower = followerAnswer.memberId;
    const [followerSync, leaderSync] = await Promise.all([sync(group, follower, generation),
      sync(group, leader, generation, { [leader]: 'partitions 0,1', [follower]: 'partitions 2,3' })]);
    assert.equal(leaderSync.errorCode, 0);
    assert.equal(Buffer.from(leaderSync.assignment).toString(), 'partitions 0,1');
    assert.equal(followerSync.errorCode, 0);
    assert.equal(Buffer.from(followerSync.assignment).toString(), 'partitions 2,3');
    return { leader, follower, generation };
  }

  it('commits offsets outside group management and fetches them back', { timeout: 120_000 }, async () => {
    const group = 'manual-consumers';
    const response = await commit(group, { generationId: -1, memberId: '', partitions: [0, 1, 2, 3].map((p) => ({
      topic: TOPIC, partition: p, committedOffset: 10 * (p + 1), committedLeaderEpoch: -1, metadata: `m${p}` })) });
    assert.deepEqual(response.partitions.map((p) => p.errorCode), [0, 0, 0, 0]);
    const all = await fetchOffsets(group);
    assert.equal(all.errorCode, 0);
    assert.deepEqual(offsetsOf(all), { [`${TOPIC}/0`]: 10, [`${TOPIC}/1`]: 20, [`${TOPIC}/2`]: 30, [`${TOPIC}/3`]: 40 });
    assert.deepEqual(all.partitions.map((p) => p.metadata), ['m0', 'm1', 'm2', 'm3']);
    const some = await fetchOffsets(group, [{ topic: TOPIC, partition: 2 }, { topic: 'never-committed', partition: 0 }]);
    assert.deepEqual(offsetsOf(some), { [`${TOPIC}/2`]: 30, 'never-committed/0': -1 });
  });

  it('bad input gets its typed error and changes nothing', { timeout: 120_000 }, async () => {
    const group = 'manual-consumers';
    const mixed = await commit(group, { generationId: -1, memberId: '', partitions: [
      { topic: TOPIC, partition: 0, committedOffset: 11, committedLeaderEpoch: -1 },
      { topic: TOPIC, partition: 99, committedOffset: 5, committedLeaderEpoch: -1 },
      { topic: 'no-such-topic', partition: 0, committedOffset: 5, committedLeaderEpoch: -1 },
      { topic: TOPIC, partition: 1, committedOffset: -7, committedLeaderEpoch: -1 },
      { topic: TOPIC, partition: 2, committedOffset: 1, committedLeaderEpoch: -1, metadata: 'x'.repeat(5000) },
      { topic: TOPIC, partition: 3, committedOffset: 1, committedLeaderEpoch: 2 ** 62 },
    ] });
    assert.deepEqual(mixed.partitions.map((p) => p.errorCode), [0, wire('UNKNOWN_TOPIC_OR_PARTITION'),
      wire('UNKNOWN_TOPIC_OR_PARTITION'), wire('INVALID_REQUEST'), wire('OFFSET_METADATA_TOO_LARGE'),
      wire('INVALID_REQUEST')]);
    assert.deepEqual(offsetsOf(await fetchOffsets(group)), { [`${TOPIC}/0`]: 11, [`${TOPIC}/1`]: 20,
      [`${TOPIC}/2`]: 30, [`${TOPIC}/3`]: 40 }, 'only the valid partition moved');

    assert.equal((await heartbeat('never-joined', 'someone', 1)).errorCode, wire('UNKNOWN_MEMBER_ID'));
    for (const sessionTimeoutMs of [10, 999, 60_001, 2 ** 32 - 1]) {
      assert.equal((await join('absurd-timeouts', '', { sessionTimeoutMs })).errorCode, wire('INVALID_SESSION_TIMEOUT'));
    }
    assert.equal((await describeGroup('absurd-timeouts')).groupState, 'Dead', 'no group was made');
    assert.equal((await join('no-protocols', '', { protocols: [] })).errorCode, wire('INCONSISTENT_GROUP_PROTOCOL'));
    const noId = await connectionTo(1).request(API_KEYS.JOIN_GROUP, { groupId: '', memberId: '',
      sessionTimeoutMs: SESSION_MS, protocolType: 'consumer', protocols: [{ name: 'range' }] });
    assert.equal(noId.response.errorCode, wire('INVALID_GROUP_ID'));
    const noKey = await connectionTo(1).request(API_KEYS.FIND_COORDINATOR, { key: '' });
    assert.equal(noKey.response.errorCode, wire('INVALID_GROUP_ID'));
  });

  it('members join, sync, heartbeat and leave; stale members change nothing', { timeout: 180_000 }, async () => {
    const group = 'raw-members';
    const { leader, follower, generation } = await formGroup(group);
    assert.equal((await heartbeat(group, leader, generation)).errorCode, 0);
    assert.equal((await heartbeat(group, follower, generation)).errorCode, 0);
    const described = await describeGroup(group);
    assert.equal(described.groupState, 'Stable');
    assert.equal(described.protocolName, 'range');
    assert.deepEqual(described.members.map((m) => Buffer.from(m.memberAssignment).toString()).sort(),
      ['partitions 0,1', 'partitions 2,3']);
    const coordinator = await findCoordinator(group);
    const listed = await connectionTo(coordinator).request(API_KEYS.LIST_GROUPS, {});
    assert.ok(listed.response.groups.some((g) => g.groupId === group && g.groupState === 'Stable'));

    const committed = await commit(group, { generationId: generation, memberId: follower, partitions: [
      { topic: TOPIC, partition: 2, committedOffset: 200, committedLeaderEpoch: -1 },
      { topic: TOPIC, partition: 3, committedOffset: 300, committedLeaderEpoch: -1 }] });
    assert.deepEqual(committed.partitions.map((p) => p.errorCode), [0, 0]);

    // A member id of another group is unknown here, and so is this group's to the other.
    assert.equal((await join('manual-consumers', follower)).errorCode, wire('UNKNOWN_MEMBER_ID'));
    assert.equal((await heartbeat('manual-consumers', follower, generation)).errorCode, wire('UNKNOWN_MEMBER_ID'));

    // The follower leaves: the leader is told to rejoin and the group re-forms without it.
    const left = await call(group, API_KEYS.LEAVE_GROUP, { groupId: group, members: [{ memberId: follower }] },
      (r) => r.errorCode);
    assert.deepEqual(left.members.map((m) => m.errorCode), [0]);
    assert.equal((await heartbeat(group, leader, generation)).errorCode, wire('REBALANCE_IN_PROGRESS'));
    const rejoined = await join(group, leader);
    assert.equal(rejoined.errorCode, 0);
    assert.equal(rejoined.generationId, generation + 1);
    assert.deepEqual(rejoined.members.map((m) => m.memberId), [leader]);
    const synced = await sync(group, leader, generation + 1, { [leader]: 'everything' });
    assert.equal(Buffer.from(synced.assignment).toString(), 'everything');

    // The departed member and the old generation are fenced: their commits write nothing.
    const stale = await commit(group, { generationId: generation, memberId: follower, partitions: [
      { topic: TOPIC, partition: 2, committedOffset: 999, committedLeaderEpoch: -1 }] });
    assert.deepEqual(stale.partitions.map((p) => p.errorCode), [wire('UNKNOWN_MEMBER_ID')]);
    const oldGeneration = await commit(group, { generationId: generation, memberId: leader, partitions: [
      { topic: TOPIC, partition: 3, committedOffset: 999, committedLeaderEpoch: -1 }] });
    assert.deepEqual(oldGeneration.partitions.map((p) => p.errorCode), [wire('ILLEGAL_GENERATION')]);
    assert.deepEqual(offsetsOf(await fetchOffsets(group)), { [`${TOPIC}/2`]: 200, [`${TOPIC}/3`]: 300 });
  });

  it('a restarted static member gets its assignment back with no rebalance; the old one is fenced',
    { timeout: 180_000 }, async () => {
      const group = 'static-members';
      const first = await join(group, '', { groupInstanceId: 'ia' });
      assert.equal(first.errorCode, 0, 'a static member gets its id at once');
      const ia = first.memberId;
      assert.equal(first.leader, ia);
      assert.equal((await sync(group, ia, first.generationId, { [ia]: 'all' })).errorCode, 0);
      const ibJoin = join(group, '', { groupInstanceId: 'ib' });
      await sleep(200);
      assert.equal((await heartbeat(group, ia, first.generationId)).errorCode, wire('REBALANCE_IN_PROGRESS'));
      const [iaAgain, ibFirst] = await Promise.all([join(group, ia, { groupInstanceId: 'ia' }), ibJoin]);
      const generation = iaAgain.generationId;
      assert.deepEqual([iaAgain.errorCode, ibFirst.errorCode, ibFirst.generationId], [0, 0, generation]);
      const ib = ibFirst.memberId;
      const [, ibSync] = await Promise.all([
        call(group, API_KEYS.SYNC_GROUP, { groupId: group, memberId: ia, groupInstanceId: 'ia', generationId: generation,
          assignments: [{ memberId: ia, assignment: Buffer.from('A') }, { memberId: ib, assignment: Buffer.from('B') }] },
        (r) => r.errorCode),
        call(group, API_KEYS.SYNC_GROUP, { groupId: group, memberId: ib, groupInstanceId: 'ib', generationId: generation },
          (r) => r.errorCode)]);
      assert.equal(Buffer.from(ibSync.assignment).toString(), 'B');

      // ib restarts: it joins with its instance id and no member id.
      const restarted = await join(group, '', { groupInstanceId: 'ib' });
      assert.equal(restarted.errorCode, 0);
      assert.notEqual(restarted.memberId, ib);
      assert.equal(restarted.generationId, generation, 'no rebalance');
      const again = await call(group, API_KEYS.SYNC_GROUP, { groupId: group, memberId: restarted.memberId,
        groupInstanceId: 'ib', generationId: generation }, (r) => r.errorCode);
      assert.equal(Buffer.from(again.assignment).toString(), 'B');
      assert.equal((await call(group, API_KEYS.HEARTBEAT, { groupId: group, memberId: ia, groupInstanceId: 'ia',
        generationId: generation }, (r) => r.errorCode)).errorCode, 0, 'the other member saw no rebalance');
      const fenced = await call(group, API_KEYS.HEARTBEAT, { groupId: group, memberId: ib, groupInstanceId: 'ib',
        generationId: generation }, (r) => r.errorCode);
      assert.equal(fenced.errorCode, wire('FENCED_INSTANCE_ID'));
      const fencedCommit = await commit(group, { generationId: generation, memberId: ib, groupInstanceId: 'ib',
        partitions: [{ topic: TOPIC, partition: 0, committedOffset: 5, committedLeaderEpoch: -1 }] });
      assert.deepEqual(fencedCommit.partitions.map((p) => p.errorCode), [wire('FENCED_INSTANCE_ID')]);
      assert.deepEqual(offsetsOf(await fetchOffsets(group)), {}, 'the fenced commit wrote nothing');
      assert.equal((await describeGroup(group)).groupState, 'Stable');
    });

  it('a broker with no replica of the group\'s offsets partition names its coordinator', { timeout: 120_000 },
    async () => {
      const group = 'asked-anywhere';
      const coordinator = await findCoordinator(group);
      const metadata = await connectionTo(coordinator).request(API_KEYS.METADATA, { topics: [OFFSETS_TOPIC] });
      const partitions = metadata.response.topics[0]?.partitions ?? [];
      assert.equal(partitions.length, 3);
      const replicas = partitions[groupPartition(group, partitions.length)]?.replicaIds ?? [];
      assert.equal(replicas.length, 3);
      const outsider = [1, 2, 3, 4].find((id) => !replicas.includes(id));
      assert.ok(outsider !== undefined);
      const { response } = await connectionTo(outsider).request(API_KEYS.FIND_COORDINATOR, { key: group });
      assert.deepEqual([response.errorCode, response.nodeId], [0, coordinator]);
    });

  it('deletes only groups without members, with their offsets', { timeout: 120_000 }, async () => {
    const refused = await call('raw-members', API_KEYS.DELETE_GROUPS, { groupIds: ['raw-members'] },
      (r) => r.results[0]?.errorCode ?? 0);
    assert.equal(refused.results[0]?.errorCode, wire('NON_EMPTY_GROUP'));
    const deleteManual = () => call('manual-consumers', API_KEYS.DELETE_GROUPS, { groupIds: ['manual-consumers'] },
      (r) => r.results[0]?.errorCode ?? 0);
    assert.equal((await deleteManual()).results[0]?.errorCode, 0);
    assert.deepEqual(offsetsOf(await fetchOffsets('manual-consumers')), {});
    assert.equal((await deleteManual()).results[0]?.errorCode, wire('GROUP_ID_NOT_FOUND'));
  });

  it('the coordinator SIGKILLed: the new one has every offset and the group re-forms', { timeout: 240_000 },
    async () => {
      const group = 'survives-failover';
      const { leader, follower, generation } = await formGroup(group);
      const partitions = [0, 1, 2, 3].map((p) => ({ topic: TOPIC, partition: p, committedOffset: 1000 + p,
        committedLeaderEpoch: -1, metadata: `before-kill-${p}` }));
      assert.deepEqual((await commit(group, { generationId: generation, memberId: leader, partitions }))
        .partitions.map((p) => p.errorCode), [0, 0, 0, 0]);
      const old = await findCoordinator(group);
      await connections.get(old)?.close();
      connections.delete(old);
      alive.delete(old);
      await cluster.kill(old);
      const next = await findCoordinator(group);
      assert.notEqual(next, old);
      const fetched = await fetchOffsets(group);
      assert.equal(fetched.errorCode, 0);
      assert.deepEqual(fetched.partitions.map((p) => [p.partition, p.committedOffset, p.metadata]),
        [0, 1, 2, 3].map((p) => [p, 1000 + p, `before-kill-${p}`]));
      // The completed generation was loaded: the follower's heartbeat is accepted as it was.
      assert.equal((await heartbeat(group, follower, generation)).errorCode, 0);
      const described = await describeGroup(group);
      assert.equal(described.groupState, 'Stable');
      assert.equal(described.generationId, generation);
      // The leader rejoins (as a restarted member loop would), the group rebalances and re-forms.
      const rejoins = await Promise.all([join(group, leader), join(group, follower)]);
      assert.deepEqual(rejoins.map((r) => [r.errorCode, r.generationId]), [[0, generation + 1], [0, generation + 1]]);
      const [leaderSync, followerSync] = await Promise.all([
        sync(group, leader, generation + 1, { [leader]: 'again 0,1', [follower]: 'again 2,3' }),
        sync(group, follower, generation + 1)]);
      assert.equal(Buffer.from(leaderSync.assignment).toString(), 'again 0,1');
      assert.equal(Buffer.from(followerSync.assignment).toString(), 'again 2,3');
      cluster.restart(old);
      alive.add(old);
    });

  it('retention deletes an offsets partition\'s prefix; after a full restart every offset is back',
    { timeout: 240_000 }, async () => {
      const group = 'compacted';
      const partition = groupPartition(group, 3);
      /** Base indexes of the segment files of each broker's replica of the group's offsets partition. */
      const segments = (): Map<number, number[]> => new Map([1, 2, 3, 4].flatMap((id) => {
        const directory = partitionDirectory(cluster.dataDirectory(id), `${OFFSETS_TOPIC}-${partition}`);
        if (!fs.existsSync(directory)) return [];
        const bases = fs.readdirSync(directory).map(parseSegmentFileName).filter((base) => base !== null);
        return [[id, bases.sort((a, b) => a - b)]];
      }));
      const first = await commit(group, { generationId: -1, memberId: '', partitions: [1, 2, 3].map((p) => ({
        topic: TOPIC, partition: p, committedOffset: 500 + p, committedLeaderEpoch: -1, metadata: `kept-${p}` })) });
      assert.deepEqual(first.partitions.map((p) => p.errorCode), [0, 0, 0]);
      // The segment each replica writes the first commit to is its newest one now (or a later one).
      const holding = new Map([...segments()].map(([id, bases]) => [id, bases.at(-1) ?? 0]));
      assert.equal(holding.size, 3);
      for (let i = 1; i <= 150; i++) {
        const next = await commit(group, { generationId: -1, memberId: '', partitions: [
          { topic: TOPIC, partition: 0, committedOffset: i, committedLeaderEpoch: -1 }] });
        assert.equal(next.partitions[0]?.errorCode, 0);
      }
      // Retention deletes, on every replica, the segment that held the first commit.
      const deleted = (): boolean => [...segments()].every(([id, bases]) => (bases[0] ?? 0) > (holding.get(id) ?? 0));
      const deadline = Date.now() + 30_000;
      while (!deleted() && Date.now() < deadline) await sleep(200);
      assert.ok(deleted(), `retention left ${JSON.stringify([...segments()])}, first commit in ${JSON.stringify([...holding])}`);

      for (const connection of connections.values()) await connection.close();
      connections.clear();
      for (const id of [1, 2, 3, 4]) await cluster.kill(id);
      for (const id of [1, 2, 3, 4]) cluster.restart(id);
      await cluster.waitUntilRegistered(30_000);
      const fetched = await fetchOffsets(group);
      assert.equal(fetched.errorCode, 0);
      assert.deepEqual(fetched.partitions.map((p) => [p.partition, p.committedOffset, p.metadata]),
        [[0, 150, ''], [1, 501, 'kept-1'], [2, 502, 'kept-2'], [3, 503, 'kept-3']]);
      assert.deepEqual(offsetsOf(await fetchOffsets('raw-members')), { [`${TOPIC}/2`]: 200, [`${TOPIC}/3`]: 300 });
    });
});
