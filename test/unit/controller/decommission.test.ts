/**
 * Goal: DecommissionBroker and UnregisterBroker accept exactly what they should and leave the
 * state byte for byte unchanged when they refuse (unknown broker, too few brokers left, a down
 * broker holding a partition's only copy, unregistering too early); placement and moves never put
 * a new replica on a decommissioning broker; the decommissioned process cannot register again but a
 * new start can; the new fields survive a snapshot. Method: scenarios on a real state machine.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { MetadataCommand } from '../../../src/controller/commands.js';
import { decommissionProblem, voterProblem } from '../../../src/controller/decommission.js';
import { MetadataStateMachine, validateReassignment } from '../../../src/controller/metadata_state_machine.js';
import type { ApplyResult } from '../../../src/controller/metadata_state_machine.js';
import { createTopic, machineWithBrokers, registerBroker } from './helpers.js';

/** Applies commands at the next indices; returns the last result. */
function applyAll(machine: MetadataStateMachine, ...commands: MetadataCommand[]): ApplyResult {
  let result: ApplyResult | undefined;
  for (const command of commands) result = machine.apply(command, machine.lastAppliedIndex + 1);
  assert.ok(result !== undefined);
  return result;
}

/** Applies command, expects a rejection with code, and checks nothing but the index changed. */
function refusedUnchanged(machine: MetadataStateMachine, command: MetadataCommand, code: string): string {
  const before = machine.snapshotData();
  const result = applyAll(machine, command);
  assert.ok(!result.ok, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.code, code, result.message);
  assert.deepEqual({ ...machine.snapshotData(), lastAppliedIndex: before.lastAppliedIndex }, before);
  return result.message;
}

function topic(name: string, assignments: number[][]): MetadataCommand {
  const replicationFactor = assignments[0]?.length ?? 1;
  return { type: 'createTopic', name, partitionCount: assignments.length, replicationFactor, configs: {}, assignments };
}

/** Moves partition p of name to target and reports it done, as its leader would. */
function move(machine: MetadataStateMachine, name: string, partition: number, target: number[]): void {
  const info = machine.topic(name);
  assert.ok(info !== undefined);
  assert.ok(applyAll(machine, { type: 'alterPartitionReassignment', name, topicId: info.topicId, partition, target,
    throttleBytesPerSec: 0 }).ok);
  const under = machine.reassignment(name, partition);
  assert.ok(under !== undefined);
  const result = applyAll(machine, { type: 'reportPartitionReplicas', name, topicId: info.topicId, partition,
    reassignmentId: under.reassignmentId, confIndex: 1, voters: target, learners: [] });
  assert.ok(result.ok && result.type === 'reportPartitionReplicas' && result.done);
}

void describe('decommissionBroker', () => {
  void test('marks the broker: placement and moves leave it out, repeating changes nothing', () => {
    const machine = machineWithBrokers(4);
    applyAll(machine, topic('t', [[1, 2, 4], [4, 3, 2]]), topic('w', [[1, 2, 3]]));
    assert.ok(applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }).ok);
    assert.equal(machine.broker(4)?.decommissioning, true);
    assert.deepEqual(machine.liveBrokerIds(), [1, 2, 3]);
    const snapshot = machine.snapshot();
    assert.ok(applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }).ok, 'idempotent');
    assert.deepEqual({ ...machine.snapshotData(), lastAppliedIndex: 0 },
      { ...MetadataStateMachine.fromSnapshot(snapshot).snapshotData(), lastAppliedIndex: 0 });
    // New replicas never go there: a racing placement, a new partition, a move adding it.
    refusedUnchanged(machine, topic('u', [[4, 1, 2]]), 'INVALID_REPLICA_ASSIGNMENT');
    const t = machine.topic('t');
    assert.ok(t !== undefined);
    refusedUnchanged(machine, { type: 'createPartitions', name: 't', topicId: t.topicId, partitionCount: 3,
      assignments: [[4, 1, 2]] }, 'INVALID_REPLICA_ASSIGNMENT');
    assert.equal(validateReassignment(machine, { name: 't', partition: 0, target: [1, 2, 3] }, 4), null);
    assert.equal(validateReassignment(machine, { name: 't', partition: 0, target: [4, 1, 2] }, 4), null,
      'reordering replicas it holds is allowed');
    const w = machine.topic('w');
    assert.ok(w !== undefined);
    refusedUnchanged(machine, { type: 'alterPartitionReassignment', name: 'w', topicId: w.topicId, partition: 0,
      target: [4, 2, 3], throttleBytesPerSec: 0 }, 'INVALID_REPLICA_ASSIGNMENT');
    assert.ok(applyAll(machine, createTopic(machine, 'v', 3, 3)).ok, 'placement over the others still works');
    assert.ok(machine.topic('v')?.partitions.every((replicas) => !replicas.includes(4)));
  });

  void test('refuses an unknown broker', () => {
    const machine = machineWithBrokers(3);
    refusedUnchanged(machine, { type: 'decommissionBroker', brokerId: 9 }, 'BROKER_ID_NOT_REGISTERED');
  });

  void test('refuses when too few live brokers would be left for a partition on it', () => {
    const machine = machineWithBrokers(4);
    applyAll(machine, topic('t', [[1, 2, 3], [2, 3, 4]]));
    applyAll(machine, { type: 'fenceBroker', brokerId: 1, incarnation: 1 });
    const message = refusedUnchanged(machine, { type: 'decommissionBroker', brokerId: 4 }, 'INVALID_REPLICATION_FACTOR');
    assert.match(message, /only 2 live brokers besides 4 \(2,3\).*t-1 \(3 replicas\)/);
    applyAll(machine, { type: 'unfenceBroker', brokerId: 1, incarnation: 1 });
    assert.ok(applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }).ok);
    // Another decommissioning broker no longer counts as room.
    refusedUnchanged(machine, { type: 'decommissionBroker', brokerId: 3 }, 'INVALID_REPLICATION_FACTOR');
  });

  void test('refuses a down broker holding the only copy of a partition, not a live one', () => {
    const machine = machineWithBrokers(4);
    applyAll(machine, topic('single', [[4], [1]]), topic('triple', [[4, 1, 2]]));
    applyAll(machine, { type: 'fenceBroker', brokerId: 4, incarnation: 1 });
    const message = refusedUnchanged(machine, { type: 'decommissionBroker', brokerId: 4 },
      'INVALID_REPLICA_ASSIGNMENT');
    assert.match(message, /down \(fenced\) and holds the only replica of single-0/);
    // Down but every partition has another copy: allowed (the moves copy from the others).
    const other = machineWithBrokers(4);
    applyAll(other, topic('triple', [[4, 1, 2]]), { type: 'fenceBroker', brokerId: 4, incarnation: 1 });
    assert.equal(decommissionProblem(other, 4), null);
    // Live with the only copy: allowed (the move copies it first).
    applyAll(machine, { type: 'unfenceBroker', brokerId: 4, incarnation: 1 });
    assert.ok(applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }).ok);
  });

  void test('a controller voter is refused with the command to run first', () => {
    assert.match(voterProblem([1, 2, 3], 2)?.message ?? '', /tributary cluster controllers remove --id 2/);
    assert.equal(voterProblem([1, 2, 3], 4), null);
  });

  void test('a restart of the broker during a decommission keeps it decommissioning', () => {
    const machine = machineWithBrokers(4);
    applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }, registerBroker(4, 2));
    assert.equal(machine.broker(4)?.incarnation, 2);
    assert.equal(machine.broker(4)?.decommissioning, true);
  });
});

void describe('unregisterBroker', () => {
  void test('refuses until the broker is decommissioning, empty and no move target; then removes it', () => {
    const machine = machineWithBrokers(4);
    applyAll(machine, topic('t', [[4, 1, 2]]), topic('s', [[1]]));
    refusedUnchanged(machine, { type: 'unregisterBroker', brokerId: 9 }, 'BROKER_ID_NOT_REGISTERED');
    refusedUnchanged(machine, { type: 'unregisterBroker', brokerId: 4 }, 'INVALID_REQUEST');
    // A move to 4 started before the decommission.
    const s = machine.topic('s');
    assert.ok(s !== undefined);
    assert.ok(applyAll(machine, { type: 'alterPartitionReassignment', name: 's', topicId: s.topicId, partition: 0,
      target: [4], throttleBytesPerSec: 0 }).ok);
    assert.ok(applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }).ok);
    assert.match(refusedUnchanged(machine, { type: 'unregisterBroker', brokerId: 4 }, 'REASSIGNMENT_IN_PROGRESS'),
      /s-0/);
    const under = machine.reassignment('s', 0);
    assert.ok(under !== undefined);
    assert.ok(applyAll(machine, { type: 'reportPartitionReplicas', name: 's', topicId: s.topicId, partition: 0,
      reassignmentId: under.reassignmentId, confIndex: 1, voters: [4], learners: [] }).ok);
    assert.match(refusedUnchanged(machine, { type: 'unregisterBroker', brokerId: 4 }, 'INVALID_REQUEST'),
      /still holds 2 replicas: s-0, t-0/);
    move(machine, 's', 0, [1]);
    move(machine, 't', 0, [1, 2, 3]);
    const index = machine.lastAppliedIndex + 1;
    assert.ok(applyAll(machine, { type: 'unregisterBroker', brokerId: 4 }).ok);
    assert.equal(machine.broker(4), undefined);
    assert.deepEqual(machine.decommissioned(4), { brokerId: 4, incarnation: 1, index });
    assert.deepEqual(machine.brokers().map((b) => b.brokerId), [1, 2, 3]);
    const after = machine.snapshotData();
    assert.ok(applyAll(machine, { type: 'unregisterBroker', brokerId: 4 }).ok, 'idempotent');
    assert.deepEqual({ ...machine.snapshotData(), lastAppliedIndex: after.lastAppliedIndex }, after);
    // Its fence, unfence and decommission now name an unknown broker.
    refusedUnchanged(machine, { type: 'fenceBroker', brokerId: 4, incarnation: 1 }, 'BROKER_ID_NOT_REGISTERED');
    refusedUnchanged(machine, { type: 'decommissionBroker', brokerId: 4 }, 'BROKER_ID_NOT_REGISTERED');
  });

  void test('the decommissioned process cannot register again; a new start registers as an empty broker', () => {
    const machine = machineWithBrokers(4);
    applyAll(machine, { type: 'decommissionBroker', brokerId: 4 }, { type: 'unregisterBroker', brokerId: 4 });
    assert.match(refusedUnchanged(machine, registerBroker(4, 1), 'STALE_BROKER_EPOCH'), /was decommissioned/);
    refusedUnchanged(machine, registerBroker(4, 0), 'STALE_BROKER_EPOCH');
    assert.ok(applyAll(machine, registerBroker(4, 2)).ok);
    assert.equal(machine.decommissioned(4), undefined);
    assert.equal(machine.broker(4)?.decommissioning, false);
    assert.deepEqual(machine.liveBrokerIds(), [1, 2, 3, 4]);
  });
});

void test('snapshot round trip keeps the decommissioning flag and the decommissioned records', () => {
  const machine = machineWithBrokers(5);
  applyAll(machine, { type: 'decommissionBroker', brokerId: 5 }, { type: 'unregisterBroker', brokerId: 5 },
    { type: 'decommissionBroker', brokerId: 3 });
  const copy = MetadataStateMachine.fromSnapshot(machine.snapshot());
  assert.deepEqual(copy.snapshotData(), machine.snapshotData());
  assert.equal(copy.broker(3)?.decommissioning, true);
  assert.deepEqual(copy.decommissioned(5), machine.decommissioned(5));
  assert.ok(copy.decommissioned(5) !== undefined);
  assert.deepEqual(copy.snapshot(), machine.snapshot());
});
