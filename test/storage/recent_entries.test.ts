/**
 * The in-memory tail of a Raft log: it answers exactly what the segment files would (same entries,
 * same size rule, same terms), follows truncations and snapshot installs, and stays within its
 * byte bound.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EntryType, SeededPrng, StorageError } from '../../raft/core/index.js';
import type { Entry } from '../../raft/core/index.js';
import { RecentEntries } from '../../storage/recent_entries.js';
import { openManager, RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

const records = { describePayload: (data: Uint8Array) => ({ recordCount: data[0] ?? 0, maxTimestampMs: 1 }) };

function entry(index: number, term: number, bytes: number): Entry {
  const data = Buffer.alloc(Math.max(2, bytes), index & 0xff);
  data[0] = 1;
  return { index, term, type: EntryType.normal, data };
}

function summary(entries: readonly Entry[] | StorageError): unknown {
  if (typeof entries === 'string') return entries;
  return entries.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString('hex')]);
}

describe('RecentEntries', () => {
  it('keeps a contiguous tail within its byte bound, newest entry always', () => {
    const recent = new RecentEntries(100);
    recent.appended([entry(1, 1, 40), entry(2, 1, 40)]);
    assert.equal(recent.firstIndex, 1);
    recent.appended([entry(3, 1, 40)]);
    assert.equal(recent.firstIndex, 2, 'the oldest goes once the bound is passed');
    assert.equal(recent.lastIndex, 3);
    recent.appended([entry(4, 1, 500)]);
    assert.equal(recent.firstIndex, 4, 'an entry above the bound is still kept alone');
    assert.equal(recent.slice(3, 5, 1000), undefined, 'a range not wholly held is not answered');
    assert.equal(recent.slice(4, 5, 0)?.length, 1, 'the first entry always, as the log does');
  });

  it('lets entries go once older than its age bound, newest entry always', () => {
    let nowMs = 1_000;
    const recent = new RecentEntries(1_000_000, 100, () => nowMs);
    recent.appended([entry(1, 1, 10), entry(2, 1, 10)]);
    nowMs += 60;
    recent.appended([entry(3, 1, 10)]);
    assert.equal(recent.firstIndex, 1, 'within the bound, everything is held');
    nowMs += 50;
    recent.appended([entry(4, 1, 10)]);
    assert.equal(recent.firstIndex, 3, 'the entries appended 110 ms ago go, the 50 ms old one stays');
    assert.deepEqual(summary(recent.slice(3, 5, 1000) ?? []), summary([entry(3, 1, 10), entry(4, 1, 10)]));
    nowMs += 10_000;
    recent.appended([entry(5, 1, 10), entry(6, 1, 10)]);
    assert.equal(recent.firstIndex, 5, 'one append keeps all it brings');
    nowMs += 10_000;
    recent.dropFrom(6);
    recent.appended([entry(6, 2, 10)]);
    assert.equal(recent.firstIndex, 6, 'a rewritten suffix is as new as its append');
    assert.equal(recent.term(6), 2);
  });

  it('follows a truncation and forgets everything after a gap', () => {
    const recent = new RecentEntries(1 << 20);
    recent.appended([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10)]);
    recent.appended([entry(2, 2, 10)]);
    assert.equal(recent.lastIndex, 2);
    assert.equal(recent.term(2), 2);
    assert.equal(recent.term(1), 1);
    recent.appended([entry(5, 2, 10)]);
    assert.equal(recent.firstIndex, 5, 'entries 3 and 4 never passed here: only 5 on is held');
    recent.dropFrom(5);
    assert.equal(recent.firstIndex, null);
  });

  it('sizes the answer as the log does: whole entries while the payloads fit', () => {
    const recent = new RecentEntries(1 << 20);
    recent.appended([entry(1, 1, 30), entry(2, 1, 30), entry(3, 1, 30)]);
    assert.deepEqual(recent.slice(1, 4, 60)?.map((e) => e.index), [1, 2]);
    assert.deepEqual(recent.slice(1, 4, 59)?.map((e) => e.index), [1]);
    assert.deepEqual(recent.slice(2, 3, 1 << 20)?.map((e) => e.index), [2]);
  });
});

describe('RaftLogStorage with its recent tail', () => {
  let directory: string;
  beforeEach(() => { directory = temporaryDirectory('recent'); });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('reads the same entries and terms from memory as from the segments, through truncations and snapshots',
    async () => {
      const manager = openManager(directory, new RecordingLogger());
      const cached = await manager.openRaftStorage('cached-0', { ...records, recentEntriesBytesMax: 4096 });
      const disk = await manager.openRaftStorage('disk-0', { ...records, recentEntriesBytesMax: 0 });
      const prng = new SeededPrng(11);
      let term = 1;
      const check = (): void => {
        const last = cached.lastIndex();
        assert.equal(last, disk.lastIndex());
        const first = cached.firstIndex();
        for (let round = 0; round < 40 && last >= first; round += 1) {
          const low = first + prng.nextInt(last - first + 1);
          const high = low + 1 + prng.nextInt(last - low + 1);
          const bytesMax = prng.nextInt(3000);
          assert.deepEqual(summary(cached.entries(low, high, bytesMax)), summary(disk.entries(low, high, bytesMax)),
            `entries(${low}, ${high}, ${bytesMax})`);
          assert.equal(cached.term(low), disk.term(low));
        }
        assert.equal(cached.term(first - 1), disk.term(first - 1));
      };
      for (let step = 0; step < 60; step += 1) {
        const last = cached.lastIndex();
        const rewrite = step % 9 === 8 && last > cached.firstIndex() + 2;
        if (rewrite) term += 1;
        const from = rewrite ? last - prng.nextInt(3) : last + 1;
        const batch = Array.from({ length: 1 + prng.nextInt(4) },
          (_, i) => entry(from + i, term, 1 + prng.nextInt(900)));
        // Each replica gets its own copy: appends stamp nothing here, but the payloads must not be shared.
        await cached.append(batch);
        await disk.append(batch.map((e) => ({ ...e, data: Buffer.from(e.data) })));
        check();
      }
      const conf = { voters: [1], learners: [] };
      const snapshot = { metadata: { index: cached.lastIndex() + 10, term: term + 1, conf }, data: Buffer.from('image') };
      await cached.installSnapshot(snapshot, 1_000);
      await disk.installSnapshot(snapshot, 1_000);
      assert.equal(cached.entries(snapshot.metadata.index, snapshot.metadata.index + 1, 100), StorageError.compacted);
      await cached.append([entry(snapshot.metadata.index + 1, term + 1, 50)]);
      await disk.append([entry(snapshot.metadata.index + 1, term + 1, 50)]);
      check();
      await manager.close();
    });
});
