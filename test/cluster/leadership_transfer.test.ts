/**
 * Leadership transfers of one partition group on three Raft hosts over real ZeroMQ sockets, each
 * replica a PartitionReplica on real segment files: a produce that meets a transfer under way is
 * sent to the transferee; a leader hands its leadership to an in-sync follower (handAllAway) and
 * its waiting acks=all produces are answered at once, naming the new leader; the wait ends at once
 * when nobody can take over; preferred-leader election moves the leadership to the first replica; a
 * follower that refuses leadership (on its own way out) is passed over once the transfer lapses;
 * and a leader that loses its quorum answers its waiting produces at once instead of at their
 * timeout. Every wait is bounded.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapEntries } from '../../raft/core/index.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import { ZmqRaftTransport } from '../../raft/transport/zmq_transport.js';
import { LogManager } from '../../storage/index.js';
import type { PeerAvailability } from '../../src/broker/leader_choice.js';
import { LeadershipTransfers } from '../../src/broker/leadership_transfers.js';
import type { HostedGroup } from '../../src/broker/leadership_transfers.js';
import { recordBatchPayloads } from '../../src/broker/replica_manager.js';
import { NotLeaderOrFollowerError, TributaryError } from '../../src/common/errors.js';
import { PartitionReplica } from '../../src/partition/partition_replica.js';
import type { ProduceResult } from '../../src/partition/partition_replica.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

const GROUP = 11;
const TICK_MS = 20;
/** A peer heard from within this long is available (as the broker's own rule, with its 1 s). */
const SILENCE_MS = 1_000;

interface Node {
  readonly id: number;
  readonly host: RaftHost;
  readonly manager: LogManager;
  readonly replica: PartitionReplica;
  readonly transfers: LeadershipTransfers;
  /** Peers this node treats as leaving (as if they had sent their notice). */
  readonly leaving: Set<number>;
}

function batch(value: string): Buffer {
  return encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null, value: Buffer.from(value) }] });
}

/** An acks=all produce of one record; produce() refuses some batches synchronously, this always rejects. */
async function produce(node: Node, value: string, timeoutMs: number): Promise<ProduceResult> {
  return node.replica.produce(batch(value), -1, timeoutMs);
}

describe('leadership transfers of a partition group', () => {
  const root = temporaryDirectory('leadership');
  const nodes = new Map<number, Node>();
  let endpoints = new Map<number, string>();
  let produced = 0;

  async function startNode(id: number): Promise<Node> {
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDirectory: path.join(root, `n${id}`), logger });
    const storage = await manager.openRaftStorage('events-0', recordBatchPayloads);
    const boot = bootstrapEntries([1, 2, 3]);
    await storage.append(boot.entries);
    await storage.saveHardState(boot.hardState);
    await storage.sync();
    const transport = new ZmqRaftTransport({ nodeId: id, listen: endpoints.get(id)!, logger });
    for (const [peer, endpoint] of endpoints) if (peer !== id) transport.setPeer(peer, endpoint);
    const host = new RaftHost({ nodeId: id, transport, logger, tickMs: TICK_MS,
      raft: { electionTimeoutTicks: 10, heartbeatIntervalTicks: 2 } });
    const replica = new PartitionReplica({ topic: 'events', partition: 0, groupId: GROUP, host, storage,
      batchBytesMax: 1024 * 1024, pendingProducesMax: 1_000, fetchWaitersMax: 10 });
    const leaving = new Set<number>();
    const availability = (peer: number): PeerAvailability => {
      if (leaving.has(peer)) return 'leaving';
      const heardMs = host.lastHeardFromMs(peer);
      return heardMs !== undefined && monotonicNowMs() - heardMs <= SILENCE_MS ? 'available' : 'unreachable';
    };
    const transfers = new LeadershipTransfers({ brokerId: id, host, availability, logger });
    host.addGroup(GROUP, storage, replica);
    await host.start();
    const node = { id, host, manager, replica, transfers, leaving };
    nodes.set(id, node);
    return node;
  }

  const leader = (): Node | undefined => [...nodes.values()].find((n) => n.host.status(GROUP)?.role === 'leader'
    && n.replica.isLeader);

  /** The leader once it takes produces (it applied an entry of its term), after every node knows it. */
  async function readyLeader(): Promise<Node> {
    let found: Node | undefined;
    const ready = await waitFor(() => {
      found = leader();
      return found !== undefined && [...nodes.values()].every((n) => n.host.status(GROUP)?.leaderId === found?.id);
    }, 10_000);
    assert.ok(ready && found !== undefined, 'a leader every node knows within 10 s');
    for (let attempt = 0; attempt < 200; attempt += 1) {
      try {
        await produce(found, `warm-${produced++}`, 5_000);
        return found;
      } catch (error) {
        if (!(error instanceof TributaryError && error.code === 'LEADER_NOT_AVAILABLE')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    throw new Error('the leader never took a produce');
  }

  const group = (replicas: readonly number[] = [1, 2, 3]): HostedGroup => ({ groupId: GROUP, name: 'events-0', replicas });

  before(async () => {
    const ports = await freePorts(3);
    endpoints = new Map(ports.map((port, i) => [i + 1, `tcp://127.0.0.1:${port}`]));
    for (const id of [1, 2, 3]) await startNode(id);
  });

  after(async () => {
    for (const node of nodes.values()) {
      node.replica.close();
      await node.host.close();
      await node.manager.close();
    }
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('tells a produce that meets a transfer under way to go to the transferee', async () => {
    const current = await readyLeader();
    const target = [1, 2, 3].find((id) => id !== current.id)!;
    assert.equal(current.host.transferLeadership(GROUP, target)?.kind, 'accepted');
    // Raft drops proposals while it hands over: the client is told where leadership is going.
    await assert.rejects(produce(current, 'during', 5_000),
      (error: unknown) => error instanceof NotLeaderOrFollowerError && error.leaderHint === target);
    assert.ok(await waitFor(() => nodes.get(target)?.replica.isLeader === true, 5_000), 'the transferee leads');
  });

  it('ends the hand-over at once when no follower can take over', async () => {
    const current = await readyLeader();
    for (const id of [1, 2, 3]) if (id !== current.id) current.leaving.add(id);
    try {
      const summary = await current.transfers.handAllAway(() => [group()], monotonicNowMs() + 5_000, () => false);
      assert.deepEqual(summary.kept, ['events-0']);
      assert.equal(summary.moved, 0);
      assert.ok(summary.elapsedMs < 200, `waited ${summary.elapsedMs} ms for nobody`);
      assert.equal(current.host.status(GROUP)?.role, 'leader');
    } finally {
      current.leaving.clear();
    }
  });

  it('hands leadership to an in-sync follower and answers waiting produces at once, naming the new leader',
    async () => {
      const current = await readyLeader();
      const sends: Promise<ProduceResult>[] = [];
      for (let i = 0; i < 50; i += 1) sends.push(produce(current, `moving-${produced++}`, 20_000));
      const startMs = Date.now();
      const summary = await current.transfers.handAllAway(() => [group()], monotonicNowMs() + 5_000, () => false);
      assert.equal(summary.moved, 1);
      assert.deepEqual(summary.kept, []);
      const next = current.host.status(GROUP)?.leaderId ?? 0;
      assert.ok(next !== 0 && next !== current.id, 'the new leader is known to the old one when the wait ends');
      const outcomes = await Promise.allSettled(sends);
      const settledMs = Date.now() - startMs;
      assert.ok(settledMs < 2_000, `every produce answered within ${settledMs} ms of the hand-over`);
      const offsets = new Set<number>();
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') {
          assert.ok(!offsets.has(outcome.value.baseOffset), 'each acknowledged batch has its own offset');
          offsets.add(outcome.value.baseOffset);
        } else {
          assert.ok(outcome.reason instanceof NotLeaderOrFollowerError, `answered ${String(outcome.reason)}`);
          assert.equal(outcome.reason.leaderHint, next, 'the answer names the new leader');
        }
      }
    });

  it('moves the leadership to the preferred replica, and says when that is not needed', async () => {
    const current = await readyLeader();
    const preferred = [1, 2, 3].find((id) => id !== current.id)!;
    const replicas = [preferred, ...[1, 2, 3].filter((id) => id !== preferred)];
    const outcomes = await current.transfers.electPreferred([group(replicas)], monotonicNowMs() + 5_000);
    assert.deepEqual(outcomes.get(GROUP), { kind: 'elected', leaderId: preferred });
    const now = await readyLeader();
    assert.equal(now.id, preferred);
    assert.deepEqual((await now.transfers.electPreferred([group(replicas)], monotonicNowMs() + 1_000)).get(GROUP),
      { kind: 'not_needed' });
    assert.deepEqual((await current.transfers.electPreferred([group(replicas)], monotonicNowMs() + 1_000)).get(GROUP),
      { kind: 'not_leader', leaderId: preferred });
    assert.equal(await now.transfers.rebalance([group(replicas)], monotonicNowMs() + 1_000), 0,
      'the periodic check finds nothing to do');
    // The periodic check moves it back when the replica list says so.
    const back = [current.id, ...[1, 2, 3].filter((id) => id !== current.id)];
    assert.equal(await now.transfers.rebalance([group(back)], monotonicNowMs() + 5_000), 1);
    assert.equal((await readyLeader()).id, current.id);
  });

  it('passes over a follower that refuses leadership once the transfer to it lapses', async () => {
    const current = await readyLeader();
    const [refusing, taking] = [1, 2, 3].filter((id) => id !== current.id) as [number, number];
    nodes.get(refusing)!.host.refuseLeadershipTransfers();
    // Equally caught up (nothing is being written), the refusing one first in the replica order.
    assert.ok(await waitFor(() => {
      const matches = current.host.matchIndexes(GROUP);
      const lastIndex = current.host.status(GROUP)?.lastIndex;
      return matches.get(refusing) === lastIndex && matches.get(taking) === lastIndex;
    }, 5_000), 'followers caught up');
    const summary = await current.transfers.handAllAway(() => [group([refusing, taking, current.id])],
      monotonicNowMs() + 5_000, () => false);
    assert.equal(summary.moved, 1);
    assert.equal(current.host.status(GROUP)?.leaderId, taking);
    // Raft lets a transfer lapse after an election timeout (10 ticks of 20 ms) before the next target.
    assert.ok(summary.elapsedMs >= 150, `handed over after ${summary.elapsedMs} ms`);
  });

  it('answers waiting produces at once when the leader steps down for lack of a quorum', async () => {
    const current = await readyLeader();
    for (const node of [...nodes.values()]) {
      if (node.id === current.id) continue;
      node.replica.close();
      await node.host.close();
      await node.manager.close();
      nodes.delete(node.id);
    }
    const startMs = Date.now();
    const answered = produce(current, 'orphan', 20_000).then(
      () => 'acknowledged', (error: unknown) => error);
    const outcome = await Promise.race([answered,
      new Promise((resolve) => setTimeout(() => { resolve('still waiting'); }, 5_000))]);
    assert.ok(outcome instanceof NotLeaderOrFollowerError, `after ${Date.now() - startMs} ms: ${String(outcome)}`);
    assert.equal(current.host.status(GROUP)?.role === 'leader', false, 'the leader stepped down (CheckQuorum)');
  });
});
