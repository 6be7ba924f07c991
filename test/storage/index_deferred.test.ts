/**
 * Goal: the index writes of appends, deferred to be written together every few milliseconds
 * (IndexMaps.putEntriesSoon), keep their order with every other index write: a truncation or a
 * log's removal made while they wait removes what they wrote, never the other way round; and a
 * caller learns they are committed only once they are. Method: real LMDB environments in a
 * temporary folder, the maps read back after each step.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { open as openLmdb } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { IndexMaps } from '../../storage/index_maps.js';
import type { EntryLocation } from '../../storage/types.js';
import { temporaryDirectory } from '../helpers/storage_fixture.js';

/** Entry `index` of a log whose entries hold two records each, 100 bytes apart. */
function location(index: number): EntryLocation {
  return { index, term: 1, segmentBaseIndex: 1, position: (index - 1) * 100, frameBytes: 100,
    baseOffset: (index - 1) * 2, recordCount: 2, maxTimestampMs: 1_000 + index };
}

const range = (from: number, to: number): EntryLocation[] =>
  Array.from({ length: to - from + 1 }, (_, i) => location(from + i));

describe('deferred index writes', () => {
  let directory: string;
  let indexRoot: RootDatabase;
  let stateRoot: RootDatabase;
  let maps: IndexMaps;
  beforeEach(() => {
    directory = temporaryDirectory('index-deferred');
    indexRoot = openLmdb({ path: path.join(directory, 'index.lmdb'), maxDbs: 16, noSync: true });
    stateRoot = openLmdb({ path: path.join(directory, 'state.lmdb'), maxDbs: 32 });
    maps = new IndexMaps(indexRoot, stateRoot);
  });
  afterEach(async () => {
    await indexRoot.close();
    await stateRoot.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('are readable once their promise resolves, for every log that wrote in the window', async () => {
    const first = maps.putEntriesSoon(1, range(1, 5), []);
    const second = maps.putEntriesSoon(2, range(1, 3), [{ timestampMs: 1_003, baseOffset: 4, index: 3 }]);
    assert.equal(maps.location(1, 1), undefined, 'not written in the turn of the append');
    assert.equal(await first, true);
    assert.equal(await second, true);
    assert.deepEqual(maps.location(1, 5), location(5));
    assert.deepEqual(maps.location(2, 3), location(3));
    assert.equal(maps.floorOffset(1, 9), 5);
    assert.deepEqual(maps.lastTimeEntry(2), { timestampMs: 1_003, baseOffset: 4, index: 3 });
  });

  it('a truncation made while they wait removes them', async () => {
    const appended = maps.putEntriesSoon(1, range(1, 10), []);
    const other = maps.putEntriesSoon(2, range(1, 10), []);
    await maps.removeFrom(1, 6, location(6).baseOffset);
    await Promise.all([appended, other]);
    assert.deepEqual(maps.location(1, 5), location(5));
    assert.equal(maps.location(1, 6), undefined, 'an entry cut by the truncation is not indexed again');
    assert.equal(maps.location(1, 10), undefined);
    assert.equal(maps.floorOffset(1, 100), 5);
    assert.deepEqual(maps.location(2, 10), location(10), 'another log keeps its entries');
  });

  it('a log removed while they wait leaves nothing behind', async () => {
    const appended = maps.putEntriesSoon(3, range(1, 4), [{ timestampMs: 1_004, baseOffset: 6, index: 4 }]);
    await maps.removeLog(3);
    await appended;
    assert.equal(maps.location(3, 1), undefined);
    assert.equal(maps.lastTimeEntry(3), undefined);
  });

  it('an immediate write after them is written after them', async () => {
    void maps.putEntriesSoon(1, [{ ...location(7), term: 1 }], []);
    // The same index again, immediately (as a repair of the location would): the later write wins.
    await maps.putEntries(1, [{ ...location(7), term: 2 }], []);
    assert.equal(maps.location(1, 7)?.term, 2);
  });
});
