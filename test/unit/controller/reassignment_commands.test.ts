/**
 * Goal: the controller records a partition move once, follows the leader's reports of its Raft
 * membership (never backwards), ends the move when the voters are the target, and refuses bad
 * moves with Kafka's codes leaving the state untouched. Method: a four-broker machine driven with
 * AlterPartitionReassignment and ReportPartitionReplicas, snapshots compared before and after
 * each refused command, and a snapshot round trip mid-move.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { MetadataCommand } from '../../../src/controller/commands.js';
import { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { machineWithBrokers } from './helpers.js';

const TOPIC_ID = 10;

function movingMachine(): MetadataStateMachine {
  const machine = machineWithBrokers(4);
  const created = machine.apply({ type: 'createTopic', name: 't', partitionCount: 2, replicationFactor: 3,
    configs: {}, assignments: [[1, 2, 3], [2, 3, 4]] }, TOPIC_ID);
  assert.ok(created.ok);
  return machine;
}

function alter(partition: number, target: number[], topicId = TOPIC_ID): MetadataCommand {
  return { type: 'alterPartitionReassignment', name: 't', topicId, partition, target, throttleBytesPerSec: 1000 };
}

function report(confIndex: number, voters: number[], learners: number[], reassignmentId = 11): MetadataCommand {
  return { type: 'reportPartitionReplicas', name: 't', topicId: TOPIC_ID, partition: 0, reassignmentId, confIndex,
    voters, learners };
}

void describe('partition reassignment commands', () => {
  void test('a move is recorded, follows the reports step by step, and ends at the target', () => {
    const machine = movingMachine();
    assert.deepEqual(machine.apply(alter(0, [4, 2, 3]), 11), { ok: true, type: 'alterPartitionReassignment' });
    assert.deepEqual(machine.reassignment('t', 0), { partition: 0, target: [4, 2, 3], reassignmentId: 11,
      confIndex: 0, learners: [], throttleBytesPerSec: 1000 });
    assert.deepEqual(machine.apply(report(50, [1, 2, 3], [4]), 12), { ok: true, type: 'reportPartitionReplicas',
      done: false });
    assert.deepEqual(machine.reassignment('t', 0)?.learners, [4]);
    machine.apply(report(60, [1, 2, 3, 4], []), 13);
    assert.deepEqual(machine.partitionReplicas('t', 0), [4, 2, 3, 1], 'target members first, in target order');
    const stale = machine.apply(report(55, [1, 2, 3], [4]), 14);
    assert.equal(stale.ok ? 'ok' : stale.code, 'INVALID_REQUEST', 'an older report never moves the replicas back');
    assert.deepEqual(machine.partitionReplicas('t', 0), [4, 2, 3, 1]);

    const midMove = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(midMove.snapshot(), machine.snapshot(), 'a move under way survives a snapshot');

    assert.deepEqual(machine.apply(report(70, [2, 3, 4], []), 15), { ok: true, type: 'reportPartitionReplicas',
      done: true });
    assert.equal(machine.reassignment('t', 0), undefined);
    assert.deepEqual(machine.partitionReplicas('t', 0), [4, 2, 3]);
    const late = machine.apply(report(80, [2, 3, 4], []), 16);
    assert.equal(late.ok ? 'ok' : late.code, 'NO_REASSIGNMENT_IN_PROGRESS', 'a late report after the end');
    assert.deepEqual(machine.topic('t')?.movedPartitions, [0]);
  });

  void test('a second move of a moving partition, and every bad move, is refused and changes nothing', () => {
    const machine = movingMachine();
    machine.apply(alter(0, [2, 3, 4]), 11);
    const cases: [MetadataCommand, string][] = [
      [alter(0, [1, 2, 3]), 'REASSIGNMENT_IN_PROGRESS'],
      [alter(1, []), 'INVALID_REPLICA_ASSIGNMENT'],
      [alter(1, [1, 1, 2]), 'INVALID_REPLICA_ASSIGNMENT'],
      [alter(1, [1, 2, 9]), 'INVALID_REPLICA_ASSIGNMENT'],
      [alter(1, [1, 2, 3, 4, 5]), 'INVALID_REPLICATION_FACTOR'],
      [alter(2, [1, 2, 3]), 'UNKNOWN_TOPIC_OR_PARTITION'],
      [alter(1, [1, 2, 3], 99), 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ ...alter(1, [1, 2, 3]), name: 'nope' } as MetadataCommand, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [report(5, [1, 2, 3], [4], 99), 'NO_REASSIGNMENT_IN_PROGRESS'],
      [report(5, [], [4]), 'INVALID_REPLICA_ASSIGNMENT'],
      [report(5, [1, 2, 2], []), 'INVALID_REPLICA_ASSIGNMENT'],
      [report(5, [1, 2, 7], []), 'INVALID_REPLICA_ASSIGNMENT'],
    ];
    let index = 12;
    for (const [command, code] of cases) {
      const before = machine.snapshot();
      const result = machine.apply(command, index++);
      assert.equal(result.ok ? 'ok' : result.code, code, JSON.stringify(command));
      const after = MetadataStateMachine.fromSnapshot(machine.snapshot());
      const beforeState = MetadataStateMachine.fromSnapshot(before);
      assert.deepEqual(after.topics(), beforeState.topics(), 'nothing changed');
    }
  });

  void test('a move to the replicas it has is done at once; a topic re-created is a new topic', () => {
    const machine = movingMachine();
    assert.ok(machine.apply(alter(1, [2, 3, 4]), 11).ok);
    assert.equal(machine.reassignment('t', 1), undefined);
    assert.deepEqual(machine.topic('t')?.movedPartitions, []);
    machine.apply(alter(0, [2, 3, 4]), 12);
    machine.apply({ type: 'deleteTopic', name: 't' }, 13);
    machine.apply({ type: 'createTopic', name: 't', partitionCount: 1, replicationFactor: 1, configs: {},
      assignments: [[1]] }, 14);
    assert.equal(machine.reassignment('t', 0), undefined, 'the old move went with the old topic');
  });

  void test('a move to the same replicas in another order reorders them at once: no move, no Raft change', () => {
    const machine = movingMachine();
    assert.deepEqual(machine.apply(alter(1, [4, 2, 3]), 11), { ok: true, type: 'alterPartitionReassignment' });
    assert.deepEqual(machine.partitionReplicas('t', 1), [4, 2, 3], 'broker 4 is the preferred leader now');
    assert.equal(machine.reassignment('t', 1), undefined, 'nothing for a partition leader to carry out');
    assert.deepEqual(machine.topicsMoving(), []);
    assert.deepEqual(machine.topic('t')?.movedPartitions, [], 'the replicas hold the same data as before');
    assert.deepEqual(machine.partitionReplicas('t', 0), [1, 2, 3], 'the other partition is untouched');
    const late = machine.apply({ ...report(50, [2, 3, 4], [], 11), partition: 1 } as MetadataCommand, 12);
    assert.equal(late.ok ? 'ok' : late.code, 'NO_REASSIGNMENT_IN_PROGRESS', 'no report is awaited');
    const restored = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(restored.partitionReplicas('t', 1), [4, 2, 3], 'the order survives a snapshot');
    assert.ok(machine.apply(alter(1, [2, 3, 4]), 13).ok, 'and can be changed again at once');
    assert.deepEqual(machine.partitionReplicas('t', 1), [2, 3, 4]);
  });
});
