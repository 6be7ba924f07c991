/**
 * Idempotent producers, per partition (Kafka's ProducerStateManager): for each producer id the
 * epoch and the last few batches' sequence ranges with the offsets they got. A retried batch whose
 * sequences match a recent one is answered with its original offset and not appended again.
 *
 * The table is built only from applied (committed) entries, so every replica agrees on it. A leader
 * accepts proposals only once it has applied every entry of earlier terms, and checks each batch
 * against this table and its own proposals not applied yet (ProposedBatches), which together cover
 * the whole log, so no resend, stale epoch or gap can slip past both.
 */
import { assert } from '../../raft/core/index.js';
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

/** A new producer, or a new epoch of one, starts its sequences at 0 (Kafka: OutOfOrderSequence otherwise). */
function startsAtZero(batch: BatchSequences, what: string): SequenceCheck {
  return batch.firstSequence === 0 ? { kind: 'append' } : { kind: 'error', error: new TributaryError(
    'OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${batch.producerId}: ${what} starts at sequence 0, not ${batch.firstSequence}`) };
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /**
   * Whether a batch with these sequences may be appended, as Kafka's ProducerAppendInfo decides for
   * v2 batches. `latestProposed` is the producer's newest batch proposed but not applied yet (on the
   * leader), which is newer than anything in the table: its epoch is the current one and its last
   * sequence the one to follow. Exact resends of proposed batches are the caller's to find first.
   *
   * Only an exact match of a recent batch's sequence range is a duplicate; a range that overlaps
   * one without equalling it is OUT_OF_ORDER_SEQUENCE_NUMBER, as in Kafka (whose brokers no longer
   * send DUPLICATE_SEQUENCE_NUMBER for v2 batches).
   */
  check(batch: BatchSequences, latestProposed?: BatchSequences): SequenceCheck {
    if (batch.producerId < 0) return { kind: 'append' };
    assert(latestProposed === undefined || latestProposed.producerId === batch.producerId,
      'the proposed batch is of another producer');
    const entry = this.producers.get(batch.producerId);
    const epoch = latestProposed?.producerEpoch ?? entry?.epoch;
    // A producer this replica has never seen starts at sequence 0. Accepting a later sequence would
    // let batches overtake earlier ones that a previous leader took but never committed: those would
    // then be refused for good (found by pausing a leader and a follower under idempotent sends).
    if (epoch === undefined) return startsAtZero(batch, 'a new producer');
    if (batch.producerEpoch < epoch) {
      return { kind: 'error', error: new TributaryError('INVALID_PRODUCER_EPOCH',
        `producer ${batch.producerId}: epoch ${batch.producerEpoch} is older than ${epoch}`) };
    }
    if (batch.producerEpoch > epoch) return startsAtZero(batch, `epoch ${batch.producerEpoch}`);
    if (entry?.epoch === epoch) {
      const duplicate = entry.batches.find((recent) => recent.firstSequence === batch.firstSequence
        && recent.lastSequence === batch.lastSequence);
      if (duplicate !== undefined) return { kind: 'duplicate', baseOffset: duplicate.baseOffset };
    }
    const last = latestProposed?.lastSequence ?? entry?.batches.at(-1)?.lastSequence;
    assert(last !== undefined, () => `producer ${batch.producerId} has an epoch but no batch`);
    const expected = nextSequence(last);
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
    for (const [producerId, entry] of entries) {
      // Written by record(), which never leaves a producer without a batch.
      assert(entry.batches.length > 0, () => `producer ${producerId} has no batch in the snapshot`);
      table.producers.set(producerId, { epoch: entry.epoch, batches: [...entry.batches] });
    }
    return table;
  }
}
