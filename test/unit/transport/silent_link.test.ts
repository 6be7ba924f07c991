/**
 * Goal: a Raft link that went silent (a dead switch: nothing closes, nothing passes) carries
 * messages again soon after it heals, however long the silence lasted: ZMTP heartbeats drop the
 * silent connection, the DEALER redials on its short bounded interval, and a handshake that
 * cannot complete is abandoned (handshakeInterval) instead of holding the link for 30 s.
 * Method: two real ZeroMQ transports on 127.0.0.1, node 1 dialing node 2 through the harness's
 * link relay; node 1 forwards a numbered message every 20 ms; the link is silent for a while,
 * then healed, and the time from the heal to the first message arriving is measured.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LinkRelay } from '../../../jepsen/relay.js';
import { ZmqRaftTransport } from '../../../raft/transport/zmq_transport.js';
import { freePorts } from '../../helpers/ports.js';
import { RecordingLogger } from '../../helpers/storage_fixture.js';

const SEND_EVERY_MS = 20;
const RECOVERY_BOUND_MS = 2_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds from the heal of a link silent for `silentMs` to the first message through it. */
async function recoveryAfterSilence(silentMs: number): Promise<number> {
  const [port1, port2] = await freePorts(2);
  assert.ok(port1 !== undefined && port2 !== undefined);
  const relay = await LinkRelay.open(1, 2, () => port2);
  const logger = new RecordingLogger();
  const node1 = new ZmqRaftTransport({ nodeId: 1, listen: `tcp://127.0.0.1:${port1}`, logger,
    dialOverrides: new Map([[2, `tcp://127.0.0.1:${relay.port}`]]) });
  const node2 = new ZmqRaftTransport({ nodeId: 2, listen: `tcp://127.0.0.1:${port2}`, logger });
  const arrivals: number[] = [];
  let sent = 0;
  const sender = setInterval(() => {
    sent += 1;
    node1.forward(2, Buffer.from(String(sent)));
  }, SEND_EVERY_MS);
  try {
    await node1.start(() => undefined);
    await node2.start(() => undefined, () => { arrivals.push(Date.now()); });
    node1.setPeer(2, `tcp://127.0.0.1:${port2}`);
    node2.setPeer(1, `tcp://127.0.0.1:${port1}`);
    for (let i = 0; i < 250 && arrivals.length < 10; i += 1) await sleep(20);
    assert.ok(arrivals.length >= 10, 'messages flow through the open link');
    relay.silence();
    await sleep(300);
    const before = arrivals.length;
    await sleep(silentMs - 300);
    assert.equal(arrivals.length, before, 'nothing passes a silent link');
    const healedAt = Date.now();
    relay.heal();
    for (let i = 0; i < 500 && arrivals.length === before; i += 1) await sleep(20);
    const first = arrivals[before];
    assert.ok(first !== undefined, 'messages flow again after the heal');
    return first - healedAt;
  } finally {
    clearInterval(sender);
    await node1.close();
    await node2.close();
    await relay.close();
  }
}

void describe('a Raft link through a silent relay', { concurrency: 1 }, () => {
  for (const silentMs of [2_000, 12_000]) {
    void test(`carries messages again within ${RECOVERY_BOUND_MS} ms of the heal after ${silentMs} ms of silence`,
      { timeout: 30_000 }, async () => {
        const recoveryMs = await recoveryAfterSilence(silentMs);
        console.log(`silent ${silentMs} ms: first message ${recoveryMs} ms after the heal`);
        assert.ok(recoveryMs <= RECOVERY_BOUND_MS, `first message ${recoveryMs} ms after the heal`);
      });
  }
});
