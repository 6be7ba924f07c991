/**
 * CURVE end to end (docs/security.md), real broker processes: a three-broker cluster started with
 * keys (LocalCluster secure mode) and, as a control, a plaintext broker.
 *
 * - A client whose key is in --client-keys produces and consumes, and loopback traffic captured
 *   with tcpdump on the cluster's client and Raft ports meanwhile holds no record value in the
 *   clear; the same capture on the plaintext broker does find the value (so the check can fail).
 * - A client whose key is not in --client-keys cannot connect (SASL_AUTHENTICATION_FAILED); five
 *   attempts give one log line on the broker, not five.
 * - A client with a known key that sends no auth token, and a plaintext client, get nothing done.
 * - A broker whose key is not in the others' --peer-keys cannot join: it never registers, and the
 *   others log its refused Raft handshake.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Admin, Consumer, Producer } from '../../src/client/index.js';
import type { ClientSecurityOptions } from '../../src/client/index.js';
import { Connection } from '../../src/client/connection.js';
import { TributaryError } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { ClientSecurity } from '../../src/security/client_security.js';
import { generateKeyPair, writeKeyPair } from '../../src/security/keys.js';
import { TestCluster } from '../helpers/cluster.js';
import { PacketCapture } from '../helpers/packet_capture.js';

const TOPIC = 'secure-events';
const RECORDS = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Produces RECORDS records of `value` with acks=all and reads them back from the beginning. */
async function produceAndConsume(bootstrap: string, security: ClientSecurityOptions | undefined, value: string):
  Promise<number> {
  const options = { bootstrap, ...(security === undefined ? {} : { security }) };
  const producer = new Producer({ ...options, acks: 'all', lingerMs: 1 });
  try {
    await Promise.all(Array.from({ length: RECORDS }, () => producer.send({ topic: TOPIC, value })));
  } finally {
    await producer.close();
  }
  const consumer = new Consumer({ ...options, maxWaitMs: 200 });
  let read = 0;
  try {
    consumer.assign([{ topic: TOPIC, partition: 0 }, { topic: TOPIC, partition: 1 }]);
    for (const partition of [0, 1]) consumer.seek({ topic: TOPIC, partition }, 'beginning');
    const deadline = Date.now() + 20_000;
    while (read < RECORDS && Date.now() < deadline) {
      for (const record of await consumer.poll({ timeoutMs: 500 })) {
        if (record.value?.toString() === value) read += 1;
      }
    }
  } finally {
    await consumer.close();
  }
  return read;
}

async function createTopic(bootstrap: string, security: ClientSecurityOptions | undefined,
  replicationFactor: number): Promise<void> {
  const admin = new Admin({ bootstrap, requestTimeoutMs: 20_000, ...(security === undefined ? {} : { security }) });
  try {
    await admin.createTopic({ name: TOPIC, partitions: 2, replicationFactor });
  } finally {
    await admin.close();
  }
}

function lines(text: string, needle: string): number {
  return text.split('\n').filter((line) => line.includes(needle)).length;
}

void describe('CURVE on a three-broker cluster', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.startWith(3, { secure: true });
    await createTopic(cluster.bootstrap, cluster.clientSecurity, 3);
  });
  after(async () => { await cluster.stop(); });

  void it('a known client produces and consumes, and the loopback traffic shows no record value', async () => {
    const value = `curve-secret-${crypto.randomBytes(8).toString('hex')}`;
    const ports = cluster.ids().flatMap((id) => { const p = cluster.portsOf(id); return [p.port, p.raftPort]; });
    const capture = await PacketCapture.start(ports);
    let read: number;
    let captured: Buffer;
    try {
      read = await produceAndConsume(cluster.bootstrap, cluster.clientSecurity, value);
    } finally {
      captured = await capture.stop();
    }
    assert.equal(read, RECORDS, 'every record read back');
    // The capture saw the traffic (each record crossed the client port and two Raft links)...
    assert.ok(captured.length > RECORDS * value.length * 3, `captured ${captured.length} bytes`);
    // ...and none of it in the clear.
    assert.equal(captured.includes(value), false, 'the record value is not on the wire in the clear');
  });

  void it('a group consumer reads through the coordinator, whose key it knows before the metadata lists it', async () => {
    // A consumer group asks FindCoordinator first: its first request to the coordinator must use that
    // broker's own key (it used the first candidate key, another broker's, and never got through).
    const security = cluster.clientSecurity;
    assert.ok(security !== undefined);
    const consumer = new Consumer({ bootstrap: cluster.bootstrap, security, groupId: 'secure-group',
      autoOffsetReset: 'earliest', maxWaitMs: 200 });
    let read = 0;
    try {
      consumer.subscribe([TOPIC]);
      const deadline = Date.now() + 20_000;
      while (read < RECORDS && Date.now() < deadline) read += (await consumer.poll({ timeoutMs: 500 })).length;
    } finally {
      await consumer.close();
    }
    assert.ok(read >= RECORDS, `the group read ${read} records`);
  });

  void it('a client whose key is not in --client-keys is refused, and logged once however often it tries',
    async () => {
      const rogue = generateKeyPair();
      const prefix = path.join(cluster.dataRoot, 'rogue-client');
      writeKeyPair(prefix, rogue);
      const serverKey = cluster.keys?.peerKeys;
      assert.ok(serverKey !== undefined);
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const admin = new Admin({ bootstrap: cluster.address(1), requestTimeoutMs: 5_000,
          security: { keyFile: `${prefix}.key`, serverKey } });
        await assert.rejects(admin.listTopics(), (error: unknown) => {
          assert.ok(error instanceof TributaryError, String(error));
          assert.equal(error.code, 'SASL_AUTHENTICATION_FAILED');
          return true;
        });
        await admin.close();
      }
      await sleep(500); // the broker's log line reaches its stderr
      assert.equal(lines(cluster.stderrOf(1), rogue.publicKey), 1, 'one line for five refused handshakes');
    });

  void it('a known key without an auth token gets SASL_AUTHENTICATION_FAILED; a plaintext client gets nothing',
    async () => {
      const security = cluster.clientSecurity;
      assert.ok(security !== undefined);
      const [curve] = ClientSecurity.load(security).curvesFor(1);
      assert.ok(curve !== undefined);
      const noToken = new Connection({ address: cluster.address(1), requestTimeoutMs: 5_000,
        curve: { ...curve, authToken: Buffer.alloc(0) } });
      try {
        await assert.rejects(noToken.request(API_KEYS.METADATA, { allTopics: true }),
          (error: unknown) => error instanceof TributaryError && error.code === 'SASL_AUTHENTICATION_FAILED');
      } finally {
        await noToken.close();
      }
      const plaintext = new Connection({ address: cluster.address(1), requestTimeoutMs: 2_000 });
      try {
        await assert.rejects(plaintext.request(API_KEYS.METADATA, { allTopics: true }),
          (error: unknown) => error instanceof TributaryError && error.code === 'NETWORK_EXCEPTION'
            && /handshake/.test(error.message), 'the error names the failed handshake');
      } finally {
        await plaintext.close();
      }
    });

  // Last: broker 4 stays in the cluster's process list, never registered.
  void it('a broker whose key is not in --peer-keys cannot join', async () => {
    await assert.rejects(cluster.addBroker(4, '127.0.0.1', { registerTimeoutMs: 8_000 }), /did not register/);
    const metadata = await cluster.metadata(1) as { brokers?: { brokerId?: number }[] } | null;
    assert.deepEqual(metadata?.brokers?.map((b) => b.brokerId).sort(), [1, 2, 3]);
    const refusals = [1, 2, 3].map((id) => cluster.stderrOf(id).split('\n')
      .filter((line) => line.includes('refused a CURVE handshake') && line.includes('"domain":"raft"')).length);
    assert.ok(refusals.some((count) => count > 0), `the voters logged broker 4's refused Raft handshakes: ${refusals.join(', ')}`);
    assert.ok(refusals.every((count) => count <= 1), `at most once each: ${refusals.join(', ')}`);
    await cluster.kill(4);
  });
});

void describe('the same capture on a plaintext broker (control)', { timeout: 60_000 }, () => {
  void it('finds the record value on the wire', async () => {
    const cluster = await TestCluster.start(1);
    try {
      await createTopic(cluster.bootstrap, undefined, 1);
      const value = `plaintext-visible-${crypto.randomBytes(8).toString('hex')}`;
      const { port, raftPort } = cluster.portsOf(1);
      const capture = await PacketCapture.start([port, raftPort]);
      let read: number;
      let captured: Buffer;
      try {
        read = await produceAndConsume(cluster.bootstrap, undefined, value);
      } finally {
        captured = await capture.stop();
      }
      assert.equal(read, RECORDS);
      assert.equal(captured.includes(value), true, 'a plaintext broker\'s traffic shows the value');
    } finally {
      await cluster.stop();
    }
  });
});
