/**
 * The Log on real files and real LMDB: appends read back across segment rolls, offsets assigned as
 * running record counts, group commit, raw reads that return whole stored batches, reopening.
 * Method: small segments (64 KiB) so a few hundred entries span many files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EntryTooLargeError, IndexCompactedError, IndexUnavailableError, OffsetOutOfRangeError }
  from '../../storage/index.js';
import {
  dataEntry, entriesFrom, noopEntry, openManager, payloadFor, payloadIntact, RecordingLogger, temporaryDirectory,
} from '../helpers/storage_fixture.js';

describe('Log', () => {
  let directory: string;
  let logger: RecordingLogger;

  beforeEach(() => {
    directory = temporaryDirectory('log');
    logger = new RecordingLogger();
  });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('appends and reads back across segment rolls, with running-count offsets', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('orders-0');
    assert.equal(log.firstIndex, 1);
    assert.equal(log.lastIndex, 0);
    const first = log.append([noopEntry(1, 1)]);
    assert.equal(first.baseOffset, 0);
    let expectedOffset = 0;
    for (let index = 2; index <= 400; index += 10) {
      const batch = entriesFrom(index, 10, 1);
      const result = log.append(batch);
      assert.equal(result.baseOffset, expectedOffset);
      expectedOffset += batch.reduce((sum, entry) => sum + entry.recordCount, 0);
      assert.equal(result.nextOffset, expectedOffset);
    }
    assert.equal(await log.sync(), 401);
    assert.ok(log.segmentCount > 3, `expected several segments, got ${log.segmentCount}`);
    const files = fs.readdirSync(path.join(directory, 'partitions', 'orders-0'));
    assert.ok(files.includes('00000000000000000001.log'), files.join(','));
    const all = log.entries(1, 402);
    assert.equal(all.length, 401);
    let offset = 0;
    for (const entry of all.slice(1)) {
      assert.equal(entry.baseOffset, offset);
      assert.ok(payloadIntact(entry), `payload of ${entry.index}`);
      offset += entry.recordCount;
    }
    assert.equal(log.termAt(200), 1);
    assert.throws(() => log.termAt(402), IndexUnavailableError);
    await manager.close();
  });

  it('limits entries() by bytes but always returns at least one entry', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 50, 2));
    const limited = log.entries(1, 51, 1);
    assert.equal(limited.length, 1);
    const some = log.entries(10, 51, 3000);
    assert.ok(some.length >= 2 && some.length < 41);
    assert.deepEqual(some.map((e) => e.index), Array.from({ length: some.length }, (_, i) => 10 + i));
    await manager.close();
  });

  it('reads raw batches from an offset, whole entries only, bounded by bytes and an end offset', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    for (let index = 1; index <= 300; index += 1) {
      log.append([index % 50 === 0 ? noopEntry(index, 1 + Math.floor(index / 50)) : dataEntry(index,
        1 + Math.floor(index / 50), { recordCount: 3 })]);
    }
    const entries = log.entries(1, 301).filter((entry) => entry.recordCount > 0);
    // An offset in the middle of entry k's records returns entry k first.
    const k = entries[120]!;
    const raw = log.readRaw(k.baseOffset + 1, 10_000);
    assert.equal(raw.firstOffset, k.baseOffset);
    assert.deepEqual(raw.chunks[0], payloadFor(k.index));
    assert.ok(raw.sizeBytes <= 10_000);
    let expected = entries.indexOf(k);
    for (const chunk of raw.chunks) assert.deepEqual(chunk, payloadFor(entries[expected++]!.index));
    assert.equal(raw.nextOffset, entries[expected - 1]!.baseOffset + 3);
    // Across every segment, chunk by chunk, the whole log comes back in order.
    let offset = 0;
    const seen: number[] = [];
    while (offset < log.nextOffset) {
      const next = log.readRaw(offset, 4096);
      assert.ok(next.chunks.length > 0);
      seen.push(...next.chunks.map((c) => c.length));
      offset = next.nextOffset;
    }
    assert.deepEqual(seen, entries.map((e) => e.payload.length));
    // Never past the end offset (the high watermark), and at it the read is empty.
    const bounded = log.readRaw(0, 1 << 20, entries[5]!.baseOffset);
    assert.equal(bounded.chunks.length, 5);
    assert.equal(log.readRaw(log.nextOffset, 100).chunks.length, 0);
    assert.throws(() => log.readRaw(log.nextOffset + 1, 100), OffsetOutOfRangeError);
    // One huge first entry still comes back whole.
    assert.equal(log.readRaw(0, 1).chunks.length, 1);
    await manager.close();
  });

  it('group commit: concurrent syncs share fdatasyncs and all resolve durable', async () => {
    const manager = openManager(directory, logger, { config: { segmentBytesMax: 1 << 30 } });
    const log = await manager.openLog('t-0');
    const waits: Promise<number>[] = [];
    for (let index = 1; index <= 100; index += 1) {
      log.append([dataEntry(index, 1)]);
      waits.push(log.sync());
    }
    const durable = await Promise.all(waits);
    durable.forEach((value, i) => { assert.ok(value >= i + 1, `sync ${i} resolved at ${value}`); });
    assert.equal(log.durableIndex, 100);
    await manager.close();
  });

  it('reopens after a clean close with the same entries, offsets and terms', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-3');
    log.append(entriesFrom(1, 100, 1));
    log.append(entriesFrom(101, 100, 4));
    const before = log.entries(1, 201);
    await manager.close();
    manager = openManager(directory, logger);
    log = await manager.openLog('t-3');
    assert.equal(log.lastIndex, 200);
    assert.equal(log.lastTerm, 4);
    assert.equal(log.nextOffset, before.at(-1)!.baseOffset + before.at(-1)!.recordCount);
    assert.deepEqual(log.entries(1, 201), before);
    assert.equal(logger.warnings().length, 0);
    log.append([dataEntry(201, 4)]);
    assert.equal(log.entries(201, 202)[0]!.baseOffset, log.nextOffset - dataEntry(201, 4).recordCount);
    await manager.close();
  });

  it('rolls a segment by age', async () => {
    let nowMs = 1_000;
    const manager = openManager(directory, logger, { nowMs: () => nowMs, config: { segmentAgeMsMax: 500 } });
    const log = await manager.openLog('t-0');
    log.append(entriesFrom(1, 3, 1));
    nowMs += 499;
    log.append(entriesFrom(4, 1, 1));
    assert.equal(log.segmentCount, 1);
    nowMs += 1;
    log.append(entriesFrom(5, 1, 1));
    assert.equal(log.segmentCount, 2);
    assert.deepEqual(log.entries(1, 6).map((e) => e.index), [1, 2, 3, 4, 5]);
    await manager.close();
  });

  it('refuses an oversized entry with a typed error and appends nothing', async () => {
    const manager = openManager(directory, logger, { config: { frameBytesMax: 4096 } });
    const log = await manager.openLog('t-0');
    assert.throws(() => log.append([dataEntry(1, 1), dataEntry(2, 1, { sizeBytes: 5000 })]), EntryTooLargeError);
    assert.equal(log.lastIndex, 0);
    log.append([dataEntry(1, 1)]);
    assert.equal(log.lastIndex, 1);
    await manager.close();
  });

  it('rejects appends that break index contiguity or term order (programmer errors)', async () => {
    const manager = openManager(directory, logger);
    const log = await manager.openLog('t-0');
    log.append([dataEntry(1, 3)]);
    assert.throws(() => log.append([dataEntry(3, 3)]), { name: 'AssertionError' });
    assert.throws(() => log.append([dataEntry(2, 2)]), { name: 'AssertionError' });
    assert.throws(() => log.entries(0, 1), IndexCompactedError);
    await manager.close();
  });

  it('persists hard state durably and refuses a term going back', async () => {
    let manager = openManager(directory, logger);
    let log = await manager.openLog('t-0');
    assert.deepEqual(log.hardState(), { term: 0, vote: null, commit: 0 });
    log.append(entriesFrom(1, 5, 2));
    await log.saveHardState({ term: 2, vote: 3, commit: 4 });
    await assert.rejects(log.saveHardState({ term: 1, vote: null, commit: 4 }), { name: 'AssertionError' });
    await manager.close();
    manager = openManager(directory, logger);
    log = await manager.openLog('t-0');
    assert.deepEqual(log.hardState(), { term: 2, vote: 3, commit: 4 });
    await manager.close();
  });
});
