/**
 * Goal: pooled read memory is never rewritten while anything can read it. The ReadBufferPool reuses
 * a slab only after its regions were released and every view tracked from it was collected; raw
 * reads (Fetch) through it return the stored bytes, which stay intact while the chunks are held
 * however many reads follow, and a bounded raw read does not read the frame after its last one.
 * Method: a stand-in finalizer the test drives (which views the "GC" collected), then a real
 * FinalizationRegistry with gc() exposed for one end-to-end check.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import type { FileIo } from '../../storage/file_io.js';
import { nodeFileIo } from '../../storage/file_io.js';
import { ReadBufferPool } from '../../storage/read_buffer_pool.js';
import type { Slab, ViewFinalizer } from '../../storage/read_buffer_pool.js';
import { dataEntry, openManager, payloadFor, RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

/** A finalizer whose "garbage collector" is the test: collect() reports views as collected. */
class ManualFinalizer<T> implements ViewFinalizer<T> {
  private readonly registered: { view: object; token: T }[] = [];
  constructor(private readonly collected: (token: T) => void) {}
  register(view: object, token: T): void { this.registered.push({ view, token }); }
  get pending(): number { return this.registered.length; }
  /** Collects the registered views that `which` picks (all by default). */
  collect(which: (view: object) => boolean = () => true): void {
    for (let i = this.registered.length - 1; i >= 0; i--) {
      const entry = this.registered[i]!;
      if (!which(entry.view)) continue;
      this.registered.splice(i, 1);
      this.collected(entry.token);
    }
  }
}

/** A finalizer factory for the pool, and (once the pool made it) the finalizer the test drives. */
function manualFinalizer(): { factory: (collected: (slab: Slab) => void) => ViewFinalizer<Slab>;
  gc: () => ManualFinalizer<Slab>; } {
  let made: ManualFinalizer<Slab> | undefined;
  return {
    factory: (collected) => { made = new ManualFinalizer(collected); return made; },
    gc: () => { assert.ok(made !== undefined); return made; },
  };
}

function manualPool(slabBytes: number, slabsMax: number): { pool: ReadBufferPool; gc: ManualFinalizer<Slab> } {
  const finalizer = manualFinalizer();
  const pool = new ReadBufferPool({ slabBytes, slabsMax, finalizer: finalizer.factory });
  return { pool, gc: finalizer.gc() };
}

const sameMemory = (a: Buffer, b: Buffer): boolean => a.buffer === b.buffer && a.byteOffset === b.byteOffset;

describe('ReadBufferPool', () => {
  it('reuses a slab only after its regions are released and its tracked views collected', () => {
    const { pool, gc } = manualPool(1000, 2);
    const first = pool.allocate(600);
    const view = pool.track(first.subarray(0, 100));
    pool.release(first);
    const second = pool.allocate(600); // no room left in the first slab: a second slab
    assert.ok(second.buffer !== first.buffer);
    pool.release(second);
    const third = pool.allocate(600); // the second slab is free again: reset and reused
    assert.ok(sameMemory(third, second));
    const fresh = pool.allocate(600); // the first slab is held by `view`, the second by `third`
    assert.ok(fresh.buffer !== first.buffer && fresh.buffer !== second.buffer);
    assert.equal(pool.freshBufferCount, 1);
    pool.release(fresh);
    gc.collect((candidate) => candidate === view);
    const fourth = pool.allocate(600);
    assert.ok(sameMemory(fourth, first), 'the first slab once its view was collected');
    assert.equal(pool.freshBufferCount, 1);
  });

  it('gives reads larger than a slab a fresh buffer, and counts no holder for it', () => {
    const { pool } = manualPool(1000, 2);
    const big = pool.allocate(1001);
    assert.equal(big.length, 1001);
    assert.equal(pool.freshBufferCount, 1);
    pool.release(big); // not pooled: nothing to release or track
    pool.track(big.subarray(0, 10));
    const slab = pool.allocate(1000);
    assert.equal(pool.freshBufferCount, 1, 'a slab-sized read is pooled');
    pool.release(slab);
    assert.ok(sameMemory(pool.allocate(1000), slab), 'and its slab is free again at once');
  });

  it('a real FinalizationRegistry: the memory comes back once the views are garbage', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const pool = new ReadBufferPool({ slabBytes: 1 << 20, slabsMax: 1 });
    const region = pool.allocate(4096);
    const memory = region.buffer;
    (() => { pool.track(region.subarray(0, 100)); })(); // a view that is garbage at once
    pool.release(region);
    for (let attempt = 0; attempt < 50; attempt++) {
      gc();
      await sleep(10);
      const again = pool.allocate(1 << 20);
      pool.release(again);
      if (again.buffer === memory) return;
    }
    assert.fail('the slab was never reused after its only view became garbage');
  });
});

describe('raw reads through the pool', () => {
  let directory: string;
  beforeEach(() => { directory = temporaryDirectory('read-pool'); });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('returns the stored bytes, which stay intact while held however many reads follow', async () => {
    const finalizer = manualFinalizer();
    const manager = openManager(directory, new RecordingLogger(), { readBuffers: { slabBytes: 256 * 1024,
      slabsMax: 2, finalizer: finalizer.factory } });
    const log = await manager.openLog('t-0');
    for (let index = 1; index <= 2000; index++) log.append([dataEntry(index, 1, { recordCount: 2 })]);
    const held = log.readRaw(0, 16 * 1024);
    assert.ok(held.chunks.length > 3);
    const copies = held.chunks.map((chunk) => Buffer.from(chunk));
    let offset = held.nextOffset;
    let reads = 0;
    while (offset < log.nextOffset) {
      const read = log.readRaw(offset, 16 * 1024);
      read.chunks.forEach((chunk, i) => { assert.deepEqual(chunk, payloadFor(offset / 2 + 1 + i)); });
      const mine = new Set<object>(read.chunks);
      finalizer.gc().collect((view) => mine.has(view)); // this read's chunks are garbage; the held ones are not
      offset = read.nextOffset;
      reads += 1;
    }
    assert.ok(reads > 50, `${reads} reads`);
    held.chunks.forEach((chunk, i) => { assert.deepEqual(chunk, copies[i], `held chunk ${i} was rewritten`); });
    await manager.close();
  });

  it('does not read the frame after the last one it returns', async () => {
    let bytesRead = 0;
    const io: FileIo = { ...nodeFileIo, read: (fd, into, offsetInto, length, position) => {
      bytesRead += length;
      return nodeFileIo.read(fd, into, offsetInto, length, position);
    } };
    const manager = openManager(directory, new RecordingLogger(), { io, config: { segmentBytesMax: 64 << 20 } });
    const log = await manager.openLog('t-0');
    for (let index = 1; index <= 2000; index++) log.append([dataEntry(index, 1)]);
    bytesRead = 0;
    const read = log.readRaw(0, 300 * 1024);
    assert.ok(read.sizeBytes <= 300 * 1024 && read.chunks.length > 100);
    assert.ok(bytesRead <= 300 * 1024 + 64 * 1024, `read ${bytesRead} bytes for ${read.sizeBytes}`);
    await manager.close();
  });
});
