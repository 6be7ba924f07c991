/**
 * The Raft transport with CURVE (raft/transport/zmq_transport.ts, `curve`): real transports on
 * 127.0.0.1 in one process, each ROUTER's handshakes decided by the process's ZAP handler with the
 * peers' keys. A registered peer's messages arrive; a registered peer claiming another's id (its
 * routing id says 1, its token proves broker 3) is dropped and counted; a key nobody registered
 * never completes a handshake, so nothing it sends arrives; a plaintext peer cannot talk either.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import type { RaftCurve } from '../../../raft/transport/zmq_transport.js';
import { ZmqRaftTransport } from '../../../raft/transport/zmq_transport.js';
import { TokenTable, authToken } from '../../../src/security/auth_token.js';
import { generateKeyPair } from '../../../src/security/keys.js';
import type { KeyPair } from '../../../src/security/keys.js';
import { ZapHandler } from '../../../src/security/zap_handler.js';
import { freePorts } from '../../helpers/ports.js';
import { RecordingLogger } from '../../helpers/storage_fixture.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

after(async () => { await ZapHandler.closeShared(); });

/** What a broker with these peers would give its transport (BrokerSecurity does the same from key files). */
function curveOf(nodeId: number, own: KeyPair, peers: ReadonlyMap<number, string>): RaftCurve {
  const others = [...peers].filter(([id]) => id !== nodeId);
  const senders = new TokenTable(own, others.map(([id, key]) => [key, id] as const));
  return { publicKey: own.publicKey, secretKey: own.secretKey, zapDomain: `unit-raft-${nodeId}`,
    peerKey: (id) => peers.get(id),
    tokenFor: (id) => {
      const key = peers.get(id);
      return key === undefined ? undefined : authToken(own, key);
    },
    senderOf: (token) => senders.ownerOf(token) };
}

void describe('the Raft transport with CURVE', () => {
  void test('registered peers talk; a peer claiming another\'s id, a stranger and a plaintext peer do not',
    { timeout: 30_000 }, async () => {
      const keys = new Map([1, 2, 3].map((id) => [id, generateKeyPair()]));
      const key = (id: number): KeyPair => { const pair = keys.get(id); assert.ok(pair !== undefined); return pair; };
      const registered = new Map([...keys].map(([id, pair]) => [id, pair.publicKey]));
      const zap = await ZapHandler.shared();
      const logger = new RecordingLogger();
      // Node 2's ZAP domain accepts the other registered brokers' keys only.
      zap.register('unit-raft-2', (publicKey) => {
        const id = [...registered].find(([, k]) => k === publicKey)?.[0];
        return id === undefined || id === 2 ? null : `Broker:${id}`;
      }, logger);
      const ports = await freePorts(5);
      const endpoint = (index: number): string => `tcp://127.0.0.1:${ports[index] ?? 0}`;
      const arrived: { from: number; payload: string }[] = [];
      const node2 = new ZmqRaftTransport({ nodeId: 2, listen: endpoint(1), logger,
        curve: curveOf(2, key(2), registered) });
      const rejectedTokens = (): number => node2.stats.rejectedTokens;
      const started: ZmqRaftTransport[] = [node2];
      const dialer = async (nodeId: number, pair: KeyPair | null, listen: number): Promise<ZmqRaftTransport> => {
        const transport = new ZmqRaftTransport({ nodeId, listen: endpoint(listen), logger,
          ...(pair === null ? {} : { curve: curveOf(nodeId, pair, registered) }) });
        started.push(transport);
        await transport.start(() => undefined);
        transport.setPeer(2, endpoint(1));
        return transport;
      };
      /** Forwards `payload` every 20 ms for `ms`; counts what node 2 got from it. */
      const sendFor = async (from: ZmqRaftTransport, payload: string, ms: number): Promise<number> => {
        for (let elapsed = 0; elapsed < ms; elapsed += 20) {
          from.forward(2, Buffer.from(payload));
          await sleep(20);
        }
        return arrived.filter((a) => a.payload === payload).length;
      };
      try {
        await node2.start(() => undefined, (from, payload) => {
          arrived.push({ from, payload: Buffer.from(payload).toString() });
        });
        const node1 = await dialer(1, key(1), 0);
        assert.ok(await sendFor(node1, 'from-1', 1_000) > 0, 'a registered peer\'s messages arrive');
        assert.ok(arrived.every((a) => a.payload !== 'from-1' || a.from === 1));
        assert.equal(rejectedTokens(), 0);
        await node1.close();

        // Broker 3's key (registered) behind node id 1: the handshake passes, the token gives it away.
        const impostor = await dialer(1, key(3), 2);
        assert.equal(await sendFor(impostor, 'impostor', 1_000), 0, 'nothing claiming another id arrives');
        assert.ok(rejectedTokens() > 0, 'the impostor\'s messages were counted');
        const impostorLines = logger.warnings().filter((line) => line.message.includes('claiming another peer'));
        assert.equal(impostorLines.length, 1, 'and logged once (rate limited)');

        const refusedBefore = zap.stats.refused;
        const stranger = await dialer(4, generateKeyPair(), 3);
        assert.equal(await sendFor(stranger, 'stranger', 1_000), 0, 'an unregistered key gets no message through');
        assert.ok(zap.stats.refused > refusedBefore, 'its handshake was refused');

        const plaintext = await dialer(5, null, 4);
        assert.equal(await sendFor(plaintext, 'plaintext', 1_000), 0, 'a plaintext peer gets no message through');
      } finally {
        for (const transport of started) await transport.close();
        zap.unregister('unit-raft-2');
      }
    });
});
