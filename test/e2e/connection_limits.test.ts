/**
 * Connection limits on both listeners of a real broker (issue 16 point 5).
 *
 * (a) The native ZeroMQ listener with --max-connections-per-principal 2 (plaintext: every client is
 * User:ANONYMOUS): two clients are served, a third one's requests are answered with the typed
 * CONNECTION_LIMIT_EXCEEDED, and once one of the first two closes a new client is served.
 * (b) The Kafka listener with --max-connections-per-ip 2: a third TCP connection from 127.0.0.1 is
 * closed by the broker without an answer while the first two still answer ApiVersions, and one of
 * them closing makes room.
 *
 * One single-broker cluster at a time; every wait is bounded.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { Connection } from '../../src/client/connection.js';
import { TributaryError } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { TestCluster } from '../helpers/cluster.js';
import { KafkaSocket } from '../helpers/kafka_socket.js';

void describe('connection limits', { timeout: 180_000 }, () => {
  void describe('native listener, --max-connections-per-principal 2', () => {
    let cluster: TestCluster;
    const opened: Connection[] = [];

    before(async () => {
      cluster = await TestCluster.start(1, ['--max-connections-per-principal', '2']);
    });
    after(async () => {
      await Promise.all(opened.map((connection) => connection.close()));
      await cluster.stop();
    });

    function open(): Connection {
      const connection = new Connection({ address: cluster.address(1), clientId: 'limits', requestTimeoutMs: 5_000 });
      opened.push(connection);
      return connection;
    }

    async function metadata(connection: Connection): Promise<void> {
      const reply = await connection.request(API_KEYS.METADATA, { allTopics: true });
      assert.equal(reply.response.brokers.length, 1);
    }

    /**
     * A new connection that is served: a connection closed just before (the cluster's own start-up
     * probes, a test's close) keeps its place until the broker hears of the close, within
     * milliseconds; until then a new one is refused, so this tries fresh ones, 50 at most.
     */
    async function servedConnection(): Promise<Connection> {
      for (let attempt = 1; ; attempt += 1) {
        const connection = open();
        try {
          await metadata(connection);
          return connection;
        } catch (error) {
          await connection.close();
          if (!(error instanceof TributaryError) || error.code !== 'CONNECTION_LIMIT_EXCEEDED' || attempt >= 50) {
            throw error;
          }
          await sleep(100);
        }
      }
    }

    async function refused(connection: Connection): Promise<TributaryError> {
      try {
        await metadata(connection);
      } catch (error) {
        assert.ok(error instanceof TributaryError, `expected a TributaryError, got ${String(error)}`);
        assert.equal(error.code, 'CONNECTION_LIMIT_EXCEEDED');
        return error;
      }
      assert.fail('the third connection was served');
    }

    it('serves two connections, refuses a third with CONNECTION_LIMIT_EXCEEDED, serves a new one after a close',
      async () => {
        const first = await servedConnection();
        const second = await servedConnection();
        const third = open();
        const error = await refused(third);
        assert.equal(error.retriable, false);
        assert.match(error.message, /User:ANONYMOUS has 2 connections open/);
        await refused(third); // every request of it, not only the first
        await metadata(first);
        await metadata(second);
        await first.close();
        const fourth = await servedConnection();
        await metadata(fourth);
        await metadata(second);
        await refused(third);
      });
  });

  void describe('Kafka listener, --max-connections-per-ip 2', () => {
    let cluster: TestCluster;
    let kafkaPort = 0;
    const sockets: KafkaSocket[] = [];

    before(async () => {
      cluster = await TestCluster.startWith(1, { extraPortsPerBroker: 1,
        brokerArguments: ['--max-connections-per-ip', '2'],
        argumentsFor: (slot) => ['--kafka-listen', `127.0.0.1:${String(slot.extraPorts[0])}`] });
      kafkaPort = cluster.extraPortsOf(1)[0] ?? 0;
    });
    after(async () => {
      for (const socket of sockets) socket.destroy();
      await cluster.stop();
    });

    async function connected(): Promise<KafkaSocket> {
      const socket = await KafkaSocket.connect(kafkaPort);
      sockets.push(socket);
      return socket;
    }

    it('closes a third connection from 127.0.0.1 at once; the first two still answer ApiVersions', async () => {
      const first = await connected();
      const second = await connected();
      assert.equal(await first.apiVersionsErrorCode(1), 0);
      assert.equal(await second.apiVersionsErrorCode(2), 0);
      const third = await connected();
      await assert.rejects(third.apiVersionsErrorCode(3), /closed by the broker without an answer/);
      assert.equal(await first.apiVersionsErrorCode(4), 0);
      assert.equal(await second.apiVersionsErrorCode(5), 0);
      // A close makes room (the broker hears of it within milliseconds: a few tries, bounded).
      first.destroy();
      let served = false;
      for (let attempt = 0; attempt < 50 && !served; attempt += 1) {
        const next = await connected();
        served = await next.apiVersionsErrorCode(6).then(() => true, () => false);
        if (!served) await sleep(100);
      }
      assert.ok(served, 'a new connection is served once one of the first two closed');
      assert.equal(await second.apiVersionsErrorCode(7), 0);
    });
  });
});
