/**
 * Suffix truncation (Raft conflicts), prefix deletion (snapshots), retention by time and by bytes,
 * and lookup by timestamp, each checked again after reopening the log from disk.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EntryType, IndexCompactedError, OffsetOutOfRangeError } from '../../storage/index.js';
import type { EntryInput } from '../../storage/index.js';
import { encodeRecordBatch, firstOffsetDeltaAtOrAfter } from '../../src/protocol/record_batch.js';
import { dataEntry, entriesFrom, openManager, payloadIntact, RecordingLogger, temporaryDirectory }
  from '../helpers/storage_fixture.js';

const segmentFiles = (directory: string, log: string): string[] =>
  fs.readdirSync(path.join(directory, 'partitions', log)).sort();

/** A data entry holding a real RecordBatch v2 whose records carry the given timestamps. */
function batchEntry(index: number, term: number, timestampsMs: number[]): EntryInput {
  const payload = encodeRecordBatch({ records: timestampsMs.map((timestamp, i) => ({ timestamp,
    key: null, value: Buffer.from(`v${index}-${i}`) })) });
  return { index, term, type: EntryType.data, recordCount: timestampsMs.length,
    maxTimestampMs: Math.max(...timestampsMs), payload };
}

describe('Log truncation, deletion and retention', () => {
  let directory: string;
  let logger: RecordingLogger;
  beforeEach(() => { directory = temporaryDirectory('trunc'); logger = new RecordingLogger(); });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('truncates at the first index of a segment, keeping the segment before it whole', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 300, 1));
    await log.sync();
    assert.ok(log.segmentCount >= 3);
    const lastSegmentStart = Number(segmentFiles(directory, 't-0').at(-1)!.slice(0, 20));
    await log.truncateSuffix(lastSegmentStart);
    assert.equal(log.lastIndex, lastSegmentStart - 1);
    assert.ok(log.entries(1, lastSegmentStart).every((entry) => payloadIntact(entry)), 'the entries before the cut');
    log.append([dataEntry(lastSegmentStart, 2)]);
    await manager.close();
    const reopened = openManager(directory, logger);
    const again = await reopened.openLog('t-0');
    assert.equal(again.lastIndex, lastSegmentStart);
    assert.equal(again.termAt(lastSegmentStart), 2);
    assert.ok(again.entries(1, lastSegmentStart + 1).every((entry) => payloadIntact(entry)));
    await reopened.close();
  });

  it('truncates a suffix inside a segment and across segments, then appends a new term', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 300, 1));
    await log.sync();
    const segmentsBefore = log.segmentCount;
    const offsetAt150 = log.entries(150, 151)[0]!.baseOffset;
    await log.truncateSuffix(150);
    assert.equal(log.lastIndex, 149);
    assert.equal(log.nextOffset, offsetAt150);
    assert.ok(log.segmentCount < segmentsBefore);
    assert.equal(log.durableIndex, 149);
    const replacement = Array.from({ length: 20 }, (_, i) => dataEntry(150 + i, 2, { sizeBytes: 77 }));
    log.append(replacement);
    assert.equal(log.entries(150, 151)[0]!.baseOffset, offsetAt150);
    assert.equal(log.termAt(160), 2);
    // Truncating to the very first index empties the log.
    await manager.close();
    manager = openManager(directory, logger);
    log = await manager.openLog('t-0');
    assert.equal(log.lastIndex, 169);
    assert.equal(log.termAt(169), 2);
    assert.ok(log.entries(1, 150).every((entry) => payloadIntact(entry)));
    assert.ok(log.entries(150, 170).every((entry) => payloadIntact(entry, 77)));
    await log.truncateSuffix(1);
    assert.equal(log.lastIndex, 0);
    assert.equal(log.nextOffset, 0);
    assert.deepEqual(segmentFiles(directory, 't-0'), ['00000000000000000001.log']);
    await manager.close();
    assert.equal(logger.warnings().length, 0);
  });

  it('a truncation racing group commits neither fails them nor lets them vouch for removed entries', async () => {
    const manager = openManager(directory, logger, { config: { segmentBytesMax: 8 * 1024 } });
    const log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 40, 1));
    const early = log.sync();
    const truncation = log.truncateSuffix(5);
    const late = log.sync();
    await truncation;
    assert.ok((await early) <= 40);
    assert.equal(await late, 4);
    log.append(entriesFrom(5, 3, 2));
    assert.equal(await log.sync(), 7);
    await manager.close();
  });

  it('never truncates at or below the persisted commit index', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 10, 1));
    await log.saveHardState({ term: 1, vote: 1, commit: 6 });
    await assert.rejects(log.truncateSuffix(6), { name: 'AssertionError' });
    await log.truncateSuffix(7);
    assert.equal(log.lastIndex, 6);
    await manager.close();
  });

  it('deletes a prefix: whole segments go, the log start moves and survives a reopen', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 300, 1));
    await log.sync();
    const filesBefore = segmentFiles(directory, 't-0');
    const start = log.entries(120, 121)[0]!;
    await log.deletePrefix(120);
    assert.equal(log.firstIndex, 120);
    assert.equal(log.logStartOffset, start.baseOffset);
    assert.equal(log.termAt(119), 1);
    assert.throws(() => log.termAt(118), IndexCompactedError);
    assert.throws(() => log.readRaw(start.baseOffset - 1, 100), OffsetOutOfRangeError);
    assert.equal(log.readRaw(start.baseOffset, 100).firstOffset, start.baseOffset);
    const filesAfter = segmentFiles(directory, 't-0');
    assert.ok(filesAfter.length < filesBefore.length);
    await manager.close();
    manager = openManager(directory, logger);
    log = await manager.openLog('t-0');
    assert.equal(log.firstIndex, 120);
    assert.equal(log.logStartOffset, start.baseOffset);
    assert.deepEqual(log.entries(120, 121)[0], start);
    // Deleting everything keeps the offsets going.
    const end = log.nextOffset;
    await log.deletePrefix(301);
    assert.equal(log.firstIndex, 301);
    assert.equal(log.lastIndex, 300);
    assert.equal(log.nextOffset, end);
    log.append([dataEntry(301, 1)]);
    assert.equal(log.entries(301, 302)[0]!.baseOffset, end);
    await manager.close();
  });

  it('resets to a snapshot point: every entry goes, offsets continue from the snapshot, and a reopen agrees',
    async () => {
      let manager = openManager(directory, logger);
      let log = await manager.openLog('t-0');
      log.append(entriesFrom(1, 50, 1));
      await log.resetTo({ firstIndex: 1001, firstOffset: 5000, termBeforeFirst: 7 });
      assert.equal(log.firstIndex, 1001);
      assert.equal(log.lastIndex, 1000);
      assert.equal(log.termAt(1000), 7);
      assert.equal(log.nextOffset, 5000);
      assert.deepEqual(segmentFiles(directory, 't-0'), ['00000000000000001001.log']);
      log.append([dataEntry(1001, 7, { recordCount: 3 }), dataEntry(1002, 8, { recordCount: 2 })]);
      assert.equal(log.readRaw(5003, 100).firstOffset, 5003);
      await manager.close();
      manager = openManager(directory, logger);
      log = await manager.openLog('t-0');
      assert.equal(log.firstIndex, 1001);
      assert.equal(log.lastIndex, 1002);
      assert.equal(log.logStartOffset, 5000);
      assert.equal(log.nextOffset, 5005);
      await manager.close();
    });

  it('a reset cut short by a crash (start recorded, old files left) recovers to the new start', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 30, 1));
    await manager.close();
    // Record the new start the way resetTo does first, then "crash" before the files go.
    const { IndexMaps } = await import('../../storage/index_maps.js');
    const { open } = await import('lmdb');
    const stateRoot = open({ path: path.join(directory, 'state.lmdb'), maxDbs: 32 });
    const indexRoot = open({ path: path.join(directory, 'index.lmdb'), maxDbs: 16, noSync: true });
    await new IndexMaps(indexRoot, stateRoot).putLogStart(1, { firstIndex: 500, firstOffset: 900, termBeforeFirst: 4 });
    await indexRoot.close();
    await stateRoot.close();
    manager = openManager(directory, logger);
    log = await manager.openLog('t-0');
    assert.equal(log.firstIndex, 500);
    assert.equal(log.lastIndex, 499);
    assert.equal(log.termAt(499), 4);
    assert.equal(log.nextOffset, 900);
    await manager.close();
  });

  it('after a prefix deletion inside a segment, a full index rebuild keeps every entry', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 60, 1));
    log.append(entriesFrom(61, 60, 3));
    await log.deletePrefix(70);
    await manager.close();
    const { removeIndexEntries } = await import('../helpers/segment_files.js');
    await removeIndexEntries(directory, 1, 1, 200);
    manager = openManager(directory, logger);
    log = await manager.openLog('t-0');
    assert.equal(log.firstIndex, 70);
    assert.equal(log.lastIndex, 120);
    assert.equal(log.termAt(69), 3);
    assert.ok(log.entries(70, 121).every((entry) => payloadIntact(entry)));
    await manager.close();
  });

  it('retention by bytes deletes the oldest closed segments, never past the safe index', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 400, 1));
    const totalBytes = log.sizeBytes;
    const policy = { retentionMs: -1, retentionBytes: Math.floor(totalBytes / 3) };
    // Nothing is safe yet: nothing goes.
    assert.equal(await log.applyRetention(policy, 1), 0);
    const deleted = await log.applyRetention(policy, 401);
    assert.ok(deleted > 0);
    assert.ok(log.sizeBytes >= policy.retentionBytes, 'retention keeps at least retention.bytes');
    assert.ok(log.sizeBytes < policy.retentionBytes + 64 * 1024 + 2048, 'deletes all but one surplus segment');
    assert.ok(log.firstIndex > 1);
    assert.throws(() => log.readRaw(0, 100), (error: unknown) =>
      error instanceof OffsetOutOfRangeError && error.logStartOffset === log.logStartOffset);
    // A safe index inside the log stops deletion at the segment holding it.
    const again = await log.applyRetention({ retentionMs: -1, retentionBytes: 0 }, log.firstIndex + 1);
    assert.equal(again, 0);
    await manager.close();
  });

  it('retention by time deletes segments whose newest record is older than retention.ms', async () => {
    let nowMs = 10_000_000;
    const manager = openManager(directory, logger, { nowMs: () => nowMs });
    const log = await manager.openLog('t-0');
    for (let index = 1; index <= 300; index += 1) {
      log.append([dataEntry(index, 1, { timestampMs: index < 150 ? 1_000_000 + index : 5_000_000 + index })]);
    }
    nowMs = 5_000_000 + 3_000_000;
    const deleted = await log.applyRetention({ retentionMs: 3_000_000, retentionBytes: -1 }, 301);
    assert.ok(deleted > 0);
    assert.ok(log.firstIndex <= 150, `kept every entry newer than retention (first ${log.firstIndex})`);
    assert.ok(log.firstIndex > 50, `deleted the old segments (first ${log.firstIndex})`);
    assert.equal(await log.applyRetention({ retentionMs: 3_000_000, retentionBytes: -1 }, 301), 0);
    await manager.close();
  });

  it('looks up the first offset at or after a timestamp, also after a reopen', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-0');
    const stamps = [100, 200, 150, 300, 300, 250, 400, 500];
    stamps.forEach((timestampMs, i) => log.append([dataEntry(i + 1, 1, { recordCount: 2, timestampMs })]));
    const check = (): void => {
      assert.deepEqual(log.offsetForTimestamp(50), { offset: 0, index: 1 });
      assert.deepEqual(log.offsetForTimestamp(100), { offset: 0, index: 1 });
      assert.deepEqual(log.offsetForTimestamp(101), { offset: 2, index: 2 });
      assert.deepEqual(log.offsetForTimestamp(250), { offset: 6, index: 4 });
      assert.deepEqual(log.offsetForTimestamp(450), { offset: 14, index: 8 });
      assert.equal(log.offsetForTimestamp(501), null);
    };
    check();
    await manager.close();
    manager = openManager(directory, logger);
    log = await manager.openLog('t-0');
    check();
    await log.truncateSuffix(5);
    assert.equal(log.offsetForTimestamp(301), null);
    log.append([dataEntry(5, 2, { recordCount: 2, timestampMs: 350 })]);
    assert.deepEqual(log.offsetForTimestamp(301), { offset: 8, index: 5 });
    await manager.close();
  });

  it('with the batch format known, a timestamp lookup lands on the record inside the batch', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    log.append([batchEntry(1, 1, [100, 110, 120]), batchEntry(2, 1, [130, 125, 160, 170])]);
    const lookup = (timestampMs: number): number | undefined =>
      log.offsetForTimestamp(timestampMs, firstOffsetDeltaAtOrAfter)?.offset;
    assert.equal(lookup(0), 0);
    assert.equal(lookup(110), 1);
    assert.equal(lookup(121), 3);
    assert.equal(lookup(126), 3);
    assert.equal(lookup(131), 5);
    assert.equal(lookup(170), 6);
    assert.equal(lookup(171), undefined);
    await manager.close();
  });
});
