/**
 * Bad input against a real three-broker cluster: garbage frames, a truncated protobuf body, an
 * unknown API, an oversized batch, a corrupt batch, an unknown topic and a negative offset each get
 * a typed error (or, for frames that carry no correlation id, are dropped), and the brokers keep
 * serving throughout. Internal (`__`) names, one of which is the controller's own log, can be neither
 * created, deleted nor written.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { pb } from '../../src/protocol/messages.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/ports.js';

const TOPIC = 'bad-input';
const LARGE_TOPIC = 'bad-input-large';

describe('a broker facing bad input', () => {
  let cluster: TestCluster;
  let connection: Connection;

  before(async () => {
    cluster = await TestCluster.start(3);
    connection = new Connection({ address: cluster.address(1), clientId: 'bad-input', requestTimeoutMs: 10_000 });
    const created = await connection.request(API_KEYS.CREATE_TOPICS, { topics: [{ name: TOPIC, numPartitions: 1,
      replicationFactor: 3 }] });
    assert.equal(created.response.topics[0]?.errorCode, 0);
    const large = await connection.request(API_KEYS.CREATE_TOPICS, { topics: [{ name: LARGE_TOPIC, numPartitions: 1,
      replicationFactor: 3, configs: { 'max.message.bytes': String(4 * 1024 * 1024) } }] });
    assert.equal(large.response.topics[0]?.errorCode, 0);
    assert.ok(await waitForAsync(async () => await currentLeader() > 0, 15_000), 'the partition elected a leader');
    assert.ok(await waitForAsync(async () => await currentLeader(LARGE_TOPIC) > 0, 15_000), 'and the large one');
  });
  after(async () => {
    await connection.close();
    await cluster.stop();
  });

  async function currentLeader(topic = TOPIC): Promise<number> {
    const metadata = await connection.request(API_KEYS.METADATA, { topics: [topic] });
    return metadata.response.topics[0]?.partitions[0]?.leaderId ?? -1;
  }

  /** Runs a partition-0 request on its leader, following leadership changes (bounded) as a client does. */
  async function onLeader(run: (leader: Connection) => Promise<number>, topic = TOPIC): Promise<number> {
    for (let attempt = 0; ; attempt += 1) {
      const leader = new Connection({ address: cluster.address(Math.max(1, await currentLeader(topic))),
        clientId: 'bad-input' });
      try {
        const code = await run(leader);
        const moved = code === ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire
          || code === ERROR_TABLE.LEADER_NOT_AVAILABLE.wire;
        if (!moved || attempt >= 50) return code;
      } finally {
        await leader.close();
      }
      await waitFor(() => false, 200);
    }
  }

  async function waitForAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return true;
      await waitFor(() => false, 100);
    }
    return false;
  }

  async function stillServing(): Promise<void> {
    const metadata = await connection.request(API_KEYS.METADATA, { allTopics: true });
    assert.equal(metadata.response.brokers.length, 3);
  }

  async function rawExchange(frames: Buffer[], expectReply: boolean): Promise<Buffer[] | null> {
    const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: expectReply ? 5_000 : 500 });
    dealer.connect(`tcp://${cluster.address(1)}`);
    try {
      await dealer.send(frames);
      return await dealer.receive();
    } catch {
      return null;
    } finally {
      dealer.close();
    }
  }

  function envelope(api: number): Buffer {
    // Unknown api keys are the point of some of these requests, so the enum is bypassed on purpose.
    const fields = { correlationId: 77, apiKey: api, clientId: 'x', rawFrameCount: 0 } as unknown as
      pb.RequestEnvelope.$Properties;
    return Buffer.from(pb.RequestEnvelope.encode(fields).finish());
  }

  function replyCode(frames: Buffer[] | null): number {
    assert.ok(frames !== null, 'a reply came back');
    return pb.ResponseEnvelope.decode(frames[0]!).errorCode;
  }

  it('drops garbage frames that carry no correlation id and keeps serving', async () => {
    for (let i = 0; i < 20; i += 1) await rawExchange([Buffer.from(`garbage ${i} \u0000\u00ff`)], false);
    await stillServing();
  });

  it('answers a truncated protobuf body and an unknown API with INVALID_REQUEST', async () => {
    const body = Buffer.from(pb.MetadataRequest.encode({ topics: ['a-long-topic-name'] }).finish());
    assert.equal(replyCode(await rawExchange([envelope(API_KEYS.METADATA), body.subarray(0, 5)], true)),
      ERROR_TABLE.INVALID_REQUEST.wire);
    assert.equal(replyCode(await rawExchange([envelope(99), Buffer.alloc(0)], true)), ERROR_TABLE.INVALID_REQUEST.wire);
    await stillServing();
  });

  it('answers bad produce input per partition with typed errors', async () => {
    const produce = (topic: string, batch: Buffer): Promise<number> => onLeader(async (leader) => {
      const reply = await leader.request(API_KEYS.PRODUCE, { acks: -1, timeoutMs: 5_000,
        partitions: [{ topic, partition: 0, rawFrameIndex: 0 }] }, [batch]);
      return reply.response.partitions[0]?.errorCode ?? -999;
    }, topic === LARGE_TOPIC ? LARGE_TOPIC : TOPIC);
    const good = (): Buffer => encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null,
      value: Buffer.from('v') }] });
    assert.equal(await produce('no-such-topic', good()), ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire);
    const oversized = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null,
      value: Buffer.alloc(9 * 1024 * 1024, 1) }] });
    assert.equal(await produce(TOPIC, oversized), ERROR_TABLE.MESSAGE_TOO_LARGE.wire);
    // The topic's max.message.bytes (Kafka's default, 1 MiB + 12) is the limit, not the broker's 8 MiB ceiling.
    const twoMegabytes = (): Buffer => encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null,
      value: Buffer.alloc(2 * 1024 * 1024, 2) }] });
    assert.equal(await produce(TOPIC, twoMegabytes()), ERROR_TABLE.MESSAGE_TOO_LARGE.wire);
    assert.equal(await produce(LARGE_TOPIC, twoMegabytes()), 0, 'a topic with max.message.bytes 4 MiB takes 2 MB');
    const corrupt = good();
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 0xff;
    assert.equal(await produce(TOPIC, corrupt), ERROR_TABLE.CORRUPT_MESSAGE.wire);
    assert.equal(await produce(TOPIC, Buffer.from('not a batch at all')), ERROR_TABLE.INVALID_RECORD.wire);
    assert.equal(await produce(TOPIC, good()), 0);
    await stillServing();
  });

  it('answers a negative or too-high fetch offset with OFFSET_OUT_OF_RANGE', async () => {
    for (const fetchOffset of [-1, 1_000_000]) {
      const code = await onLeader(async (leader) => {
        const reply = await leader.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
          partitions: [{ topic: TOPIC, partition: 0, fetchOffset }] });
        return reply.response.partitions[0]?.errorCode ?? -999;
      });
      assert.equal(code, ERROR_TABLE.OFFSET_OUT_OF_RANGE.wire);
    }
    await stillServing();
  });

  it('refuses to create, delete or produce to internal names, and the controller log is untouched', async () => {
    // `__controller` partition 0 is the folder of the controller's own Raft log; the others share the prefix.
    const internalNames = ['__controller', '__controller-0', '__consumer_offsets', '__', '___', '__x'];
    for (const name of internalNames) {
      for (const validateOnly of [true, false]) {
        const created = await connection.request(API_KEYS.CREATE_TOPICS, { validateOnly, topics: [{ name,
          numPartitions: 1, replicationFactor: 3 }] });
        const [refused] = created.response.topics;
        assert.equal(refused?.errorCode, ERROR_TABLE.INVALID_TOPIC_EXCEPTION.wire, name);
        assert.match(refused.errorMessage, /reserved/);
      }
      const deleted = await connection.request(API_KEYS.DELETE_TOPICS, { topicNames: [name] });
      assert.equal(deleted.response.topics[0]?.errorCode, ERROR_TABLE.INVALID_TOPIC_EXCEPTION.wire, name);
      const batch = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null, value: Buffer.from('v') }] });
      for (const id of cluster.ids()) {
        const broker = new Connection({ address: cluster.address(id), clientId: 'bad-input' });
        try {
          const produced = await broker.request(API_KEYS.PRODUCE, { acks: -1, timeoutMs: 5_000,
            partitions: [{ topic: name, partition: 0, rawFrameIndex: 0 }] }, [batch]);
          assert.equal(produced.response.partitions[0]?.errorCode, ERROR_TABLE.INVALID_TOPIC_EXCEPTION.wire, name);
        } finally {
          await broker.close();
        }
      }
    }
    // The controller still applies commands, its topics are all there, and no broker made an internal log.
    const after = await connection.request(API_KEYS.CREATE_TOPICS, { topics: [{ name: 'after-internal',
      numPartitions: 1, replicationFactor: 3 }] });
    assert.equal(after.response.topics[0]?.errorCode, 0);
    const metadata = await connection.request(API_KEYS.METADATA, { allTopics: true });
    assert.deepEqual(metadata.response.topics.map((topic) => topic.name).sort(), ['after-internal', TOPIC, LARGE_TOPIC]);
    for (const id of cluster.ids()) {
      const folders = readdirSync(path.join(cluster.dataDirectory(id), 'partitions'));
      assert.deepEqual(folders.filter((folder) => folder.startsWith('__')), ['__controller-0'], `broker ${id}`);
    }
    await stillServing();
  });
});
