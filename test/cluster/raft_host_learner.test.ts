/**
 * A learner of a Raft group over real ZeroMQ sockets and real segment files and LMDB, as a broker
 * outside --voters is in the controller group: it starts with an empty log (no bootstrap), is added
 * by an add_learner conf change, receives and applies the whole log, never campaigns and never
 * counts for a commit. The membership lives in the log: after every node restarts from its files,
 * each still sees the learner, and the learner catches up again. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfChangeType, EntryType, bootstrapEntries } from '../../raft/core/index.js';
import type { Entry, Snapshot, SoftState } from '../../raft/core/index.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import type { ReplicaStateMachine } from '../../raft/host/replica.js';
import { ZmqRaftTransport } from '../../raft/transport/zmq_transport.js';
import { LogManager } from '../../storage/index.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

const GROUP = 0;
const VOTERS = [1, 2, 3];
const LEARNER = 4;

class ListMachine implements ReplicaStateMachine {
  readonly applied: string[] = [];
  readonly roles = new Set<string>();
  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type === EntryType.normal) this.applied.push(Buffer.from(entry.data).toString());
    }
  }
  onSoftState(state: SoftState): void { this.roles.add(state.role); }
  snapshotNextOffset(): number { return 0; }
  restore(_snapshot: Snapshot): void { throw new Error('no snapshots in this test'); }
}

interface Node { id: number; host: RaftHost; manager: LogManager; machine: ListMachine }

void describe('a learner of a Raft group over ZeroMQ', () => {
  const root = temporaryDirectory('raft-learner');
  const nodes = new Map<number, Node>();
  let endpoints = new Map<number, string>();
  after(async () => {
    for (const node of nodes.values()) await stopNode(node.id);
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Voters bootstrap on first start; the learner never does (its log comes from the leader). */
  async function startNode(id: number): Promise<Node> {
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDirectory: path.join(root, `n${id}`), logger });
    const storage = await manager.openRaftStorage('__controller-0', { describePayload: () => ({ recordCount: 0,
      maxTimestampMs: -1 }) });
    if (VOTERS.includes(id) && storage.lastIndex() === 0) {
      const boot = bootstrapEntries(VOTERS);
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

  async function stopNode(id: number): Promise<void> {
    const node = nodes.get(id);
    if (node === undefined) return;
    nodes.delete(id);
    await node.host.close();
    await node.manager.close();
  }

  const leader = (): Node | undefined => [...nodes.values()].find((n) => n.host.status(GROUP)?.role === 'leader');

  async function propose(value: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (leader()?.host.propose(GROUP, Buffer.from(value))?.kind === 'accepted') return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return false;
  }

  const appliedEverywhere = (count: number): Promise<boolean> =>
    waitFor(() => [...nodes.values()].every((n) => n.machine.applied.length === count), 10_000);

  void it('follows the log without voting, and stays a learner across restarts of every node', async () => {
    const ports = await freePorts(4);
    endpoints = new Map(ports.map((port, i) => [i + 1, `tcp://127.0.0.1:${port}`]));
    for (const id of [...VOTERS, LEARNER]) await startNode(id);
    assert.ok(await waitFor(() => leader() !== undefined, 10_000), 'a leader within 10 s');
    assert.ok(await propose('before', 5_000));
    // Accepted once the leader's no-op of its term is applied (one conf change at a time).
    assert.ok(await waitFor(() => leader()?.host.proposeConfChange(GROUP,
      { type: ConfChangeType.addLearner, nodeId: LEARNER })?.kind === 'accepted', 5_000), 'add_learner accepted');
    assert.ok(await waitFor(() => [...nodes.values()].every((n) =>
      JSON.stringify(n.host.confState(GROUP)) === JSON.stringify({ voters: VOTERS, learners: [LEARNER] })), 10_000),
    'every node, the learner included, sees voters 1,2,3 and learner 4');
    assert.ok(await propose('after', 5_000));
    assert.ok(await appliedEverywhere(2), 'the learner applied the entries from before it joined too');

    // With the learner and one voter down, two of three voters still commit: the learner is not needed.
    const first = leader()!;
    const otherVoter = VOTERS.find((id) => id !== first.id)!;
    await stopNode(LEARNER);
    await stopNode(otherVoter);
    assert.ok(await propose('two-voters', 5_000));
    assert.ok(await appliedEverywhere(3));

    // Every node restarts from its files: the membership comes back from the log.
    for (const id of [...nodes.keys()]) await stopNode(id);
    for (const id of [...VOTERS, LEARNER]) await startNode(id);
    assert.ok(await waitFor(() => leader() !== undefined, 10_000), 'a leader after the restart');
    assert.ok(await propose('restarted', 5_000));
    assert.ok(await appliedEverywhere(4), 'the learner catches up after the restart');
    for (const node of nodes.values()) {
      assert.deepEqual(node.host.confState(GROUP), { voters: VOTERS, learners: [LEARNER] }, `node ${node.id}`);
    }

    // Only the learner and one voter left: no majority, so nothing commits and the learner never leads.
    const keep = VOTERS.find((id) => nodes.get(id)?.host.status(GROUP)?.role !== 'leader')!;
    for (const id of VOTERS.filter((v) => v !== keep)) await stopNode(id);
    const learner = nodes.get(LEARNER)!;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(leader(), undefined, 'one voter and a learner elect no leader');
    assert.ok(!learner.machine.roles.has('leader') && !learner.machine.roles.has('candidate') &&
      !learner.machine.roles.has('pre_candidate'), `learner roles: ${[...learner.machine.roles].join(',')}`);
    assert.equal(learner.machine.applied.length, 4);
  });
});
