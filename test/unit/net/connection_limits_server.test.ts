/**
 * Goal: the RequestServer's connection limits (issue 16 point 5): past --max-connections-per-principal
 * or --max-connections a connection has every request answered CONNECTION_LIMIT_EXCEEDED without a
 * handler running or any state held for it, logged once; a closed connection frees its place (the
 * ZMQ_ROUTER_NOTIFY notice); the notices are never taken for malformed requests; and a peer sending
 * an empty frame (what a notice looks like) gives up only its own place.
 * Method: real ROUTER/DEALER sockets on 127.0.0.1 (Connections, and bare DEALERs where a test needs
 * hand-made frames or auth tokens); every wait bounded, every socket closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Dealer } from 'zeromq';

import { ERROR_TABLE } from '../../../src/common/errors.js';
import type { HandlerTable } from '../../../src/net/request_server.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { encodeRequest } from '../../../src/protocol/envelope.js';
import { authToken } from '../../../src/security/auth_token.js';
import type { ConnectionLimitReason } from '../../../src/security/connection_limits.js';
import { generateKeyPair } from '../../../src/security/keys.js';
import type { KeyPair } from '../../../src/security/keys.js';
import { ZapHandler } from '../../../src/security/zap_handler.js';
import { captureLogger, connect, expectCode, rawDealer, receiveEnvelope, startServer, waitFor } from './helpers.js';

const REFUSED_LINE = 'refused a connection over a connection limit (every request of it is refused)';
const DROPPED_LINE = 'dropped a request without a readable envelope';

/** A Metadata handler counting the requests it ran. */
function countingHandlers(): { handlers: HandlerTable; ran: () => number } {
  let ran = 0;
  return {
    handlers: { [API_KEYS.METADATA]: () => {
      ran += 1;
      return { response: { controllerId: 1 } };
    } },
    ran: () => ran,
  };
}

/** Sends a Metadata request on a bare DEALER (with an auth token when given) and returns its reply's error code. */
async function metadataCode(dealer: Dealer, correlationId: number, authToken?: Buffer): Promise<number> {
  await dealer.send(encodeRequest(correlationId, API_KEYS.METADATA, 'raw', { allTopics: true }, [], authToken));
  const { envelope } = await receiveEnvelope(dealer);
  assert.equal(envelope.correlationId, correlationId);
  return envelope.errorCode;
}

void describe('RequestServer connection limits', () => {
  void test('per principal: the third connection is refused on every request, once logged, until one closes', async () => {
    const { logger, lines } = captureLogger();
    const { handlers, ran } = countingHandlers();
    const refusals: ConnectionLimitReason[] = [];
    const server = await startServer({ logger, handlers, connectionLimits: { maxConnections: 0,
      maxConnectionsPerPrincipal: 2 }, onConnectionRefused: (reason) => { refusals.push(reason); } });
    const first = connect(server);
    const second = connect(server);
    const third = connect(server);
    const fourth = connect(server);
    try {
      await first.request(API_KEYS.METADATA, { allTopics: true });
      await second.request(API_KEYS.METADATA, { allTopics: true });
      assert.equal(ran(), 2);
      for (let i = 0; i < 5; i += 1) {
        const error = await expectCode(third.request(API_KEYS.METADATA, { allTopics: true }),
          'CONNECTION_LIMIT_EXCEEDED');
        assert.equal(error.retriable, false);
        assert.match(error.message, /User:ANONYMOUS has 2 connections open/);
      }
      assert.equal(ran(), 2, 'no handler ran for the refused connection');
      assert.deepEqual(server.held, { peers: 0, queuedReplyBytes: 0, parkedRequests: 0, connections: 2,
        refusedConnections: 1 });
      assert.equal(lines.filter((line) => line.msg === REFUSED_LINE).length, 1, 'logged once, not per request');
      assert.deepEqual(refusals, ['principal']);
      // The first two still work; closing one makes room for a new connection, not for the refused one.
      await second.request(API_KEYS.METADATA, { allTopics: true });
      await first.close();
      await waitFor(() => server.held.connections === 1, 'the closed connection freed its place');
      await expectCode(third.request(API_KEYS.METADATA, { allTopics: true }), 'CONNECTION_LIMIT_EXCEEDED');
      await fourth.request(API_KEYS.METADATA, { allTopics: true });
      await third.close();
      await waitFor(() => server.held.refusedConnections === 0, 'the refused connection is forgotten when it closes');
      assert.equal(server.held.connections, 2);
      assert.equal(lines.filter((line) => line.msg === DROPPED_LINE).length, 0, 'no notice taken for a request');
    } finally {
      await Promise.all([first.close(), second.close(), third.close(), fourth.close()]);
      await server.close();
    }
  });

  void test('total and per principal with auth tokens: each limit refuses with its own reason', async () => {
    const { logger } = captureLogger();
    const { handlers } = countingHandlers();
    const refusals: ConnectionLimitReason[] = [];
    const principals = new Map([['a', 'User:alice'], ['b', 'User:bob'], ['c', 'User:carol']]);
    const server = await startServer({ logger, handlers,
      authenticate: (token) => principals.get(Buffer.from(token).toString()) ?? null,
      connectionLimits: { maxConnections: 2, maxConnectionsPerPrincipal: 1 },
      onConnectionRefused: (reason) => { refusals.push(reason); } });
    const dealers = Array.from({ length: 5 }, () => rawDealer(server.endpoint));
    const [alice, alice2, bob, carol, stranger] = dealers;
    assert.ok(alice !== undefined && alice2 !== undefined && bob !== undefined && carol !== undefined
      && stranger !== undefined);
    const limitCode = ERROR_TABLE.CONNECTION_LIMIT_EXCEEDED.wire;
    try {
      assert.equal(await metadataCode(alice, 1, Buffer.from('a')), 0);
      assert.equal(await metadataCode(alice2, 2, Buffer.from('a')), limitCode);
      // A request proving no principal is refused as before and does not count the connection.
      assert.equal(await metadataCode(stranger, 3, Buffer.from('x')), ERROR_TABLE.SASL_AUTHENTICATION_FAILED.wire);
      assert.equal(await metadataCode(bob, 4, Buffer.from('b')), 0);
      assert.equal(await metadataCode(carol, 5, Buffer.from('c')), limitCode);
      assert.deepEqual(refusals, ['principal', 'total']);
      assert.deepEqual({ connections: server.held.connections, refused: server.held.refusedConnections },
        { connections: 2, refused: 2 });
      // The connection keeps its first principal's decision whatever a later token proves.
      assert.equal(await metadataCode(alice2, 6, Buffer.from('c')), limitCode);
      bob.close();
      await waitFor(() => server.held.connections === 1, 'bob\'s place freed');
      assert.equal(await metadataCode(stranger, 7, Buffer.from('c')), 0, 'carol on a new connection gets in');
    } finally {
      for (const dealer of dealers) dealer.close();
      await server.close();
    }
  });

  void test('with CURVE: principals from keys, and a handshake refused by ZAP counts toward nothing', async () => {
    const { logger } = captureLogger();
    const serverPair = generateKeyPair();
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    const stranger = generateKeyPair();
    const principals = new Map([[authToken(alice, serverPair.publicKey).toString('hex'), 'User:alice'],
      [authToken(bob, serverPair.publicKey).toString('hex'), 'User:bob']]);
    const zap = await ZapHandler.shared();
    zap.register('unit-limits', (key) => (key === alice.publicKey ? 'User:alice' : key === bob.publicKey ? 'User:bob'
      : null), { warn: () => undefined });
    const server = await startServer({ logger, handlers: countingHandlers().handlers,
      curve: { secretKey: serverPair.secretKey, zapDomain: 'unit-limits' },
      authenticate: (token) => principals.get(Buffer.from(token).toString('hex')) ?? null,
      connectionLimits: { maxConnections: 0, maxConnectionsPerPrincipal: 1 } });
    const secure = (pair: KeyPair): ReturnType<typeof connect> => connect(server, { requestTimeoutMs: 2_000,
      curve: { serverKey: serverPair.publicKey, publicKey: pair.publicKey, secretKey: pair.secretKey,
        authToken: authToken(pair, serverPair.publicKey) } });
    const connections = [secure(alice), secure(alice), secure(bob), secure(stranger), secure(alice)];
    const [alice1, alice2, bob1, stranger1, alice3] = connections;
    assert.ok(alice1 !== undefined && alice2 !== undefined && bob1 !== undefined && stranger1 !== undefined
      && alice3 !== undefined);
    try {
      await alice1.request(API_KEYS.METADATA, { allTopics: true });
      await expectCode(alice2.request(API_KEYS.METADATA, { allTopics: true }), 'CONNECTION_LIMIT_EXCEEDED');
      await bob1.request(API_KEYS.METADATA, { allTopics: true });
      await assert.rejects(stranger1.request(API_KEYS.METADATA, { allTopics: true }));
      assert.deepEqual({ connections: server.held.connections, refused: server.held.refusedConnections },
        { connections: 2, refused: 1 });
      await alice1.close();
      await waitFor(() => server.held.connections === 1, 'alice\'s first connection freed its place');
      await alice3.request(API_KEYS.METADATA, { allTopics: true });
    } finally {
      await Promise.all(connections.map((connection) => connection.close()));
      await server.close();
      zap.unregister('unit-limits');
      await ZapHandler.closeShared();
    }
  });

  void test('notices are not requests; a peer sending an empty frame gives up only its own place', async () => {
    const { logger, lines } = captureLogger();
    const { handlers, ran } = countingHandlers();
    const server = await startServer({ logger, handlers, connectionLimits: { maxConnections: 0,
      maxConnectionsPerPrincipal: 1 } });
    const limitCode = ERROR_TABLE.CONNECTION_LIMIT_EXCEEDED.wire;
    const idle = rawDealer(server.endpoint);
    const liar = rawDealer(server.endpoint);
    const other = rawDealer(server.endpoint);
    try {
      assert.equal(await metadataCode(liar, 1), 0);
      assert.equal(server.held.connections, 1);
      // An empty frame looks like a disconnect notice: the liar's place is freed...
      await liar.send([Buffer.alloc(0)]);
      await waitFor(() => server.held.connections === 0, 'the empty frame taken as the liar leaving');
      // ...so another connection takes it, and the liar's next request is decided again: refused.
      assert.equal(await metadataCode(other, 2), 0);
      assert.equal(await metadataCode(liar, 3), limitCode);
      assert.equal(server.held.connections, 1);
      // Another empty frame, and its real disconnect later, free the liar's refusal and nothing else.
      await liar.send([Buffer.alloc(0)]);
      await waitFor(() => server.held.refusedConnections === 0, 'the liar forgotten');
      liar.close();
      idle.close(); // connected and gone without a request: its notices mean nothing
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(server.held.connections, 1);
      assert.equal(await metadataCode(other, 4), 0);
      assert.equal(ran(), 3);
      other.close();
      await waitFor(() => server.held.connections === 0, 'the last connection freed its place');
      assert.equal(lines.filter((line) => line.msg === DROPPED_LINE).length, 0, 'no notice taken for a request');
    } finally {
      for (const dealer of [idle, liar, other]) dealer.close();
      await server.close();
    }
  });

  void test('without limits every connection is served, and closed ones are forgotten', async () => {
    const { logger, lines } = captureLogger();
    const { handlers, ran } = countingHandlers();
    const server = await startServer({ logger, handlers });
    const connections = Array.from({ length: 20 }, () => connect(server));
    try {
      await Promise.all(connections.map((connection) => connection.request(API_KEYS.METADATA, { allTopics: true })));
      assert.equal(ran(), 20);
      assert.equal(server.held.connections, 20);
      await Promise.all(connections.map((connection) => connection.close()));
      await waitFor(() => server.held.connections === 0, 'every closed connection forgotten');
      assert.equal(lines.filter((line) => line.msg === DROPPED_LINE).length, 0);
    } finally {
      await Promise.all(connections.map((connection) => connection.close()));
      await server.close();
    }
  });
});
