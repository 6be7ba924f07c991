/**
 * Goal: a broker learns from the metadata which partition replicas to start and stop. Method:
 * small clusters driven through create, delete, re-create and fencing, with the diff checked
 * against what the broker hosted before; applying a diff leaves nothing more to do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodeSnapshot } from '../../../src/controller/metadata_snapshot.js';
import { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { diffReplicas, isEmptyDiff, reconcile, replicasForBroker } from '../../../src/controller/reconciler.js';
import type { ReplicaAssignment, ReplicaDiff } from '../../../src/controller/reconciler.js';
import { createTopic, machineWithBrokers } from './helpers.js';

function names(replicas: readonly ReplicaAssignment[]): string[] {
  return replicas.map((replica) => `${replica.topic}-${replica.partition}`);
}

/** What the broker hosts after carrying out diff. */
function carryOut(hosted: readonly ReplicaAssignment[], diff: ReplicaDiff): ReplicaAssignment[] {
  const stopped = new Set(diff.toStop);
  return [...hosted.filter((replica) => !stopped.has(replica)), ...diff.toStart];
}

function hostedAfterCatchUp(machine: MetadataStateMachine, brokerId: number): ReplicaAssignment[] {
  return replicasForBroker(machine, brokerId);
}

void describe('reconciler', () => {
  void test('a broker hosts exactly the partitions whose replica set names it', () => {
    const machine = machineWithBrokers(3);
    machine.apply(createTopic(machine, 'b-topic', 3, 2), 10);
    machine.apply(createTopic(machine, 'a-topic', 2, 1), 11);
    for (let brokerId = 1; brokerId <= 3; brokerId++) {
      const assigned = replicasForBroker(machine, brokerId);
      for (const replica of assigned) {
        assert.ok(replica.replicas.includes(brokerId));
      }
      const expected = machine.topics().flatMap((topic) => topic.partitions.flatMap((replicas, partition) =>
        replicas.includes(brokerId) ? [`${topic.name}-${partition}`] : []));
      assert.deepEqual(names(assigned), expected, 'ordered by topic name then partition');
    }
    const total = [1, 2, 3].reduce((sum, id) => sum + replicasForBroker(machine, id).length, 0);
    assert.equal(total, 3 * 2 + 2 * 1);
  });

  void test('create then delete: start, then stop', () => {
    const machine = machineWithBrokers(3);
    let hosted: ReplicaAssignment[] = [];
    machine.apply(createTopic(machine, 'orders', 3, 3), 10);
    const created = reconcile(machine, 2, hosted);
    assert.deepEqual(names(created.toStart), ['orders-0', 'orders-1', 'orders-2']);
    assert.deepEqual(created.toStop, []);
    hosted = carryOut(hosted, created);
    assert.ok(isEmptyDiff(reconcile(machine, 2, hosted)));
    assert.equal(reconcile(machine, 2, hosted).unchanged.length, 3);

    machine.apply({ type: 'deleteTopic', name: 'orders' }, 11);
    const deleted = reconcile(machine, 2, hosted);
    assert.deepEqual(names(deleted.toStop), ['orders-0', 'orders-1', 'orders-2']);
    assert.deepEqual(deleted.toStart, []);
    hosted = carryOut(hosted, deleted);
    assert.deepEqual(hosted, []);
  });

  void test('a topic re-created under the same name is stopped and started again', () => {
    const machine = machineWithBrokers(2);
    machine.apply(createTopic(machine, 't', 1, 2), 10);
    const hosted = hostedAfterCatchUp(machine, 1);
    machine.apply({ type: 'deleteTopic', name: 't' }, 11);
    machine.apply(createTopic(machine, 't', 1, 2), 12);
    const diff = reconcile(machine, 1, hosted);
    assert.deepEqual(diff.toStop.map((replica) => replica.topicId), [10]);
    assert.deepEqual(diff.toStart.map((replica) => replica.topicId), [12]);
  });

  void test('fencing a broker does not move its replicas', () => {
    const machine = machineWithBrokers(3);
    machine.apply(createTopic(machine, 't', 3, 2), 10);
    const hosted = hostedAfterCatchUp(machine, 3);
    machine.apply({ type: 'fenceBroker', brokerId: 3, incarnation: 1 }, 11);
    assert.ok(isEmptyDiff(reconcile(machine, 3, hosted)));
  });

  void test('a changed replica set is reported as changed, not as stop and start', () => {
    const desired: ReplicaAssignment[] = [{ topic: 't', topicId: 5, partition: 0, replicas: [1, 2, 4],
      bootstrap: false }];
    const hosted: ReplicaAssignment[] = [{ topic: 't', topicId: 5, partition: 0, replicas: [1, 2, 3],
      bootstrap: true }];
    const diff = diffReplicas(desired, hosted);
    assert.deepEqual(diff.changed, [{ hosted: hosted[0], desired: desired[0] }]);
    assert.deepEqual([diff.toStart, diff.toStop, diff.unchanged], [[], [], []]);
    assert.ok(!isEmptyDiff(diff));
  });

  void test('a move: the new broker starts an empty learner, the leaving one stops only once reported out', () => {
    const machine = machineWithBrokers(4);
    machine.apply({ type: 'createTopic', name: 't', partitionCount: 1, replicationFactor: 3, configs: {},
      assignments: [[1, 2, 3]] }, 10);
    const hosted = new Map([1, 2, 3, 4].map((id) => [id, hostedAfterCatchUp(machine, id)]));
    assert.deepEqual(hosted.get(1)?.map((replica) => replica.bootstrap), [true], 'a new partition bootstraps');
    assert.deepEqual(hosted.get(4), []);
    const started = machine.apply({ type: 'alterPartitionReassignment', name: 't', topicId: 10, partition: 0,
      target: [2, 3, 4], throttleBytesPerSec: 0 }, 11);
    assert.ok(started.ok);
    const joining = reconcile(machine, 4, hosted.get(4) ?? []);
    assert.deepEqual(joining.toStart.map((replica) => [replica.replicas, replica.bootstrap]), [[[1, 2, 3], false]],
      'the new replica waits for its leader: no bootstrap with a set that is not the group\'s first');
    assert.ok(isEmptyDiff(reconcile(machine, 1, hosted.get(1) ?? [])), 'broker 1 keeps its replica while a voter');
    const report = (confIndex: number, voters: number[], learners: number[], index: number): void => {
      const result = machine.apply({ type: 'reportPartitionReplicas', name: 't', topicId: 10, partition: 0,
        reassignmentId: 11, confIndex, voters, learners }, index);
      assert.ok(result.ok, JSON.stringify(result));
    };
    report(100, [1, 2, 3], [4], 12);
    report(120, [1, 2, 3, 4], [], 13);
    const promoted = reconcile(machine, 1, hosted.get(1) ?? []);
    assert.deepEqual([promoted.toStop, promoted.toStart], [[], []], 'still a voter after the promotion');
    assert.deepEqual(promoted.changed.map((change) => change.desired.replicas), [[2, 3, 4, 1]],
      'target members first, in target order');
    report(130, [2, 3, 4], [], 14);
    const leaving = reconcile(machine, 1, hosted.get(1) ?? []);
    assert.deepEqual(names(leaving.toStop), ['t-0'], 'out of the configuration: stop and delete');
    assert.equal(machine.reassignment('t', 0), undefined, 'voters equal to the target end the move');
    assert.deepEqual(machine.partitionReplicas('t', 0), [2, 3, 4]);
    assert.deepEqual(replicasForBroker(machine, 2).map((replica) => replica.bootstrap), [false],
      'a moved partition never bootstraps again');
  });

  void test('a topic under an internal name is hosted only when it is a known internal topic created as internal', () => {
    // Its partition 0 log would be `__controller-0`, the controller's own log.
    const machine = MetadataStateMachine.fromSnapshot(encodeSnapshot({
      lastAppliedIndex: 9,
      nextProducerId: 0,
      producerIdBlocks: [],
      decommissionedBrokers: [],
      acls: [], clientQuotas: [],
      brokers: [1, 2].map((brokerId) => ({ brokerId, host: '127.0.0.1', port: 9090 + brokerId, raftHost: '127.0.0.1',
        raftPort: 19090 + brokerId, incarnation: 1, epoch: brokerId, fenced: false, decommissioning: false })),
      topics: [
        { name: '__consumer_offsets', topicId: 2, replicationFactor: 2, configs: {}, partitions: [[1, 2]], internal: true },
        { name: '__controller', topicId: 3, replicationFactor: 2, configs: {}, partitions: [[1, 2]], internal: true },
        { name: '__old', topicId: 5, replicationFactor: 2, configs: {}, partitions: [[1, 2]], internal: false },
        { name: 'orders', topicId: 4, replicationFactor: 2, configs: {}, partitions: [[2, 1]], internal: false },
      ],
    }));
    assert.equal(machine.topics().length, 4);
    for (const brokerId of [1, 2]) {
      assert.deepEqual(names(replicasForBroker(machine, brokerId)), ['__consumer_offsets-0', 'orders-0']);
    }
  });
});
