/**
 * Hostile and buggy clients against a real broker (issue 11): a Fetch reply stays within max_bytes
 * however its partitions are named, a Produce asking for a timeout of 2^31 ms is acknowledged
 * normally, and a client that sends thousands of Fetches without reading a reply makes the broker
 * hold a bounded amount of memory while other clients are served, as do requests whose small
 * bodies would decode into hundreds of thousands of entries.
 *
 * One broker (every partition leads there), its RSS read from /proc/<pid>/status.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Dealer } from 'zeromq';

import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE, TributaryError } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { encodeRequest } from '../../src/protocol/envelope.js';
import { pb } from '../../src/protocol/messages.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'hostile';
const PARTITIONS = 4;
const BATCH_VALUE_BYTES = 16 * 1024;

describe('a broker facing hostile clients', () => {
  let cluster: TestCluster;
  let connection: Connection;

  before(async () => {
    cluster = await TestCluster.start(1);
    connection = new Connection({ address: cluster.address(1), clientId: 'hostile-test', requestTimeoutMs: 20_000 });
    const created = await connection.request(API_KEYS.CREATE_TOPICS, { topics: [{ name: TOPIC,
      numPartitions: PARTITIONS, replicationFactor: 1 }] });
    assert.equal(created.response.topics[0]?.errorCode, 0);
    // Partition 0 gets 64 batches (1 MiB, for the never-reading client), the others 4 each.
    for (let partition = 0; partition < PARTITIONS; partition += 1) {
      for (let i = 0; i < (partition === 0 ? 64 : 4); i += 1) {
        assert.equal(await produce(partition, -1, 10_000), 0);
      }
    }
  });
  after(async () => {
    await connection.close();
    await cluster.stop();
  });

  /** One batch of one 16 KiB record; its error code (retried, bounded, while a leader is elected). */
  async function produce(partition: number, acks: number, timeoutMs: number): Promise<number> {
    for (let attempt = 0; ; attempt += 1) {
      const batch = encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null,
        value: Buffer.alloc(BATCH_VALUE_BYTES, partition + 1) }] });
      const reply = await connection.request(API_KEYS.PRODUCE, { acks, timeoutMs,
        partitions: [{ topic: TOPIC, partition, rawFrameIndex: 0 }] }, [batch]);
      const code = reply.response.partitions[0]?.errorCode ?? -999;
      const electing = [ERROR_TABLE.NOT_LEADER_OR_FOLLOWER, ERROR_TABLE.LEADER_NOT_AVAILABLE,
        ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION].some((spec) => spec.wire === code);
      if (!electing || attempt >= 100) return code;
      await sleep(100);
    }
  }

  function rssBytes(): number {
    const pid = cluster.pids().get(1);
    assert.ok(pid !== undefined, 'the broker runs');
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    assert.ok(match?.[1] !== undefined, 'VmRSS is readable');
    return Number(match[1]) * 1024;
  }

  it('regression: a Fetch reply stays within max_bytes; a partition named twice is refused', async () => {
    const batchBytes = encodeRecordBatch({ baseTimestamp: 0, records: [{ key: null,
      value: Buffer.alloc(BATCH_VALUE_BYTES) }] }).length;
    // Room for two batches and a half: the first partition fills two, no other may add a whole batch.
    const maxBytes = Math.floor(batchBytes * 2.5);
    const fetched = await connection.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes,
      partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, fetchOffset: 0,
        partitionMaxBytes: 1024 * 1024 })) });
    const rawBytes = fetched.rawFrames.reduce((sum, frame) => sum + frame.length, 0);
    assert.ok(rawBytes > 0 && rawBytes <= maxBytes, `${rawBytes} bytes of records for max_bytes ${maxBytes}`);
    assert.deepEqual(fetched.response.partitions.map((p) => p.errorCode), [0, 0, 0, 0]);

    // One partition named 10,000 times (about 140 KB of request) used to be read and answered 10,000 times.
    const repeated = Array.from({ length: 10_000 }, () => ({ topic: TOPIC, partition: 1, fetchOffset: 0 }));
    await assert.rejects(connection.request(API_KEYS.FETCH, { maxWaitMs: 0, maxBytes: 1024 * 1024,
      partitions: repeated }), (error: unknown) => error instanceof TributaryError && error.code === 'INVALID_REQUEST'
      && /named twice/.test(error.message));
  });

  it('regression: a Produce timeout of 2^31 ms or more is acknowledged, not timed out at once', async () => {
    for (const timeoutMs of [2 ** 31, 2 ** 32 - 1]) {
      const startedMs = Date.now();
      assert.equal(await produce(3, -1, timeoutMs), 0, `timeout_ms ${timeoutMs}`);
      assert.ok(Date.now() - startedMs < 15_000);
    }
  });

  it('regression: a client that sends 3,000 Fetches and never reads keeps the broker within +200 MiB', async (t) => {
    const before = rssBytes();
    const hostile = new Dealer({ linger: 0, receiveHighWaterMark: 1, sendTimeout: 10_000 });
    hostile.connect(`tcp://${cluster.address(1)}`);
    let peak = before;
    try {
      for (let i = 1; i <= 3_000; i += 1) {
        await hostile.send(encodeRequest(i, API_KEYS.FETCH, 'hostile', { maxWaitMs: 0, maxBytes: 256 * 1024,
          partitions: [{ topic: TOPIC, partition: 0, fetchOffset: 0, partitionMaxBytes: 256 * 1024 }] }, []));
        if (i % 100 === 0) peak = Math.max(peak, rssBytes());
      }
      // The broker works through what it will run, and parks or drops the rest; sample for 3 s.
      for (let i = 0; i < 30; i += 1) {
        await sleep(100);
        peak = Math.max(peak, rssBytes());
      }
      // Others are served meanwhile.
      const metadata = await connection.request(API_KEYS.METADATA, { topics: [TOPIC] });
      assert.equal(metadata.response.topics[0]?.errorCode, 0);
      const fetched = await connection.request(API_KEYS.FETCH, { maxWaitMs: 0, maxBytes: 1024 * 1024,
        partitions: [{ topic: TOPIC, partition: 2, fetchOffset: 0 }] });
      assert.ok(fetched.rawFrames.length > 0);
    } finally {
      hostile.close();
    }
    const grownMiB = (peak - before) / 2 ** 20;
    t.diagnostic(`broker RSS ${(before / 2 ** 20).toFixed(0)} MiB before, peak +${grownMiB.toFixed(0)} MiB`);
    // The bound per connection: 64 MiB of queued or reserved replies, 16 replies (4 MiB) in libzmq's
    // pipe, 64 parked requests; the rest is allocator and garbage-collector slack.
    assert.ok(grownMiB < 200, `broker RSS grew by ${grownMiB.toFixed(0)} MiB (from ${(before / 2 ** 20).toFixed(0)})`);
  });

  it('regression: requests of a million tiny entries are refused without ballooning the broker', async (t) => {
    const before = rssBytes();
    // 1 MiB of empty FetchPartition entries (two bytes each): 524,288 entries per request.
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i += 2) body[i] = 0x22;
    const dealer = new Dealer({ linger: 0, receiveTimeout: 30_000, sendTimeout: 10_000 });
    dealer.connect(`tcp://${cluster.address(1)}`);
    let peak = before;
    try {
      const requests = 20;
      for (let i = 1; i <= requests; i += 1) {
        const envelope = pb.RequestEnvelope.encode({ correlationId: i, apiKey: pb.ApiKey.FETCH }).finish();
        await dealer.send([envelope, body]);
      }
      for (let i = 0; i < requests; i += 1) {
        const [envelopeFrame] = await dealer.receive();
        assert.ok(envelopeFrame !== undefined);
        assert.equal(pb.ResponseEnvelope.decode(envelopeFrame).errorCode, ERROR_TABLE.INVALID_REQUEST.wire);
        peak = Math.max(peak, rssBytes());
      }
    } finally {
      dealer.close();
    }
    const grownMiB = (peak - before) / 2 ** 20;
    t.diagnostic(`broker RSS peak +${grownMiB.toFixed(0)} MiB`);
    assert.ok(grownMiB < 200, `broker RSS grew by ${grownMiB.toFixed(0)} MiB`);
  });
});
