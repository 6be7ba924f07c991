/**
 * Goal: the Raft transport's flush() hands an idle link's queue to ZeroMQ at once (so a light
 * load's append leaves before the leader writes it), while a link that sent within the last
 * millisecond keeps gathering its messages until the end of the event-loop turn (the batching
 * the peak relies on).
 * Method: two real ZeroMQ transports on 127.0.0.1. After the link has been quiet, a queued message
 * and flush(): the send is counted before the turn ends (a setImmediate queued first has not run).
 * Right after, a second one and flush(): nothing more is sent until the turn ends, then it is.
 * Both arrive.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZmqRaftTransport } from '../../../raft/transport/zmq_transport.js';
import { freePorts, waitFor } from '../../helpers/ports.js';
import { RecordingLogger } from '../../helpers/storage_fixture.js';

/** Lets the microtasks queued so far run, without ending the event-loop turn. */
async function microtasks(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await Promise.resolve();
}

const turnEnd = (): Promise<void> => new Promise((resolve) => { setImmediate(resolve); });

void describe('flush() on the ZeroMQ Raft transport', () => {
  void test('sends at once on an idle link, and at the end of the turn on a busy one', async () => {
    const [port1, port2] = await freePorts(2);
    assert.ok(port1 !== undefined && port2 !== undefined);
    const logger = new RecordingLogger();
    const node1 = new ZmqRaftTransport({ nodeId: 1, listen: `tcp://127.0.0.1:${port1}`, logger });
    const node2 = new ZmqRaftTransport({ nodeId: 2, listen: `tcp://127.0.0.1:${port2}`, logger });
    const received: number[] = [];
    try {
      await node1.start(() => undefined);
      await node2.start(() => undefined, (_from, payload) => { received.push(payload[0] ?? -1); });
      node1.setPeer(2, `tcp://127.0.0.1:${port2}`);
      const connected = await waitFor(() => {
        if (received.length === 0) node1.forward(2, Buffer.from([0]));
        return received.length > 0;
      }, 10_000, 50);
      assert.ok(connected, 'node 2 hears node 1');
      await new Promise((resolve) => setTimeout(resolve, 20)); // the link is idle now

      let turnEnded = false;
      setImmediate(() => { turnEnded = true; });
      const before = node1.stats.sentBatches;
      node1.forward(2, Buffer.from([1]));
      node1.flush();
      await microtasks();
      assert.equal(turnEnded, false, 'still the same turn');
      assert.equal(node1.stats.sentBatches, before + 1, 'an idle link sends at once');

      node1.forward(2, Buffer.from([2]));
      node1.flush();
      await microtasks();
      assert.equal(turnEnded, false, 'still the same turn');
      assert.equal(node1.stats.sentBatches, before + 1, 'a link that just sent waits for the end of the turn');
      await turnEnd();
      await microtasks();
      assert.equal(node1.stats.sentBatches, before + 2, 'then it sends');

      const arrived = await waitFor(() => received.includes(1) && received.includes(2), 10_000, 10);
      assert.ok(arrived, `both messages arrive: ${JSON.stringify(received)}`);
      assert.ok(received.indexOf(1) < received.indexOf(2), 'in order');
    } finally {
      await node1.close();
      await node2.close();
    }
  });
});
