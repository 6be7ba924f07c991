/**
 * Kafka's murmur2 (the 32-bit MurmurHash2 of Austin Appleby with Kafka's seed), as in the Java
 * client's Utils.murmur2 and Utils.toPositive ([K] clients/.../common/utils/Utils.java). Keyed
 * records must land where Kafka's default partitioner puts them, so this must match it bit for
 * bit: seed 0x9747b28c, m 0x5bd1e995, r 24, the tail bytes xored in high to low, then the
 * final mix (>>> 13, * m, >>> 15). Java's int arithmetic wraps at 32 bits: Math.imul and `| 0`
 * reproduce it here.
 *
 * Checked against Kafka's UtilsTest.testMurmur2 vectors and kafkajs 2.2.4's Java-compatible
 * DefaultPartitioner (test/unit/client/murmur2.test.ts).
 */
import { assert } from '../../raft/core/assert.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** The signed 32-bit murmur2 hash of data, equal to Java's Utils.murmur2(data). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = byteAt(data, i4) | (byteAt(data, i4 + 1) << 8) | (byteAt(data, i4 + 2) << 16) |
      (byteAt(data, i4 + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's switch falls through from case 3 to case 1; the multiply runs once for any tail.
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) {
    h ^= byteAt(data, tail + 2) << 16;
  }
  if (rest >= 2) {
    h ^= byteAt(data, tail + 1) << 8;
  }
  if (rest >= 1) {
    h ^= byteAt(data, tail);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs, so MIN_VALUE maps to 0). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  assert(Number.isSafeInteger(partitionCount) && partitionCount > 0, () => `bad partition count ${partitionCount}`);
  return toPositive(murmur2(key)) % partitionCount;
}

function byteAt(data: Uint8Array, index: number): number {
  return data[index] ?? 0;
}
