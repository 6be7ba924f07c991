/**
 * Goal: a broker that comes back after its replica of a partition was moved away while it was down
 * deletes the leftover log, but only once its metadata is caught up, and never a log it may still
 * need (a partition not moved, or one whose replica set or move target names it). Method: a real
 * LogManager in a temporary folder with leftover logs, a ReplicaManager over a RaftHost whose
 * transport goes nowhere (no group is started here), reconciled against metadata built by commands.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import { ReplicaManager } from '../../../src/broker/replica_manager.js';
import { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import type { RaftHost } from '../../../raft/host/raft_host.js';
import { offlineRaftHost, QuietLogger } from '../../helpers/offline_raft_host.js';
import { openManager, RecordingLogger, temporaryDirectory } from '../../helpers/storage_fixture.js';
import { registerBroker } from '../controller/helpers.js';

/** Brokers 1..4; topic t with partitions [1,2,3] each; partition 0 moved to [2,3,4], 1 moving to [1,2,4]. */
function metadata(): MetadataStateMachine {
  const machine = new MetadataStateMachine();
  for (let id = 1; id <= 4; id++) machine.apply(registerBroker(id), id);
  machine.apply({ type: 'createTopic', name: 't', partitionCount: 3, replicationFactor: 3, configs: {},
    assignments: [[1, 2, 3], [1, 2, 3], [1, 2, 3]] }, 10);
  machine.apply({ type: 'alterPartitionReassignment', name: 't', topicId: 10, partition: 0, target: [2, 3, 4],
    throttleBytesPerSec: 0 }, 11);
  machine.apply({ type: 'reportPartitionReplicas', name: 't', topicId: 10, partition: 0, reassignmentId: 11,
    confIndex: 50, voters: [2, 3, 4], learners: [] }, 12);
  machine.apply({ type: 'alterPartitionReassignment', name: 't', topicId: 10, partition: 1, target: [4, 2, 3],
    throttleBytesPerSec: 0 }, 13);
  return machine;
}

void describe('leftover logs of moved replicas', () => {
  const directories: string[] = [];
  after(() => { for (const directory of directories) rmSync(directory, { recursive: true, force: true }); });

  async function managerWithLeftovers(brokerId: number, caughtUp: () => boolean):
    Promise<{ logs: ReturnType<typeof openManager>; replicas: ReplicaManager; host: RaftHost }> {
    const directory = temporaryDirectory('tributary-leftovers-');
    directories.push(directory);
    const logs = openManager(directory, new RecordingLogger());
    for (const name of ['t-0', 't-1', 't-2']) await logs.openLog(name);
    const host = offlineRaftHost(brokerId, 1_000);
    const replicas = new ReplicaManager({ brokerId, host, logs, setPeer: () => undefined, batchBytesMax: 1 << 20,
      logger: new QuietLogger(), metadataCaughtUp: caughtUp });
    return { logs, replicas, host };
  }

  test('deleted once caught up, only for moved partitions that do not name the broker', async () => {
    let caughtUp = false;
    // Broker 1 left partition 0 while down; partition 1 is moving off it but it is still a voter.
    const { logs, replicas, host } = await managerWithLeftovers(1, () => caughtUp);
    const view = metadata();
    await replicas.reconcile(view);
    for (const hosted of replicas.all()) hosted.replica.close();
    assert.ok(logs.hasLog('t-0'), 'nothing is deleted before the metadata is caught up');
    caughtUp = true;
    await replicas.reconcile(view);
    assert.equal(logs.hasLog('t-0'), false, 'the replica moved away while down is deleted');
    assert.ok(logs.hasLog('t-1'), 'a moving partition whose replicas still name the broker is kept');
    assert.ok(logs.hasLog('t-2'), 'a partition never moved is kept');
    await host.close();
    await logs.close();
  });

  test('a broker the move target names keeps its log', async () => {
    // Broker 4 is partition 1's new replica and partition 0's: both hosted, nothing deleted.
    const { logs, replicas, host } = await managerWithLeftovers(4, () => true);
    await replicas.reconcile(metadata());
    assert.deepEqual(replicas.all().map((hosted) => hosted.assignment.partition).sort(), [0, 1]);
    assert.ok(logs.hasLog('t-0') && logs.hasLog('t-1') && logs.hasLog('t-2'));
    for (const hosted of replicas.all()) hosted.replica.close();
    await host.close();
    await logs.close();
  });
});

