/**
 * A small seeded pseudo-random generator (sfc32 state seeded through a splitmix-style mixer).
 * The core takes randomness only from an injected Prng so that a seed replays a run exactly.
 */
import { assert } from './assert.js';

export interface Prng {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform integer in [0, boundExclusive). */
  nextInt(boundExclusive: number): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
}

const twoPow32 = 4294967296;

export class SeededPrng implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    assert(Number.isSafeInteger(seed) && seed >= 0, () => `seed must be a safe integer >= 0: ${seed}`);
    let state = (seed % twoPow32) ^ Math.floor(seed / twoPow32);
    const mix = (): number => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    // Warm up so that nearby seeds diverge.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    return this.nextUint32() / twoPow32;
  }

  nextInt(boundExclusive: number): number {
    assert(Number.isSafeInteger(boundExclusive) && boundExclusive > 0 && boundExclusive <= twoPow32,
      () => `bound out of range: ${boundExclusive}`);
    return Math.floor(this.nextFloat() * boundExclusive);
  }
}
