/**
 * The test clusters draw free ports and then start brokers on them, so a process beside them can
 * take a port in between (it happened in CI: a broker exited with "an address is already in use"
 * and the suite's set-up failed). LocalCluster then starts the cluster again on fresh ports. Here a
 * port is held open by the test and given to one broker on the first attempt only.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import type { BrokerSlot } from '../../src/cli/local_cluster.js';
import { TestCluster } from '../helpers/cluster.js';

function holdPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { resolve(server); });
  });
}

describe('a test cluster whose port is taken before a broker binds it', () => {
  let cluster: TestCluster | undefined;
  let held: net.Server | undefined;
  after(async () => {
    await cluster?.stop();
    held?.close();
  });

  it('starts again on fresh ports and every broker registers', async () => {
    held = await holdPort();
    const address = held.address();
    assert(address !== null && typeof address === 'object');
    const takenPort = address.port;
    const setups: number[] = [];
    cluster = await TestCluster.startWith(3, {
      brokerSetup: (slot: BrokerSlot, all: readonly BrokerSlot[]) => {
        const firstAttempt = !setups.includes(slot.id);
        setups.push(slot.id);
        const port = slot.id === 2 && firstAttempt ? takenPort : slot.port;
        const voters = all.map((b) => `${b.id}@127.0.0.1:${b.raftPort}`).join(',');
        return { arguments: ['--id', String(slot.id), '--data', slot.dataDirectory, '--listen', `127.0.0.1:${port}`,
          '--raft-listen', `127.0.0.1:${slot.raftPort}`, '--voters', voters] };
      },
    });
    assert.deepEqual(setups.filter((id) => id === 2).length, 2, 'broker 2 was started twice: on the taken port, then a fresh one');
    assert.notEqual(cluster.portsOf(2).port, takenPort);
    const metadata = await cluster.metadata(1) as { brokers?: unknown[] } | null;
    assert.equal(metadata?.brokers?.length, 3);
  });
});
