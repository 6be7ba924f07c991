/**
 * Idempotence that fences, against a real three-broker cluster (issue 11's fuzz findings):
 * - the same idempotent batch resent right after its acks=1 reply is never stored twice, and the
 *   resend gets the original offset;
 * - an acks=0 resend of an idempotent batch is not stored twice;
 * - an epoch-0 batch after an epoch-1 batch of the same producer id is INVALID_PRODUCER_EPOCH and
 *   not stored, whether the epoch-1 batch went with acks=1 or acks=0;
 * - a range overlapping a stored one without equalling it, or a new epoch not starting at 0, is
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - a leader paused (SIGSTOP) with idempotent batches in flight, then resumed after another took
 *   the lead: the client's retries store each batch once and the old leader keeps serving;
 * - 80,000 InitProducerId calls over the three brokers (70,000 on one) all get distinct ids, and so
 *   do calls after a broker restart.
 * Each case reads the partition back from the leader and counts every producer's batches.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE, TributaryError } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { decodeRecordBatch, encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'idempotence';
/** Far above the ids the controller hands out in this test, so no InitProducerId answer collides. */
const PRODUCER_ID_BASE = 2 ** 40;

interface Stored { producerId: number; producerEpoch: number; baseSequence: number; baseOffset: number }
interface Answer { errorCode: number; baseOffset: number }

function batch(producerId: number, producerEpoch: number, baseSequence: number, value: string): Buffer {
  return encodeRecordBatch({ baseTimestamp: Date.now(), producerId, producerEpoch, baseSequence,
    records: [{ key: null, value: Buffer.from(value) }] });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('idempotent produce against real brokers', () => {
  let cluster: TestCluster;
  let admin: Connection;
  let leader: { id: number; connection: Connection } | undefined;

  before(async () => {
    cluster = await TestCluster.start(3);
    admin = new Connection({ address: cluster.address(1), clientId: 'idempotence', requestTimeoutMs: 20_000 });
    const created = await admin.request(API_KEYS.CREATE_TOPICS, { topics: [{ name: TOPIC, numPartitions: 1,
      replicationFactor: 3 }] });
    assert.equal(created.response.topics[0]?.errorCode, 0);
  });
  after(async () => {
    await leader?.connection.close();
    await admin.close();
    await cluster.stop();
  });

  /** A connection to partition 0's leader, found again (bounded) after a leadership change. */
  async function leaderConnection(): Promise<Connection> {
    if (leader !== undefined) return leader.connection;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const metadata = await admin.request(API_KEYS.METADATA, { topics: [TOPIC] });
      const id = metadata.response.topics[0]?.partitions[0]?.leaderId ?? -1;
      if (id > 0) {
        leader = { id, connection: new Connection({ address: cluster.address(id), clientId: 'idempotence',
          requestTimeoutMs: 20_000 }) };
        return leader.connection;
      }
      await sleep(100);
    }
    throw new Error('partition 0 elected no leader');
  }

  async function forgetLeader(): Promise<void> {
    await leader?.connection.close();
    leader = undefined;
  }

  /** Partition 0's leader as a broker's metadata names it (-1: none, or no answer). */
  async function leaderSeenBy(brokerId: number): Promise<number> {
    const connection = new Connection({ address: cluster.address(brokerId), clientId: 'idempotence',
      requestTimeoutMs: 2_000 });
    try {
      const metadata = await connection.request(API_KEYS.METADATA, { topics: [TOPIC] });
      return metadata.response.topics[0]?.partitions[0]?.leaderId ?? -1;
    } catch {
      return -1;
    } finally {
      await connection.close();
    }
  }

  function moved(code: number): boolean {
    return code === ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire || code === ERROR_TABLE.LEADER_NOT_AVAILABLE.wire;
  }

  /** One produce of `bytes` on the current leader (acks=0: sent, no answer). */
  async function send(bytes: Buffer, acks: -1 | 0 | 1): Promise<Answer> {
    const connection = await leaderConnection();
    const reply = await connection.request(API_KEYS.PRODUCE, { acks, timeoutMs: 10_000,
      partitions: [{ topic: TOPIC, partition: 0, rawFrameIndex: 0 }] }, [bytes]);
    const partition = reply.response.partitions[0];
    return { errorCode: partition?.errorCode ?? 0, baseOffset: partition?.baseOffset ?? -1 };
  }

  /** A produce that follows leadership changes (bounded), as a client does. */
  async function produce(bytes: Buffer, acks: -1 | 1): Promise<Answer> {
    for (let attempt = 0; ; attempt += 1) {
      const answer = await send(bytes, acks);
      if (!moved(answer.errorCode) || attempt >= 50) return answer;
      await forgetLeader();
      await sleep(100);
    }
  }

  /**
   * Every batch of partition 0 up to the high watermark, read from the leader after a batch with
   * acks=all (without producer id), so everything sent before it is committed.
   */
  async function storedBatches(): Promise<Stored[]> {
    const marker = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null, value: Buffer.from('m') }] });
    assert.equal((await produce(marker, -1)).errorCode, 0);
    const stored: Stored[] = [];
    let offset = 0;
    for (let round = 0; round < 10_000; round += 1) {
      const connection = await leaderConnection();
      const reply = await connection.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
        partitions: [{ topic: TOPIC, partition: 0, fetchOffset: offset }] });
      const partition = reply.response.partitions[0];
      assert.ok(partition !== undefined);
      if (moved(partition.errorCode)) {
        await forgetLeader();
        await sleep(100);
        continue;
      }
      assert.equal(partition.errorCode, 0);
      for (const index of partition.rawFrameIndexes) {
        let chunk = reply.rawFrames[index];
        assert.ok(chunk !== undefined);
        while (chunk.length > 0) {
          const { header, sizeBytes } = decodeRecordBatch(chunk);
          stored.push({ producerId: header.producerId, producerEpoch: header.producerEpoch,
            baseSequence: header.baseSequence, baseOffset: header.baseOffset });
          offset = header.baseOffset + header.lastOffsetDelta + 1;
          chunk = chunk.subarray(sizeBytes);
        }
      }
      if (offset >= partition.highWatermark) return stored;
    }
    throw new Error('the partition did not read back in 10,000 fetches');
  }

  /** The producer's stored batches, and the (epoch, sequence) pairs stored more than once. */
  function countOf(stored: readonly Stored[], producerId: number): { batches: number; repeated: string[] } {
    const seen = new Map<string, number>();
    for (const b of stored.filter((s) => s.producerId === producerId)) {
      const key = `epoch ${b.producerEpoch} sequence ${b.baseSequence}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return { batches: [...seen.values()].reduce((a, b) => a + b, 0),
      repeated: [...seen.entries()].filter(([, n]) => n > 1).map(([key]) => key) };
  }

  it('answers a batch resent right after its acks=1 reply with its original offset, storing it once', async () => {
    const producerId = PRODUCER_ID_BASE + 1;
    const tries = 200;
    const started = Date.now();
    let sameOffset = 0;
    for (let sequence = 0; sequence < tries; sequence += 1) {
      const bytes = batch(producerId, 0, sequence, `resent-${sequence}`);
      const first = await produce(bytes, 1);
      assert.equal(first.errorCode, 0, `sequence ${sequence}`);
      const again = await produce(bytes, 1);
      assert.equal(again.errorCode, 0, `the resend of sequence ${sequence}`);
      if (again.baseOffset === first.baseOffset) sameOffset += 1;
      assert.ok(Date.now() - started < 60_000, 'bounded in time');
    }
    // A leadership change could legitimately lose an acks=1 batch (and store its resend); there is none here.
    assert.equal(sameOffset, tries, 'every resend got its original offset');
    const count = countOf(await storedBatches(), producerId);
    assert.deepEqual(count, { batches: tries, repeated: [] });
  });

  it('stores an idempotent batch resent with acks=0 once', async () => {
    const producerId = PRODUCER_ID_BASE + 2;
    const tries = 200;
    for (let sequence = 0; sequence < tries; sequence += 1) {
      const bytes = batch(producerId, 0, sequence, `acks0-${sequence}`);
      await send(bytes, 0);
      await send(bytes, 0);
    }
    // The chain of sequences is whole: the next batch with acks=all follows the last one.
    const last = await produce(batch(producerId, 0, tries, 'acks0-last'), -1);
    assert.equal(last.errorCode, 0);
    const count = countOf(await storedBatches(), producerId);
    assert.deepEqual(count, { batches: tries + 1, repeated: [] });
  });

  it('fences an epoch-0 batch sent after an epoch-1 batch of the same producer id, acks=1 or acks=0', async () => {
    const tries = 100;
    const base = PRODUCER_ID_BASE + 1_000;
    for (let i = 0; i < tries; i += 1) {
      const producerId = base + i;
      const newer = batch(producerId, 1, 0, `epoch1-${i}`);
      if (i % 2 === 0) assert.equal((await produce(newer, 1)).errorCode, 0);
      else await send(newer, 0);
      const older = await produce(batch(producerId, 0, 0, `epoch0-${i}`), 1);
      assert.equal(older.errorCode, ERROR_TABLE.INVALID_PRODUCER_EPOCH.wire, `try ${i}`);
    }
    const stored = (await storedBatches()).filter((b) => b.producerId >= base && b.producerId < base + tries);
    assert.equal(stored.filter((b) => b.producerEpoch === 0).length, 0, 'no epoch-0 batch stored');
    assert.equal(stored.length, tries, 'every epoch-1 batch stored once');
  });

  it('refuses overlapping ranges and an epoch bump not at 0 as OUT_OF_ORDER_SEQUENCE_NUMBER, as Kafka does', async () => {
    const producerId = PRODUCER_ID_BASE + 4;
    const records = (producerEpoch: number, baseSequence: number, count: number): Buffer => encodeRecordBatch({
      baseTimestamp: Date.now(), producerId, producerEpoch, baseSequence,
      records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`r${baseSequence + i}`) })) });
    const outOfOrder = ERROR_TABLE.OUT_OF_ORDER_SEQUENCE_NUMBER.wire;
    assert.equal((await produce(records(0, 0, 3), -1)).errorCode, 0);
    const second = await produce(records(0, 3, 3), -1);
    assert.equal(second.errorCode, 0);
    assert.deepEqual(await produce(records(0, 3, 3), 1), second, 'an exact resend is a duplicate');
    assert.equal((await produce(records(0, 3, 2), 1)).errorCode, outOfOrder, 'same start, fewer records');
    assert.equal((await produce(records(0, 2, 3), 1)).errorCode, outOfOrder, 'overlapping two batches');
    assert.equal((await produce(records(1, 6, 1), 1)).errorCode, outOfOrder, 'a new epoch starts at 0');
    assert.equal((await produce(records(1, 0, 1), 1)).errorCode, 0);
    assert.equal((await produce(records(0, 6, 1), 1)).errorCode, ERROR_TABLE.INVALID_PRODUCER_EPOCH.wire);
    assert.deepEqual(countOf(await storedBatches(), producerId), { batches: 3, repeated: [] });
  });

  it('stores each batch once when a leader is paused with idempotent proposals in flight and comes back', async () => {
    const producerId = PRODUCER_ID_BASE + 3;
    for (let sequence = 0; sequence < 5; sequence += 1) {
      assert.equal((await produce(batch(producerId, 0, sequence, `paused-${sequence}`), -1)).errorCode, 0);
    }
    await leaderConnection();
    const paused = leader?.id ?? -1;
    const pid = cluster.pids().get(paused);
    assert.ok(pid !== undefined);
    // Five in flight, as a Kafka producer has at most: sent without waiting, then the leader stops.
    const inFlight = Array.from({ length: 5 }, (_, i) => batch(producerId, 0, 5 + i, `paused-${5 + i}`));
    for (const bytes of inFlight) await send(bytes, 0);
    process.kill(pid, 'SIGSTOP');
    try {
      await forgetLeader();
      const other = cluster.ids().find((id) => id !== paused) ?? 1;
      const deadline = Date.now() + 30_000;
      let moved = false;
      while (!moved && Date.now() < deadline) {
        const leaderId = await leaderSeenBy(other);
        moved = leaderId > 0 && leaderId !== paused;
        if (!moved) await sleep(200);
      }
      assert.ok(moved, 'another broker took the lead');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The client retries what it never heard back about, in order, with acks=all.
    for (const [i, bytes] of inFlight.entries()) {
      const answer = await produce(bytes, -1);
      assert.equal(answer.errorCode, 0, `the retry of sequence ${5 + i}`);
    }
    assert.equal((await produce(batch(producerId, 0, 10, 'paused-10'), -1)).errorCode, 0);
    const count = countOf(await storedBatches(), producerId);
    assert.deepEqual(count, { batches: 11, repeated: [] });
    assert.ok(await cluster.metadata(paused) !== null, 'the paused broker serves again');
  });

  /** InitProducerId on a broker, retrying retriable answers (bounded). */
  async function initProducerId(connection: Connection): Promise<number> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const { response } = await connection.request(API_KEYS.INIT_PRODUCER_ID, { producerId: -1, producerEpoch: -1 });
        if (response.errorCode === 0) return response.producerId;
        const retriable = response.errorCode === ERROR_TABLE.COORDINATOR_LOAD_IN_PROGRESS.wire;
        if (!retriable || attempt >= 20) throw new Error(`InitProducerId answered error ${response.errorCode}`);
      } catch (error) {
        if (!(error instanceof TributaryError && error.retriable) || attempt >= 20) throw error;
      }
      await sleep(100);
    }
  }

  /** `count` InitProducerId calls on one broker, `window` at a time. */
  async function producerIds(brokerId: number, count: number): Promise<number[]> {
    const connection = new Connection({ address: cluster.address(brokerId), clientId: 'idempotence',
      requestTimeoutMs: 20_000, inflightRequestsMax: 256 });
    const ids: number[] = [];
    try {
      const window = 2_000;
      for (let done = 0; done < count; done += window) {
        const n = Math.min(window, count - done);
        ids.push(...await Promise.all(Array.from({ length: n }, () => initProducerId(connection))));
      }
    } finally {
      await connection.close();
    }
    return ids;
  }

  it('hands out distinct producer ids over 80,000 InitProducerId calls and a broker restart', async () => {
    const started = Date.now();
    const counts = new Map([[1, 70_000], [2, 5_000], [3, 5_000]]);
    const before = (await Promise.all([...counts].map(([id, n]) => producerIds(id, n)))).flat();
    const elapsedMs = Date.now() - started;
    assert.equal(before.length, 80_000);
    assert.equal(new Set(before).size, before.length, 'no id repeats');
    assert.ok(elapsedMs < 120_000, `80,000 calls took ${elapsedMs} ms`);
    await forgetLeader();
    await cluster.kill(2, 'SIGKILL');
    cluster.restart(2);
    await cluster.waitUntilRegistered(30_000);
    const afterRestart = (await Promise.all([1, 2, 3].map((id) => producerIds(id, 2_000)))).flat();
    const all = new Set([...before, ...afterRestart]);
    assert.equal(all.size, before.length + afterRestart.length, 'ids after the restart are new too');
  });
});
