/**
 * Memory for raw reads whose bytes leave the process zero-copy (Fetch replies): a few large slabs
 * reused, rather than a new Buffer for every read.
 *
 * Why: each new ArrayBuffer counts as V8 external memory, and V8 starts a full mark-compact of the
 * heap once the external memory allocated since the last one eats the old generation's headroom
 * (about 7 MiB on a broker's 12 MiB heap). Reading every fetch into fresh buffers cost each broker a
 * full GC every few MiB served, about half of its CPU while a consumer read a topic (measured with
 * --trace-gc and perf). The slabs are allocated once and live on.
 *
 * Safety, because a slab is written again: a region is rewritten only when nothing can read it any
 * more. A reader takes regions (allocate) and hands them back (release) when it stops reading them;
 * every view it lets out of a region (track) keeps the slab reserved until the garbage collector
 * has collected that view. zeromq holds a strong reference to each frame it sends zero-copy until it
 * has written it, so a collected view is one that neither JavaScript nor zeromq reads. Holders of a
 * tracked view must not make further views of its memory (subarray, `.buffer`) that outlive it:
 * those would not be tracked. When no slab is free, allocate returns a fresh Buffer, as before.
 *
 * Invariants (asserted): a slab's `holders` (regions not released plus tracked views not yet
 * collected) is never negative; a slab is reset (its space reused from the start) only at zero.
 */
import { assert } from '../raft/core/assert.js';

/** One slab of pooled memory (opaque outside this module; exported for the finalizer's type). */
export interface Slab {
  readonly memory: Buffer;
  /** Bytes handed out since the slab was last reset. */
  used: number;
  /** Regions not released and tracked views not collected. */
  holders: number;
}

/** How collected views are reported: a FinalizationRegistry, or a test's stand-in. */
export interface ViewFinalizer<T> {
  register(view: object, token: T): void;
}

export interface ReadBufferPoolOptions {
  readonly slabBytes: number;
  readonly slabsMax: number;
  /** Makes the finalizer that calls `collected` for each tracked view the GC collects (tests). */
  readonly finalizer?: (collected: (token: Slab) => void) => ViewFinalizer<Slab>;
}

export const READ_BUFFER_POOL_DEFAULTS = {
  slabBytes: 8 * 1024 * 1024,
  slabsMax: 4,
} as const;

export class ReadBufferPool {
  private readonly slabs: Slab[] = [];
  private current: Slab | null = null;
  private readonly finalizer: ViewFinalizer<Slab>;
  private freshBuffers = 0;

  constructor(private readonly options: ReadBufferPoolOptions = READ_BUFFER_POOL_DEFAULTS) {
    assert(Number.isSafeInteger(options.slabBytes) && options.slabBytes > 0, 'slabBytes must be positive');
    assert(Number.isSafeInteger(options.slabsMax) && options.slabsMax >= 0, 'slabsMax must be a natural number');
    const collected = (slab: Slab): void => { this.drop(slab); };
    this.finalizer = options.finalizer?.(collected) ?? new FinalizationRegistry<Slab>(collected);
  }

  /** The largest region a slab can hold; larger reads get fresh buffers. */
  get slabBytes(): number {
    return this.options.slabBytes;
  }

  /** Reads that found no free slab and got a fresh Buffer (for tests and diagnostics). */
  get freshBufferCount(): number {
    return this.freshBuffers;
  }

  /** A region of `length` bytes to read into; release() it when done reading it. */
  allocate(length: number): Buffer {
    assert(Number.isSafeInteger(length) && length > 0, () => `bad region length ${length}`);
    const slab = this.slabWithRoom(length);
    if (slab === null) {
      this.freshBuffers += 1;
      return Buffer.allocUnsafe(length);
    }
    const region = slab.memory.subarray(slab.used, slab.used + length);
    slab.used += length;
    slab.holders += 1;
    return region;
  }

  /** The reader no longer reads `region` (views it tracked keep the memory reserved). */
  release(region: Buffer): void {
    const slab = this.slabOf(region);
    if (slab !== null) this.drop(slab);
  }

  /** Registers a view of a region that leaves the reader; returns it. */
  track(view: Buffer): Buffer {
    const slab = this.slabOf(view);
    if (slab !== null) {
      slab.holders += 1;
      this.finalizer.register(view, slab);
    }
    return view;
  }

  private drop(slab: Slab): void {
    slab.holders -= 1;
    assert(slab.holders >= 0, 'a slab released more often than it was held');
  }

  private slabOf(view: Buffer): Slab | null {
    for (const slab of this.slabs) {
      if (slab.memory.buffer === view.buffer) {
        assert(view.byteOffset >= slab.memory.byteOffset
          && view.byteOffset + view.length <= slab.memory.byteOffset + slab.used, 'a view outside its slab');
        return slab;
      }
    }
    return null;
  }

  /** The slab to cut `length` bytes from: the current one, a free one reset, a new one, or none. */
  private slabWithRoom(length: number): Slab | null {
    if (length > this.options.slabBytes) return null;
    const current = this.current;
    if (current !== null && current.used + length <= this.options.slabBytes) return current;
    let slab = this.slabs.find((candidate) => candidate.holders === 0) ?? null;
    if (slab === null && this.slabs.length < this.options.slabsMax) {
      // allocUnsafeSlow: a slab of its own, never a slice of Node's shared pool.
      slab = { memory: Buffer.allocUnsafeSlow(this.options.slabBytes), used: 0, holders: 0 };
      this.slabs.push(slab);
    }
    if (slab === null) return null;
    slab.used = 0;
    this.current = slab;
    return slab;
  }
}
