/**
 * A partition's fetched records that polls have not taken yet: the reply being handed out and at
 * most one more, fetched ahead from where the first one ends. The fetch ahead lets the leader read
 * and send the next records while the application works through these; Kafka gets the same overlap
 * from sending the next fetches before poll returns, which here happens too, for partitions whose
 * buffer is empty.
 *
 * Invariants (asserted): at most FETCHES_AHEAD + 1 replies; each reply starts where the one before
 * it ends (endOffset, from the batch headers); the head's nextOffset is the consumer's position. A
 * damaged batch in the head empties the whole buffer, since what was fetched after it was fetched
 * from an offset that the damaged header named.
 */
import { assert } from '../../raft/core/assert.js';
import type { ConsumerRecord, PartitionRecords } from './fetched_records.js';

/** Replies buffered beyond the one being handed out. */
export const FETCHES_AHEAD = 1;

export class FetchBuffer {
  private readonly replies: PartitionRecords[] = [];
  private oversizedBatchSeen = false;

  isEmpty(): boolean {
    return this.replies.length === 0;
  }

  /** Where the partition's next fetch starts: after the buffered replies, or at `position`. */
  fetchOffset(position: number): number {
    return this.replies.at(-1)?.endOffset ?? position;
  }

  /**
   * Whether to fetch the partition now: with nothing buffered; or, one reply buffered, ahead of it
   * when the last reply showed committed records beyond it (a fetch ahead at the log end would
   * park a long poll on the broker and hold up its other partitions).
   */
  wantsFetch(highWatermark: number): boolean {
    const last = this.replies.at(-1);
    if (last === undefined) return true;
    return this.replies.length <= FETCHES_AHEAD && last.endOffset > last.startOffset && last.endOffset < highWatermark;
  }

  /** Adds a reply fetched from fetchOffset(position); the caller checked the offset. */
  push(reply: PartitionRecords, position: number): void {
    assert(reply.startOffset === this.fetchOffset(position) && this.replies.length <= FETCHES_AHEAD,
      () => `reply from ${reply.startOffset} does not continue the buffer at ${this.fetchOffset(position)}`);
    this.replies.push(reply);
  }

  /** Replies buffered: the one being handed out and those fetched ahead of it. */
  replyCount(): number {
    return this.replies.length;
  }

  /**
   * Moves records of the head reply into `out` (until `out` holds `limit`) and returns the new
   * position; a used-up head reply is dropped, the next one (if any) starting at that position.
   * Only one reply per call, so that a caller can let other partitions take their turn in between.
   * A damaged batch empties the buffer and throws BufferedBatchError with the batch's offset.
   */
  takeFromHead(out: ConsumerRecord[], limit: number, position: number): number {
    const head = this.replies[0];
    if (head === undefined) return position;
    assert(head.nextOffset === position, () => `buffered records from ${head.nextOffset}, position ${position}`);
    let finished: boolean;
    try {
      finished = head.takeInto(out, limit);
    } catch (error) {
      this.replies.length = 0;
      throw new BufferedBatchError(head.nextOffset, error);
    }
    if (!finished) return head.nextOffset;
    this.oversizedBatchSeen ||= head.oversizedBatch;
    this.replies.shift();
    const next = this.replies[0];
    assert(next === undefined || next.startOffset === head.nextOffset,
      () => `the reply fetched ahead starts at ${next?.startOffset}, the one before ended at ${head.nextOffset}`);
    return head.nextOffset;
  }

  /** A used-up reply held only the cut-off start of a batch (read once: the fetch size should grow). */
  takeOversizedBatch(): boolean {
    const seen = this.oversizedBatchSeen;
    this.oversizedBatchSeen = false;
    return seen;
  }

  clear(): void {
    this.replies.length = 0;
    this.oversizedBatchSeen = false;
  }
}

/** A damaged batch met while taking buffered records: the error, and the offset where it starts. */
export class BufferedBatchError extends Error {
  override readonly name = 'BufferedBatchError';
  constructor(readonly position: number, override readonly cause: unknown) {
    super('a buffered record batch failed its checks', { cause });
  }
}
