/**
 * Goal: keyed records land on the partition Kafka's own producer would choose. Method: the
 * murmur2 vectors of Kafka's UtilsTest.testMurmur2 (apache/kafka,
 * clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, read at commit
 * f55581dc73953c3509a4702433aeeeddc2970779), then agreement with kafkajs 2.2.4's
 * DefaultPartitioner (its Java-compatible one, formerly JavaCompatiblePartitioner; its
 * LegacyPartitioner's murmur2 does not match Java, which the last test shows) on random keys of
 * every tail length and several partition counts.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import { murmur2, partitionForKey, toPositive } from '../../../src/client/murmur2.js';
import { TestPrng } from '../protocol/helpers.js';

const requireCjs = createRequire(import.meta.url);
type KafkajsMurmur2 = (key: Buffer) => number;
interface KafkajsPartitionArgs {
  readonly topic: string;
  readonly partitionMetadata: readonly { readonly partitionId: number; readonly leader: number }[];
  readonly message: { readonly key: Buffer | null; readonly partition?: number };
}
type KafkajsPartitionerFactory = () => (args: KafkajsPartitionArgs) => number;

const kafkajsMurmur2 = requireCjs('kafkajs/src/producer/partitioners/default/murmur2.js') as KafkajsMurmur2;
const kafkajsLegacyMurmur2 = requireCjs('kafkajs/src/producer/partitioners/legacy/murmur2.js') as KafkajsMurmur2;
const kafkajsDefaultPartitioner =
  requireCjs('kafkajs/src/producer/partitioners/default/index.js') as KafkajsPartitionerFactory;

/** Kafka UtilsTest.testMurmur2: Java ints. */
const KAFKA_VECTORS: readonly (readonly [string, number])[] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

function metadata(partitionCount: number): KafkajsPartitionArgs['partitionMetadata'] {
  return Array.from({ length: partitionCount }, (_, partitionId) => ({ partitionId, leader: 1 }));
}

void describe('murmur2', () => {
  void test('matches the Java client on Kafka UtilsTest vectors', () => {
    for (const [key, expected] of KAFKA_VECTORS) {
      assert.equal(murmur2(Buffer.from(key, 'utf8')), expected, key);
    }
  });

  void test('empty key and every tail length agree with kafkajs DefaultPartitioner murmur2', () => {
    const prng = new TestPrng(0x6d75726d);
    assert.equal(murmur2(new Uint8Array(0)), kafkajsMurmur2(Buffer.alloc(0)));
    for (let i = 0; i < 1000; i++) {
      const key = prng.bytes(i < 64 ? i : prng.int(0, 300));
      assert.equal(murmur2(key), kafkajsMurmur2(key), key.toString('hex'));
    }
  });

  void test('hashes a subarray by its own bytes only', () => {
    const whole = Buffer.from('xxfoobaryy', 'utf8');
    assert.equal(murmur2(whole.subarray(2, 8)), -790332482);
  });

  void test('toPositive clears the sign bit like Utils.toPositive', () => {
    assert.equal(toPositive(-(2 ** 31)), 0);
    assert.equal(toPositive(-1), 0x7fffffff);
    assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff);
    assert.equal(toPositive(12345), 12345);
  });

  void test('partitionForKey equals kafkajs DefaultPartitioner for 1,000 random keys', () => {
    const prng = new TestPrng(0x70617274);
    const counts = [1, 2, 3, 6, 7, 12, 50, 100, 1000];
    const partitioners = new Map(counts.map((n) => [n, kafkajsDefaultPartitioner()]));
    for (let i = 0; i < 1000; i++) {
      const key = prng.chance(0.5)
        ? Buffer.from(`user-${prng.int(0, 1_000_000)}`, 'utf8')
        : prng.bytes(prng.int(0, 40));
      for (const n of counts) {
        const theirs = partitioners.get(n)?.({ topic: 't', partitionMetadata: metadata(n), message: { key } });
        assert.equal(partitionForKey(key, n), theirs, `key ${key.toString('hex')}, ${n} partitions`);
      }
    }
  });

  void test('kafkajs LegacyPartitioner hashes differently (why it is not the reference)', () => {
    const [key, expected] = KAFKA_VECTORS[0] ?? ['', 0];
    assert.notEqual(kafkajsLegacyMurmur2(Buffer.from(key)), expected);
    assert.equal(kafkajsMurmur2(Buffer.from(key)), expected);
  });
});
