/**
 * A partition leader's idempotent batches that are proposed in its term and not applied yet.
 *
 * With the applied ProducerStateTable they cover the whole log: a leader proposes only once it has
 * applied every entry of earlier terms (PartitionReplica's leaderReady), and each of its own
 * proposals is held here from the moment it is proposed until its entry is applied, whatever its
 * acks and whether its reply has gone out. So a resend, an older epoch or a gap is caught whether
 * the batch it collides with is applied or still on its way. The leader drops everything here when
 * it loses its term.
 */
import { assert } from '../../raft/core/index.js';
import type { BatchSequences } from './producer_state.js';

export interface ProposedBatch {
  readonly index: number;
  readonly term: number;
  readonly sequences: BatchSequences;
  /** Resends of this batch waiting for its outcome: the base offset, or why it never got one. */
  waiters: ((outcome: number | Error) => void)[] | undefined;
}

export class ProposedBatches {
  /** In proposal (index) order, the first `head` ones already taken. */
  private queue: ProposedBatch[] = [];
  private head = 0;
  private readonly byProducer = new Map<number, ProposedBatch[]>();

  get size(): number { return this.queue.length - this.head; }

  add(proposed: ProposedBatch): void {
    const { producerId } = proposed.sequences;
    assert(producerId >= 0, () => `batch at index ${proposed.index} has no producer id`);
    const last = this.queue.at(-1);
    assert(this.size === 0 || last === undefined || (last.index < proposed.index && last.term === proposed.term),
      () => `proposal ${proposed.index} (term ${proposed.term}) follows ${last?.index ?? 0} (term ${last?.term ?? 0})`);
    this.queue.push(proposed);
    const list = this.byProducer.get(producerId);
    if (list === undefined) this.byProducer.set(producerId, [proposed]);
    else list.push(proposed);
  }

  /** The producer's newest proposed batch. */
  latest(producerId: number): ProposedBatch | undefined {
    return this.byProducer.get(producerId)?.at(-1);
  }

  /** The proposed batch these sequences resend: same producer, epoch and sequence range. */
  find(sequences: BatchSequences): ProposedBatch | undefined {
    return this.byProducer.get(sequences.producerId)?.find((p) => p.sequences.producerEpoch === sequences.producerEpoch
      && p.sequences.firstSequence === sequences.firstSequence && p.sequences.lastSequence === sequences.lastSequence);
  }

  /**
   * Removes and returns the proposal at `index` as its entry is applied, if there is one. Entries
   * apply in index order and a proposal's index is above the applied index when proposed, so no
   * proposal can be passed over without being taken.
   */
  take(index: number): ProposedBatch | undefined {
    const first = this.queue[this.head];
    if (first === undefined || first.index > index) return undefined;
    assert(first.index === index, () => `proposal ${first.index} was passed over by the apply of ${index}`);
    this.head += 1;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const list = this.byProducer.get(first.sequences.producerId);
    assert(list?.[0] === first, () => `proposal ${index} is not the oldest of producer ${first.sequences.producerId}`);
    list.shift();
    if (list.length === 0) this.byProducer.delete(first.sequences.producerId);
    return first;
  }

  /** Removes and returns every proposal (the term is lost, or the replica stops). */
  clear(): ProposedBatch[] {
    const all = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.byProducer.clear();
    return all;
  }
}
