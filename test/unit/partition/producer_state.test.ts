/**
 * Goal: a partition's idempotence checks decide as Kafka's ProducerAppendInfo does for v2 batches:
 * an exact resend of a recent batch is a duplicate with its original offset, an overlapping but
 * different range or a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH,
 * a new epoch starts at 0, and sequences wrap after 2^31 - 1. The leader's proposals not yet applied
 * (ProposedBatches) count as newer than the applied table.
 * Method: direct calls on ProducerStateTable and ProposedBatches.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ProducerStateTable } from '../../../src/partition/producer_state.js';
import type { BatchSequences, SequenceCheck } from '../../../src/partition/producer_state.js';
import { ProposedBatches } from '../../../src/partition/proposed_batches.js';

const SEQUENCE_MAX = 2 ** 31 - 1;

function batch(producerEpoch: number, firstSequence: number, records: number, producerId = 7): BatchSequences {
  return { producerId, producerEpoch, firstSequence, lastSequence: (firstSequence + records - 1) % 2 ** 31 };
}

function errorCode(check: SequenceCheck): string {
  if (check.kind !== 'error') assert.fail(`expected an error, got ${JSON.stringify(check)}`);
  return check.error.code;
}

void describe('ProducerStateTable.check', () => {
  void test('an exact resend of a recent batch is a duplicate with its first offset; an overlap is out of order', () => {
    const table = new ProducerStateTable();
    table.record(batch(0, 0, 5), 100);
    table.record(batch(0, 5, 5), 105);
    assert.deepEqual(table.check(batch(0, 0, 5)), { kind: 'duplicate', baseOffset: 100 });
    assert.deepEqual(table.check(batch(0, 5, 5)), { kind: 'duplicate', baseOffset: 105 });
    assert.equal(errorCode(table.check(batch(0, 5, 3))), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'same start, shorter');
    assert.equal(errorCode(table.check(batch(0, 3, 5))), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'overlapping two batches');
    assert.equal(errorCode(table.check(batch(0, 11, 1))), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'a gap');
    assert.deepEqual(table.check(batch(0, 10, 1)), { kind: 'append' });
  });

  void test('an older epoch is INVALID_PRODUCER_EPOCH, a newer one starts at 0', () => {
    const table = new ProducerStateTable();
    table.record(batch(1, 0, 2), 0);
    assert.equal(errorCode(table.check(batch(0, 0, 2))), 'INVALID_PRODUCER_EPOCH', 'even an exact resend of epoch 0');
    assert.equal(errorCode(table.check(batch(0, 2, 1))), 'INVALID_PRODUCER_EPOCH');
    assert.deepEqual(table.check(batch(2, 0, 1)), { kind: 'append' });
    assert.equal(errorCode(table.check(batch(2, 2, 1))), 'OUT_OF_ORDER_SEQUENCE_NUMBER', 'a new epoch goes on from 0');
    table.record(batch(2, 0, 1), 2);
    assert.equal(errorCode(table.check(batch(1, 0, 2))), 'INVALID_PRODUCER_EPOCH', 'epoch 1 is fenced now');
  });

  void test('a new producer starts at 0', () => {
    const table = new ProducerStateTable();
    assert.equal(errorCode(table.check(batch(0, 1, 1))), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.deepEqual(table.check(batch(0, 0, 1)), { kind: 'append' });
    assert.deepEqual(table.check(batch(0, 9, 1, -1)), { kind: 'append' }, 'no producer id: no checks');
  });

  void test('sequences wrap after 2^31 - 1, and a wrapped range is a duplicate only when equal', () => {
    // Fill the table with a batch ending at SEQUENCE_MAX through a snapshot image.
    const restored = ProducerStateTable.fromJSON([[7, { epoch: 0, batches: [
      { firstSequence: SEQUENCE_MAX - 9, lastSequence: SEQUENCE_MAX - 5, baseOffset: 50 }] }]]);
    const wrapping = batch(0, SEQUENCE_MAX - 4, 10);
    assert.equal(wrapping.lastSequence, 4);
    assert.deepEqual(restored.check(wrapping), { kind: 'append' });
    restored.record(wrapping, 55);
    assert.deepEqual(restored.check(batch(0, SEQUENCE_MAX - 4, 10)), { kind: 'duplicate', baseOffset: 55 });
    assert.equal(errorCode(restored.check(batch(0, SEQUENCE_MAX - 4, 9))), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.deepEqual(restored.check(batch(0, 5, 1)), { kind: 'append' }, 'goes on after the wrap');
    restored.record(batch(0, 5, 1), 65);
    const last = ProducerStateTable.fromJSON([[7, { epoch: 0, batches: [
      { firstSequence: SEQUENCE_MAX, lastSequence: SEQUENCE_MAX, baseOffset: 9 }] }]]);
    assert.deepEqual(last.check(batch(0, 0, 1)), { kind: 'append' }, '0 follows 2^31 - 1');
    assert.equal(errorCode(last.check(batch(0, 1, 1))), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
  });

  void test('a proposed batch not applied yet is newer than the table: its epoch fences, its sequence leads', () => {
    const table = new ProducerStateTable();
    table.record(batch(0, 0, 3), 0);
    const proposedEpoch1 = batch(1, 0, 2);
    // The finding: an epoch-0 batch after an epoch-1 batch still in flight was accepted.
    assert.equal(errorCode(table.check(batch(0, 3, 1), proposedEpoch1)), 'INVALID_PRODUCER_EPOCH');
    assert.equal(errorCode(table.check(batch(0, 0, 3), proposedEpoch1)), 'INVALID_PRODUCER_EPOCH',
      'a resend of the applied epoch-0 batch is fenced too');
    assert.deepEqual(table.check(batch(1, 2, 1), proposedEpoch1), { kind: 'append' });
    assert.equal(errorCode(table.check(batch(1, 0, 1), proposedEpoch1)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    const proposedEpoch0 = batch(0, 3, 2);
    assert.deepEqual(table.check(batch(0, 0, 3), proposedEpoch0), { kind: 'duplicate', baseOffset: 0 });
    assert.deepEqual(table.check(batch(0, 5, 1), proposedEpoch0), { kind: 'append' });
    assert.equal(errorCode(table.check(batch(0, 3, 1), proposedEpoch0)), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.deepEqual(new ProducerStateTable().check(batch(0, 2, 1), batch(0, 0, 2)), { kind: 'append' },
      'a new producer with a proposal in flight goes on after it');
  });
});

void describe('ProposedBatches', () => {
  void test('finds exact resends, gives the newest per producer, and is taken in index order', () => {
    const proposed = new ProposedBatches();
    proposed.add({ index: 10, term: 3, sequences: batch(0, 0, 2), waiters: undefined });
    proposed.add({ index: 11, term: 3, sequences: batch(0, 0, 1, 8), waiters: undefined });
    proposed.add({ index: 12, term: 3, sequences: batch(0, 2, 2), waiters: undefined });
    assert.equal(proposed.size, 3);
    assert.equal(proposed.find(batch(0, 0, 2))?.index, 10);
    assert.equal(proposed.find(batch(0, 0, 1)), undefined, 'another range');
    assert.equal(proposed.find(batch(1, 0, 2)), undefined, 'another epoch');
    assert.equal(proposed.latest(7)?.index, 12);
    assert.equal(proposed.latest(8)?.index, 11);
    assert.equal(proposed.take(9), undefined, 'an entry before the first proposal');
    assert.equal(proposed.take(10)?.index, 10);
    assert.equal(proposed.take(11)?.index, 11);
    assert.equal(proposed.latest(8), undefined);
    assert.throws(() => proposed.take(13), /passed over/, 'a proposal cannot be skipped');
  });

  void test('refuses proposals out of order or of another term, and clear() hands back the rest', () => {
    const proposed = new ProposedBatches();
    proposed.add({ index: 5, term: 2, sequences: batch(0, 0, 1), waiters: undefined });
    assert.throws(() => { proposed.add({ index: 5, term: 2, sequences: batch(0, 1, 1), waiters: undefined }); });
    assert.throws(() => { proposed.add({ index: 6, term: 3, sequences: batch(0, 1, 1), waiters: undefined }); });
    assert.throws(() => { proposed.add({ index: 7, term: 2, sequences: batch(0, 1, 1, -1), waiters: undefined }); });
    proposed.add({ index: 6, term: 2, sequences: batch(0, 1, 1), waiters: undefined });
    assert.deepEqual(proposed.clear().map((p) => p.index), [5, 6]);
    assert.equal(proposed.size, 0);
    assert.equal(proposed.latest(7), undefined);
    proposed.add({ index: 9, term: 4, sequences: batch(1, 0, 1), waiters: undefined });
    assert.equal(proposed.take(9)?.index, 9);
  });

  void test('stays consistent through many adds and takes (the queue compacts)', () => {
    const proposed = new ProposedBatches();
    let next = 1;
    let taken = 1;
    for (let round = 0; round < 50; round += 1) {
      for (let i = 0; i < 100; i += 1) {
        proposed.add({ index: next, term: 1, sequences: batch(0, next - 1, 1, next % 3), waiters: undefined });
        next += 1;
      }
      for (let i = 0; i < 90; i += 1) {
        assert.equal(proposed.take(taken)?.index, taken);
        taken += 1;
      }
    }
    assert.equal(proposed.size, next - taken);
    assert.equal(proposed.latest((next - 1) % 3)?.index, next - 1);
  });
});
