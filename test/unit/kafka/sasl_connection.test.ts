/**
 * A real Kafka listener with SASL (users: alice, a SCRAM credential) driven with hand-made bytes:
 * ApiVersions lists SaslHandshake (17, v0-1) and SaslAuthenticate (36, v0-2), and only with SASL;
 * before authenticating, any other request closes the connection unanswered; an unknown mechanism
 * is answered UNSUPPORTED_SASL_MECHANISM with the enabled ones, a token without a handshake
 * ILLEGAL_SASL_STATE, a wrong password SASL_AUTHENTICATION_FAILED with a message, each then
 * closed; PLAIN through SaslAuthenticate v2 (flexible request and response headers) and through a
 * v0 handshake's bare token both authenticate, after which the connection goes on serving (a
 * Produce the handlers answer without a broker). With allowAnonymous a client that skips SASL is
 * served, but not one that stops in the middle of an exchange. With TLS the listener speaks TLS (a
 * certificate made by the openssl CLI).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';

import { KafkaReader, KafkaWriter } from '../../../src/kafka/codec.js';
import { KafkaListener } from '../../../src/kafka/listener.js';
import { scramCredential } from '../../../src/security/scram.js';
import type { ScramCredential } from '../../../src/security/scram.js';

function request(apiKey: number, version: number, correlationId: number, body: Buffer = Buffer.alloc(0),
  flexible = false): Buffer {
  const header = new KafkaWriter().int16(apiKey).int16(version).int32(correlationId).nullableString('test');
  if (flexible) header.noTaggedFields();
  return frame(Buffer.concat([header.finish(), body]));
}

function frame(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** A Produce with acks=2: answered INVALID_REQUIRED_ACKS (21) per partition before any broker work. */
const badAcksProduce = (correlationId: number): Buffer => request(0, 3, correlationId, new KafkaWriter()
  .nullableString(null).int16(2).int32(1_000).array(['t'], (w, topic) => w.string(topic)
    .array([0], (pw, partition) => pw.int32(partition).nullableBytesOf(null))).finish());

function produceErrorOf(response: Buffer): number {
  const reader = new KafkaReader(response.subarray(4));
  const [topic] = reader.array((t) => ({ name: t.string(), errors: t.array((p) => { p.int32(); return p.int16(); }) }));
  return topic?.errors[0] ?? -1;
}

const handshake = (correlationId: number, mechanism: string, version = 1): Buffer =>
  request(17, version, correlationId, new KafkaWriter().string(mechanism).finish());
const plainToken = (user: string, password: string): Buffer => Buffer.from(`\u0000${user}\u0000${password}`);
const authenticate = (correlationId: number, token: Buffer, version = 1): Buffer => request(36, version, correlationId,
  version >= 2 ? new KafkaWriter().compactBytes(token).noTaggedFields().finish()
    : new KafkaWriter().bytes(token).finish(), version >= 2);

interface Exchange { readonly responses: Buffer[]; readonly closed: boolean }

/** Sends each step's bytes once the previous step's answers came; stops when the server closes. */
function converse(connect: () => net.Socket, steps: readonly { bytes: Buffer; answers: number }[], timeoutMs = 3_000):
  Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect();
    let buffered = Buffer.alloc(0);
    const responses: Buffer[] = [];
    let step = 0;
    let wanted = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses, closed });
    };
    const next = (): void => {
      const current = steps[step];
      if (current === undefined) { finish(false); return; }
      step += 1;
      wanted += current.answers;
      socket.write(current.bytes);
      if (current.answers === 0) setTimeout(next, 300); // nothing to wait for but a close
    };
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        responses.push(buffered.subarray(4, 4 + buffered.readInt32BE(0)));
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
      }
      if (responses.length >= wanted) next();
    });
    socket.on('close', () => { finish(true); });
    socket.on('error', () => undefined);
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', next);
  });
}

function apiKeysOf(response: Buffer): number[] {
  const reader = new KafkaReader(response.subarray(4));
  assert.equal(reader.int16(), 0);
  return reader.array((r) => [r.int16(), r.int16(), r.int16()]).map(([key]) => key ?? -1);
}

void describe('Kafka connection with SASL', () => {
  let alice: ScramCredential;
  let listener: KafkaListener;
  let plainListener: KafkaListener;
  let anonymousListener: KafkaListener;
  let root: string;
  const logger = pino({ level: 'silent' });
  const broker = { brokerId: 1, handlers: {}, brokers: () => [] };
  before(async () => {
    alice = await scramCredential('alice-secret', 4096);
    const sasl = { lookUp: (user: string) => (user === 'alice' ? alice : undefined), allowAnonymous: false,
      decoySecret: crypto.randomBytes(32) };
    listener = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger, broker, sasl });
    plainListener = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger, broker });
    anonymousListener = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger, broker,
      sasl: { ...sasl, allowAnonymous: true } });
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'sasl-connection-'));
  });
  after(async () => {
    await listener.close();
    await plainListener.close();
    await anonymousListener.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const connect = (): net.Socket => net.connect(listener.port, '127.0.0.1');

  void it('lists SaslHandshake 0-1 and SaslAuthenticate 0-2 in ApiVersions, only with SASL', async () => {
    const { responses } = await converse(connect, [{ bytes: request(18, 0, 1), answers: 1 }]);
    const reader = new KafkaReader(responses[0]?.subarray(4) ?? Buffer.alloc(0));
    assert.equal(reader.int16(), 0);
    const ranges = new Map(reader.array((r) => [r.int16(), [r.int16(), r.int16()]] as const));
    assert.deepEqual(ranges.get(17), [0, 1]);
    assert.deepEqual(ranges.get(36), [0, 2]);
    const plain = await converse(() => net.connect(plainListener.port, '127.0.0.1'), [{ bytes: request(18, 0, 1), answers: 1 }]);
    const keys = apiKeysOf(plain.responses[0] ?? Buffer.alloc(0));
    assert.ok(!keys.includes(17) && !keys.includes(36), keys.join(','));
  });

  void it('closes a connection sending anything but ApiVersions or SASL before authenticating, unanswered', async () => {
    const { responses, closed } = await converse(connect, [{ bytes: request(18, 1, 1), answers: 1 },
      { bytes: badAcksProduce(2), answers: 1 }]);
    assert.equal(closed, true);
    assert.deepEqual(responses.map((r) => r.readInt32BE(0)), [1], 'only the ApiVersions is answered');
    const afterHandshake = await converse(connect, [{ bytes: handshake(1, 'PLAIN'), answers: 1 },
      { bytes: badAcksProduce(2), answers: 1 }]);
    assert.equal(afterHandshake.closed, true);
    assert.equal(afterHandshake.responses.length, 1);
  });

  void it('answers an unknown mechanism with UNSUPPORTED_SASL_MECHANISM and the enabled ones, then closes', async () => {
    const { responses, closed } = await converse(connect, [{ bytes: handshake(1, 'GSSAPI'), answers: 1 },
      { bytes: request(18, 1, 2), answers: 1 }]);
    assert.equal(closed, true);
    assert.equal(responses.length, 1);
    const reader = new KafkaReader(responses[0]?.subarray(4) ?? Buffer.alloc(0));
    assert.equal(reader.int16(), 33);
    assert.deepEqual(reader.array((r) => r.string()), ['PLAIN', 'SCRAM-SHA-256']);
  });

  void it('answers a token without a handshake ILLEGAL_SASL_STATE, and a wrong password SASL_AUTHENTICATION_FAILED', async () => {
    const early = await converse(connect, [{ bytes: authenticate(1, plainToken('alice', 'alice-secret')), answers: 1 },
      { bytes: request(18, 1, 2), answers: 1 }]);
    assert.equal(early.closed, true);
    assert.equal(new KafkaReader(early.responses[0]?.subarray(4) ?? Buffer.alloc(0)).int16(), 34);
    for (const [user, password] of [['alice', 'wrong'], ['mallory', 'alice-secret']] as const) {
      const refused = await converse(connect, [{ bytes: handshake(1, 'PLAIN'), answers: 1 },
        { bytes: authenticate(2, plainToken(user, password)), answers: 1 }, { bytes: request(18, 1, 3), answers: 1 }]);
      assert.equal(refused.closed, true);
      assert.equal(refused.responses.length, 2);
      const reader = new KafkaReader(refused.responses[1]?.subarray(4) ?? Buffer.alloc(0));
      assert.equal(reader.int16(), 58);
      assert.match(reader.nullableString() ?? '', /Authentication failed.*PLAIN/);
      assert.equal(reader.nullableBytes()?.length, 0);
      assert.equal(reader.int64(), 0, 'session_lifetime_ms');
    }
  });

  void it('fails the authentication of a principal over --max-connections-per-principal, and frees its place', async () => {
    const limited = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger, broker,
      sasl: { lookUp: (user: string) => (user === 'alice' ? alice : undefined), allowAnonymous: false,
        decoySecret: crypto.randomBytes(32) },
      connectionLimits: { maxConnections: 0, maxConnectionsPerAddress: 0, maxConnectionsPerPrincipal: 1 } });
    try {
      const login = [{ bytes: handshake(1, 'PLAIN'), answers: 1 },
        { bytes: authenticate(2, plainToken('alice', 'alice-secret')), answers: 1 }];
      // The first connection authenticates and stays open while the second tries.
      const first = net.connect(limited.port, '127.0.0.1');
      let firstAnswers = 0;
      const firstIn = new Promise<void>((resolve) => {
        first.on('data', () => {
          firstAnswers += 1; // one small answer per chunk here
          if (firstAnswers === 1) first.write(login[1]?.bytes ?? Buffer.alloc(0));
          else resolve();
        });
      });
      first.once('connect', () => { first.write(login[0]?.bytes ?? Buffer.alloc(0)); });
      await firstIn;
      const second = await converse(() => net.connect(limited.port, '127.0.0.1'),
        [...login, { bytes: request(18, 1, 3), answers: 1 }]);
      assert.equal(second.closed, true);
      assert.equal(second.responses.length, 2, 'closed after the failed authentication, nothing more served');
      const reader = new KafkaReader(second.responses[1]?.subarray(4) ?? Buffer.alloc(0));
      assert.equal(reader.int16(), 58);
      assert.match(reader.nullableString() ?? '', /User:alice has 1 connections open.*--max-connections-per-principal/);
      first.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const third = await converse(() => net.connect(limited.port, '127.0.0.1'),
        [...login, { bytes: request(18, 1, 3), answers: 1 }]);
      assert.equal(third.closed, false, 'the first one\'s place was freed');
    } finally {
      await limited.close();
    }
  });

  void it('authenticates PLAIN through SaslAuthenticate v2 (flexible) and a v0 handshake\'s bare token', async () => {
    const flexible = await converse(connect, [{ bytes: handshake(1, 'PLAIN'), answers: 1 },
      { bytes: authenticate(2, plainToken('alice', 'alice-secret'), 2), answers: 1 },
      { bytes: request(18, 1, 3), answers: 1 }]);
    assert.equal(flexible.closed, false);
    const v2 = new KafkaReader(flexible.responses[1] ?? Buffer.alloc(0));
    assert.equal(v2.int32(), 2, 'correlation id');
    v2.taggedFields(); // response header v1
    assert.equal(v2.int16(), 0);
    assert.equal(v2.compactNullableString(), null);
    assert.equal(v2.compactBytes().length, 0);
    assert.equal(v2.int64(), 0);
    v2.taggedFields();
    assert.equal(v2.remaining, 0);
    assert.equal(flexible.responses[2]?.readInt32BE(0), 3, 'served after authenticating');
    const served = await converse(connect, [{ bytes: handshake(1, 'PLAIN'), answers: 1 },
      { bytes: authenticate(2, plainToken('alice', 'alice-secret')), answers: 1 }, { bytes: badAcksProduce(3), answers: 1 }]);
    assert.equal(served.closed, false);
    assert.equal(produceErrorOf(served.responses[2] ?? Buffer.alloc(0)), 21, 'the Produce is served');
    const raw = await converse(connect, [{ bytes: handshake(1, 'PLAIN', 0), answers: 1 },
      { bytes: frame(plainToken('alice', 'alice-secret')), answers: 1 }, { bytes: request(18, 1, 3), answers: 1 }]);
    assert.equal(raw.closed, false);
    assert.equal(raw.responses[1]?.length, 0, 'a bare empty token answers PLAIN');
    assert.equal(raw.responses[2]?.readInt32BE(0), 3);
    const rawWrong = await converse(connect, [{ bytes: handshake(1, 'PLAIN', 0), answers: 1 },
      { bytes: frame(plainToken('alice', 'wrong')), answers: 1 }]);
    assert.equal(rawWrong.closed, true);
    assert.equal(rawWrong.responses.length, 1);
  });

  void it('serves a client that skips SASL as anonymous with allowAnonymous; a failed or unfinished exchange still closes', async () => {
    const anonymous = await converse(() => net.connect(anonymousListener.port, '127.0.0.1'),
      [{ bytes: badAcksProduce(1), answers: 1 }]);
    assert.equal(anonymous.closed, false);
    assert.equal(produceErrorOf(anonymous.responses[0] ?? Buffer.alloc(0)), 21);
    const authenticated = await converse(() => net.connect(anonymousListener.port, '127.0.0.1'),
      [{ bytes: handshake(1, 'PLAIN'), answers: 1 }, { bytes: authenticate(2, plainToken('alice', 'wrong')), answers: 1 },
        { bytes: request(18, 1, 3), answers: 1 }]);
    assert.equal(authenticated.closed, true, 'a failed authentication still closes');
    assert.equal(authenticated.responses.length, 2);
    const midExchange = await converse(() => net.connect(anonymousListener.port, '127.0.0.1'),
      [{ bytes: handshake(1, 'PLAIN'), answers: 1 }, { bytes: badAcksProduce(2), answers: 1 }]);
    assert.equal(midExchange.closed, true, 'nothing but SASL between a handshake and its outcome');
    assert.equal(midExchange.responses.length, 1);
  });

  void it('speaks TLS with a certificate and key', async () => {
    const cert = path.join(root, 'c.pem');
    const key = path.join(root, 'k.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe', timeout: 30_000 });
    const secure = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger, broker,
      tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });
    try {
      const { responses } = await converse(() => tls.connect({ port: secure.port, host: '127.0.0.1',
        ca: fs.readFileSync(cert) }), [{ bytes: request(18, 1, 7), answers: 1 }]);
      assert.equal(responses[0]?.readInt32BE(0), 7);
      const plaintext = await converse(() => net.connect(secure.port, '127.0.0.1'), [{ bytes: request(18, 1, 7), answers: 1 }]);
      assert.equal(plaintext.closed, true);
      assert.equal(plaintext.responses.length, 0);
    } finally {
      await secure.close();
    }
  });
});
