/**
 * The bounded window of append messages in flight to one follower (pipelining, thesis §10.2.1):
 * a ring of the last index each message carried. When full the follower is paused.
 */
import { assert, defined } from './assert.js';
import type { RaftIndex } from './ids.js';

export class Inflights {
  private readonly lastIndexes: RaftIndex[];
  private start = 0;
  private countValue = 0;

  constructor(readonly capacity: number) {
    assert(capacity > 0, 'inflights capacity must be >= 1');
    this.lastIndexes = new Array<RaftIndex>(capacity).fill(0);
  }

  count(): number {
    return this.countValue;
  }

  full(): boolean {
    return this.countValue === this.capacity;
  }

  add(lastIndex: RaftIndex): void {
    assert(!this.full(), 'cannot add to full inflights');
    if (this.countValue > 0) {
      const newest = defined(this.lastIndexes[(this.start + this.countValue - 1) % this.capacity], 'newest');
      assert(lastIndex > newest, () => `inflight ${lastIndex} not after ${newest}`);
    }
    this.lastIndexes[(this.start + this.countValue) % this.capacity] = lastIndex;
    this.countValue += 1;
  }

  /** Frees every message whose last index is <= index: the follower has them. */
  freeLE(index: RaftIndex): void {
    while (this.countValue > 0 && defined(this.lastIndexes[this.start], 'oldest') <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.countValue -= 1;
    }
  }

  freeFirstOne(): void {
    if (this.countValue === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.countValue -= 1;
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
  }
}
