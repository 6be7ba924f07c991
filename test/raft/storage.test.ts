/**
 * Goal: the storage contract the host implements (storage.ts) holds for MemoryStorage, and the
 * small bounded structures of the core behave. Method: direct calls with edge-case indexes.
 */
import { deepEqual, equal, throws } from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '../../raft/core/index.js';
import { AssertionError, MemoryStorage, SeededPrng, StorageError } from '../../raft/core/index.js';
import { Inflights } from '../../raft/core/inflights.js';
import { Progress, ProgressState } from '../../raft/core/progress.js';
import { decodeConfChange, encodeConfChange } from '../../raft/core/conf_change.js';

function entries(from: number, to: number, term: number): Entry[] {
  const result: Entry[] = [];
  for (let index = from; index <= to; index++) {
    result.push({ index, term, type: 'normal', data: new Uint8Array(8) });
  }
  return result;
}

test('storage contract: term() and entries() name compacted and unavailable ranges', () => {
  const storage = new MemoryStorage();
  storage.append(entries(1, 10, 1));
  storage.createSnapshot(4, { voters: [1], learners: [] }, new Uint8Array(0));
  equal(storage.firstIndex(), 5);
  equal(storage.lastIndex(), 10);
  equal(storage.term(4), 1, 'the snapshot index keeps its term');
  equal(storage.term(3), StorageError.compacted);
  equal(storage.term(11), StorageError.unavailable);
  equal(storage.entries(3, 6, 1000), StorageError.compacted);
  equal(storage.entries(5, 12, 1000), StorageError.unavailable);
  deepEqual((storage.entries(5, 8, 1000) as Entry[]).map((e) => e.index), [5, 6, 7]);
});

test('storage contract: entries() respects bytesMax but always returns one entry', () => {
  const storage = new MemoryStorage();
  storage.append(entries(1, 5, 1));
  equal((storage.entries(1, 6, 1) as Entry[]).length, 1);
  equal((storage.entries(1, 6, 64) as Entry[]).length, 2);
});

test('storage contract: append deletes the conflicting suffix; gaps are programmer errors', () => {
  const storage = new MemoryStorage();
  storage.append(entries(1, 5, 1));
  storage.append(entries(3, 4, 2));
  equal(storage.lastIndex(), 4);
  deepEqual([1, 2, 3, 4].map((i) => storage.term(i)), [1, 1, 2, 2]);
  throws(() => { storage.append(entries(7, 7, 2)); }, AssertionError);
});

test('storage contract: a log that lost durable entries clamps its commit and reports what it lost', () => {
  const storage = new MemoryStorage();
  storage.append(entries(1, 10, 1));
  storage.createSnapshot(3, { voters: [1, 2, 3], learners: [] }, new Uint8Array(0));
  storage.setHardState({ term: 1, vote: 1, commit: 6 });
  throws(() => { storage.dropDurableSuffix(3); }, AssertionError, 'the snapshot is never lost');
  storage.dropDurableSuffix(5);
  const lost = storage.initialState();
  deepEqual(lost.hardState, { term: 1, vote: 1, commit: 4 });
  // Entries 7..10 were above the commit but may have been acknowledged: they count as lost too.
  equal(lost.recoveringThrough, 10);
  // The clamped commit is written back by the next hard state; the loss must still be reported.
  storage.setHardState({ term: 2, vote: 0, commit: 4 });
  equal(storage.initialState().recoveringThrough, 10);
  storage.append(entries(5, 10, 2));
  equal(storage.initialState().recoveringThrough, undefined, 'the log reached the lost index again');
});

test('progress rule: a follower whose log ends below its acknowledged match is probed from its end', () => {
  const progress = new Progress(1, 4, false);
  progress.maybeUpdate(10);
  progress.becomeReplicate();
  equal(progress.maybeDecrTo(10, 12), false, 'a stale rejection above the match is ignored');
  equal(progress.maybeDecrTo(10, 7), true);
  equal(progress.state, ProgressState.probe);
  deepEqual([progress.match, progress.next], [7, 8]);
});

test('inflights rule: the window is bounded and frees by acknowledged index', () => {
  const inflights = new Inflights(3);
  inflights.add(5);
  inflights.add(9);
  inflights.add(12);
  equal(inflights.full(), true);
  throws(() => { inflights.add(13); }, AssertionError);
  inflights.freeLE(9);
  equal(inflights.count(), 1);
  inflights.add(15);
  inflights.freeLE(100);
  equal(inflights.count(), 0);
});

test('determinism rule: the seeded generator replays exactly and spreads values', () => {
  const a = new SeededPrng(12345);
  const b = new SeededPrng(12345);
  const valuesA = Array.from({ length: 20 }, () => a.nextInt(1000));
  deepEqual(valuesA, Array.from({ length: 20 }, () => b.nextInt(1000)));
  equal(new Set(valuesA).size > 15, true);
});

test('membership rule: conf changes round-trip through their entry encoding', () => {
  const change = { type: 'promote_learner', nodeId: 123456789 } as const;
  deepEqual(decodeConfChange(encodeConfChange(change)), change);
});
