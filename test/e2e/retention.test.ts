/**
 * Retention on a real cluster: a topic with 64 KiB segments and retention.bytes of 256 KiB. After
 * about 1.5 MB is produced, every replica deletes old closed segments; the log start offset moves
 * and a fetch below it is OFFSET_OUT_OF_RANGE. A follower stopped while retention moves the log
 * start past everything it has is brought back by a snapshot (InstallSnapshot) and then holds the
 * same recent records as the leader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Producer } from '../../src/client/index.js';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { LogManager } from '../../storage/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { RecordingLogger } from '../helpers/storage_fixture.js';

const TOPIC = 'retained';

describe('retention on a cluster', () => {
  let cluster: TestCluster;
  let admin: Admin;
  before(async () => {
    cluster = await TestCluster.start(3, ['--retention-check-ms', '300']);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.connect();
    await admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3,
      configs: { 'segment.bytes': String(64 * 1024), 'retention.bytes': String(256 * 1024) } });
  });
  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  async function produce(count: number, tag: string): Promise<number> {
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 1, batchBytesMax: 16 * 1024 });
    await producer.connect();
    const value = Buffer.alloc(1000, tag);
    let last = -1;
    for (let i = 0; i < count; i += 100) {
      const sent = await Promise.all(Array.from({ length: 100 }, () => producer.send({ topic: TOPIC, value })));
      last = Math.max(last, ...sent.map((result) => result.offset));
    }
    await producer.close();
    return last;
  }

  async function leaderOf(): Promise<number> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const leaderId = (await admin.describeTopic(TOPIC)).partitions[0]?.leaderId ?? null;
      if (leaderId !== null && leaderId > 0) return leaderId;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('no leader for the partition');
  }

  async function earliest(): Promise<number> {
    const [offsets] = await admin.fetchOffsets(TOPIC);
    return offsets?.earliest ?? -1;
  }

  it('moves the log start, refuses reads below it, and restores a lagging follower by snapshot', async () => {
    await produce(1500, 'a');
    const deadline = Date.now() + 20_000;
    while (await earliest() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    // Retention may take several checks (300 ms apart) to delete every segment past the limit: wait
    // until the log start holds still for more than a check before comparing a fetch with it.
    let logStart = await earliest();
    for (let settled = false; !settled && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 700));
      const again = await earliest();
      settled = again === logStart;
      logStart = again;
    }
    assert.ok(logStart > 0, 'retention moved the log start');
    let leaderId = await leaderOf();
    let belowPartition;
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const connection = new Connection({ address: cluster.address(leaderId), clientId: 'retention' });
      const below = await connection.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20,
        partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0 }] });
      await connection.close();
      belowPartition = below.response.partitions[0];
      if (belowPartition?.errorCode !== ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
      leaderId = await leaderOf();
    }
    assert.ok(belowPartition !== undefined);
    assert.equal(belowPartition.errorCode, ERROR_TABLE.OFFSET_OUT_OF_RANGE.wire);
    assert.equal(belowPartition.logStartOffset, logStart);

    // A follower misses enough that the leader's log start passes its log end.
    const follower = cluster.ids().find((id) => id !== leaderId)!;
    await cluster.kill(follower, 'SIGKILL');
    const lastOffset = await produce(1500, 'b');
    const moved = Date.now() + 20_000;
    while (await earliest() <= lastOffset - 1500 && Date.now() < moved) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    cluster.restart(follower);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await cluster.stop({ keepData: true });
    const manager = LogManager.open({ dataDirectory: cluster.dataDirectory(follower), logger: new RecordingLogger() });
    const log = await manager.openLog(`${TOPIC}-0`);
    assert.ok(log.logStartOffset > 1500, `the follower restarted from a snapshot (log start ${log.logStartOffset})`);
    assert.equal(log.nextOffset, lastOffset + 1, 'and caught up to the leader');
    await manager.close();
  });
});
