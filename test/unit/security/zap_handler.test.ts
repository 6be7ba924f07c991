/**
 * Who may connect: the ZAP decisions (zap_handler.ts), a secure broker's answers to them and to
 * request tokens (broker_security.ts, including a reload of --client-keys), and the process's ZAP
 * handler deciding real CURVE handshakes: a known key talks, an unknown key is refused at every
 * retry but logged once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import * as zmq from 'zeromq';

import { authToken } from '../../../src/security/auth_token.js';
import { BrokerSecurity } from '../../../src/security/broker_security.js';
import { writeClusterKeys } from '../../../src/security/cluster_keys.js';
import { generateKeyPair, loadKeyPair, writeKeyPair } from '../../../src/security/keys.js';
import { ZapHandler, zapDecision } from '../../../src/security/zap_handler.js';
import type { Authorizer } from '../../../src/security/zap_handler.js';
import { freePorts } from '../../helpers/ports.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-zap-'));
after(() => { fs.rmSync(directory, { recursive: true, force: true }); });

class Lines {
  readonly warnings: { object: object; message: string }[] = [];
  readonly infos: string[] = [];
  readonly errors: string[] = [];
  warn(object: object, message: string): void { this.warnings.push({ object, message }); }
  info(_object: object, message: string): void { this.infos.push(message); }
  error(_object: object, message: string): void { this.errors.push(message); }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

void describe('ZAP decisions', () => {
  const authorizers = new Map<string, Authorizer>([['client', (key) => (key === 'known' ? 'User:alice' : null)]]);

  void test('a known CURVE key of a registered domain is accepted with its principal as user id', () => {
    assert.deepEqual(zapDecision(authorizers, 'client', 'CURVE', 'known'), { status: '200', text: 'OK', userId: 'User:alice' });
  });

  void test('an unknown key, another mechanism or an unregistered domain is refused', () => {
    assert.equal(zapDecision(authorizers, 'client', 'CURVE', 'other').status, '400');
    assert.equal(zapDecision(authorizers, 'client', 'NULL', null).status, '400');
    assert.equal(zapDecision(authorizers, 'raft', 'CURVE', 'known').status, '400');
  });
});

void describe('a secure broker\'s answers', () => {
  const keys = writeClusterKeys(path.join(directory, 'cluster'), [1, 2], ['alice']);
  const key = (file: string | undefined): ReturnType<typeof loadKeyPair> => loadKeyPair(file ?? 'missing');
  const broker1 = key(keys.brokerKeyFiles.get(1));
  const broker2 = key(keys.brokerKeyFiles.get(2));
  const alice = key(keys.userKeyFiles.get('alice'));
  const stranger = generateKeyPair();
  const load = (allowAnonymous: boolean, lines = new Lines()): BrokerSecurity => BrokerSecurity.load(1,
    { keyFile: keys.brokerKeyFiles.get(1) ?? '', peerKeysFile: keys.peerKeys, clientKeysFile: keys.clientKeys,
      allowAnonymous }, lines);

  void test('client domain: client keys as their users, peers as Broker:N, strangers only when anonymous is allowed', () => {
    const strict = load(false);
    assert.equal(strict.authorizeClient(alice.publicKey), 'User:alice');
    assert.equal(strict.authorizeClient(broker2.publicKey), 'Broker:2');
    assert.equal(strict.authorizeClient(stranger.publicKey), null);
    assert.equal(load(true).authorizeClient(stranger.publicKey), 'User:ANONYMOUS');
  });

  void test('raft domain: only the other brokers\' keys', () => {
    const security = load(true);
    assert.equal(security.authorizeRaft(broker2.publicKey), 'Broker:2');
    assert.equal(security.authorizeRaft(alice.publicKey), null);
    assert.equal(security.authorizeRaft(stranger.publicKey), null);
    assert.equal(security.authorizeRaft(broker1.publicKey), null, 'its own key from elsewhere is nobody');
  });

  void test('request tokens name their principal; none or a stranger\'s is refused unless anonymous is allowed', () => {
    const strict = load(false);
    assert.equal(strict.principalOf(authToken(alice, broker1.publicKey)), 'User:alice');
    assert.equal(strict.principalOf(authToken(broker2, broker1.publicKey)), 'Broker:2');
    assert.equal(strict.principalOf(authToken(alice, broker2.publicKey)), null, 'a token meant for another broker');
    assert.equal(strict.principalOf(authToken(stranger, broker1.publicKey)), null);
    assert.equal(strict.principalOf(new Uint8Array(0)), null);
    assert.equal(load(true).principalOf(new Uint8Array(0)), 'User:ANONYMOUS');
  });

  void test('raft tokens: each side names the other', () => {
    const security = load(false);
    assert.deepEqual(security.raftTokenFor(2), authToken(broker2, broker1.publicKey));
    assert.equal(security.raftSenderOf(authToken(broker2, broker1.publicKey)), 2);
    assert.equal(security.raftSenderOf(authToken(alice, broker1.publicKey)), undefined);
    assert.equal(security.raftTokenFor(1), undefined, 'no token to itself');
  });

  void test('a changed client keys file takes effect on reload; a broken one keeps the keys in force', () => {
    const clientKeys = path.join(directory, 'reloaded-client-keys');
    fs.copyFileSync(keys.clientKeys, clientKeys);
    const lines = new Lines();
    const security = BrokerSecurity.load(1, { keyFile: keys.brokerKeyFiles.get(1) ?? '', peerKeysFile: keys.peerKeys,
      clientKeysFile: clientKeys }, lines);
    const carol = generateKeyPair();
    assert.equal(security.reloadIfChanged(), false, 'unchanged');
    fs.appendFileSync(clientKeys, `User:carol ${carol.publicKey}\n`);
    assert.equal(security.reloadIfChanged(), true);
    assert.equal(security.authorizeClient(carol.publicKey), 'User:carol');
    assert.equal(security.principalOf(authToken(carol, broker1.publicKey)), 'User:carol');
    assert.deepEqual(lines.infos, ['reloaded the client keys']);
    fs.writeFileSync(clientKeys, `User:alice ${alice.publicKey}\nnonsense\n`);
    assert.equal(security.reloadIfChanged(), false);
    assert.equal(lines.errors.length, 1);
    assert.equal(security.authorizeClient(carol.publicKey), 'User:carol', 'the last good keys stay');
  });
});

void describe('the ZAP handler on real CURVE handshakes', () => {
  void test('a known key talks; an unknown key is refused at every attempt and logged once', { timeout: 30_000 },
    async () => {
      const server = generateKeyPair();
      const known = generateKeyPair();
      const unknown = generateKeyPair();
      writeKeyPair(path.join(directory, 'unused'), unknown); // the refused key is a real file's, as an operator's
      const lines = new Lines();
      const zap = await ZapHandler.shared();
      zap.register('unit-client', (key) => (key === known.publicKey ? 'User:known' : null), lines);
      const [port] = await freePorts(1);
      assert.ok(port !== undefined);
      const router = new zmq.Router({ linger: 0, curveServer: true, curveSecretKey: server.secretKey,
        zapDomain: 'unit-client' });
      await router.bind(`tcp://127.0.0.1:${port}`);
      const dial = (pair: typeof known): zmq.Dealer => {
        const dealer = new zmq.Dealer({ linger: 0, reconnectInterval: 50, reconnectMaxInterval: 50,
          curveServerKey: server.publicKey, curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey });
        dealer.connect(`tcp://127.0.0.1:${port}`);
        return dealer;
      };
      const good = dial(known);
      let refusals = 0;
      try {
        await good.send('hello');
        const [, body] = await router.receive();
        assert.equal(body?.toString(), 'hello');
        // libzmq does not redial after a refusal (ZAP 400): a retry is a new connection, as a client restarting.
        for (let attempt = 1; attempt <= 5; attempt += 1) {
          const bad = dial(unknown);
          const refused = new Promise<void>((resolve) => { bad.events.on('handshake:error:auth', () => { resolve(); }); });
          await Promise.race([refused, sleep(5_000)]);
          bad.close();
          refusals += 1;
          assert.equal(zap.stats.refused, attempt, `attempt ${attempt} was refused`);
        }
        const logged = lines.warnings.filter((line) => JSON.stringify(line.object).includes(unknown.publicKey));
        assert.equal(logged.length, 1, 'one log line for the refused key');
        assert.equal(refusals, 5);
        assert.ok(zap.stats.accepted >= 1);
      } finally {
        good.close();
        router.close();
        zap.unregister('unit-client');
        await ZapHandler.closeShared();
      }
    });
});
