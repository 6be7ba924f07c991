/**
 * Three Raft hosts over real ZeroMQ sockets on 127.0.0.1, each group on real segment files and
 * LMDB: a leader is elected, proposals commit and are applied in the same order everywhere, the
 * leader's host is stopped and a new leader takes over, and the old one rejoins from its files and
 * catches up. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EntryType, bootstrapEntries } from '../../raft/core/index.js';
import type { Entry, Snapshot, SoftState } from '../../raft/core/index.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import type { ReplicaStateMachine } from '../../raft/host/replica.js';
import { ZmqRaftTransport } from '../../raft/transport/zmq_transport.js';
import { LogManager } from '../../storage/index.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

const GROUP = 7;

class ListMachine implements ReplicaStateMachine {
  readonly applied: string[] = [];
  role = 'follower';
  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type === EntryType.normal) this.applied.push(Buffer.from(entry.data).toString());
    }
  }
  onSoftState(state: SoftState): void { this.role = state.role; }
  snapshotNextOffset(): number { return 0; }
  restore(_snapshot: Snapshot): void { throw new Error('no snapshots in this test'); }
}

interface Node { id: number; host: RaftHost; manager: LogManager; machine: ListMachine }

describe('RaftHost over ZeroMQ', () => {
  const root = temporaryDirectory('raft-host');
  const nodes = new Map<number, Node>();
  let endpoints = new Map<number, string>();
  after(async () => {
    for (const node of nodes.values()) { await node.host.close(); await node.manager.close(); }
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function startNode(id: number, fresh: boolean): Promise<Node> {
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDirectory: path.join(root, `n${id}`), logger });
    const storage = await manager.openRaftStorage('group-7', { describePayload: () => ({ recordCount: 0,
      maxTimestampMs: -1 }) });
    if (fresh) {
      const boot = bootstrapEntries([1, 2, 3]);
      await storage.append(boot.entries);
      await storage.saveHardState(boot.hardState);
    }
    const transport = new ZmqRaftTransport({ nodeId: id, listen: endpoints.get(id)!, logger });
    for (const [peer, endpoint] of endpoints) if (peer !== id) transport.setPeer(peer, endpoint);
    const host = new RaftHost({ nodeId: id, transport, logger, tickMs: 20 });
    const machine = new ListMachine();
    host.addGroup(GROUP, storage, machine);
    await host.start();
    const node = { id, host, manager, machine };
    nodes.set(id, node);
    return node;
  }

  const leader = (): Node | undefined => [...nodes.values()].find((n) => n.host.status(GROUP)?.role === 'leader');

  async function proposeAll(values: string[]): Promise<void> {
    for (const value of values) {
      let accepted = false;
      for (let attempt = 0; attempt < 200 && !accepted; attempt += 1) {
        const result = leader()?.host.propose(GROUP, Buffer.from(value));
        accepted = result?.kind === 'accepted';
        if (!accepted) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(accepted, `proposal ${value} accepted`);
    }
  }

  it('elects, replicates, fails over and catches a restarted node up', async () => {
    const ports = await freePorts(3);
    endpoints = new Map(ports.map((port, i) => [i + 1, `tcp://127.0.0.1:${port}`]));
    for (const id of [1, 2, 3]) await startNode(id, true);
    assert.ok(await waitFor(() => leader() !== undefined, 10_000), 'a leader within 10 s');
    await proposeAll(Array.from({ length: 50 }, (_, i) => `a${i}`));
    assert.ok(await waitFor(() => [...nodes.values()].every((n) => n.machine.applied.length === 50), 10_000));
    const first = leader()!;
    await first.host.close();
    await first.manager.close();
    nodes.delete(first.id);
    assert.ok(await waitFor(() => leader() !== undefined, 10_000), 'a new leader within 10 s');
    await proposeAll(Array.from({ length: 50 }, (_, i) => `b${i}`));
    assert.ok(await waitFor(() => [...nodes.values()].every((n) => n.machine.applied.length >= 100), 10_000));
    const restarted = await startNode(first.id, false);
    assert.ok(await waitFor(() => restarted.machine.applied.length === 100, 10_000),
      `restarted node applied ${restarted.machine.applied.length}`);
    const expected = [...nodes.values()][0]!.machine.applied;
    for (const node of nodes.values()) assert.deepEqual(node.machine.applied, expected);
  });
});
