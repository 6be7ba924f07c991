/**
 * Goal: the default partitioner picks partitions as Kafka's producer does: explicit partition,
 * then murmur2 key hash, then (null keys) sticky per batch or round-robin. Method: direct calls
 * with a seeded Prng; stickiness is driven through onNewBatch as the accumulator drives it (the
 * end-to-end path is in accumulator.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import { partitionForKey } from '../../../src/client/murmur2.js';
import { DefaultPartitioner } from '../../../src/client/partitioner.js';
import type { PartitionInput } from '../../../src/client/partitioner.js';
import { TestPrng } from '../protocol/helpers.js';

function nullKey(topic: string, partitionCount: number, extra: Partial<PartitionInput> = {}): PartitionInput {
  return { topic, key: null, partitionCount, ...extra };
}

void describe('DefaultPartitioner', () => {
  void test('an explicit partition wins over the key', () => {
    const partitioner = new DefaultPartitioner({ prng: new SeededPrng(1) });
    assert.equal(partitioner.partition({ topic: 't', key: Buffer.from('foobar'), partition: 4, partitionCount: 6 }), 4);
    assert.equal(partitioner.partition({ topic: 't', key: null, partition: 0, partitionCount: 6 }), 0);
    assert.throws(() => partitioner.partition({ topic: 't', key: null, partition: 6, partitionCount: 6 }),
      { name: 'AssertionError' });
  });

  void test('keys hash with murmur2 over all partitions, ignoring availability and strategy', () => {
    const prng = new TestPrng(7);
    for (const nullKeys of ['sticky', 'round-robin'] as const) {
      const partitioner = new DefaultPartitioner({ nullKeys, prng: new SeededPrng(2) });
      for (let i = 0; i < 200; i++) {
        const key = prng.bytes(prng.int(0, 20));
        const input = { topic: 't', key, partitionCount: 12, availablePartitions: [3] };
        assert.equal(partitioner.partition(input), partitionForKey(key, 12));
        partitioner.onNewBatch('t', partitionForKey(key, 12), input);
      }
    }
  });

  void test('sticky: one partition until its batch completes, then a different one', () => {
    const partitioner = new DefaultPartitioner({ prng: new SeededPrng(3) });
    const input = nullKey('t', 6);
    const first = partitioner.partition(input);
    for (let i = 0; i < 50; i++) assert.equal(partitioner.partition(input), first);
    // A new batch on some other partition (a keyed record's) does not move the sticky choice.
    partitioner.onNewBatch('t', (first + 1) % 6, input);
    assert.equal(partitioner.partition(input), first);
    let previous = first;
    const seen = new Set([first]);
    for (let i = 0; i < 100; i++) {
      partitioner.onNewBatch('t', previous, input);
      const next = partitioner.partition(input);
      assert.notEqual(next, previous, 'moves off the completed partition');
      assert.equal(partitioner.partition(input), next);
      seen.add(next);
      previous = next;
    }
    assert.equal(seen.size, 6, 'every partition gets its turn');
  });

  void test('sticky choices are per topic and replay from the seed', () => {
    const run = (seed: number): number[] => {
      const partitioner = new DefaultPartitioner({ prng: new SeededPrng(seed) });
      const out: number[] = [];
      for (let i = 0; i < 40; i++) {
        const topic = i % 2 === 0 ? 'a' : 'b';
        const p = partitioner.partition(nullKey(topic, 10));
        out.push(p);
        partitioner.onNewBatch(topic, p, nullKey(topic, 10));
      }
      return out;
    };
    assert.deepEqual(run(42), run(42));
    assert.notDeepEqual(run(42), run(43));
  });

  void test('sticky picks only available partitions, and stays on a lone one', () => {
    const partitioner = new DefaultPartitioner({ prng: new SeededPrng(4) });
    const input = nullKey('t', 8, { availablePartitions: [1, 5, 6] });
    for (let i = 0; i < 100; i++) {
      const p = partitioner.partition(input);
      assert.ok([1, 5, 6].includes(p), `picked ${p}`);
      partitioner.onNewBatch('t', p, input);
    }
    const lone = nullKey('u', 8, { availablePartitions: [2] });
    for (let i = 0; i < 10; i++) {
      assert.equal(partitioner.partition(lone), 2);
      partitioner.onNewBatch('u', 2, lone);
    }
    // None available: any partition, as Kafka does.
    const none = nullKey('v', 3, { availablePartitions: [] });
    assert.ok(partitioner.partition(none) < 3);
  });

  void test('round-robin cycles from 0 per topic, over available partitions when given', () => {
    const partitioner = new DefaultPartitioner({ nullKeys: 'round-robin', prng: new SeededPrng(5) });
    const picks = Array.from({ length: 8 }, () => partitioner.partition(nullKey('t', 3)));
    assert.deepEqual(picks, [0, 1, 2, 0, 1, 2, 0, 1]);
    assert.equal(partitioner.partition(nullKey('other', 3)), 0);
    const available = Array.from({ length: 6 },
      () => partitioner.partition(nullKey('x', 10, { availablePartitions: [7, 2, 9] })));
    assert.deepEqual(available, [7, 2, 9, 7, 2, 9]);
    // onNewBatch does not disturb the cycle.
    partitioner.onNewBatch('t', 2, nullKey('t', 3));
    assert.equal(partitioner.partition(nullKey('t', 3)), 2);
  });

  void test('a sticky choice beyond a shrunk partition count is replaced', () => {
    const partitioner = new DefaultPartitioner({ prng: new SeededPrng(6) });
    let p = partitioner.partition(nullKey('t', 100));
    while (p < 3) {
      partitioner.onNewBatch('t', p, nullKey('t', 100));
      p = partitioner.partition(nullKey('t', 100));
    }
    assert.ok(partitioner.partition(nullKey('t', 3)) < 3);
  });
});
