/**
 * Goal: ListGroups on a broker that leads an offsets partition whose groups are still loading
 * answers COORDINATOR_LOAD_IN_PROGRESS (which clients retry), as Kafka does, rather than a list
 * that silently leaves that partition's groups out; once loaded, the groups of its applied log are
 * listed. A group whose first offsets are committed outside group management stays listed while
 * the write is under way (the coordinator's tick once forgot it as idle before the store had it,
 * and no listing showed it until the partition's next leader); and one whose write timed out but
 * was applied later comes back with the apply. Method: a real GroupCoordinator and
 * offsets-partition state fed real record batches; the broker around it is reduced to what these
 * requests look up (the topics, which replica leads, and the leader's write, held or failed by the
 * test).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';

import type { BrokerContext } from '../../../src/broker/broker_context.js';
import { ERROR_TABLE, TributaryError } from '../../../src/common/errors.js';
import { GROUP_SETTINGS_DEFAULTS, GroupCoordinator } from '../../../src/group/coordinator.js';
import { OFFSETS_TOPIC } from '../../../src/group/offsets_topic.js';
import { encodeGroupRecords } from '../../../src/group/records.js';
import { assignOffsets } from '../../../src/protocol/record_batch.js';
import type { AppliedRecordsListener } from '../../../src/partition/applied_records_listener.js';

test('ListGroups: COORDINATOR_LOAD_IN_PROGRESS while a led offsets partition loads, then its groups', async () => {
  let leader = { recordsListener: undefined as unknown, isLeader: true };
  const context = { replicas: { partition: (topic: string, partition: number) =>
    (topic === OFFSETS_TOPIC && partition === 0 ? { replica: leader } : undefined) } } as unknown as BrokerContext;
  const coordinator = new GroupCoordinator(context, { brokerId: 1, settings: GROUP_SETTINGS_DEFAULTS,
    tickIntervalMs: 100, writeTimeoutMs: 1_000, logger: pino({ level: 'silent' }) });
  try {
    const state = coordinator.listenerFor(OFFSETS_TOPIC, 0);
    assert.ok(state !== undefined);
    leader = { recordsListener: state, isLeader: true };
    const batch = encodeGroupRecords([{ key: { kind: 'offset', group: 'billing', topic: 'orders', partition: 2 },
      value: { offset: 41, leaderEpoch: -1, metadata: '', commitTimestampMs: 1_700_000_000_000 } }], 1_700_000_000_000);
    assignOffsets(batch, 0, 1);
    state.applyBatch(batch, 0);

    const loading = coordinator.listGroups({ statesFilter: [] });
    assert.equal(loading.errorCode, ERROR_TABLE.COORDINATOR_LOAD_IN_PROGRESS.wire);
    assert.deepEqual(loading.groups, []);

    state.onLeadership(true);
    const loaded = coordinator.listGroups({ statesFilter: [] });
    assert.equal(loaded.errorCode, 0);
    assert.deepEqual(loaded.groups?.map((g) => [g.groupId, g.groupState]), [['billing', 'Empty']]);

    // A follower lists nothing of the partition, and is not loading anything it leads.
    state.onLeadership(false);
    leader = { recordsListener: state, isLeader: false };
    assert.deepEqual(coordinator.listGroups({ statesFilter: [] }), { errorCode: 0, groups: [] });
  } finally {
    await coordinator.close();
  }
});

/**
 * A started coordinator leading offsets partition 0 (topic `orders` has three partitions), whose
 * writes go to `produce`; the leader's state is loaded.
 */
function leadingCoordinator(produce: (batch: Uint8Array) => Promise<void>):
  { coordinator: GroupCoordinator; state: AppliedRecordsListener } {
  const leader = { recordsListener: undefined as unknown, isLeader: true, produce };
  const topics = new Map([[OFFSETS_TOPIC, { partitions: [{}] }], ['orders', { partitions: [{}, {}, {}] }]]);
  const context = {
    controller: { metadata: { topic: (name: string) => topics.get(name) } },
    replicas: { partition: (topic: string, partition: number) =>
      (topic === OFFSETS_TOPIC && partition === 0 ? { replica: leader } : undefined) },
  } as unknown as BrokerContext;
  const coordinator = new GroupCoordinator(context, { brokerId: 1, settings: GROUP_SETTINGS_DEFAULTS,
    tickIntervalMs: 5, writeTimeoutMs: 5_000, logger: pino({ level: 'silent' }) });
  const state = coordinator.listenerFor(OFFSETS_TOPIC, 0);
  assert.ok(state !== undefined);
  leader.recordsListener = state;
  state.onLeadership(true);
  coordinator.start();
  return { coordinator, state };
}

test('a group committing its first offsets outside group management is listed while the write is under way', async () => {
  let release: () => void = () => undefined;
  let written: Uint8Array | undefined;
  const { coordinator, state } = leadingCoordinator((batch) => {
    written = batch;
    return new Promise<void>((resolve) => { release = resolve; });
  });
  try {
    const request = { groupId: 'billing', generationId: -1, memberId: '', groupInstanceId: '',
      partitions: [{ topic: 'orders', partition: 2, committedOffset: 41, committedLeaderEpoch: -1, metadata: '' }] };
    const committing = coordinator.offsetCommit(request);
    await new Promise((resolve) => setTimeout(resolve, 60)); // a dozen ticks while the write is held
    assert.deepEqual(coordinator.listGroups({ statesFilter: [] }).groups?.map((g) => g.groupId), ['billing']);
    // The replica applies the batch before it answers the write, as PartitionReplica does.
    assert.ok(written !== undefined);
    const batch = Buffer.from(written);
    assignOffsets(batch, 0, 1);
    state.applyBatch(batch, 0);
    release();
    assert.deepEqual((await committing).partitions?.map((p) => p.errorCode), [0]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(coordinator.listGroups({ statesFilter: [] }).groups?.map((g) => [g.groupId, g.groupState]),
      [['billing', 'Empty']]);
  } finally {
    await coordinator.close();
  }
});

test('a group whose first commit timed out but was applied later is listed from the apply on', async () => {
  let written: Uint8Array | undefined;
  const { coordinator, state } = leadingCoordinator((batch) => {
    written = batch;
    return Promise.reject(new TributaryError('REQUEST_TIMED_OUT', 'the write did not commit in time'));
  });
  try {
    const answer = await coordinator.offsetCommit({ groupId: 'billing', generationId: -1, memberId: '',
      groupInstanceId: '', partitions: [{ topic: 'orders', partition: 2, committedOffset: 41,
        committedLeaderEpoch: -1, metadata: '' }] });
    assert.deepEqual(answer.partitions?.map((p) => p.errorCode), [ERROR_TABLE.COORDINATOR_NOT_AVAILABLE.wire]);
    await new Promise((resolve) => setTimeout(resolve, 40)); // ticks forget the group: nothing is stored
    assert.deepEqual(coordinator.listGroups({ statesFilter: [] }).groups, []);
    // The timed-out write commits after all: the replica applies it.
    assert.ok(written !== undefined);
    const batch = Buffer.from(written);
    assignOffsets(batch, 0, 1);
    state.applyBatch(batch, 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(coordinator.listGroups({ statesFilter: [] }).groups?.map((g) => [g.groupId, g.groupState]),
      [['billing', 'Empty']]);
    assert.equal(coordinator.describeGroups({ groupIds: ['billing'] }).groups?.[0]?.groupState, 'Empty');
    assert.equal(coordinator.offsetFetch({ groupId: 'billing', partitions: [] }).partitions?.[0]?.committedOffset, 41);
  } finally {
    await coordinator.close();
  }
});
