/**
 * Jepsen's queue workload, the part that is pure bookkeeping: which keys are active, the next
 * unique value of each key, write budgets that retire keys so new partitions keep appearing, and
 * the highest offset seen per key (the drain's target). Chance comes from the run's seeded Prng.
 */
import { assert } from '../raft/core/assert.js';
import type { Prng } from '../raft/core/prng.js';

export interface KeyPoolOptions {
  readonly keyCount: number;
  readonly maxWritesPerKey: number;
  /** Keys are never retired (the group workload subscribes to a fixed set of topics). */
  readonly fixedKeys?: boolean;
}

export class KeyPool {
  /** Active keys, oldest first: the first is the most likely pick. */
  private readonly active: number[] = [];
  private readonly budgetLeft = new Map<number, number>();
  private readonly lastValue = new Map<number, number>();
  private readonly used = new Set<number>();
  private nextKey = 0;

  constructor(private readonly options: KeyPoolOptions, private readonly prng: Prng) {
    assert(options.keyCount >= 1 && options.maxWritesPerKey >= 1, 'a key pool needs keys and writes');
    while (this.active.length < options.keyCount) this.activateNext();
  }

  /** An active key, key i of the pool half as likely as key i-1 (Jepsen's exponential bias). */
  pick(): number {
    const roll = this.prng.nextFloat();
    // P(index >= i) = 2^-i, truncated to the pool.
    const index = Math.min(this.active.length - 1, Math.floor(-Math.log2(1 - roll)));
    const key = this.active[index];
    assert(key !== undefined, 'the pool is never empty');
    return key;
  }

  /** Up to `count` distinct keys: active ones by the same bias, plus recently used ones. */
  pickSeveral(count: number): number[] {
    const keys = new Set<number>();
    for (let attempt = 0; keys.size < count && attempt < count * 8; attempt += 1) keys.add(this.pick());
    return [...keys].sort((a, b) => a - b);
  }

  /** The next value for key (1, 2, 3, ...), spending one of its writes; retires it when spent. */
  takeValue(key: number): number {
    const left = this.budgetLeft.get(key);
    assert(left !== undefined && left > 0, () => `key ${key} is not active`);
    const value = (this.lastValue.get(key) ?? 0) + 1;
    this.lastValue.set(key, value);
    this.used.add(key);
    if (left === 1) this.retire(key);
    else this.budgetLeft.set(key, left - 1);
    return value;
  }

  isActive(key: number): boolean {
    return this.budgetLeft.has(key);
  }

  markUsed(key: number): void {
    this.used.add(key);
  }

  /** Every key a send or assign ever touched: what the drain reads. */
  usedKeys(): number[] {
    return [...this.used].sort((a, b) => a - b);
  }

  private retire(key: number): void {
    this.budgetLeft.delete(key);
    const index = this.active.indexOf(key);
    assert(index >= 0, 'a retired key was active');
    this.active.splice(index, 1);
    this.activateNext();
  }

  private activateNext(): void {
    const key = this.nextKey;
    this.nextKey += 1;
    // A skewed budget: most keys get few writes, some get up to the maximum.
    const budget = this.options.fixedKeys === true ? Infinity
      : Math.max(1, Math.ceil(this.options.maxWritesPerKey * this.prng.nextFloat() ** 2));
    this.budgetLeft.set(key, budget);
    this.active.push(key);
  }
}

/** The highest offset seen per key in ok sends and ok polls (Jepsen's track-key-offsets). */
export class KeyOffsets {
  private readonly highest = new Map<number, number>();

  observe(key: number, offset: number): void {
    assert(Number.isSafeInteger(offset) && offset >= 0, () => `bad offset ${offset}`);
    if (offset > (this.highest.get(key) ?? -1)) this.highest.set(key, offset);
  }

  highestOf(key: number): number {
    return this.highest.get(key) ?? -1;
  }
}
