/**
 * Idempotent producers, per partition (Kafka's ProducerStateManager): for each producer id the
 * epoch and the last few batches' sequence ranges with the offsets they got. A retried batch whose
 * sequences match a recent one is answered with its original offset and not appended again.
 *
 * The table is built only from applied (committed) entries, so every replica agrees on it. A leader
 * accepts proposals only once it has applied every entry of earlier terms, and it adds its own
 * in-flight proposals on top (see PartitionReplica), so no retry can slip past both.
 */
import { TributaryError } from '../common/errors.js';

/** Kafka keeps the last 5 batches per producer: the most a producer may have in flight. */
export const RECENT_BATCHES_MAX = 5;
const SEQUENCE_MAX = 2 ** 31 - 1;

export interface BatchSequences {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
}

interface RecentBatch { readonly firstSequence: number; readonly lastSequence: number; readonly baseOffset: number }
interface ProducerEntry { epoch: number; batches: RecentBatch[] }

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number }
  | { readonly kind: 'error'; readonly error: TributaryError };

export function nextSequence(sequence: number): number {
  return sequence === SEQUENCE_MAX ? 0 : sequence + 1;
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /** Whether a batch with these sequences may be appended after `pendingLastSequence` (in flight), if any. */
  check(batch: BatchSequences, pendingLastSequence?: number): SequenceCheck {
    if (batch.producerId < 0) return { kind: 'append' };
    const entry = this.producers.get(batch.producerId);
    // A producer this replica has never seen starts at sequence 0. Accepting a later sequence would
    // let batches overtake earlier ones that a previous leader took but never committed: those would
    // then be refused for good (found by pausing a leader and a follower under idempotent sends).
    if (entry === undefined && pendingLastSequence === undefined) {
      return batch.firstSequence === 0 ? { kind: 'append' } : { kind: 'error', error: new TributaryError(
        'OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${batch.producerId}: sequence ${batch.firstSequence} where 0 was due`) };
    }
    const epoch = entry?.epoch ?? batch.producerEpoch;
    if (batch.producerEpoch < epoch) {
      return { kind: 'error', error: new TributaryError('INVALID_PRODUCER_EPOCH',
        `epoch ${batch.producerEpoch} is older than ${epoch}`) };
    }
    const duplicate = entry?.batches.find((recent) => recent.firstSequence === batch.firstSequence
      && recent.lastSequence === batch.lastSequence);
    if (batch.producerEpoch === epoch && duplicate !== undefined) {
      return { kind: 'duplicate', baseOffset: duplicate.baseOffset };
    }
    const last = pendingLastSequence ?? entry?.batches.at(-1)?.lastSequence;
    const expected = batch.producerEpoch > epoch || last === undefined ? 0 : nextSequence(last);
    if (batch.firstSequence !== expected) {
      return { kind: 'error', error: new TributaryError('OUT_OF_ORDER_SEQUENCE_NUMBER',
        `producer ${batch.producerId}: sequence ${batch.firstSequence} where ${expected} was due`) };
    }
    return { kind: 'append' };
  }

  /** Records an applied batch (every replica, in log order). */
  record(batch: BatchSequences, baseOffset: number): void {
    if (batch.producerId < 0) return;
    let entry = this.producers.get(batch.producerId);
    if (entry === undefined || batch.producerEpoch > entry.epoch) {
      entry = { epoch: batch.producerEpoch, batches: [] };
      this.producers.set(batch.producerId, entry);
    }
    entry.batches.push({ firstSequence: batch.firstSequence, lastSequence: batch.lastSequence, baseOffset });
    if (entry.batches.length > RECENT_BATCHES_MAX) entry.batches.shift();
  }

  /** A plain-data image for snapshots. */
  toJSON(): [number, ProducerEntry][] {
    return [...this.producers.entries()];
  }

  static fromJSON(entries: readonly [number, ProducerEntry][]): ProducerStateTable {
    const table = new ProducerStateTable();
    for (const [producerId, entry] of entries) table.producers.set(producerId, { epoch: entry.epoch,
      batches: [...entry.batches] });
    return table;
  }
}
