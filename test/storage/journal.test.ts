/**
 * Goal: the write-ahead journal (storage/journal/) makes a datasync of a journaled file durable with
 * one fdatasync of the journal, and its replay after a power loss gives every file back exactly as
 * far as it was synced: writes, truncations and removals in their order, across journal turnovers,
 * never a stale or torn record.
 * Method: JournaledFileIo over PowerLossFileIo on real files (a crash loses every byte not fdatasynced,
 * segment and journal alike), then a fresh JournaledFileIo replays; the files are compared with what
 * the test wrote. The record codec is checked on its own against torn, flipped and stale bytes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SeededPrng } from '../../raft/core/index.js';
import { StorageFullError } from '../../storage/errors.js';
import { nodeFileIo } from '../../storage/file_io.js';
import type { FileIo } from '../../storage/file_io.js';
import { JournaledFileIo } from '../../storage/journal/journaled_file_io.js';
import { JournalOp, decodeJournalRecords, encodeJournalRecord, journalRecordBytes, sealJournalRecords }
  from '../../storage/journal/journal_record.js';
import { PowerLossFileIo } from '../../storage/power_loss_file_io.js';
import { RecordingLogger, dataEntry, openManager, temporaryDirectory } from '../helpers/storage_fixture.js';

function encodeRecords(records: readonly { path: string; position: number; data: Buffer }[],
  generation: number): Buffer {
  const bytes = records.reduce((sum, r) => sum + journalRecordBytes(Buffer.byteLength(r.path), r.data.length),
    0);
  const buffer = Buffer.alloc(bytes + 64); // zeros after the records, as in a zero-filled journal file
  let at = 0;
  for (const r of records) {
    at += encodeJournalRecord(buffer, at, JournalOp.write, Buffer.from(r.path), r.position, [r.data]);
  }
  sealJournalRecords(buffer, at, generation);
  return buffer;
}

describe('journal records', () => {
  const records = [
    { path: 'partitions/a-0/00000000000000000001.log', position: 0, data: Buffer.from('first') },
    { path: 'partitions/a-0/00000000000000000001.log', position: 5, data: Buffer.from('second') },
    { path: 'partitions/b-1/00000000000000000001.log', position: 0, data: Buffer.alloc(3000, 7) },
  ];

  it('decode what was encoded, in order, and stop at the zeros after them', () => {
    const decoded = [...decodeJournalRecords(encodeRecords(records, 9), 9)];
    assert.deepEqual(decoded.map((r) => r.op === JournalOp.write ? [r.path, r.position, Buffer.from(r.data)] : null),
      records.map((r) => [r.path, r.position, r.data]));
  });

  it('end at a flipped byte, a torn last record, or a record of another generation', () => {
    const encoded = encodeRecords(records, 9);
    const secondStart = journalRecordBytes(Buffer.byteLength(records[0]!.path), 5);
    const flipped = Buffer.from(encoded);
    flipped[secondStart + 40] = flipped[secondStart + 40]! ^ 0x01;
    assert.equal([...decodeJournalRecords(flipped, 9)].length, 1, 'a flipped byte in the second record ends it');
    const torn = encoded.subarray(0, encoded.length - 64 - 10);
    assert.equal([...decodeJournalRecords(torn, 9)].length, 2, 'a torn third record ends it');
    assert.equal([...decodeJournalRecords(encoded, 8)].length, 0, 'records of generation 9 are stale for 8');
    const mixed = Buffer.concat([encodeRecords(records.slice(0, 1), 10).subarray(0, secondStart),
      encoded.subarray(secondStart)]);
    assert.equal([...decodeJournalRecords(mixed, null)].length, 1, 'an older record after a newer one is stale');
  });
});

describe('JournaledFileIo', () => {
  let root: string;
  let logger: RecordingLogger;
  beforeEach(() => { root = temporaryDirectory('journal'); logger = new RecordingLogger(); });
  afterEach(() => { fs.rmSync(root, { recursive: true, force: true }); });

  function open(inner: FileIo, fileBytes = 1024 * 1024, inlineSyncMsMax?: number): JournaledFileIo {
    return JournaledFileIo.open(inner, { dataDirectory: root, directory: path.join(root, 'journal'), fileBytes, logger,
      ...(inlineSyncMsMax === undefined ? {} : { inlineSyncMsMax }) });
  }
  function powerLossIo(): PowerLossFileIo {
    return new PowerLossFileIo(nodeFileIo, { fsync: true });
  }
  /** Opens the journal again over plain files (the replay writes everything back), and closes it. */
  async function replay(): Promise<void> {
    await open(nodeFileIo).shutdown();
  }
  const file = (name: string): string => path.join(root, 'partitions', 'p-0', name);

  it('a datasync waits for the journal, not the file, and the replay puts the bytes back', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    const inner = powerLossIo();
    const io = open(inner);
    const fd = io.openAppend(file('a'));
    io.writev(fd, [Buffer.from('hello '), Buffer.from('journal')], 0);
    await io.datasync(fd);
    io.writev(fd, [Buffer.from(' lost')], 13);
    inner.crash();
    assert.equal(fs.statSync(file('a')).size, 0, 'the file itself was never synced');
    await replay();
    assert.equal(fs.readFileSync(file('a'), 'latin1'), 'hello journal', 'what the datasync covered, no more');
  });

  it('one journal fdatasync serves every file written in the round', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    let fileSyncs = 0;
    const counting: FileIo = { ...nodeFileIo,
      datasync: (fd) => { fileSyncs += 1; return nodeFileIo.datasync(fd); },
      datasyncNow: (fd) => { fileSyncs += 1; nodeFileIo.datasyncNow(fd); } };
    const io = open(counting);
    const fds = ['a', 'b', 'c', 'd'].map((name) => io.openAppend(file(name)));
    fds.forEach((fd, i) => { io.writev(fd, [Buffer.from(`record ${i}`)], 0); });
    await Promise.all(fds.map((fd) => io.datasync(fd)));
    assert.equal(fileSyncs, 1, 'four files, one fdatasync');
    for (const fd of fds) io.close(fd);
    await io.shutdown();
  });

  it('syncs on the event loop while its syncs are fast, and in the thread pool once they are slow', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    // The syncs only take time here (a fast disk, then a slow one): the test is of the rule, not the
    // disk. The bar is set well above what a preempted fast sync could take on a busy machine.
    const INLINE_SYNC_MS_MAX = 5;
    const SLOW_SYNC_MS = 30;
    let slow = false;
    const kinds: string[] = [];
    const timed: FileIo = { ...nodeFileIo,
      datasync: async () => {
        kinds.push('pool');
        await new Promise((resolve) => setTimeout(resolve, slow ? SLOW_SYNC_MS : 0));
      },
      datasyncNow: () => {
        kinds.push('inline');
        const until = performance.now() + (slow ? SLOW_SYNC_MS : 0);
        while (performance.now() < until) { /* a bounded busy wait: the simulated disk */ }
      } };
    const io = open(timed, undefined, INLINE_SYNC_MS_MAX);
    const fd = io.openAppend(file('a'));
    let position = 0;
    const writeAndSync = async (): Promise<void> => {
      position += io.writev(fd, [Buffer.from('record')], position);
      await io.datasync(fd);
    };
    for (let i = 0; i < 3; i++) await writeAndSync();
    assert.deepEqual(kinds, ['inline', 'inline', 'inline'], 'fast syncs are made on the event loop');
    slow = true;
    for (let i = 0; i < 5; i++) await writeAndSync();
    assert.equal(kinds[3], 'inline', 'the first slow sync is still made inline (the mean was low)');
    assert.deepEqual(kinds.slice(-3), ['pool', 'pool', 'pool'], `once the mean is over the bar, the pool (${kinds.join()})`);
    io.close(fd);
    await io.shutdown();
  });

  it('replays truncations and removals in order: nothing cut or removed comes back', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    const inner = powerLossIo();
    const io = open(inner);
    const fd = io.openAppend(file('a'));
    io.writev(fd, [Buffer.from('0123456789')], 0);
    io.truncate(fd, 4);
    io.writev(fd, [Buffer.from('ab')], 4);
    const gone = io.openAppend(file('gone'));
    io.writev(gone, [Buffer.from('removed later')], 0);
    await io.datasync(fd);
    io.close(gone);
    io.remove(file('gone'));
    const tree = path.join(root, 'partitions', 'deleted-0');
    fs.mkdirSync(tree);
    const inTree = io.openAppend(path.join(tree, 'x'));
    io.writev(inTree, [Buffer.from('in a deleted folder')], 0);
    await io.datasync(inTree);
    io.close(inTree);
    io.removeTree(tree);
    inner.crash();
    await replay();
    assert.equal(fs.readFileSync(file('a'), 'latin1'), '0123ab');
    assert.equal(fs.existsSync(file('gone')), false, 'a removed file is not recreated by its earlier writes');
    assert.equal(fs.existsSync(tree), false, 'nor is a removed folder');
  });

  it('keeps what was synced across many journal turnovers, and replays no stale record', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    const prng = new SeededPrng(20261207);
    const inner = powerLossIo();
    const io = open(inner, 4096); // a turnover every few rounds
    const names = ['a', 'b', 'c'];
    const fds = names.map((name) => io.openAppend(file(name)));
    const written = names.map(() => [] as Buffer[]);
    for (let round = 0; round < 300; round += 1) {
      for (let slot = 0; slot < fds.length; slot += 1) {
        if (prng.nextFloat() < 0.3) continue;
        const data = Buffer.alloc(1 + Math.floor(prng.nextFloat() * 700), (round * 7 + slot) & 0xff);
        const position = written[slot]!.reduce((sum, b) => sum + b.length, 0);
        io.writev(fds[slot]!, [data], position);
        written[slot]!.push(data);
      }
      await Promise.all(fds.map((fd) => io.datasync(fd)));
    }
    const journalFiles = fs.readdirSync(path.join(root, 'journal'));
    assert.deepEqual(journalFiles.sort(), ['journal-0', 'journal-1'], 'two journal files, used in turn');
    inner.crash();
    await replay();
    names.forEach((name, slot) => {
      assert.ok(fs.readFileSync(file(name)).equals(Buffer.concat(written[slot]!)), `${name} is whole`);
    });
  });

  it('syncs a large write in place instead of copying it into the journal', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    const inner = powerLossIo();
    const io = open(inner);
    const fd = io.openAppend(file('a'));
    const large = Buffer.alloc(256 * 1024, 3);
    io.writev(fd, [large], 0);
    await io.datasync(fd);
    assert.ok(fs.readFileSync(file('a')).equals(large), 'the file itself holds the large write');
    inner.crash();
    const journalBytes = fs.readdirSync(path.join(root, 'journal'))
      .reduce((sum, name) => sum + fs.statSync(path.join(root, 'journal', name)).size, 0);
    assert.ok(journalBytes < large.length, `the journal holds ${journalBytes} bytes, not the write`);
  });

  describe('a large write synced in place survives the replay of an older truncation or removal', () => {
    const large = Buffer.alloc(40 * 1024, 9);

    /** Opens file `a` through a new journal, writes 100 bytes into it and syncs them. */
    async function syncedSmallWrite(inner: PowerLossFileIo): Promise<{ io: JournaledFileIo; fd: number }> {
      fs.mkdirSync(path.dirname(file('a')), { recursive: true });
      const io = open(inner);
      const fd = io.openAppend(file('a'));
      io.writev(fd, [Buffer.alloc(100, 1)], 0);
      await io.datasync(fd);
      return { io, fd };
    }

    /** Writes the large buffer at the start of file `a` and syncs it; then the power goes and comes back. */
    async function largeWriteSurvives(io: JournaledFileIo, fd: number, inner: PowerLossFileIo): Promise<void> {
      io.writev(fd, [large], 0);
      await io.datasync(fd);
      inner.crash();
      await replay();
      assert.ok(fs.readFileSync(file('a')).equals(large));
    }

    it('truncated, then written in place', async () => {
      const inner = powerLossIo();
      const { io, fd } = await syncedSmallWrite(inner);
      io.truncate(fd, 0);
      await largeWriteSurvives(io, fd, inner);
    });

    it('removed, then created again and written in place', async () => {
      const inner = powerLossIo();
      const { io, fd } = await syncedSmallWrite(inner);
      io.close(fd);
      io.remove(file('a'));
      await largeWriteSurvives(io, io.openAppend(file('a')), inner);
    });

    it('truncated before a restart, written in place after it', async () => {
      const before = powerLossIo();
      const { io, fd } = await syncedSmallWrite(before);
      io.truncate(fd, 0);
      before.crash();
      const after = powerLossIo();
      const restarted = open(after);
      await largeWriteSurvives(restarted, restarted.openAppend(file('a')), after);
    });
  });

  it('a full disk fails the datasync with StorageFullError and keeps the records for the next one', async () => {
    fs.mkdirSync(path.dirname(file('a')), { recursive: true });
    let full = false;
    const journalFolder = path.join(root, 'journal');
    const journalFds = new Set<number>();
    const fullDisk: FileIo = {
      ...nodeFileIo,
      openAppend: (name) => {
        const fd = nodeFileIo.openAppend(name);
        if (name.startsWith(journalFolder)) journalFds.add(fd);
        return fd;
      },
      writev: (fd, buffers, position) => {
        if (full && journalFds.has(fd)) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return nodeFileIo.writev(fd, buffers, position);
      },
    };
    const io = open(fullDisk);
    const fd = io.openAppend(file('a'));
    full = true;
    io.writev(fd, [Buffer.from('waits for space')], 0);
    await assert.rejects(io.datasync(fd), StorageFullError);
    full = false;
    await io.datasync(fd);
    const journal = Buffer.concat(fs.readdirSync(journalFolder)
      .map((name) => fs.readFileSync(path.join(journalFolder, name))));
    assert.ok(journal.includes('waits for space'), 'the record went to the journal once there was room');
    io.close(fd);
    await io.shutdown();
  });

  it('is empty after a clean shutdown, so the next start replays nothing', async () => {
    const manager = openManager(root, logger);
    const log = await manager.openLog('events-0');
    log.append([dataEntry(1, 1)]);
    await log.sync();
    await manager.close();
    for (const name of fs.readdirSync(path.join(root, 'journal'))) {
      assert.equal(fs.statSync(path.join(root, 'journal', name)).size, 0, `${name} is empty`);
    }
    const again = openManager(root, logger);
    assert.equal((await again.openLog('events-0')).lastIndex, 1);
    await again.close();
    assert.ok(!logger.lines.some((line) => line.message === 'journal replayed'));
  });
});
