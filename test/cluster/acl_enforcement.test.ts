/**
 * Enforcement on a real broker in this process (Broker.start: Raft host, ZeroMQ transport, segment
 * files, the controller), started with the authorizer on and User:admin a super user. The test
 * calls the broker's own wrapped handler table, as its listeners do, with request contexts of
 * different principals (what authentication will set; until then every connection is anonymous):
 * - without an ACL, User:alice's produce and fetch are answered TOPIC_AUTHORIZATION_FAILED per
 *   partition, Metadata leaves the topic out of a listing and answers a named topic the same
 *   whether it exists or not, the group APIs GROUP_AUTHORIZATION_FAILED, InitProducerId and the
 *   ACL APIs CLUSTER_AUTHORIZATION_FAILED; each denial is logged with principal, operation, resource;
 * - a PREFIXED ALLOW added through CreateAcls lets her produce and fetch on matching topics only,
 *   in the same request as a denied partition (answers stay in request order);
 * - DeleteAcls takes the ALLOW away: the next produce is denied, well under a second after the
 *   removal began (the reply comes once this broker applied it); the library's Producer, through
 *   the ZeroMQ listener, fails at once when refused and goes through once allowed;
 * - through the Kafka listener (kafkajs) a binding matches on the client's address;
 * - every other API checks the operation of docs/acls.md's table, and DescribeCluster none.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { pino } from 'pino';

import { Broker } from '../../src/broker/broker.js';
import { Producer } from '../../src/client/producer.js';
import { ERROR_TABLE, TributaryError } from '../../src/common/errors.js';
import type { HandlerResult, RequestContext } from '../../src/net/request_server.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import type { ApiKey } from '../../src/protocol/api_keys.js';
import { decodeRequestBody, encodeRequestBody } from '../../src/protocol/messages.js';
import type { RequestOf } from '../../src/protocol/messages.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { rawAcl } from '../../src/security/acl.js';
import type { AclBinding } from '../../src/security/acl.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { temporaryDirectory } from '../helpers/storage_fixture.js';

const TOPIC_DENIED = ERROR_TABLE.TOPIC_AUTHORIZATION_FAILED.wire;
const GROUP_DENIED = ERROR_TABLE.GROUP_AUTHORIZATION_FAILED.wire;
const CLUSTER_DENIED = ERROR_TABLE.CLUSTER_AUTHORIZATION_FAILED.wire;

function aliceAllows(operation: AclBinding['operation'], prefix: string): AclBinding {
  return { principal: 'User:alice', host: '*', operation, permission: 'ALLOW', resourceType: 'TOPIC',
    patternType: 'PREFIXED', resourceName: prefix };
}

type Call = <A extends ApiKey>(api: A, principal: string, body: RequestOf<A>, rawFrames?: readonly Buffer[]) =>
  Promise<HandlerResult<A>['response']>;

interface RunningBroker {
  readonly broker: Broker;
  readonly clientPort: number;
  readonly kafkaPort: number;
  /** The broker's log lines (JSON). */
  readonly lines: string[];
  /** Runs the broker's own (wrapped) handler for api with a context of principal, as a listener would. */
  readonly call: Call;
}

/** One voter alone, authorizing, User:admin a super user; a Kafka listener too. */
async function startAuthorizingBroker(dataDirectory: string): Promise<RunningBroker> {
  const [clientPort, raftPort, kafkaPort] = await freePorts(3);
  assert.ok(clientPort !== undefined && raftPort !== undefined && kafkaPort !== undefined);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => { lines.push(line); } });
  const broker = await Broker.start({ id: 1, dataDirectory,
    listen: { host: '127.0.0.1', port: clientPort }, raftListen: { host: '127.0.0.1', port: raftPort },
    kafkaListen: { host: '127.0.0.1', port: kafkaPort },
    voters: new Map([[1, { host: '127.0.0.1', port: raftPort }]]), logger,
    raftTiming: { tickMs: 20, electionTimeoutMs: 200, heartbeatIntervalMs: 40 },
    leaderRebalanceIntervalMs: 0, authorizer: true, superUsers: ['User:admin'] });
  assert.ok(await waitFor(() => broker.controller.metadata.broker(1)?.fenced === false, 15_000), 'registered');
  let correlationId = 0;
  const call: Call = async (api, principal, body, rawFrames = []) => {
    const handler = broker.requestHandlers[api];
    assert.ok(handler !== undefined, `a handler for api ${api}`);
    const context: RequestContext = { api, correlationId: ++correlationId, clientId: 'acl-test', rawFrames,
      peer: Buffer.from('peer'), principal, replyBytes: { available: () => 1 << 20, idle: () => true,
        reserve: () => undefined } };
    return (await handler(decodeRequestBody(api, encodeRequestBody(api, body)), context)).response;
  };
  return { broker, clientPort, kafkaPort, lines, call };
}

void describe('ACL enforcement on a real broker (in process)', () => {
  const root = temporaryDirectory('acl-enforcement');
  const brokers: Broker[] = [];
  after(async () => {
    for (const broker of brokers) await broker.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  void it('denies without an ACL, allows with a prefixed ALLOW, denies again once it is removed', async () => {
    const { broker: running, clientPort, lines, call } = await startAuthorizingBroker(path.join(root, 'b1'));
    brokers.push(running);
    const batch = (value: string): Buffer => encodeRecordBatch({ records: [{ key: null,
      value: Buffer.from(value), timestamp: Date.now() }] });
    const produce = async (principal: string, topics: readonly string[]): Promise<number[]> => {
      const response = await call(API_KEYS.PRODUCE, principal, { acks: -1, timeoutMs: 5_000,
        partitions: topics.map((topic, i) => ({ topic, partition: 0, rawFrameIndex: i })) },
      topics.map((topic) => batch(`to ${topic}`)));
      assert.deepEqual((response.partitions ?? []).map((p) => p.topic), topics, 'answers in request order');
      return (response.partitions ?? []).map((p) => p.errorCode ?? 0);
    };
    const fetchCode = async (principal: string, topic: string): Promise<number> => {
      const response = await call(API_KEYS.FETCH, principal, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
        partitions: [{ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }] });
      return response.partitions?.[0]?.errorCode ?? 0;
    };
    const listedTopics = async (principal: string): Promise<string[]> =>
      ((await call(API_KEYS.METADATA, principal, { allTopics: true })).topics ?? []).map((t) => t.name ?? '');

    // The super user creates two topics and waits for their leaders.
    const created = await call(API_KEYS.CREATE_TOPICS, 'User:admin', { timeoutMs: 10_000,
      topics: [{ name: 'orders.eu', numPartitions: 1, replicationFactor: 1 },
        { name: 'payments', numPartitions: 1, replicationFactor: 1 }] });
    assert.deepEqual((created.topics ?? []).map((t) => t.errorCode ?? 0), [0, 0]);
    assert.ok(await waitFor(() => ['orders.eu', 'payments'].every((t) =>
      running.replicas.partition(t, 0)?.replica.isLeader === true), 15_000), 'both partitions have a leader');
    assert.deepEqual(await produce('User:admin', ['orders.eu', 'payments']), [0, 0], 'a super user may produce');

    // No ACL: denied, and nothing leaks.
    assert.deepEqual(await produce('User:alice', ['orders.eu']), [TOPIC_DENIED]);
    assert.equal(await fetchCode('User:alice', 'orders.eu'), TOPIC_DENIED);
    assert.deepEqual(await listedTopics('User:alice'), []);
    assert.deepEqual((await listedTopics('User:admin')).sort(), ['orders.eu', 'payments']);
    const named = await call(API_KEYS.METADATA, 'User:alice', { topics: ['orders.eu', 'no-such-topic'] });
    assert.deepEqual((named.topics ?? []).map((t) => [t.name, t.errorCode, t.partitions?.length ?? 0]),
      [['orders.eu', TOPIC_DENIED, 0], ['no-such-topic', TOPIC_DENIED, 0]], 'existing or not, the same answer');
    const commit = await call(API_KEYS.OFFSET_COMMIT, 'User:alice', { groupId: 'billing', generationId: -1,
      partitions: [{ topic: 'orders.eu', partition: 0, committedOffset: 1, committedLeaderEpoch: -1 }] });
    assert.deepEqual((commit.partitions ?? []).map((p) => p.errorCode), [GROUP_DENIED]);
    assert.equal((await call(API_KEYS.JOIN_GROUP, 'User:alice', { groupId: 'billing', protocolType: 'consumer' }))
      .errorCode, GROUP_DENIED);
    assert.equal((await call(API_KEYS.INIT_PRODUCER_ID, 'User:alice', { producerId: -1, producerEpoch: -1 }))
      .errorCode, CLUSTER_DENIED);
    await assert.rejects(call(API_KEYS.CREATE_ACLS, 'User:alice', { creations: [rawAcl(aliceAllows('ALL', ''))] }),
      (error: unknown) => error instanceof TributaryError && error.code === 'CLUSTER_AUTHORIZATION_FAILED');
    const denials = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['msg'] === 'request denied by the ACLs');
    assert.ok(denials.some((line) => line['principal'] === 'User:alice' && line['operation'] === 'WRITE'
      && line['resourceType'] === 'TOPIC' && line['resourceName'] === 'orders.eu'), 'the produce denial is logged');

    // A prefixed ALLOW (through the API, as the super user) lets her through on orders.* only.
    const granted = await call(API_KEYS.CREATE_ACLS, 'User:admin', { timeoutMs: 10_000,
      creations: [rawAcl(aliceAllows('WRITE', 'orders.')), rawAcl(aliceAllows('READ', 'orders.'))] });
    assert.deepEqual((granted.results ?? []).map((r) => r.errorCode ?? 0), [0, 0]);
    assert.deepEqual(await produce('User:alice', ['orders.eu', 'payments', 'orders.eu']), [0, TOPIC_DENIED, 0]);
    assert.equal(await fetchCode('User:alice', 'orders.eu'), 0);
    assert.equal(await fetchCode('User:alice', 'payments'), TOPIC_DENIED);
    assert.deepEqual(await listedTopics('User:alice'), ['orders.eu'], 'WRITE and READ imply DESCRIBE');
    assert.equal((await call(API_KEYS.INIT_PRODUCER_ID, 'User:alice', { producerId: -1, producerEpoch: -1 }))
      .errorCode, 0, 'WRITE on a topic is enough for idempotence');

    // Removing the WRITE takes effect once this broker applied it: the reply says so.
    const startedMs = Date.now();
    const revoked = await call(API_KEYS.DELETE_ACLS, 'User:admin', { timeoutMs: 10_000,
      filters: [rawAcl({ principal: 'User:alice', operation: 'WRITE' })] });
    assert.deepEqual((revoked.filterResults ?? []).map((r) => [r.errorCode ?? 0, r.matchingAcls?.length]), [[0, 1]]);
    assert.deepEqual(await produce('User:alice', ['orders.eu']), [TOPIC_DENIED]);
    const tookMs = Date.now() - startedMs;
    assert.ok(tookMs < 1_000, `revoked in ${tookMs} ms`);
    process.stdout.write(`# DeleteAcls answered and the next produce denied ${tookMs} ms after the removal began\n`);
    assert.equal(await fetchCode('User:alice', 'orders.eu'), 0, 'the READ stays');
    const left = await call(API_KEYS.DESCRIBE_ACLS, 'User:admin', { filter: rawAcl({ principal: 'User:alice' }) });
    assert.deepEqual((left.acls ?? []).map((a) => a.operation), ['READ']);

    // Through the ZeroMQ listener with the library's Producer: the connection is User:ANONYMOUS.
    // Denied, the send fails at once with the typed error (no wait for its 30 s block time)...
    const producer = new Producer({ bootstrap: `127.0.0.1:${clientPort}`, idempotent: false, maxBlockMs: 30_000,
      logger: pino({ level: 'silent' }) });
    try {
      const sentMs = Date.now();
      await assert.rejects(producer.send({ topic: 'orders.eu', value: 'anonymous' }),
        (error: unknown) => error instanceof TributaryError && error.code === 'TOPIC_AUTHORIZATION_FAILED');
      assert.ok(Date.now() - sentMs < 2_000, `refused in ${Date.now() - sentMs} ms`);
      // ...and once User:* may write orders.*, the same connection's next send is stored.
      await call(API_KEYS.CREATE_ACLS, 'User:admin', { creations: [rawAcl({ ...aliceAllows('WRITE', 'orders.'),
        principal: 'User:*' })] });
      const sent = await producer.send({ topic: 'orders.eu', value: 'anonymous' });
      assert.equal(sent.partition, 0);
    } finally {
      await producer.close();
    }
  });

  void it('the Kafka listener matches bindings on the client\'s address (kafkajs, User:ANONYMOUS)', async () => {
    const { broker: running, kafkaPort, call } = await startAuthorizingBroker(path.join(root, 'b2'));
    brokers.push(running);
    const created = await call(API_KEYS.CREATE_TOPICS, 'User:admin', { timeoutMs: 10_000,
      topics: [{ name: 'k.orders', numPartitions: 1, replicationFactor: 1 }] });
    assert.equal(created.topics?.[0]?.errorCode ?? 0, 0);
    assert.ok(await waitFor(() => running.replicas.partition('k.orders', 0)?.replica.isLeader === true, 15_000));
    const anonymousWrite = (host: string): AclBinding => ({ principal: 'User:ANONYMOUS', host, operation: 'WRITE',
      permission: 'ALLOW', resourceType: 'TOPIC', patternType: 'PREFIXED', resourceName: 'k.' });
    await call(API_KEYS.CREATE_ACLS, 'User:admin', { creations: [rawAcl(anonymousWrite('10.9.9.9'))] });
    const kafka = new kafkajs.Kafka({ brokers: [`127.0.0.1:${kafkaPort}`], clientId: 'acl-test',
      logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // Another address's ALLOW does not apply to 127.0.0.1: kafkajs sees Kafka's code 29.
      await assert.rejects(producer.send({ topic: 'k.orders', acks: -1, messages: [{ value: 'denied' }] }),
        /Not authorized to access topics: \[Topic authorization failed\]/);
      await call(API_KEYS.CREATE_ACLS, 'User:admin', { creations: [rawAcl(anonymousWrite('127.0.0.1'))] });
      const sent = await producer.send({ topic: 'k.orders', acks: -1, messages: [{ value: 'allowed' }] });
      assert.equal(sent[0]?.errorCode, 0);
    } finally {
      await producer.disconnect();
    }
  });

  void it('every other API checks its operation: topics, groups, cluster admin', async () => {
    const { broker: running, call } = await startAuthorizingBroker(path.join(root, 'b3'));
    brokers.push(running);
    const alice = 'User:alice';
    const created = await call(API_KEYS.CREATE_TOPICS, 'User:admin', { timeoutMs: 10_000,
      topics: [{ name: 't', numPartitions: 1, replicationFactor: 1 }] });
    assert.equal(created.topics?.[0]?.errorCode ?? 0, 0);

    const topicCodes = [
      (await call(API_KEYS.LIST_OFFSETS, alice, { partitions: [{ topic: 't', partition: 0, timestamp: -1 }] }))
        .partitions?.[0]?.errorCode,
      (await call(API_KEYS.CREATE_TOPICS, alice, { topics: [{ name: 'mine', numPartitions: 1,
        replicationFactor: 1 }] })).topics?.[0]?.errorCode,
      (await call(API_KEYS.DELETE_TOPICS, alice, { topicNames: ['t'] })).topics?.[0]?.errorCode,
      (await call(API_KEYS.CREATE_PARTITIONS, alice, { topics: [{ name: 't', count: 2 }] })).topics?.[0]?.errorCode,
    ];
    assert.deepEqual(topicCodes, [TOPIC_DENIED, TOPIC_DENIED, TOPIC_DENIED, TOPIC_DENIED]);
    assert.equal(running.controller.metadata.topic('t')?.partitions.length, 1, 'nothing changed');
    assert.equal(running.controller.metadata.topic('mine'), undefined);

    const groupCodes = [
      (await call(API_KEYS.FIND_COORDINATOR, alice, { key: 'g' })).errorCode,
      (await call(API_KEYS.SYNC_GROUP, alice, { groupId: 'g', generationId: 1, memberId: 'm' })).errorCode,
      (await call(API_KEYS.HEARTBEAT, alice, { groupId: 'g', generationId: 1, memberId: 'm' })).errorCode,
      (await call(API_KEYS.LEAVE_GROUP, alice, { groupId: 'g', members: [{ memberId: 'm' }] })).errorCode,
      (await call(API_KEYS.OFFSET_FETCH, alice, { groupId: 'g' })).errorCode,
      (await call(API_KEYS.DESCRIBE_GROUPS, alice, { groupIds: ['g'] })).groups?.[0]?.errorCode,
      (await call(API_KEYS.DELETE_GROUPS, alice, { groupIds: ['g'] })).results?.[0]?.errorCode,
    ];
    assert.deepEqual(groupCodes, Array.from({ length: 7 }, () => GROUP_DENIED));
    assert.deepEqual((await call(API_KEYS.LIST_GROUPS, alice, {})).groups ?? [], []);

    // OffsetFetch: the group may be described, the topic not.
    await call(API_KEYS.CREATE_ACLS, 'User:admin', { creations: [rawAcl({ principal: alice, host: '*',
      operation: 'DESCRIBE', permission: 'ALLOW', resourceType: 'GROUP', patternType: 'LITERAL', resourceName: 'g' })] });
    const fetched = await call(API_KEYS.OFFSET_FETCH, alice, { groupId: 'g', partitions: [{ topic: 't', partition: 0 }] });
    assert.deepEqual((fetched.partitions ?? []).map((p) => [p.topic, p.errorCode]), [['t', TOPIC_DENIED]]);

    const clusterCalls: [string, () => Promise<unknown>][] = [
      ['ElectLeaders', () => call(API_KEYS.ELECT_LEADERS, alice, {})],
      ['AlterPartitionReassignments', () => call(API_KEYS.ALTER_PARTITION_REASSIGNMENTS, alice,
        { partitions: [{ topic: 't', partition: 0, replicas: [1] }] })],
      ['ListPartitionReassignments', () => call(API_KEYS.LIST_PARTITION_REASSIGNMENTS, alice, {})],
      ['DescribeQuorum', () => call(API_KEYS.DESCRIBE_QUORUM, alice, {})],
      ['AddRaftVoter', () => call(API_KEYS.ADD_RAFT_VOTER, alice, { brokerId: 2 })],
      ['RemoveRaftVoter', () => call(API_KEYS.REMOVE_RAFT_VOTER, alice, { brokerId: 1 })],
      ['DecommissionBroker', () => call(API_KEYS.DECOMMISSION_BROKER, alice, { brokerId: 1 })],
      ['DeleteAcls', () => call(API_KEYS.DELETE_ACLS, alice, { filters: [rawAcl({})] })],
      ['DescribeAcls', () => call(API_KEYS.DESCRIBE_ACLS, alice, {})],
    ];
    for (const [name, run] of clusterCalls) {
      await assert.rejects(run(), (error: unknown) => error instanceof TributaryError
        && error.code === 'CLUSTER_AUTHORIZATION_FAILED', name);
    }
    assert.equal((await call(API_KEYS.DESCRIBE_CLUSTER, alice, {})).controllerId, 1, 'DescribeCluster is open');
    assert.equal(running.controller.metadata.acls().length, 1, 'the ACLs are as they were');

    // DESCRIBE on the cluster opens the describing APIs only; CREATE on it lets her create any topic.
    await call(API_KEYS.CREATE_ACLS, 'User:admin', { creations: ['DESCRIBE', 'CREATE'].map((operation) => rawAcl({
      principal: alice, host: '*', operation: operation as AclBinding['operation'], permission: 'ALLOW',
      resourceType: 'CLUSTER', patternType: 'LITERAL', resourceName: 'kafka-cluster' })) });
    assert.equal((await call(API_KEYS.DESCRIBE_ACLS, alice, {})).acls?.length, 3);
    await call(API_KEYS.LIST_PARTITION_REASSIGNMENTS, alice, {});
    await assert.rejects(call(API_KEYS.ELECT_LEADERS, alice, {}), /CLUSTER|cluster/);
    const mine = await call(API_KEYS.CREATE_TOPICS, alice, { timeoutMs: 10_000, topics: [{ name: 'mine',
      numPartitions: 1, replicationFactor: 1 }] });
    assert.equal(mine.topics?.[0]?.errorCode ?? 0, 0);
  });
});
