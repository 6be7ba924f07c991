/**
 * The CreateTime of each record of a producer batch, kept as runs of equal timestamps. Records
 * appended within the same millisecond (at any real rate, most of a batch) share one run, so a batch
 * of thousands of records holds a handful of numbers instead of an array grown record by record
 * (that growth was a fifth of the producer's heap churn at the peak).
 */
import { AssertionError } from '../../raft/core/assert.js';

export class TimestampRuns {
  /** The slot of each run's first record, ascending. */
  private readonly starts: number[] = [];
  /** Each run's timestamp. */
  private readonly values: number[] = [];
  private count = 0;

  /** Records so far. */
  get length(): number {
    return this.count;
  }

  /** The next record's timestamp. */
  push(timestamp: number): void {
    const runs = this.values.length;
    if (runs === 0 || this.values[runs - 1] !== timestamp) {
      this.starts.push(this.count);
      this.values.push(timestamp);
    }
    this.count += 1;
  }

  /** The timestamp of record number slot. */
  at(slot: number): number {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.count)) {
      throw new AssertionError(`no record ${slot} of ${this.count}`);
    }
    // The last run that starts at or before slot.
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if ((this.starts[middle] as number) <= slot) low = middle;
      else high = middle - 1;
    }
    return this.values[low] as number;
  }
}
