/**
 * Recovery on open after the damage crashes and disks do: a file cut mid-frame, a flipped byte in
 * the last frame, index entries lost from LMDB or pointing past the file, a corrupt frame inside a
 * closed segment, and a full disk. Method: write a log, close it, damage files or LMDB directly,
 * reopen, and check exactly what survives and what storage reported.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CorruptSegmentError, StorageFullError } from '../../storage/index.js';
import { nodeFileIo } from '../../storage/file_io.js';
import type { FileIo } from '../../storage/file_io.js';
import { entriesFrom, openManager, payloadIntact, RecordingLogger, temporaryDirectory }
  from '../helpers/storage_fixture.js';
import { flipByte, framePositions, removeIndexEntries, segmentPaths } from '../helpers/segment_files.js';

const LOG = 'events-0';

describe('Log recovery', () => {
  let directory: string;
  let logger: RecordingLogger;
  beforeEach(() => { directory = temporaryDirectory('recovery'); logger = new RecordingLogger(); });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  async function writeLog(count: number): Promise<void> {
    const manager = openManager(directory, logger);
    const log = await manager.openLog(LOG);
    log.append(entriesFrom(1, count, 1));
    await manager.close();
  }

  async function reopenAndCheck(expectedLastIndex: number): Promise<void> {
    const manager = openManager(directory, logger);
    const log = await manager.openLog(LOG);
    assert.equal(log.lastIndex, expectedLastIndex);
    const entries = log.entries(1, expectedLastIndex + 1);
    assert.equal(entries.length, expectedLastIndex);
    entries.forEach((entry) => { assert.ok(payloadIntact(entry), `entry ${entry.index} intact`); });
    // The log goes on from there, and the new entries survive another reopen.
    log.append(entriesFrom(expectedLastIndex + 1, 5, 2));
    await manager.close();
    const again = openManager(directory, logger);
    const reopened = await again.openLog(LOG);
    assert.equal(reopened.lastIndex, expectedLastIndex + 5);
    assert.ok(reopened.entries(1, expectedLastIndex + 6).every((entry) => payloadIntact(entry)));
    await again.close();
  }

  it('(a) a file cut in the middle of its last frame loses only that frame, and says so', async () => {
    await writeLog(250);
    const last = segmentPaths(directory, LOG).at(-1)!;
    const frames = framePositions(last);
    const tail = frames.at(-1)!;
    fs.truncateSync(last, tail.position + Math.floor(tail.frameBytes / 2));
    await reopenAndCheck(249);
    const cut = logger.warnings().find((line) => line.message.includes('truncating'));
    assert.ok(cut, 'the cut was logged');
    assert.deepEqual({ file: (cut.object as { file: string }).file, position: (cut.object as { position: number })
      .position }, { file: last, position: tail.position });
  });

  it('(a) a cut inside a frame header is handled the same way', async () => {
    await writeLog(100);
    const last = segmentPaths(directory, LOG).at(-1)!;
    const tail = framePositions(last).at(-1)!;
    fs.truncateSync(last, tail.position + 7);
    await reopenAndCheck(99);
  });

  it('(b) a flipped byte in the last frame truncates the log before it', async () => {
    await writeLog(250);
    const last = segmentPaths(directory, LOG).at(-1)!;
    const tail = framePositions(last).at(-1)!;
    flipByte(last, tail.position + tail.frameBytes - 3);
    await reopenAndCheck(249);
    assert.ok(logger.warnings().some((line) => JSON.stringify(line.object).includes('CRC mismatch')));
  });

  it('(b) a flipped byte in the last frame header is caught by the CRC too', async () => {
    await writeLog(40);
    const last = segmentPaths(directory, LOG).at(-1)!;
    const tail = framePositions(last).at(-1)!;
    flipByte(last, tail.position + 21); // inside the index field
    await reopenAndCheck(39);
  });

  it('(c) index entries deleted from LMDB, at the tail and in the middle, are rebuilt', async () => {
    await writeLog(300);
    await removeIndexEntries(directory, 1, 260, 301);
    await removeIndexEntries(directory, 1, 100, 140);
    await removeIndexEntries(directory, 1, 1, 3);
    const manager = openManager(directory, logger);
    const log = await manager.openLog(LOG);
    // Entries missing in the middle are found from the nearest indexed frame and re-indexed.
    assert.equal(log.termAt(120), 1);
    assert.deepEqual(log.entries(120, 122).map((entry) => entry.index), [120, 121]);
    await manager.close();
    await reopenAndCheck(300);
    assert.equal(logger.warnings().filter((line) => line.message.includes('truncating')).length, 0);
  });

  it('(c) with the whole index gone, every segment is rescanned', async () => {
    await writeLog(300);
    await removeIndexEntries(directory, 1, 1, 301);
    await reopenAndCheck(300);
  });

  it('cuts the log before a damaged frame inside the active segment, even with the index intact after it',
    async () => {
      await writeLog(300);
      const last = segmentPaths(directory, LOG).at(-1)!;
      const frames = framePositions(last);
      assert.ok(frames.length >= 3, 'the active segment holds several frames');
      const victim = frames[Math.floor(frames.length / 2)]!;
      flipByte(last, victim.position + 60);
      await reopenAndCheck(victim.index - 1);
      assert.ok(logger.warnings().some((line) => line.message.includes('damaged frame lies below')));
    });

  it('drops index entries that point past the end of the files', async () => {
    await writeLog(300);
    const files = segmentPaths(directory, LOG);
    const last = files.at(-1)!;
    const frames = framePositions(last);
    // Lose the last 10 frames, as an OS crash before their writeback would; LMDB still has them.
    fs.truncateSync(last, frames.at(-10)!.position);
    await reopenAndCheck(300 - 10);
    assert.ok(logger.warnings().some((line) => line.message.includes('dropped index entries')));
  });

  it('reports a corrupt frame inside a closed segment as a typed error naming file and position', async () => {
    await writeLog(300);
    const first = segmentPaths(directory, LOG)[0]!;
    const victim = framePositions(first)[10]!;
    flipByte(first, victim.position + 60);
    const manager = openManager(directory, logger);
    const log = await manager.openLog(LOG);
    assert.throws(() => log.entries(1, 50), (error: unknown) => error instanceof CorruptSegmentError
      && error.file === first && error.position === victim.position);
    // Raw reads (the fetch path) check CRCs too: damaged bytes are never served to a consumer.
    const before = log.entries(victim.index - 1, victim.index)[0]!;
    assert.throws(() => log.readRaw(before.baseOffset + before.recordCount, 1 << 20),
      (error: unknown) => error instanceof CorruptSegmentError && error.position === victim.position);
    // Entries after it are still served.
    assert.equal(log.entries(victim.index + 1, victim.index + 2).length, 1);
    await manager.close();
    // When the index is gone the scan meets the bad frame in a closed segment: open refuses.
    await removeIndexEntries(directory, 1, 1, 301);
    const rescanning = openManager(directory, logger);
    await assert.rejects(rescanning.openLog(LOG), (error: unknown) => error instanceof CorruptSegmentError
      && error.file === first && error.position === victim.position);
    await rescanning.close();
  });

  it('after a machine restart the no-fsync index environment is discarded and rebuilt from segments', async () => {
    const bootedAs = (bootId: string): FileIo => ({ ...nodeFileIo,
      readText: (file) => (file.includes('boot_id') ? bootId : nodeFileIo.readText(file)) });
    let manager = openManager(directory, logger, { io: bootedAs('boot-a') });
    let log = await manager.openLog(LOG);
    log.append(entriesFrom(1, 120, 1));
    await log.saveHardState({ term: 1, vote: 2, commit: 100 });
    await manager.close();
    manager = openManager(directory, logger, { io: bootedAs('boot-b') });
    assert.ok(logger.warnings().some((line) => line.message.includes('machine restarted')));
    log = await manager.openLog(LOG);
    assert.equal(log.lastIndex, 120);
    assert.deepEqual(log.hardState(), { term: 1, vote: 2, commit: 100 }, 'hard state is not derived: it stays');
    assert.ok(log.entries(1, 121).every((entry) => payloadIntact(entry)));
    assert.deepEqual(log.offsetForTimestamp(1_000_050), { offset: log.entries(50, 51)[0]!.baseOffset, index: 50 });
    await manager.close();
  });

  it('a full disk fails the append with StorageFullError, leaves no partial frame, and the log goes on', async () => {
    let spaceLeftBytes = Number.POSITIVE_INFINITY;
    const fullDiskIo: FileIo = {
      ...nodeFileIo,
      writev: (fd, buffers, position) => {
        const bytes = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
        if (bytes <= spaceLeftBytes) return nodeFileIo.writev(fd, buffers, position);
        // Write what fits, as a real disk would, then fail.
        const first = buffers[0]!;
        nodeFileIo.writev(fd, [first.subarray(0, Math.min(first.length, 10))], position);
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    };
    const manager = openManager(directory, logger, { io: fullDiskIo });
    const log = await manager.openLog(LOG);
    log.append(entriesFrom(1, 20, 1));
    spaceLeftBytes = 100;
    assert.throws(() => log.append(entriesFrom(21, 5, 1)), StorageFullError);
    assert.equal(log.lastIndex, 20);
    spaceLeftBytes = Number.POSITIVE_INFINITY;
    log.append(entriesFrom(21, 5, 1));
    await manager.close();
    await reopenAndCheck(25);
    assert.equal(logger.warnings().length, 0, 'no torn frame was left behind');
  });
});
