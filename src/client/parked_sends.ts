/**
 * Sends waiting for room in their partition's share of the producer buffer (the accumulator's
 * 'partition-full'), kept in order per partition so that the producer goes on appending to the
 * other partitions meanwhile: a partition whose leader is cut off stalls its own sends, not all.
 *
 * Each parked send already has its partition (a record without key was placed there by the
 * partitioner before it parked: it stays, as a record in a batch would). Once a partition frees
 * bytes its parked sends are appended oldest first until one is refused again. A send parked
 * longer than the producer's maxBlockMs fails with REQUEST_TIMED_OUT, as a send blocked on a full
 * buffer does; closing the producer fails the rest.
 *
 * Order: while a partition has parked sends, every later send to it must park too (hasParked),
 * or it would overtake them. The producer checks that before appending a record whose partition it
 * knows (a key or an explicit partition) and steers records without key around full partitions.
 */
import { assert } from '../../raft/core/assert.js';
import { TributaryError } from '../common/errors.js';
import type { AppendResult, RecordMetadata } from './accumulator.js';
import { topicPartitionKey } from './producer_state.js';
import type { ProducerMessage } from './producer.js';

/** How the parked sends reach the accumulator: the record appended to exactly this partition. */
export type AppendToPartition = (message: ProducerMessage, topic: string, partition: number) => AppendResult;

interface ParkedSend {
  readonly message: ProducerMessage;
  readonly deadlineMs: number;
  readonly resolve: (delivery: Promise<RecordMetadata>) => void;
  readonly reject: (error: unknown) => void;
}

interface PartitionPark {
  readonly topic: string;
  readonly partition: number;
  readonly sends: ParkedSend[];
  draining: boolean;
}

export class ParkedSends {
  private readonly parks = new Map<string, PartitionPark>();
  private count = 0;
  private closed = false;

  constructor(private readonly append: AppendToPartition, private readonly maxBlockMs: number,
    private readonly onSettled: () => void) {}

  /** Sends parked now, over all partitions. */
  get size(): number {
    return this.count;
  }

  hasParked(topic: string, partition: number): boolean {
    return this.count > 0 && this.parks.has(topicPartitionKey(topic, partition));
  }

  /**
   * Parks a send for (topic, partition), behind the ones already there; `spaceFreed` is the
   * accumulator's promise for that partition when it refused this very send, else undefined.
   * Resolves with the record's delivery once it is appended. `message` must be the caller's own
   * copy (ownedCopy): the send has returned to its caller by the time it is appended.
   */
  park(message: ProducerMessage, topic: string, partition: number, spaceFreed?: Promise<undefined>):
    Promise<Promise<RecordMetadata>> {
    if (this.closed) return Promise.reject(closedError());
    const key = topicPartitionKey(topic, partition);
    let park = this.parks.get(key);
    if (park === undefined) {
      park = { topic, partition, sends: [], draining: false };
      this.parks.set(key, park);
    }
    const parked = park;
    const appended = new Promise<Promise<RecordMetadata>>((resolve, reject) => {
      parked.sends.push({ message, deadlineMs: Date.now() + this.maxBlockMs, resolve, reject });
    });
    this.count += 1;
    if (!parked.draining) void this.drain(parked, spaceFreed);
    return appended;
  }

  /** Fails every parked send (the producer is closing). */
  close(): void {
    this.closed = true;
    for (const park of this.parks.values()) {
      for (const send of park.sends.splice(0)) this.settle(() => { send.reject(closedError()); });
    }
    this.parks.clear();
  }

  /** Appends the partition's parked sends in order, waiting for room whenever it is refused. */
  private async drain(park: PartitionPark, firstWait: Promise<undefined> | undefined): Promise<void> {
    park.draining = true;
    let wait = firstWait;
    for (;;) {
      if (wait !== undefined) {
        await boundedWait(wait, park.sends[0]?.deadlineMs ?? Date.now());
        wait = undefined;
      }
      const head = park.sends[0];
      if (head === undefined || this.closed) break;
      if (Date.now() >= head.deadlineMs) {
        park.sends.shift();
        this.settle(() => {
          head.reject(new TributaryError('REQUEST_TIMED_OUT', `Partition ${park.topic}/${park.partition} `
            + `held its whole share of the producer buffer for ${this.maxBlockMs} ms`));
        });
        continue;
      }
      let result: AppendResult;
      try {
        result = this.append(head.message, park.topic, park.partition);
      } catch (error) {
        park.sends.shift();
        this.settle(() => { head.reject(error); });
        continue;
      }
      if (result instanceof Promise) {
        park.sends.shift();
        this.settle(() => { head.resolve(result); });
        continue;
      }
      assert(result.kind === 'partition-full' || result.kind === 'buffer-full',
        () => `a parked send got ${result.kind}`);
      wait = result.spaceFreed;
    }
    park.draining = false;
    if (park.sends.length === 0) this.parks.delete(topicPartitionKey(park.topic, park.partition));
  }

  private settle(settle: () => void): void {
    this.count -= 1;
    assert(this.count >= 0, 'parked sends went negative');
    settle();
    this.onSettled();
  }
}

/** Waits for space, but wakes at the head's deadline (at most a second later) to fail it in time. */
async function boundedWait(spaceFreed: Promise<undefined>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([spaceFreed, new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, Math.min(deadlineMs - Date.now(), 1_000)));
  })]);
  clearTimeout(timer);
}

function closedError(): TributaryError {
  return new TributaryError('NETWORK_EXCEPTION', 'The producer is closed');
}
