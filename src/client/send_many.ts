/**
 * Producer.sendMany's bookkeeping: many records settled together from the few batches they went
 * into, with no promise, closure or result object per record. Records appended at once are noted
 * as runs (consecutive records in consecutive places of one batch); records that had to take
 * send()'s slower paths (waiting for room, parked behind a full partition) bring their own
 * delivery promise. The result is typed arrays by the records' positions in the call.
 */
import { assert } from '../../raft/core/assert.js';
import type { AppendedBatch, BatchOutcome, RecordMetadata } from './accumulator.js';

export interface SendManyResult {
  /** Each record's partition, by its position in the call. */
  readonly partitions: Int32Array;
  /** Each record's offset; -1 with acks = 0. */
  readonly offsets: Float64Array;
  /** Each record's timestamp: its CreateTime, or the LogAppendTime of a topic that uses it. */
  readonly timestamps: Float64Array;
}

/** Records first..first+count-1 of the call, at places firstSlot.. of one batch. */
interface Run {
  readonly batch: AppendedBatch;
  readonly first: number;
  readonly firstSlot: number;
  count: number;
}

export class ManyDeliveries {
  private readonly runs: Run[] = [];
  private readonly waiting: Promise<void>[] = [];
  private readonly partitions: Int32Array;
  private readonly offsets: Float64Array;
  private readonly timestamps: Float64Array;
  /** The failure of the record with the lowest position so far. */
  private failure: { readonly position: number; readonly error: unknown } | null = null;
  private noted = 0;

  constructor(private readonly size: number, private readonly acksZero: boolean) {
    this.partitions = new Int32Array(size);
    this.offsets = new Float64Array(size);
    this.timestamps = new Float64Array(size);
  }

  /** Record `position` was appended to `batch` just now: it is the batch's last record. */
  appended(position: number, batch: AppendedBatch): void {
    this.note(position);
    const slot = batch.recordCount - 1;
    const last = this.runs[this.runs.length - 1];
    if (last !== undefined && last.batch === batch && last.firstSlot + last.count === slot
      && last.first + last.count === position) {
      last.count += 1;
      return;
    }
    this.runs.push({ batch, first: position, firstSlot: slot, count: 1 });
  }

  /** Record `position` went through send(): its own promise settles it. */
  delivering(position: number, delivery: Promise<RecordMetadata>): void {
    this.note(position);
    this.waiting.push(delivery.then((metadata) => {
      this.partitions[position] = metadata.partition;
      this.offsets[position] = this.acksZero ? -1 : metadata.offset;
      this.timestamps[position] = metadata.timestamp;
    }, (error: unknown) => { this.fail(position, error); }));
  }

  /** Record `position` was refused before it was appended (a bad partition, too large). */
  refused(position: number, error: unknown): void {
    this.note(position);
    this.fail(position, error);
  }

  /** Resolves once every record is settled; rejects with the failure of the first record that failed. */
  async settled(): Promise<SendManyResult> {
    assert(this.noted === this.size, () => `${this.noted} of ${this.size} records were noted`);
    const batches = [...new Set(this.runs.map((run) => run.batch))];
    const [outcomes] = await Promise.all([Promise.all(batches.map((batch) => batch.outcome.promise)),
      Promise.all(this.waiting)]);
    const outcomeOf = new Map(batches.map((batch, i) => [batch, outcomes[i]]));
    for (const run of this.runs) {
      const outcome = outcomeOf.get(run.batch);
      assert(outcome !== undefined, 'every run\'s batch has settled');
      this.fill(run, outcome);
    }
    if (this.failure !== null) throw this.failure.error;
    return { partitions: this.partitions, offsets: this.offsets, timestamps: this.timestamps };
  }

  private fill(run: Run, outcome: BatchOutcome): void {
    if (!outcome.ok) {
      this.fail(run.first, outcome.error);
      return;
    }
    const { batch } = run;
    for (let i = 0; i < run.count; i += 1) {
      const position = run.first + i;
      const slot = run.firstSlot + i;
      this.partitions[position] = batch.partition;
      this.offsets[position] = this.acksZero ? -1 : outcome.baseOffset + slot;
      this.timestamps[position] = outcome.logAppendTimeMs ?? batch.timestampOf(slot);
    }
  }

  private note(position: number): void {
    assert(position === this.noted, () => `record ${position} noted out of order (expected ${this.noted})`);
    this.noted += 1;
  }

  private fail(position: number, error: unknown): void {
    if (this.failure === null || position < this.failure.position) this.failure = { position, error };
  }
}
