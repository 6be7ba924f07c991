/**
 * Regression for the client-protocol fuzz finding "poison batches are stored": batches with a
 * correct CRC but records no consumer can decode (the fuzz's key length -5, a gzip body claiming
 * 2^31 - 1 records, a gzip bomb) are refused by a real cluster's leader with INVALID_RECORD before
 * they reach Raft, the high watermark does not move, and a good batch after them is stored and
 * reads back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeBatch } from '../../src/client/compression.js';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE } from '../../src/common/errors.js';
import { API_KEYS, LIST_OFFSETS_LATEST } from '../../src/protocol/api_keys.js';
import {
  ATTRIBUTES_OFFSET,
  BATCH_LENGTH_OFFSET,
  computeBatchCrc,
  CRC_OFFSET,
  encodeRecordBatch,
  LAST_OFFSET_DELTA_OFFSET,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
  splitBatches,
} from '../../src/protocol/record_batch.js';
import { TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/ports.js';

const TOPIC = 'poison-batches';
const POISON_KEY_LENGTH_HEX = '00000000000000000000003affffffff02eb342b9f0000000000000000018bcfe56be8' +
  '0000018bcfe56be8ffffffffffffffffffffffffffff0000000110000000096b027600';

/** A gzip batch over `body` whose header says recordCount records; CRC recomputed. */
function gzipBatch(body: Buffer, recordCount: number): Buffer {
  const template = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null, value: null }] });
  const batch = Buffer.concat([template.subarray(0, RECORDS_OFFSET), gzipSync(body)]);
  batch.writeInt32BE(batch.length - 12, BATCH_LENGTH_OFFSET);
  batch.writeInt16BE(1, ATTRIBUTES_OFFSET);
  batch.writeInt32BE(recordCount - 1, LAST_OFFSET_DELTA_OFFSET);
  batch.writeInt32BE(recordCount, RECORD_COUNT_OFFSET);
  batch.writeUInt32BE(computeBatchCrc(batch), CRC_OFFSET);
  return batch;
}

describe('a cluster facing poison batches (correct CRC, malformed records)', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let connection: Connection;

  before(async () => {
    cluster = await TestCluster.start(3);
    connection = new Connection({ address: cluster.address(1), clientId: 'poison', requestTimeoutMs: 10_000 });
    const created = await connection.request(API_KEYS.CREATE_TOPICS, { topics: [{ name: TOPIC, numPartitions: 1,
      replicationFactor: 3 }] });
    assert.equal(created.response.topics[0]?.errorCode, 0);
  });
  after(async () => {
    await connection.close();
    await cluster.stop();
  });

  async function currentLeader(): Promise<number> {
    const metadata = await connection.request(API_KEYS.METADATA, { topics: [TOPIC] });
    return metadata.response.topics[0]?.partitions[0]?.leaderId ?? -1;
  }

  /** Runs a partition-0 request on its leader, following leadership changes (bounded). */
  interface Answer<T> { readonly code: number; readonly value: T }

  async function onLeader<T>(run: (leader: Connection) => Promise<Answer<T>>): Promise<Answer<T>> {
    for (let attempt = 0; ; attempt += 1) {
      const leaderId = await currentLeader();
      if (leaderId > 0) {
        const leader = new Connection({ address: cluster.address(leaderId), clientId: 'poison' });
        try {
          const result = await run(leader);
          const moved = result.code === ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire
            || result.code === ERROR_TABLE.LEADER_NOT_AVAILABLE.wire;
          if (!moved || attempt >= 100) return result;
        } finally {
          await leader.close();
        }
      }
      assert.ok(attempt < 100, 'the partition has a leader within 100 tries');
      await waitFor(() => false, 200);
    }
  }

  async function produce(batch: Buffer): Promise<number> {
    const { code } = await onLeader(async (leader) => {
      const reply = await leader.request(API_KEYS.PRODUCE, { acks: -1, timeoutMs: 10_000,
        partitions: [{ topic: TOPIC, partition: 0, rawFrameIndex: 0 }] }, [batch]);
      return { code: reply.response.partitions[0]?.errorCode ?? -999, value: null };
    });
    return code;
  }

  async function highWatermark(): Promise<number> {
    const { code, value } = await onLeader(async (leader) => {
      const reply = await leader.request(API_KEYS.LIST_OFFSETS, { partitions: [{ topic: TOPIC, partition: 0,
        timestamp: LIST_OFFSETS_LATEST }] });
      const partition = reply.response.partitions[0];
      return { code: partition?.errorCode ?? -999, value: partition?.offset ?? -1 };
    });
    assert.equal(code, 0);
    return value;
  }

  /** Every value from offset 0 to the high watermark, decoded as a consumer does. */
  async function readAll(): Promise<string[]> {
    const { code, value } = await onLeader(async (leader) => {
      const reply = await leader.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
        partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] });
      const partition = reply.response.partitions[0];
      const values: string[] = [];
      for (const index of partition?.rawFrameIndexes ?? []) {
        const frame = reply.rawFrames[index];
        assert.ok(frame !== undefined);
        for (const batch of splitBatches(frame).batches) {
          for (const record of decodeBatch(batch.bytes).records) values.push(record.value?.toString() ?? 'null');
        }
      }
      return { code: partition?.errorCode ?? -999, value: values };
    });
    assert.equal(code, 0);
    return value;
  }

  const good = (value: string): Buffer => encodeRecordBatch({ baseTimestamp: Date.now(),
    records: [{ key: null, value: Buffer.from(value) }] });

  it('refuses them with INVALID_RECORD, keeps the high watermark, then stores a good batch', async () => {
    assert.equal(await produce(good('before')), 0);
    const watermark = await highWatermark();
    assert.equal(watermark, 1);

    const poison = Buffer.from(POISON_KEY_LENGTH_HEX, 'hex');
    const liar = gzipBatch(Buffer.from('0c000000010100', 'hex'), 2 ** 31 - 1);
    const bomb = gzipBatch(Buffer.alloc(100 * 1024 * 1024), 1);
    assert.ok(bomb.length < 200 * 1024);
    for (const [name, batch] of [['key length -5', poison], ['2^31 - 1 records', liar], ['gzip bomb', bomb]] as const) {
      assert.equal(await produce(batch), ERROR_TABLE.INVALID_RECORD.wire, name);
      assert.equal(await highWatermark(), watermark, `${name}: the high watermark did not move`);
    }

    assert.equal(await produce(good('after')), 0);
    assert.equal(await highWatermark(), watermark + 1);
    assert.deepEqual(await readAll(), ['before', 'after']);
  });
});
