/**
 * Goal: the consumer's group mode reacts to each answer of the coordinator as Kafka's consumer
 * does: MEMBER_ID_REQUIRED (join again with the id), COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR
 * (find the coordinator again), REBALANCE_IN_PROGRESS (revoke, rejoin), UNKNOWN_MEMBER_ID (reset
 * the id, partitions lost), ILLEGAL_GENERATION (rejoin with the id), FENCED_INSTANCE_ID (a typed
 * fatal error); heartbeats go on while the application is busy, and a member that does not poll
 * within maxPollIntervalMs leaves; positions start at the committed offsets; commits carry the
 * generation; static members send no LeaveGroup; modes do not mix. Method: the real Consumer and
 * Producer against a FakeCluster with a scripted coordinator (fake_coordinator.ts) on 127.0.0.1;
 * every wait is bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { SeededPrng } from '../../../raft/core/prng.js';
import { Consumer } from '../../../src/client/consumer.js';
import type { ConsumerOptions, ConsumerRecord, RebalanceListener } from '../../../src/client/consumer.js';
import { IllegalStateError } from '../../../src/client/group/errors.js';
import { Producer } from '../../../src/client/producer.js';
import { TributaryError } from '../../../src/common/errors.js';
import type { FakeCluster } from './fake_cluster.js';
import { withCluster } from './fake_cluster.js';
import { FakeCoordinator } from './fake_coordinator.js';

function groupConsumer(cluster: FakeCluster, options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({
    bootstrap: cluster.bootstrap, groupId: 'g', maxWaitMs: 50, retryBackoffMs: 10, retryBackoffMaxMs: 50,
    prng: new SeededPrng(5), requestTimeoutMs: 2_000, heartbeatIntervalMs: 40, sessionTimeoutMs: 1_000,
    autoCommit: false, autoOffsetReset: 'earliest', ...options,
  });
}

async function produce(cluster: FakeCluster, topic: string, partition: number, count: number, prefix: string):
  Promise<void> {
  const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 0, prng: new SeededPrng(1) });
  try {
    await producer.sendBatch(Array.from({ length: count }, (_, i) => ({ topic, partition, value: `${prefix}${i}` })));
  } finally {
    await producer.close();
  }
}

/** Polls until predicate holds or 5 s pass; returns the records seen. */
async function pollUntil(consumer: Consumer, predicate: (records: ConsumerRecord[]) => boolean):
  Promise<ConsumerRecord[]> {
  const records: ConsumerRecord[] = [];
  const deadline = Date.now() + 5_000;
  while (!predicate(records) && Date.now() < deadline) records.push(...await consumer.poll({ timeoutMs: 100 }));
  return records;
}

/** A listener that logs its calls as 'revoked:t-0,t-1' and the like. */
function recordingListener(): RebalanceListener & { calls: string[] } {
  const calls: string[] = [];
  const note = (what: string) => (partitions: { topic: string; partition: number }[]): void => {
    calls.push(`${what}:${partitions.map((p) => `${p.topic}-${p.partition}`).sort().join(',')}`);
  };
  return { calls, onPartitionsRevoked: note('revoked'), onPartitionsAssigned: note('assigned'),
    onPartitionsLost: note('lost') };
}

async function withGroup(body: (cluster: FakeCluster, coordinator: FakeCoordinator) => Promise<void>,
  brokers = 2): Promise<void> {
  await withCluster(brokers, async (cluster) => {
    const coordinator = new FakeCoordinator(cluster);
    try {
      await body(cluster, coordinator);
    } finally {
      coordinator.close();
    }
  });
}

async function until(what: string, condition: () => boolean, consumer?: Consumer, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    if (consumer !== undefined) await consumer.poll({ timeoutMs: 50 });
    else await sleep(10);
  }
}

void describe('Consumer group mode', () => {
  void test('joins (again with the id given on MEMBER_ID_REQUIRED), starts at committed offsets, commits', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 2, [1, 2]);
      await produce(cluster, 't', 0, 10, 'a');
      await produce(cluster, 't', 1, 5, 'b');
      coordinator.commit('t', 0, 4);
      coordinator.inject('findCoordinator', 'COORDINATOR_NOT_AVAILABLE', 3);
      const listener = recordingListener();
      const consumer = groupConsumer(cluster);
      try {
        consumer.subscribe(['t'], listener);
        const records = await pollUntil(consumer, (r) => r.length >= 11);
        const joins = coordinator.requests('join');
        assert.equal(joins[0]?.memberId, '', 'the first join has no member id');
        assert.equal(joins[1]?.memberId, coordinator.memberIds()[0], 'the second uses the id from MEMBER_ID_REQUIRED');
        assert.equal(coordinator.requests('findCoordinator').length, 4, 'three COORDINATOR_NOT_AVAILABLE, then found');
        assert.deepEqual(listener.calls, ['assigned:t-0,t-1']);
        assert.deepEqual(records.filter((r) => r.partition === 0).map((r) => r.offset), [4, 5, 6, 7, 8, 9],
          'partition 0 from its committed offset');
        assert.deepEqual(records.filter((r) => r.partition === 1).map((r) => r.offset), [0, 1, 2, 3, 4],
          'partition 1 by autoOffsetReset (earliest)');
        await consumer.commitSync();
        assert.deepEqual(coordinator.offsets.get('t/0')?.offset, 10);
        assert.deepEqual(coordinator.offsets.get('t/1')?.offset, 5);
        const commit = coordinator.requests('offsetCommit').at(-1);
        assert.equal(commit?.generationId, coordinator.generationId);
        assert.equal(commit.memberId, coordinator.memberIds()[0]);
        assert.deepEqual(await consumer.committed([{ topic: 't', partition: 0 }, { topic: 't', partition: 9 }]), [
          { topic: 't', partition: 0, offset: 10, metadata: '' }, { topic: 't', partition: 9, offset: null, metadata: '' }]);
      } finally {
        await consumer.close();
      }
      assert.equal(coordinator.requests('leave').length, 1, 'a dynamic member leaves on close');
      assert.deepEqual(listener.calls, ['assigned:t-0,t-1', 'revoked:t-0,t-1']);
    });
  });

  void test('REBALANCE_IN_PROGRESS from a heartbeat: revoke (after an auto-commit), rejoin with the same id', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      await produce(cluster, 't', 0, 3, 'a');
      const listener = recordingListener();
      const consumer = groupConsumer(cluster, { autoCommit: true });
      try {
        consumer.subscribe(['t'], listener);
        await pollUntil(consumer, (r) => r.length >= 3);
        const memberId = coordinator.memberIds()[0];
        const generation = coordinator.generationId;
        coordinator.startRebalance();
        await until('the rejoin', () => coordinator.generationId > generation && listener.calls.length >= 3, consumer);
        assert.deepEqual(listener.calls, ['assigned:t-0', 'revoked:t-0', 'assigned:t-0']);
        assert.equal(coordinator.requests('join').at(-1)?.memberId, memberId, 'rejoined with its member id');
        assert.equal(coordinator.offsets.get('t/0')?.offset, 3, 'auto-commit before revoking');
      } finally {
        await consumer.close();
      }
    });
  });

  void test('the listener runs only inside poll(): a join done between polls is taken up by the next poll', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      await produce(cluster, 't', 0, 5, 'a');
      let polling = false;
      const outsidePoll: string[] = [];
      const consumer = groupConsumer(cluster);
      const listener = recordingListener();
      const checked: RebalanceListener = {
        onPartitionsAssigned: (partitions) => {
          if (!polling) outsidePoll.push('assigned');
          void listener.onPartitionsAssigned?.(partitions);
        },
        // Kafka's pattern: commit in onPartitionsRevoked what the application has handled.
        onPartitionsRevoked: async (partitions) => {
          if (!polling) outsidePoll.push('revoked');
          void listener.onPartitionsRevoked?.(partitions);
          await consumer.commitSync();
        },
      };
      const poll = async (timeoutMs: number): Promise<ConsumerRecord[]> => {
        polling = true;
        try {
          return await consumer.poll({ timeoutMs });
        } finally {
          polling = false;
        }
      };
      try {
        consumer.subscribe(['t'], checked);
        const handled: ConsumerRecord[] = [];
        for (let i = 0; i < 100 && handled.length < 5; i++) handled.push(...await poll(100));
        assert.deepEqual(handled.map((r) => r.offset), [0, 1, 2, 3, 4]);
        await produce(cluster, 't', 0, 5, 'b');
        coordinator.holdJoins = true;
        coordinator.startRebalance();
        // While the join is held, the revoking poll and those after return nothing.
        for (let i = 0; i < 100 && !listener.calls.includes('revoked:t-0'); i++) handled.push(...await poll(20));
        for (let i = 0; i < 5; i++) assert.deepEqual(await poll(20), []);
        assert.deepEqual(listener.calls, ['assigned:t-0', 'revoked:t-0']);
        assert.equal(coordinator.offsets.get('t/0')?.offset, handled.length, 'the revoke committed what polls returned');
        // The held join answers NOT_COORDINATOR; the member finds the coordinator again and joins, between polls.
        const generation = coordinator.generationId;
        coordinator.holdJoins = false;
        coordinator.release();
        await until('the join, in the background', () => coordinator.generationId > generation);
        await sleep(300);
        assert.deepEqual(listener.calls, ['assigned:t-0', 'revoked:t-0'], 'nothing taken up between polls');
        await poll(20);
        assert.deepEqual(listener.calls, ['assigned:t-0', 'revoked:t-0', 'assigned:t-0'], 'the next poll takes it up');
        assert.deepEqual(outsidePoll, []);
        for (let i = 0; i < 100 && handled.length < 10; i++) handled.push(...await poll(100));
        assert.deepEqual(handled.map((r) => r.offset), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'each record once, in order');
      } finally {
        await consumer.close();
      }
    });
  });

  // Both lose the partitions (no commit is possible); UNKNOWN_MEMBER_ID also resets the member id.
  for (const [code, rejoinsAs] of [['UNKNOWN_MEMBER_ID', 'without an id'], ['ILLEGAL_GENERATION', 'with its id']] as const) {
    void test(`${code}: partitions lost, the member joins again ${rejoinsAs}`, async () => {
      await withGroup(async (cluster, coordinator) => {
        cluster.createTopic('t', 1);
        const listener = recordingListener();
        const consumer = groupConsumer(cluster);
        try {
          consumer.subscribe(['t'], listener);
          await until('the first join', () => listener.calls.length === 1, consumer);
          const memberId = coordinator.memberIds()[0];
          const joinsBefore = coordinator.requests('join').length;
          coordinator.inject('heartbeat', code);
          await until('the rejoin', () => listener.calls.length === 3, consumer);
          assert.deepEqual(listener.calls, ['assigned:t-0', 'lost:t-0', 'assigned:t-0']);
          assert.equal(coordinator.requests('join')[joinsBefore]?.memberId,
            code === 'UNKNOWN_MEMBER_ID' ? '' : memberId, code === 'UNKNOWN_MEMBER_ID' ? 'the id was reset' : undefined);
        } finally {
          await consumer.close();
        }
      });
    });
  }

  void test('NOT_COORDINATOR: the coordinator is found again and the group moves to it', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      const consumer = groupConsumer(cluster);
      try {
        consumer.subscribe(['t']);
        await until('the join', () => coordinator.generationId === 1, consumer);
        const finds = coordinator.requests('findCoordinator').length;
        coordinator.coordinatorId = 2; // broker 1 now answers NOT_COORDINATOR
        await until('heartbeats to broker 2', () => coordinator.requests('heartbeat').some((r) => r.brokerId === 2),
          consumer);
        assert.ok(coordinator.requests('findCoordinator').length > finds, 'looked up again');
        await consumer.commitSync([{ topic: 't', partition: 0, offset: 0 }]);
        assert.equal(coordinator.requests('offsetCommit').at(-1)?.brokerId, 2);
        assert.equal(coordinator.generationId, 1, 'no rebalance');
      } finally {
        await consumer.close();
      }
    });
  });

  void test('a JoinGroup held by a coordinator that died ends once FindCoordinator names another broker', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      const listener = recordingListener();
      // The join could rightly wait maxPollIntervalMs + 5 s: a minute.
      const consumer = groupConsumer(cluster, { maxPollIntervalMs: 60_000 });
      try {
        consumer.subscribe(['t'], listener);
        await until('the join', () => coordinator.generationId === 1, consumer);
        coordinator.holdJoins = true;
        coordinator.startRebalance();
        await until('a join held on broker 1', () => coordinator.requests('join').some((r) => r.generationId === -1
          && r.brokerId === 1 && r.memberId !== '') && listener.calls.length === 2, consumer);
        coordinator.coordinatorId = 2;
        coordinator.holdJoins = false;
        await until('the join on broker 2', () => coordinator.generationId === 2, consumer, 4_000);
        assert.equal(coordinator.requests('join').at(-1)?.brokerId, 2);
        await until('assigned again', () => listener.calls.length === 3, consumer);
      } finally {
        coordinator.release();
        await consumer.close();
      }
    });
  });

  void test('COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR on a commit are retried; REBALANCE_IN_PROGRESS is thrown',
    async () => {
      await withGroup(async (cluster, coordinator) => {
        cluster.createTopic('t', 1);
        const consumer = groupConsumer(cluster);
        try {
          consumer.subscribe(['t']);
          await until('the join', () => coordinator.generationId === 1, consumer);
          coordinator.inject('offsetCommit', 'COORDINATOR_LOAD_IN_PROGRESS', 2);
          await consumer.commitSync([{ topic: 't', partition: 0, offset: 7 }]);
          assert.equal(coordinator.offsets.get('t/0')?.offset, 7);
          coordinator.inject('offsetCommit', 'REBALANCE_IN_PROGRESS');
          await assert.rejects(consumer.commitSync([{ topic: 't', partition: 0, offset: 8 }]),
            (e: unknown) => e instanceof TributaryError && e.code === 'REBALANCE_IN_PROGRESS');
          assert.equal(coordinator.offsets.get('t/0')?.offset, 7, 'the refused commit wrote nothing');
          await until('the rejoin that follows', () => coordinator.generationId === 2, consumer);
        } finally {
          await consumer.close();
        }
      });
    });

  void test('FENCED_INSTANCE_ID is fatal and typed; a static member sends no LeaveGroup', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      const consumer = groupConsumer(cluster, { groupInstanceId: 'host-a' });
      try {
        consumer.subscribe(['t']);
        await until('the join', () => coordinator.generationId === 1, consumer);
        assert.equal(coordinator.requests('join').length, 1, 'a static member gets its id at once');
        coordinator.inject('heartbeat', 'FENCED_INSTANCE_ID');
        const deadline = Date.now() + 5_000;
        let thrown: unknown = null;
        while (thrown === null && Date.now() < deadline) {
          try {
            await consumer.poll({ timeoutMs: 50 });
          } catch (error) {
            thrown = error;
          }
        }
        assert.ok(thrown instanceof TributaryError && thrown.code === 'FENCED_INSTANCE_ID', String(thrown));
        await assert.rejects(consumer.poll({ timeoutMs: 10 }), (e: unknown) => e === thrown, 'every later poll throws it');
      } finally {
        await consumer.close();
      }
      assert.equal(coordinator.requests('leave').length, 0);
    });
  });

  void test('a static member closing sends no LeaveGroup and keeps its place', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      const consumer = groupConsumer(cluster, { groupInstanceId: 'host-b' });
      try {
        consumer.subscribe(['t']);
        await until('the join', () => coordinator.generationId === 1, consumer);
      } finally {
        await consumer.close();
      }
      assert.equal(coordinator.requests('leave').length, 0);
      assert.equal(coordinator.memberIds().length, 1);
    });
  });

  void test('heartbeats go on while the application is busy; no poll within maxPollIntervalMs leaves the group',
    async () => {
      await withGroup(async (cluster, coordinator) => {
        cluster.createTopic('t', 1);
        const listener = recordingListener();
        const consumer = groupConsumer(cluster, { maxPollIntervalMs: 800 });
        try {
          consumer.subscribe(['t'], listener);
          await until('the join', () => coordinator.generationId === 1, consumer);
          const before = coordinator.requests('heartbeat').length;
          await sleep(500); // "processing": no poll, heartbeats continue on their timer
          assert.ok(coordinator.requests('heartbeat').length - before >= 3, // 12 due; 3 leaves room for a loaded machine
            `${coordinator.requests('heartbeat').length - before} heartbeats in 500 ms at 40 ms`);
          assert.equal(coordinator.requests('leave').length, 0);
          await sleep(700); // now past maxPollIntervalMs
          assert.equal(coordinator.requests('leave').length, 1, 'left the group');
          assert.equal(coordinator.memberIds().length, 0);
          await until('the rejoin on the next poll', () => coordinator.generationId === 2, consumer);
          assert.deepEqual(listener.calls, ['assigned:t-0', 'lost:t-0', 'assigned:t-0']);
        } finally {
          await consumer.close();
        }
      });
    });

  void test('two members split the partitions (range, by the leader); one leaves, the other takes all', async () => {
    await withGroup(async (cluster, coordinator) => {
      coordinator.joinWindowMs = 2_000;
      cluster.createTopic('t', 4);
      const a = groupConsumer(cluster, { clientId: 'a' });
      const b = groupConsumer(cluster, { clientId: 'b' });
      const listenerA = recordingListener();
      const listenerB = recordingListener();
      try {
        a.subscribe(['t'], listenerA);
        await until('a alone', () => coordinator.generationId === 1, a);
        b.subscribe(['t'], listenerB);
        const deadline = Date.now() + 5_000;
        while (!(a.assignment().length === 2 && b.assignment().length === 2) && Date.now() < deadline) {
          await Promise.all([a.poll({ timeoutMs: 50 }), b.poll({ timeoutMs: 50 })]);
        }
        const all = [...a.assignment(), ...b.assignment()].map((p) => p.partition).sort();
        assert.deepEqual(all, [0, 1, 2, 3], 'each partition to exactly one member');
        assert.equal(coordinator.protocolName, 'range');
        await b.close();
        await until('a takes all', () => a.assignment().length === 4, a);
        assert.equal(listenerA.calls.at(-1), 'assigned:t-0,t-1,t-2,t-3');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  void test('a RegExp subscription picks up a new matching topic with a rebalance', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('orders-eu', 1);
      cluster.createTopic('payments', 1);
      const listener = recordingListener();
      const consumer = groupConsumer(cluster, { metadataMaxAgeMs: 100 });
      try {
        consumer.subscribe(/^orders-/, listener);
        await until('the join', () => listener.calls.length === 1, consumer);
        assert.deepEqual(listener.calls, ['assigned:orders-eu-0']);
        cluster.createTopic('orders-us', 1);
        await until('the rebalance', () => listener.calls.length === 3, consumer);
        assert.equal(listener.calls[2], 'assigned:orders-eu-0,orders-us-0');
        assert.deepEqual(consumer.subscription(), ['orders-eu', 'orders-us']);
        assert.equal(coordinator.generationId, 2);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('autoOffsetReset none without a committed offset: poll throws a typed error', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      const consumer = groupConsumer(cluster, { autoOffsetReset: 'none' });
      try {
        consumer.subscribe(['t']);
        const deadline = Date.now() + 5_000;
        let thrown: unknown = null;
        while (thrown === null && Date.now() < deadline) {
          try {
            await consumer.poll({ timeoutMs: 50 });
          } catch (error) {
            thrown = error;
          }
        }
        assert.ok(thrown instanceof TributaryError && thrown.code === 'OFFSET_OUT_OF_RANGE', String(thrown));
        assert.equal(coordinator.generationId, 1);
      } finally {
        await consumer.close();
      }
    });
  });

  void test('join and sync errors: REBALANCE_IN_PROGRESS retried, INCONSISTENT_GROUP_PROTOCOL fatal', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 2);
      const listener = recordingListener();
      const consumer = groupConsumer(cluster);
      try {
        coordinator.inject('join', 'REBALANCE_IN_PROGRESS', 2);
        coordinator.inject('sync', 'REBALANCE_IN_PROGRESS');
        consumer.subscribe(['t'], listener);
        await until('the join', () => listener.calls.length === 1, consumer);
        // 2 refused, MEMBER_ID_REQUIRED, a join whose sync was refused, the join that held.
        assert.equal(coordinator.requests('join').length, 5);
        assert.equal(coordinator.requests('sync').length, 2);
        assert.deepEqual(listener.calls, ['assigned:t-0,t-1']);
        coordinator.inject('join', 'INCONSISTENT_GROUP_PROTOCOL');
        coordinator.startRebalance();
        const deadline = Date.now() + 5_000;
        let thrown: unknown = null;
        while (thrown === null && Date.now() < deadline) {
          try {
            await consumer.poll({ timeoutMs: 50 });
          } catch (error) {
            thrown = error;
          }
        }
        assert.ok(thrown instanceof TributaryError && thrown.code === 'INCONSISTENT_GROUP_PROTOCOL', String(thrown));
      } finally {
        await consumer.close();
      }
    });
  });

  void test('assignors are offered in order; the group uses one every member supports', async () => {
    await withGroup(async (cluster, coordinator) => {
      coordinator.joinWindowMs = 2_000;
      cluster.createTopic('t', 6);
      const a = groupConsumer(cluster, { partitionAssignors: ['sticky', 'roundrobin'] });
      const b = groupConsumer(cluster, { partitionAssignors: ['roundrobin', 'range'] });
      try {
        a.subscribe(['t']);
        await until('a alone', () => coordinator.generationId === 1, a);
        assert.equal(coordinator.protocolName, 'sticky');
        b.subscribe(['t']);
        const deadline = Date.now() + 5_000;
        while (!(a.assignment().length === 3 && b.assignment().length === 3) && Date.now() < deadline) {
          await Promise.all([a.poll({ timeoutMs: 50 }), b.poll({ timeoutMs: 50 })]);
        }
        assert.equal(coordinator.protocolName, 'roundrobin');
        assert.deepEqual([...a.assignment(), ...b.assignment()].map((p) => p.partition).sort(), [0, 1, 2, 3, 4, 5]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  void test('manual assignment with a groupId auto-commits (generation -1) and commits on close', async () => {
    await withGroup(async (cluster, coordinator) => {
      cluster.createTopic('t', 1);
      await produce(cluster, 't', 0, 6, 'a');
      const consumer = groupConsumer(cluster, { autoCommit: true, autoCommitIntervalMs: 100 });
      try {
        consumer.assign([{ topic: 't', partition: 0 }]);
        await pollUntil(consumer, (r) => r.length >= 6);
        await until('the auto-commit', () => coordinator.offsets.get('t/0')?.offset === 6, consumer);
        assert.equal(coordinator.requests('offsetCommit').at(-1)?.generationId, -1);
        assert.equal(coordinator.requests('join').length, 0, 'no group membership');
        await produce(cluster, 't', 0, 2, 'b');
        await pollUntil(consumer, (r) => r.length >= 2);
      } finally {
        await consumer.close();
      }
      assert.equal(coordinator.offsets.get('t/0')?.offset, 8, 'committed on close');
    });
  });

  void test('modes do not mix; group calls need a groupId', async () => {
    await withGroup(async (cluster) => {
      cluster.createTopic('t', 1);
      const grouped = groupConsumer(cluster);
      const manual = new Consumer({ bootstrap: cluster.bootstrap });
      try {
        grouped.subscribe(['t']);
        assert.throws(() => { grouped.assign([{ topic: 't', partition: 0 }]); }, IllegalStateError);
        await grouped.unsubscribe();
        grouped.assign([{ topic: 't', partition: 0 }]);
        assert.throws(() => { grouped.subscribe(['t']); }, IllegalStateError);
        assert.throws(() => { manual.subscribe(['t']); }, IllegalStateError);
        assert.throws(() => groupConsumer(cluster, { heartbeatIntervalMs: 2_000, sessionTimeoutMs: 1_000 }),
          (e: unknown) => e instanceof TributaryError && e.code === 'INVALID_CONFIG');
        assert.throws(() => groupConsumer(cluster, { groupId: '' }),
          (e: unknown) => e instanceof TributaryError && e.code === 'INVALID_GROUP_ID');
        assert.throws(() => groupConsumer(cluster, { partitionAssignors: ['nope' as 'range'] }),
          (e: unknown) => e instanceof TributaryError && e.code === 'INVALID_CONFIG');
        await assert.rejects(manual.commitSync(), IllegalStateError);
        // Manual assignment with a groupId commits outside group management: generation -1.
        await grouped.commitSync([{ topic: 't', partition: 0, offset: 2 }]);
        assert.deepEqual((await grouped.committed([{ topic: 't', partition: 0 }]))[0]?.offset, 2);
      } finally {
        await grouped.close();
        await manual.close();
      }
    });
  });
});
