/**
 * Goal: the client's idempotence bookkeeping follows Kafka: per-partition sequences advancing by
 * record count and wrapping after INT32_MAX (DefaultRecordBatch.incrementSequence), at most 5
 * batches in flight per partition, and a fresh start at 0 under a new producer id or epoch.
 * Method: direct calls, checked against Kafka's formula; that a retry keeps its sequence is
 * tested through the accumulator (accumulator.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  incrementSequence,
  INFLIGHT_BATCHES_MAX,
  lastSequenceOf,
  ProducerSequences,
  SEQUENCE_MAX,
} from '../../../src/client/producer_state.js';

/** Java int arithmetic of Kafka's incrementSequence, written independently with wrapping. */
function javaIncrement(sequence: number, increment: number): number {
  const sum = (sequence + increment) | 0;
  return sum < 0 ? sum - (-(2 ** 31)) : sum;
}

void describe('sequence numbers', () => {
  void test('incrementSequence wraps past INT32_MAX to 0', () => {
    assert.equal(incrementSequence(0, 5), 5);
    assert.equal(incrementSequence(SEQUENCE_MAX, 1), 0);
    assert.equal(incrementSequence(SEQUENCE_MAX - 1, 3), 1);
    assert.equal(incrementSequence(SEQUENCE_MAX - 4, 4), SEQUENCE_MAX);
    for (const [sequence, increment] of [[SEQUENCE_MAX, SEQUENCE_MAX], [123, SEQUENCE_MAX], [2 ** 30, 2 ** 30 + 7]]) {
      assert.equal(incrementSequence(sequence ?? 0, increment ?? 0), javaIncrement(sequence ?? 0, increment ?? 0));
    }
    assert.equal(lastSequenceOf(SEQUENCE_MAX, 2), 0);
    assert.equal(lastSequenceOf(10, 1), 10);
  });

  void test('each partition counts on its own, advancing by record count', () => {
    const sequences = new ProducerSequences({ producerId: 9, producerEpoch: 0 });
    assert.equal(sequences.assign('t', 0, 3), 0);
    assert.equal(sequences.assign('t', 0, 2), 3);
    assert.equal(sequences.assign('t', 1, 10), 0);
    assert.equal(sequences.assign('u', 0, 1), 0);
    assert.equal(sequences.nextSequence('t', 0), 5);
    assert.equal(sequences.nextSequence('t', 1), 10);
    assert.equal(sequences.nextSequence('t', 2), 0);
  });

  void test('assign wraps like Kafka', () => {
    const sequences = new ProducerSequences({ producerId: 1, producerEpoch: 0 });
    let expected = 0;
    const counts = [SEQUENCE_MAX, 1, 5, SEQUENCE_MAX - 3, 10];
    for (const count of counts) {
      assert.equal(sequences.assign('t', 0, count), expected);
      expected = javaIncrement(expected, count);
    }
    assert.equal(sequences.nextSequence('t', 0), expected);
  });

  void test('at most 5 batches in flight per partition', () => {
    const sequences = new ProducerSequences({ producerId: 1, producerEpoch: 0 });
    const bases: number[] = [];
    for (let i = 0; i < INFLIGHT_BATCHES_MAX; i++) {
      assert.ok(sequences.canSend('t', 0));
      const base = sequences.assign('t', 0, 2);
      sequences.onSent('t', 0, base);
      bases.push(base);
    }
    assert.equal(sequences.canSend('t', 0), false);
    assert.ok(sequences.canSend('t', 1), 'other partitions are not limited');
    assert.throws(() => { sequences.onSent('t', 0, 99); }, { name: 'AssertionError' });
    sequences.onDone('t', 0, bases[2] ?? -1);
    assert.equal(sequences.inflightCount('t', 0), 4);
    assert.ok(sequences.canSend('t', 0));
    assert.throws(() => { sequences.onDone('t', 0, bases[2] ?? -1); }, { name: 'AssertionError' });
  });

  void test('a new identity restarts every partition at 0', () => {
    const sequences = new ProducerSequences({ producerId: 1, producerEpoch: 0 });
    sequences.assign('t', 0, 7);
    sequences.onSent('t', 0, 0);
    sequences.reset({ producerId: 1, producerEpoch: 1 });
    assert.deepEqual(sequences.identity, { producerId: 1, producerEpoch: 1 });
    assert.equal(sequences.nextSequence('t', 0), 0);
    assert.equal(sequences.inflightCount('t', 0), 0);
    assert.throws(() => { sequences.reset({ producerId: -1, producerEpoch: 0 }); }, { name: 'AssertionError' });
  });
});
