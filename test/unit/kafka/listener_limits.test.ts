/**
 * Goal: the Kafka listener's connection limits: past --max-connections, --max-connections-per-ip
 * or --max-connections-per-principal a connection is closed as soon as it is accepted, unanswered,
 * each refusal logged (rate limited) and reported once with its reason; the connections already
 * in are served on; a close frees a place; without limits nothing is refused.
 * Method: a real KafkaListener on 127.0.0.1 (no broker behind it: ApiVersions needs none), raw TCP
 * connections kept open; every wait bounded.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';

import type { RateLimitedLogOptions } from '../../../src/common/rate_limited_log.js';
import { KafkaListener } from '../../../src/kafka/listener.js';
import type { ConnectionLimitReason, ConnectionLimitSettings } from '../../../src/security/connection_limits.js';
import { NO_CONNECTION_LIMITS } from '../../../src/security/connection_limits.js';
import { KafkaSocket } from '../../helpers/kafka_socket.js';
import { captureLogger, waitFor } from '../net/helpers.js';
import type { LogLine } from '../net/helpers.js';

const REFUSED_LINE = 'closed a Kafka connection over a connection limit';

async function withListener(limits: Partial<ConnectionLimitSettings>,
  body: (open: () => Promise<KafkaSocket>, refusals: ConnectionLimitReason[], refusedLines: () => number,
    lines: readonly LogLine[]) => Promise<void>,
  refusalLog: Partial<RateLimitedLogOptions> = {}): Promise<void> {
  const { logger, lines } = captureLogger();
  const refusals: ConnectionLimitReason[] = [];
  const listener = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger, refusalLog,
    broker: { brokerId: 1, handlers: {}, brokers: () => [] },
    connectionLimits: { ...NO_CONNECTION_LIMITS, ...limits },
    onConnectionRefused: (reason) => { refusals.push(reason); } });
  const sockets: KafkaSocket[] = [];
  try {
    await body(async () => {
      const socket = await KafkaSocket.connect(listener.port);
      sockets.push(socket);
      return socket;
    }, refusals, () => lines.filter((line) => line.msg === REFUSED_LINE).length, lines);
  } finally {
    for (const socket of sockets) socket.destroy();
    await listener.close();
  }
}

/** A new connection that is served, trying fresh ones while a close just before is not yet seen (bounded). */
async function served(open: () => Promise<KafkaSocket>): Promise<KafkaSocket> {
  for (let attempt = 1; ; attempt += 1) {
    const socket = await open();
    if (await socket.apiVersionsErrorCode(attempt).then(() => true, () => false)) return socket;
    assert.ok(attempt < 50, 'a new connection is served within 50 tries');
    await sleep(20);
  }
}

void describe('KafkaListener connection limits', () => {
  for (const [name, limits, reason] of [
    ['--max-connections', { maxConnections: 2 }, 'total'],
    ['--max-connections-per-ip', { maxConnectionsPerAddress: 2 }, 'address'],
    ['--max-connections-per-principal (User:ANONYMOUS)', { maxConnectionsPerPrincipal: 2 }, 'principal'],
  ] as const) {
    void it(`${name} 2: a third connection is closed unanswered, the first two served, a close makes room`,
      async () => {
        await withListener(limits, async (open, refusals, refusedLines) => {
          const first = await open();
          const second = await open();
          assert.equal(await first.apiVersionsErrorCode(1), 0);
          assert.equal(await second.apiVersionsErrorCode(2), 0);
          const third = await open();
          assert.equal(await third.closedWithin(5_000), true, 'the third connection is closed by the listener');
          await assert.rejects(third.apiVersionsErrorCode(3), /closed by the broker without an answer/);
          assert.deepEqual(refusals, [reason]);
          assert.equal(refusedLines(), 1);
          assert.equal(await first.apiVersionsErrorCode(4), 0);
          first.destroy();
          const fourth = await served(open);
          assert.equal(await fourth.apiVersionsErrorCode(5), 0);
          assert.equal(await second.apiVersionsErrorCode(6), 0);
        });
      });
  }

  void it('refusals past the log limit are counted in one line once the interval ends, with nothing after them',
    async () => {
      await withListener({ maxConnections: 1 }, async (open, refusals, refusedLines, lines) => {
        const first = await open();
        assert.equal(await first.apiVersionsErrorCode(1), 0);
        for (let refused = 0; refused < 4; refused += 1) {
          assert.equal(await (await open()).closedWithin(5_000), true, 'closed over --max-connections 1');
        }
        assert.equal(refusals.length, 4);
        // One line in full per interval, the rest counted; the count comes from the timer, since no
        // refusal follows. (Four refusals normally fall in one 1 s interval: one line and "3 more".)
        const counted = (): number => lines.filter((line) => line.kind === 'kafka-connection-refused')
          .reduce((sum, line) => sum + (typeof line.suppressed === 'number' ? line.suppressed : 0), 0);
        assert.ok(refusedLines() < 4, 'past the limit, refusals are not logged in full');
        await waitFor(() => refusedLines() + counted() === 4, 'every refusal logged or counted', 5_000);
      }, { linesPerInterval: 1, intervalMs: 1_000 });
    });

  void it('without limits every connection is served', async () => {
    await withListener({}, async (open, refusals) => {
      const sockets = await Promise.all(Array.from({ length: 20 }, () => open()));
      const codes = await Promise.all(sockets.map((socket, i) => socket.apiVersionsErrorCode(i)));
      assert.deepEqual(codes, sockets.map(() => 0));
      assert.deepEqual(refusals, []);
    });
  });
});
