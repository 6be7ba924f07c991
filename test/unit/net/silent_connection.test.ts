/**
 * Goal: a client Connection whose broker goes silent (a dead switch: nothing closes, nothing
 * passes) fails its request in flight within its heartbeat timeout rather than the 30 s request
 * timeout, and once the network heals talks to the broker again within a few seconds, however
 * long the silence lasted: a redial whose SYN or greeting is lost is abandoned after
 * connectTimeoutMs (2 s) instead of libzmq's 30 s handshake wait.
 * Method: a real RequestServer on 127.0.0.1 reached through the harness's link relay; the relay is
 * silenced for 8 s with a request in flight, then healed; requests are retried every 100 ms.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { LinkRelay } from '../../../jepsen/relay.js';
import { Connection } from '../../../src/client/connection.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { captureLogger, expectCode, startServer } from './helpers.js';

const SILENT_MS = 8_000;
const FAIL_WITHIN_MS = 5_000;
const BACK_WITHIN_MS = 4_500;

void describe('a Connection through a silent link', () => {
  void test(`fails its request within ${FAIL_WITHIN_MS} ms and talks again within ${BACK_WITHIN_MS} ms of the heal`,
    { timeout: 60_000 }, async () => {
      const server = await startServer({ logger: captureLogger().logger, handlers: {
        [API_KEYS.METADATA]: () => ({ response: { controllerId: 7 } }) } });
      const serverPort = Number(server.endpoint.split(':').pop());
      const relay = await LinkRelay.open(0, 1, () => serverPort);
      const connection = new Connection({ address: `127.0.0.1:${relay.port}`, requestTimeoutMs: 30_000,
        logger: captureLogger().logger });
      try {
        assert.equal((await connection.request(API_KEYS.METADATA, {})).response.controllerId, 7);
        relay.silence();
        const silencedAt = Date.now();
        const inFlight = connection.request(API_KEYS.METADATA, {});
        await expectCode(inFlight, 'NETWORK_EXCEPTION');
        const failedAfter = Date.now() - silencedAt;
        assert.ok(failedAfter <= FAIL_WITHIN_MS, `the request failed ${failedAfter} ms after the silence began`);
        await sleep(SILENT_MS - failedAfter);
        const healedAt = Date.now();
        relay.heal();
        let answered = false;
        for (let attempt = 0; attempt < 300 && !answered; attempt += 1) {
          answered = await connection.request(API_KEYS.METADATA, {}, [], { timeoutMs: 500 })
            .then(() => true, () => false);
          if (!answered) await sleep(100);
        }
        const backAfter = Date.now() - healedAt;
        console.log(`silent connection: request failed ${failedAfter} ms into the silence; `
          + `answered again ${backAfter} ms after the heal`);
        assert.ok(answered && backAfter <= BACK_WITHIN_MS, `answered again ${backAfter} ms after the heal`);
      } finally {
        await connection.close();
        await relay.close();
        await server.close();
      }
    });
});
