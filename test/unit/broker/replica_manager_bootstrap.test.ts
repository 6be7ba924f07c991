/**
 * Goal: a partition replica that crashed in the middle of its group's bootstrap (the entries
 * appended, the hard state not yet saved) begins the group when it starts again; the sole replica
 * of a partition then elects itself, where before it stayed a non-voter with no leader forever
 * (test/e2e/decommission.test.ts failed so, its broker 4 killed right after creating the topic). And
 * a replica that has begun its group, or holds a leader's entries, is never bootstrapped again.
 * Method: real logs in a temporary folder (storage/RaftLogStorage), the cut-short bootstrap written
 * as the old code left it, then a ReplicaManager over a RaftHost ticking every 5 ms, reconciled
 * against metadata holding a one-replica topic.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';

import { EntryType, bootstrapEntries, isStorageError } from '../../../raft/core/index.js';
import { bootstrapUnstartedGroup } from '../../../raft/host/bootstrap_group.js';
import { ReplicaManager, recordBatchPayloads } from '../../../src/broker/replica_manager.js';
import { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { offlineRaftHost, QuietLogger } from '../../helpers/offline_raft_host.js';
import { openManager, RecordingLogger, temporaryDirectory } from '../../helpers/storage_fixture.js';
import { registerBroker } from '../controller/helpers.js';

const directories: string[] = [];

function freshDirectory(): string {
  const directory = temporaryDirectory('tributary-bootstrap-');
  directories.push(directory);
  return directory;
}

void describe('a group bootstrap cut short by a crash', () => {
  after(() => { for (const directory of directories) rmSync(directory, { recursive: true, force: true }); });

  test('the sole replica of a partition begins its group again and elects itself', async () => {
    const directory = freshDirectory();
    // What a broker killed between the bootstrap's append and its hard state's save left on disk.
    const crashed = openManager(directory, new RecordingLogger());
    const cut = await crashed.openRaftStorage('solo-0', recordBatchPayloads);
    await cut.append(bootstrapEntries([1]).entries);
    await cut.sync();
    await crashed.close();

    const logs = openManager(directory, new RecordingLogger());
    const host = offlineRaftHost(1, 5);
    await host.start();
    const replicas = new ReplicaManager({ brokerId: 1, host, logs, setPeer: () => undefined, batchBytesMax: 1 << 20,
      logger: new QuietLogger(), metadataCaughtUp: () => true });
    const view = new MetadataStateMachine();
    view.apply(registerBroker(1), 1);
    view.apply({ type: 'createTopic', name: 'solo', partitionCount: 1, replicationFactor: 1, configs: {},
      assignments: [[1]] }, 2);
    try {
      await replicas.reconcile(view);
      const [hosted] = replicas.all();
      assert.ok(hosted !== undefined, 'the partition is hosted');
      const deadline = Date.now() + 5_000;
      while (host.status(hosted.groupId)?.role !== 'leader' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(host.status(hosted.groupId)?.role, 'leader', 'the only voter leads its partition');
      assert.ok((hosted.storage.initialState().hardState.term) >= 1);
      for (const each of replicas.all()) each.replica.close();
    } finally {
      await host.close();
      await logs.close();
    }
  });

  test('entries reach the disk before the hard state that commits them', async () => {
    const logs = openManager(freshDirectory(), new RecordingLogger());
    const storage = await logs.openRaftStorage('order-0', recordBatchPayloads);
    const calls: string[] = [];
    const watched = {
      initialState: () => storage.initialState(),
      lastIndex: () => storage.lastIndex(),
      entries: (low: number, high: number, bytesMax: number) => storage.entries(low, high, bytesMax),
      append: async (entries: Parameters<typeof storage.append>[0]) => { calls.push('append'); await storage.append(entries); },
      sync: async () => { calls.push('sync'); return storage.sync(); },
      saveHardState: async (state: Parameters<typeof storage.saveHardState>[0]) => {
        calls.push('saveHardState');
        await storage.saveHardState(state);
      },
    };
    assert.equal(await bootstrapUnstartedGroup(watched, [1, 2, 3]), true);
    assert.deepEqual(calls, ['append', 'sync', 'saveHardState']);
    assert.deepEqual(storage.initialState().hardState, { term: 1, vote: 0, commit: 3 });
    assert.equal(storage.lastIndex(), 3);
    await logs.close();
  });

  test('a replica that began its group, or holds a leader\'s entries, is left as it is', async () => {
    const logs = openManager(freshDirectory(), new RecordingLogger());
    const begun = await logs.openRaftStorage('begun-0', recordBatchPayloads);
    assert.equal(await bootstrapUnstartedGroup(begun, [1, 2, 3]), true);
    assert.equal(await bootstrapUnstartedGroup(begun, [1, 2, 3]), false, 'a hard state is saved: begun');
    assert.equal(begun.lastIndex(), 3);

    // No hard state yet, and entries that are not this bootstrap's: a leader's, left to Raft.
    const joined = await logs.openRaftStorage('joined-0', recordBatchPayloads);
    const others = bootstrapEntries([4, 5, 6]).entries;
    await joined.append(others);
    await joined.sync();
    assert.equal(await bootstrapUnstartedGroup(joined, [1, 2, 3]), false);
    assert.equal(joined.initialState().hardState.term, 0);
    const kept = joined.entries(1, 4, Number.MAX_SAFE_INTEGER);
    if (isStorageError(kept)) assert.fail(`the entries are readable: ${kept}`);
    assert.deepEqual(kept.map((entry) => [entry.index, entry.type === EntryType.config, Buffer.from(entry.data)]),
      others.map((entry) => [entry.index, true, Buffer.from(entry.data)]));
    await logs.close();
  });
});
