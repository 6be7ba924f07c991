/**
 * The seeded PRNG of tests: the Raft core's SeededPrng (one generator in the project), with the
 * small conveniences property tests want. Seeded, so a failing case replays.
 */
import { SeededPrng } from '../../raft/core/index.js';

export class TestPrng {
  private readonly prng: SeededPrng;

  constructor(readonly seed: number) {
    this.prng = new SeededPrng(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.prng.nextFloat();
  }

  /** An integer in [min, max]; ranges may exceed 2^32 (varint tests), so this scales a float. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
}
