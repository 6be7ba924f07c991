/**
 * Which partition a record goes to, as Kafka's producer decides it:
 *
 * 1. An explicit partition wins.
 * 2. A non-null key: toPositive(murmur2(key)) % partitionCount, over ALL partitions (available or
 *    not), so a key always maps to the same partition while the count is unchanged.
 * 3. A null key, sticky (Kafka's default since KIP-480): stay on one partition until a batch for
 *    it is completed, then move to another partition chosen at random among the available ones
 *    (never the one just left when there is a choice). Fills batches instead of spreading
 *    single records over every partition.
 * 4. A null key, round-robin (Kafka's RoundRobinPartitioner, without its key-ignoring): a counter
 *    per topic starting at 0, over the available partitions.
 *
 * Sticky switching needs to know when a batch completes. The accumulator tells it: with
 * appendPartitioned (accumulator.ts) a record that would open a new batch is first offered to
 * onNewBatch, which moves the sticky choice, and then partitioned again (Kafka's
 * abortOnNewBatch). Chance comes only from the injected Prng, so a seed replays the choices.
 */
import { AssertionError } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { partitionForKey, toPositive } from './murmur2.js';

export interface PartitionInput {
  readonly topic: string;
  readonly key: Uint8Array | null;
  /** An explicit partition; it wins over the key. */
  readonly partition?: number;
  /** Number of partitions of the topic (from metadata). */
  readonly partitionCount: number;
  /**
   * Partitions with a known leader, for null keys only. Defaults to all. Keys ignore it (as in
   * Kafka), so a key's partition does not move while a leader is elected.
   */
  readonly availablePartitions?: readonly number[];
}

export interface Partitioner {
  partition(input: PartitionInput): number;
  /**
   * A record chosen for `partition` needs a new batch there (the last one is full or was sent).
   * A sticky partitioner leaves that partition; others ignore the call.
   */
  onNewBatch(topic: string, partition: number, input: PartitionInput): void;
}

export type NullKeyStrategy = 'sticky' | 'round-robin';

export interface DefaultPartitionerOptions {
  /** How records without key and partition are spread; Kafka's default is sticky. */
  readonly nullKeys?: NullKeyStrategy;
  /** Chance for the sticky choice. */
  readonly prng: Prng;
}

/** Explicit partition, else key hash, else the null-key strategy. */
export class DefaultPartitioner implements Partitioner {
  private readonly nullKeys: NullKeyStrategy;
  private readonly prng: Prng;
  /** Sticky: the current partition per topic. Bounded by the number of topics produced to. */
  private readonly sticky = new Map<string, number>();
  /** Round-robin: the next counter value per topic (wraps like Java's int). */
  private readonly counters = new Map<string, number>();

  constructor(options: DefaultPartitionerOptions) {
    this.nullKeys = options.nullKeys ?? 'sticky';
    this.prng = options.prng;
  }

  partition(input: PartitionInput): number {
    // Per record: the checks throw directly, as a closure for a lazy message would be allocated per call.
    if (!(Number.isSafeInteger(input.partitionCount) && input.partitionCount > 0)) {
      throw new AssertionError(`bad partition count ${input.partitionCount}`);
    }
    if (input.partition !== undefined) {
      if (!(Number.isInteger(input.partition) && input.partition >= 0 && input.partition < input.partitionCount)) {
        throw new AssertionError(`partition ${input.partition} outside [0, ${input.partitionCount})`);
      }
      return input.partition;
    }
    if (input.key !== null) {
      return partitionForKey(input.key, input.partitionCount);
    }
    return this.nullKeys === 'sticky' ? this.stickyPartition(input) : this.roundRobinPartition(input);
  }

  onNewBatch(topic: string, partition: number, input: PartitionInput): void {
    if (this.nullKeys !== 'sticky') return;
    const current = this.sticky.get(topic);
    // Only the partition we stick to moves: another record's new batch says nothing about it.
    if (current === undefined || current === partition) {
      this.sticky.set(topic, this.nextSticky(input, current));
    }
  }

  private stickyPartition(input: PartitionInput): number {
    const current = this.sticky.get(input.topic);
    if (current !== undefined && current < input.partitionCount) {
      return current;
    }
    const chosen = this.nextSticky(input, undefined);
    this.sticky.set(input.topic, chosen);
    return chosen;
  }

  /** Kafka's StickyPartitionCache.nextPartition: a random available partition other than `previous`. */
  private nextSticky(input: PartitionInput, previous: number | undefined): number {
    const available = availableOf(input);
    if (available.length === 0) {
      return this.prng.nextInt(input.partitionCount);
    }
    if (available.length === 1) {
      return available[0] ?? 0;
    }
    const others = previous === undefined ? available : available.filter((p) => p !== previous);
    const pool = others.length === 0 ? available : others;
    return pool[this.prng.nextInt(pool.length)] ?? 0;
  }

  private roundRobinPartition(input: PartitionInput): number {
    const counter = this.counters.get(input.topic) ?? 0;
    this.counters.set(input.topic, (counter + 1) | 0);
    const available = input.availablePartitions === undefined ? null : availableOf(input);
    if (available === null || available.length === 0) {
      return toPositive(counter) % input.partitionCount;
    }
    return available[toPositive(counter) % available.length] ?? 0;
  }
}

function availableOf(input: PartitionInput): readonly number[] {
  const available = input.availablePartitions;
  if (available === undefined) {
    return Array.from({ length: input.partitionCount }, (_, i) => i);
  }
  return available.filter((p) => p >= 0 && p < input.partitionCount);
}
