/**
 * Goal: PowerLossFileIo keeps every byte written since a file's last datasync in memory, so that a
 * crash loses exactly those bytes; with fsync off it keeps them until a simulated write-back.
 * Method: raw writes on real files in a temporary folder, checked three ways: through the wrapper
 * (what the process sees), through node:fs (what the disk holds), and after a "crash" (the
 * descriptor closed behind the wrapper's back and the file reopened by a fresh wrapper). Then a Log
 * on top of it: the segment files copied at the moment of the crash hold exactly the entries the
 * Log reported durable, and recovery on the copy serves exactly those.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { nodeFileIo } from '../../storage/file_io.js';
import { PowerLossFileIo } from '../../storage/power_loss_file_io.js';
import { entriesFrom, openManager, payloadIntact, RecordingLogger, temporaryDirectory }
  from '../helpers/storage_fixture.js';

/** What a read of `length` bytes at `position` returns through `io`. */
function readThrough(io: PowerLossFileIo, fd: number, position: number, length: number): string {
  const into = Buffer.alloc(length);
  const n = io.read(fd, into, 0, length, position);
  return into.subarray(0, n).toString('latin1');
}

/** The process dies: its descriptor goes, and with it everything only the wrapper held. */
function crash(fd: number): void {
  nodeFileIo.close(fd);
}

describe('PowerLossFileIo', () => {
  let directory: string;
  let file: string;
  beforeEach(() => {
    directory = temporaryDirectory('power-loss');
    file = path.join(directory, 'segment.log');
  });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('serves unsynced bytes to the process while the file does not hold them', () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    assert.equal(io.writev(fd, [Buffer.from('hello '), Buffer.from('world')], 0), 11);
    assert.equal(io.sizeOf(fd), 11);
    assert.equal(readThrough(io, fd, 0, 64), 'hello world');
    assert.equal(readThrough(io, fd, 6, 3), 'wor');
    assert.equal(io.unsyncedBytes, 11);
    assert.equal(fs.statSync(file).size, 0, 'nothing reached the file');
    crash(fd);
    const reopened = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd2 = reopened.openAppend(file);
    assert.equal(reopened.sizeOf(fd2), 0, 'the crash lost the unsynced bytes');
    reopened.close(fd2);
  });

  it('keeps what datasync covered and loses what came after it', async () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    io.writev(fd, [Buffer.from('synced-')], 0);
    await io.datasync(fd);
    io.writev(fd, [Buffer.from('now-')], 7);
    io.datasyncNow(fd);
    io.writev(fd, [Buffer.from('lost')], 11);
    assert.equal(readThrough(io, fd, 0, 64), 'synced-now-lost');
    assert.equal(io.unsyncedBytes, 4);
    assert.equal(fs.readFileSync(file, 'latin1'), 'synced-now-');
    crash(fd);
    assert.equal(fs.readFileSync(file, 'latin1'), 'synced-now-');
  });

  it('lets a datasync cover only the bytes written before it started', async () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    io.writev(fd, [Buffer.from('first')], 0);
    const sync = io.datasync(fd);
    io.writev(fd, [Buffer.from('second')], 5);
    await sync;
    assert.equal(fs.readFileSync(file, 'latin1'), 'first');
    assert.equal(readThrough(io, fd, 0, 64), 'firstsecond');
    crash(fd);
  });

  it('writes at positions: gathered buffers, overwrites (the later wins) and holes that read as zeros', async () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    io.writev(fd, [Buffer.from('aaaa'), Buffer.from('bbbb')], 0);
    await io.datasync(fd);
    io.writev(fd, [Buffer.from('XY'), Buffer.from('Z')], 3); // over the synced bytes
    io.writev(fd, [Buffer.from('q')], 4); // over the unsynced write
    io.writev(fd, [Buffer.from('tail')], 12); // past the end, leaving a hole at 8..11
    assert.equal(io.sizeOf(fd), 16);
    assert.equal(readThrough(io, fd, 0, 64), 'aaaXqZbb\0\0\0\0tail');
    assert.equal(readThrough(io, fd, 2, 4), 'aXqZ');
    assert.equal(fs.readFileSync(file, 'latin1'), 'aaaabbbb', 'the file still holds the synced bytes');
    await io.datasync(fd);
    assert.equal(fs.readFileSync(file, 'latin1'), 'aaaXqZbb\0\0\0\0tail');
    crash(fd);
  });

  it('truncates inside the unsynced tail without touching the file', async () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    io.writev(fd, [Buffer.from('durable|')], 0);
    await io.datasync(fd);
    io.writev(fd, [Buffer.from('one|')], 8);
    io.writev(fd, [Buffer.from('two|')], 12);
    io.truncate(fd, 10);
    assert.equal(io.sizeOf(fd), 10);
    assert.equal(readThrough(io, fd, 0, 64), 'durable|on');
    assert.equal(io.unsyncedBytes, 2);
    assert.equal(fs.readFileSync(file, 'latin1'), 'durable|');
    io.writev(fd, [Buffer.from('ly')], 10);
    io.datasyncNow(fd);
    assert.equal(fs.readFileSync(file, 'latin1'), 'durable|only');
    crash(fd);
  });

  it('truncates below the synced size: the file is cut and the unsynced tail dropped', async () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    io.writev(fd, [Buffer.from('0123456789')], 0);
    await io.datasync(fd);
    io.writev(fd, [Buffer.from('abc')], 10);
    io.truncate(fd, 4);
    assert.equal(io.sizeOf(fd), 4);
    assert.equal(io.unsyncedBytes, 0);
    assert.equal(readThrough(io, fd, 0, 64), '0123');
    assert.equal(fs.readFileSync(file, 'latin1'), '0123');
    io.truncate(fd, 6); // growing leaves zeros
    assert.equal(readThrough(io, fd, 0, 64), '0123\0\0');
    io.datasyncNow(fd);
    assert.equal(fs.readFileSync(file, 'latin1'), '0123\0\0');
    crash(fd);
  });

  it('with fsync off, datasync moves nothing; write-back and close move bytes to the file', async () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: false });
    const fd = io.openAppend(file);
    io.writev(fd, [Buffer.from('acked')], 0);
    await io.datasync(fd);
    io.datasyncNow(fd);
    assert.equal(fs.statSync(file).size, 0, 'an fsync-off datasync keeps the bytes in memory');
    io.writeBack();
    assert.equal(fs.readFileSync(file, 'latin1'), 'acked');
    io.writev(fd, [Buffer.from('-more')], 5);
    io.close(fd);
    assert.equal(fs.readFileSync(file, 'latin1'), 'acked-more', 'a closed file keeps what was written to it');
  });

  it('refuses a second descriptor on a file it holds unsynced bytes for', () => {
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const fd = io.openAppend(file);
    assert.throws(() => io.openAppend(file), /already open/);
    assert.throws(() => io.openRead(file), /open for writing/);
    assert.throws(() => { io.remove(file); }, /removed while open/);
    io.close(fd);
  });
});

describe('a Log on PowerLossFileIo', () => {
  let directory: string;
  beforeEach(() => { directory = temporaryDirectory('power-loss-log'); });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('loses exactly the entries it had not reported durable', async () => {
    const logger = new RecordingLogger();
    const io = new PowerLossFileIo(nodeFileIo, { fsync: true });
    const manager = openManager(directory, logger, { io, config: { segmentBytesMax: 16 * 1024 } });
    const log = await manager.openLog('orders-0');
    log.append(entriesFrom(1, 20, 1));
    assert.equal(await log.sync(), 20);
    // Enough unsynced entries to roll segments: a roll syncs the segment it closes.
    log.append(entriesFrom(21, 40, 1));
    const durableAtCrash = log.durableIndex;
    assert.ok(durableAtCrash >= 20 && durableAtCrash < 60, `durable ${durableAtCrash}`);
    assert.ok(io.unsyncedBytes > 0);
    // The crash: the disk keeps its segment files as they are now. A fresh data folder with a copy
    // of them (and no LMDB state) is what a restart would find; recovery rebuilds the index.
    const image = temporaryDirectory('power-loss-image');
    try {
      fs.cpSync(path.join(directory, 'partitions'), path.join(image, 'partitions'), { recursive: true });
      const recovered = openManager(image, new RecordingLogger(), { config: { segmentBytesMax: 16 * 1024 } });
      const after = await recovered.openLog('orders-0');
      assert.equal(after.lastIndex, durableAtCrash, 'exactly the durable entries survive');
      const entries = after.entries(1, after.lastIndex + 1);
      assert.equal(entries.length, durableAtCrash);
      for (const entry of entries) assert.ok(payloadIntact(entry), `entry ${entry.index} intact`);
      await recovered.close();
    } finally {
      fs.rmSync(image, { recursive: true, force: true });
    }
    await manager.close();
    assert.equal(io.unsyncedBytes, 0, 'a clean close syncs everything');
    const reopened = openManager(directory, logger, { config: { segmentBytesMax: 16 * 1024 } });
    assert.equal((await reopened.openLog('orders-0')).lastIndex, 60);
    await reopened.close();
  });
});
