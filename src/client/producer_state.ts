/**
 * Client side of idempotence (Kafka TransactionManager's sequence bookkeeping, without
 * transactions). The broker keeps, per (producerId, partition), the last sequence and the last 5
 * batches; it accepts a batch whose baseSequence is lastSequence + 1, answers a batch it already
 * holds with the original offset, and rejects a gap (DESIGN.md, research/kafka-protocol.md §3).
 * For that to work the client must:
 *
 * - give each NEW batch of a partition the next baseSequence, advancing by its record count;
 *   sequences wrap from INT32_MAX to 0 (DefaultRecordBatch.incrementSequence);
 * - send a RETRIED batch with the sequence it already has: the sequence is taken once, when the
 *   batch is built (assign), and travels inside the batch bytes, which a retry resends unchanged;
 * - keep at most INFLIGHT_BATCHES_MAX batches per partition unacknowledged, since the broker
 *   remembers only that many for dedupe;
 * - start every partition at 0 again under a new producer id or epoch.
 */
import { assert } from '../../raft/core/assert.js';

export const SEQUENCE_MAX = 0x7fffffff;
/** Kafka's NUM_BATCHES_TO_RETAIN on the broker and max.in.flight.requests.per.connection cap. */
export const INFLIGHT_BATCHES_MAX = 5;

export interface ProducerIdentity {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequence + increment, wrapping past INT32_MAX to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  assert(Number.isInteger(sequence) && sequence >= 0 && sequence <= SEQUENCE_MAX, () => `bad sequence ${sequence}`);
  assert(Number.isInteger(increment) && increment >= 0 && increment <= SEQUENCE_MAX,
    () => `bad increment ${increment}`);
  if (sequence > SEQUENCE_MAX - increment) {
    return increment - (SEQUENCE_MAX - sequence) - 1;
  }
  return sequence + increment;
}

/** The sequence of the last record of a batch (baseSequence + recordCount - 1, wrapped). */
export function lastSequenceOf(baseSequence: number, recordCount: number): number {
  assert(recordCount >= 1, 'a batch holds at least one record');
  return incrementSequence(baseSequence, recordCount - 1);
}

/** One string per (topic, partition); Kafka topic names cannot contain a NUL. */
export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

interface PartitionSequences {
  next: number;
  /** Base sequences sent and not yet acknowledged or failed, oldest first. */
  readonly inflight: number[];
}

function assertIdentity(identity: ProducerIdentity): void {
  assert(Number.isSafeInteger(identity.producerId) && identity.producerId >= 0,
    () => `bad producerId ${identity.producerId}`);
  assert(Number.isInteger(identity.producerEpoch) && identity.producerEpoch >= 0 && identity.producerEpoch <= 0x7fff,
    () => `bad producerEpoch ${identity.producerEpoch}`);
}

/** Per-partition sequence numbers of one idempotent producer. */
export class ProducerSequences {
  private current: ProducerIdentity;
  /** Bounded by the partitions produced to. */
  private readonly partitions = new Map<string, PartitionSequences>();

  constructor(identity: ProducerIdentity) {
    assertIdentity(identity);
    this.current = identity;
  }

  get identity(): ProducerIdentity {
    return this.current;
  }

  /** The baseSequence the next new batch of (topic, partition) will get. */
  nextSequence(topic: string, partition: number): number {
    return this.partitions.get(topicPartitionKey(topic, partition))?.next ?? 0;
  }

  /**
   * Takes recordCount sequences for a new batch and returns its baseSequence. Call once per
   * batch; a retry reuses the batch (and its sequence) as built.
   */
  assign(topic: string, partition: number, recordCount: number): number {
    assert(Number.isInteger(recordCount) && recordCount >= 1 && recordCount <= SEQUENCE_MAX,
      () => `bad record count ${recordCount}`);
    const state = this.stateOf(topic, partition);
    const base = state.next;
    state.next = incrementSequence(base, recordCount);
    return base;
  }

  /** Whether another batch of (topic, partition) may be sent now. */
  canSend(topic: string, partition: number): boolean {
    return this.inflightCount(topic, partition) < INFLIGHT_BATCHES_MAX;
  }

  inflightCount(topic: string, partition: number): number {
    return this.partitions.get(topicPartitionKey(topic, partition))?.inflight.length ?? 0;
  }

  /** A batch went out (first send only; a retry is already in flight). */
  onSent(topic: string, partition: number, baseSequence: number): void {
    const state = this.stateOf(topic, partition);
    assert(state.inflight.length < INFLIGHT_BATCHES_MAX, 'too many batches in flight; check canSend');
    assert(!state.inflight.includes(baseSequence), () => `sequence ${baseSequence} is already in flight`);
    state.inflight.push(baseSequence);
  }

  /** The batch with baseSequence was acknowledged, or failed for good. */
  onDone(topic: string, partition: number, baseSequence: number): void {
    const state = this.partitions.get(topicPartitionKey(topic, partition));
    const index = state?.inflight.indexOf(baseSequence) ?? -1;
    assert(state !== undefined && index >= 0, () => `sequence ${baseSequence} is not in flight`);
    state.inflight.splice(index, 1);
  }

  /**
   * A new producer id or epoch (InitProducerId again, or after a fatal sequence error): every
   * partition starts again at sequence 0 and nothing is in flight under the new identity.
   */
  reset(identity: ProducerIdentity): void {
    assertIdentity(identity);
    this.current = identity;
    this.partitions.clear();
  }

  private stateOf(topic: string, partition: number): PartitionSequences {
    const key = topicPartitionKey(topic, partition);
    let state = this.partitions.get(key);
    if (state === undefined) {
      state = { next: 0, inflight: [] };
      this.partitions.set(key, state);
    }
    return state;
  }
}
