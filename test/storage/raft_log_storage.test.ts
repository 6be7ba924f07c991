/**
 * The Raft core's LogStorage on disk: the read contract (errors as values), conflict truncation
 * on append, hard state, snapshots, and a real RawNode that elects itself, commits proposals and
 * restarts from the files with the same state.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  EntryType, MessageType, RawNode, SeededPrng, StorageError, bootstrapEntries, makeConfig,
} from '../../raft/core/index.js';
import type { Entry, Message } from '../../raft/core/index.js';
import type { RaftLogStorage } from '../../storage/index.js';
import { framePositions, segmentPaths } from '../helpers/segment_files.js';
import { openManager, RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

const records = { describePayload: (data: Uint8Array) => ({ recordCount: data[0] ?? 0, maxTimestampMs: 1 }) };

function normal(index: number, term: number, recordCount = 2): Entry {
  return { index, term, type: EntryType.normal, data: Buffer.from([recordCount, index & 0xff, 7, 7]) };
}

/** Performs every Ready of a node on its storage, as a host does, until nothing is left. */
async function drive(node: RawNode, storage: RaftLogStorage, applied: Entry[]): Promise<void> {
  for (let round = 0; round < 100 && node.hasReady(); round += 1) {
    const ready = node.ready();
    await storage.append(ready.entries);
    if (ready.hardState !== undefined) await storage.saveHardState(ready.hardState);
    if (ready.mustSync) await storage.sync();
    applied.push(...ready.committedEntries);
    node.advance();
  }
}

describe('RaftLogStorage', () => {
  let directory: string;
  let logger: RecordingLogger;
  beforeEach(() => { directory = temporaryDirectory('raftlog'); logger = new RecordingLogger(); });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('answers the read contract with values, truncates conflicts, stamps offsets', async () => {
    const manager = openManager(directory, logger);
    const stamped: [number, number][] = [];
    const storage = await manager.openRaftStorage('t-0', { ...records,
      beforeAppend: (data, baseOffset) => { stamped.push([data[1] ?? -1, baseOffset]); } });
    assert.equal(storage.term(0), 0);
    assert.equal(storage.term(1), StorageError.unavailable);
    await storage.append([normal(1, 1), normal(2, 1), { index: 3, term: 2, type: EntryType.noop,
      data: new Uint8Array() }, normal(4, 2)]);
    assert.deepEqual(stamped, [[1, 0], [2, 2], [4, 4]]);
    assert.equal(storage.term(3), 2);
    const read = storage.entries(1, 5, 1 << 20);
    assert.ok(!(typeof read === 'string'));
    assert.deepEqual(read.map((e) => [e.index, e.term, e.type]), [[1, 1, 'normal'], [2, 1, 'normal'],
      [3, 2, 'noop'], [4, 2, 'normal']]);
    // A leader of term 3 replaces entries from 3 on.
    await storage.append([normal(3, 3, 5)]);
    assert.equal(storage.lastIndex(), 3);
    assert.equal(storage.term(3), 3);
    assert.equal(storage.log.nextOffset, 9);
    await storage.saveHardState({ term: 3, vote: 2, commit: 2 });
    assert.deepEqual(storage.initialState().hardState, { term: 3, vote: 2, commit: 2 });
    await storage.compact({ metadata: { index: 2, term: 1, conf: { voters: [1, 2, 3], learners: [] } },
      data: Buffer.from('state') });
    assert.equal(storage.firstIndex(), 3);
    assert.equal(storage.term(1), StorageError.compacted);
    assert.equal(storage.term(2), 1);
    assert.deepEqual(storage.initialState().confState, { voters: [1, 2, 3], learners: [] });
    await storage.installSnapshot({ metadata: { index: 40, term: 5, conf: { voters: [1, 2], learners: [3] } },
      data: Buffer.from('later') }, 77);
    assert.equal(storage.firstIndex(), 41);
    assert.equal(storage.lastIndex(), 40);
    assert.equal(storage.term(40), 5);
    assert.equal(storage.log.nextOffset, 77);
    await manager.close();
  });

  it('runs a RawNode that elects itself, commits, and restarts from disk with the same state', async () => {
    let manager = openManager(directory, logger);
    let storage = await manager.openRaftStorage('controller-0', records);
    const boot = bootstrapEntries([1]);
    await storage.append(boot.entries);
    await storage.saveHardState(boot.hardState);
    const applied: Entry[] = [];
    let node = new RawNode(makeConfig(1, 0, new SeededPrng(7)), storage);
    for (let tick = 0; tick < 100 && node.status().role !== 'leader'; tick += 1) {
      node.tick();
      await drive(node, storage, applied);
    }
    assert.equal(node.status().role, 'leader');
    const indexes: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const result = node.propose(Buffer.from([1, i]));
      if (result.kind !== 'accepted') assert.fail(`proposal ${i} was not accepted: ${result.kind}`);
      indexes.push(result.index);
      await drive(node, storage, applied);
    }
    assert.deepEqual([...node.matchIndexes()], [[1, storage.lastIndex()]], 'the leader matches itself once durable');
    const appliedNormal = applied.filter((entry) => entry.type === EntryType.normal);
    assert.deepEqual(appliedNormal.map((entry) => entry.index), indexes);
    const { term, commit } = storage.initialState().hardState;
    await manager.close();
    manager = openManager(directory, logger);
    storage = await manager.openRaftStorage('controller-0', records);
    assert.equal(storage.lastIndex(), indexes.at(-1));
    assert.equal(storage.initialState().hardState.term, term);
    assert.equal(storage.initialState().hardState.commit, commit);
    assert.equal(commit, indexes.at(-1));
    node = new RawNode(makeConfig(1, 0, new SeededPrng(8)), storage);
    assert.equal(node.status().role, 'follower');
    assert.equal(node.matchIndexes().size, 0, 'only a leader reports match indexes');
    await manager.close();
  });

  it('clamps a commit index the log lost to corruption, and keeps the replica out of elections until it catches up',
    async () => {
      let manager = openManager(directory, logger);
      let storage = await manager.openRaftStorage('partition-0', records);
      const boot = bootstrapEntries([1, 2, 3]);
      await storage.append(boot.entries);
      const first = storage.lastIndex() + 1;
      await storage.append(Array.from({ length: 10 }, (_, i) => normal(first + i, 1)));
      await storage.saveHardState({ term: 1, vote: 2, commit: first + 7 });
      await storage.sync();
      await manager.close();
      // The tail of what was committed is gone (a lost write-back or a damaged tail): recovery cuts the log there.
      const segment = segmentPaths(directory, 'partition-0').at(-1)!;
      const damaged = framePositions(segment).find((frame) => frame.index === first + 5)!;
      fs.truncateSync(segment, damaged.position + 10);
      manager = openManager(directory, logger);
      storage = await manager.openRaftStorage('partition-0', records);
      assert.equal(storage.lastIndex(), first + 4);
      const initial = storage.initialState();
      assert.equal(initial.hardState.commit, first + 4, 'the commit is clamped to what the log still holds');
      assert.equal(initial.recoveringThrough, first + 7);
      assert.ok(logger.lines.some((line) => line.level === 'error' && /lost entries it had made durable/.test(line.message)));

      const node = new RawNode(makeConfig(1, 1, new SeededPrng(3)), storage);
      const voteFrom3 = (term: number, lastLogIndex: number): Message => ({ type: MessageType.voteRequest, groupId: 1,
        from: 3, to: 1, term, preVote: false, lastLogIndex, lastLogTerm: 1, transfer: false });
      const answers = async (): Promise<boolean[]> => {
        const granted: boolean[] = [];
        for (let round = 0; round < 10 && node.hasReady(); round += 1) {
          const ready = node.ready();
          await storage.append(ready.entries);
          if (ready.hardState !== undefined) await storage.saveHardState(ready.hardState);
          await storage.sync();
          for (const message of ready.messages) {
            if (message.type === MessageType.voteResponse && message.to === 3) granted.push(message.granted);
          }
          node.advance();
        }
        return granted;
      };
      for (let tick = 0; tick < 100; tick += 1) node.tick();
      assert.equal(node.status().role, 'follower', 'a recovering replica does not campaign');
      node.step(voteFrom3(2, first + 4));
      assert.deepEqual(await answers(), [false], 'nor does it vote');
      // A leader brings the lost entries back; from then on the replica votes again.
      node.step({ type: MessageType.appendRequest, groupId: 1, from: 2, to: 1, term: 3, prevLogIndex: first + 4,
        prevLogTerm: 1, entries: Array.from({ length: 5 }, (_, i) => normal(first + 5 + i, 1)),
        commitIndex: first + 9 });
      await answers();
      for (let tick = 0; tick < 100; tick += 1) node.tick();
      await answers();
      node.step(voteFrom3(50, first + 9));
      assert.deepEqual(await answers(), [true]);
      await manager.close();
    });
});
