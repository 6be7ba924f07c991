/**
 * Real brokers whose Raft links all go through the harness's link relays (jepsen/relay.ts): each
 * broker dials every peer through the relay of that directed pair (--raft-dial), so a test can
 * cut, silence or slow any link between two brokers. Clients reach each broker through a relay of
 * its own too (the broker advertises it), so a test can cut clients off from a broker; the
 * LocalCluster's own helpers (metadata) still dial brokers directly.
 */
import { assert } from '../../raft/core/assert.js';
import { LinkRelay, RelayMesh } from '../../jepsen/relay.js';
import { LocalCluster } from '../../src/cli/local_cluster.js';
import type { BrokerSlot } from '../../src/cli/local_cluster.js';

export interface RelayedCluster {
  readonly cluster: LocalCluster;
  readonly relays: RelayMesh;
  /** Per broker, the relay clients reach it through. */
  readonly clientRelays: ReadonlyMap<number, LinkRelay>;
  /** The bootstrap list through the client relays. */
  readonly bootstrap: string;
  /** Stops the brokers (by PID), then the relays. */
  stop(): Promise<void>;
}

export async function startRelayedCluster(brokerCount: number, brokerArguments: readonly string[] = [],
  env: Readonly<Record<string, string>> = {}): Promise<RelayedCluster> {
  const slots = new Map<number, BrokerSlot>();
  const ids = Array.from({ length: brokerCount }, (_, i) => i + 1);
  const relays = await RelayMesh.open(ids, (id) => slots.get(id)?.raftPort ?? null);
  const clientRelays = new Map<number, LinkRelay>();
  /** Clients are "broker 0" to the relays: every link names two ends. */
  for (const id of ids) clientRelays.set(id, await LinkRelay.open(0, id, () => slots.get(id)?.port ?? null));
  const closeRelays = async (): Promise<void> => {
    await relays.close();
    await Promise.all([...clientRelays.values()].map((relay) => relay.close()));
  };
  let cluster: LocalCluster;
  try {
    cluster = await LocalCluster.start(brokerCount, {
      brokerArguments, env,
      brokerSetup: (slot, all) => {
        for (const each of all) slots.set(each.id, each);
        assert(all.length === brokerCount, 'every broker has its slot when the first is set up');
        const voters = all.map((each) => `${each.id}@127.0.0.1:${each.raftPort}`).join(',');
        return { arguments: ['--id', String(slot.id), '--data', slot.dataDirectory,
          '--listen', `127.0.0.1:${slot.port}`, '--raft-listen', `127.0.0.1:${slot.raftPort}`, '--voters', voters,
          '--raft-dial', relays.dialArgument(slot.id),
          '--advertise', `127.0.0.1:${clientRelays.get(slot.id)?.port ?? 0}`] };
      },
    });
  } catch (error) {
    await closeRelays();
    throw error;
  }
  return {
    cluster, relays, clientRelays,
    bootstrap: [...clientRelays.values()].map((relay) => `127.0.0.1:${relay.port}`).join(','),
    async stop(): Promise<void> {
      await cluster.stop();
      await closeRelays();
    },
  };
}
