/**
 * Goal: the ConsumerProtocol bytes are Kafka's. Method: round trips of Subscription v0/v1 and
 * Assignment v0/v1; bytes written here decode with kafkajs 2.2.4's AssignerProtocol and bytes it
 * writes decode here; a hand-built Kafka v1 subscription (owned partitions) decodes; truncated and
 * garbage input is a typed error, never a huge allocation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AssignerProtocol } from 'kafkajs';

import {
  decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription,
} from '../../../src/client/group/consumer_protocol.js';
import type { Subscription } from '../../../src/client/group/consumer_protocol.js';
import { TributaryError } from '../../../src/common/errors.js';
import { SeededPrng } from '../../../raft/core/prng.js';

function randomSubscription(prng: SeededPrng, version: number): Subscription {
  const topics = Array.from({ length: prng.nextInt(5 + 1) }, (_, i) => `topic-${i}-${'é'.repeat(prng.nextInt(3 + 1))}`);
  return {
    version, topics,
    userData: prng.nextFloat() < 0.3 ? null
      : Buffer.from(Array.from({ length: prng.nextInt(20 + 1) }, () => prng.nextInt(255 + 1))),
    ownedPartitions: version === 0 ? [] : topics.map((topic) => ({ topic,
      partitions: Array.from({ length: prng.nextInt(4 + 1) }, () => prng.nextInt(2 ** 31 - 1)) })),
  };
}

describe('consumer protocol', () => {
  test('subscriptions v0 and v1 round-trip', () => {
    const prng = new SeededPrng(7);
    for (let i = 0; i < 200; i++) {
      const subscription = randomSubscription(prng, i % 2);
      assert.deepEqual(decodeSubscription(encodeSubscription(subscription)), subscription);
    }
  });

  test('assignments round-trip; an empty buffer is an empty assignment', () => {
    const assignment = { version: 1, userData: Buffer.from('x'),
      partitions: [{ topic: 'a', partitions: [0, 3] }, { topic: 'b', partitions: [] }] };
    assert.deepEqual(decodeAssignment(encodeAssignment(assignment)), assignment);
    assert.deepEqual(decodeAssignment(encodeAssignment({ ...assignment, version: 0, userData: null })),
      { ...assignment, version: 0, userData: null });
    assert.deepEqual(decodeAssignment(Buffer.alloc(0)), { version: 0, partitions: [], userData: null });
  });

  test('the exact bytes of a v1 subscription are Kafka\'s', () => {
    const bytes = encodeSubscription({ version: 1, topics: ['t'], userData: null,
      ownedPartitions: [{ topic: 't', partitions: [2] }] });
    assert.equal(bytes.toString('hex'), [
      '0001', // version
      '00000001', '0001', '74', // topics: ["t"]
      'ffffffff', // user data: null
      '00000001', '0001', '74', '00000001', '00000002', // owned: t -> [2]
    ].join(''));
  });

  test('kafkajs decodes ours and we decode kafkajs\'', () => {
    const ours = encodeSubscription({ version: 0, topics: ['orders', 'payments'], userData: Buffer.from('ud'),
      ownedPartitions: [] });
    const theirs = AssignerProtocol.MemberMetadata.decode(ours);
    assert.ok(theirs !== null);
    assert.deepEqual({ ...theirs, userData: Buffer.from(theirs.userData) },
      { version: 0, topics: ['orders', 'payments'], userData: Buffer.from('ud') });
    // A v1 subscription: kafkajs reads the v0 fields and ignores the owned partitions after them.
    const v1 = AssignerProtocol.MemberMetadata.decode(encodeSubscription({ version: 1, topics: ['a'],
      userData: Buffer.alloc(0), ownedPartitions: [{ topic: 'a', partitions: [1, 2] }] }));
    assert.deepEqual(v1?.topics, ['a']);
    const fromKafkajs = AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ['x', 'y'],
      userData: Buffer.from([1, 2, 3]) });
    assert.deepEqual(decodeSubscription(fromKafkajs), { version: 1, topics: ['x', 'y'],
      userData: Buffer.from([1, 2, 3]), ownedPartitions: [] });

    const assignment = encodeAssignment({ version: 1, userData: Buffer.from('u'),
      partitions: [{ topic: 'orders', partitions: [0, 2, 4] }, { topic: 'payments', partitions: [1] }] });
    const decoded = AssignerProtocol.MemberAssignment.decode(assignment);
    assert.ok(decoded !== null);
    assert.deepEqual(decoded.assignment, { orders: [0, 2, 4], payments: [1] });
    assert.equal(decoded.version, 1);
    const kafkajsAssignment = AssignerProtocol.MemberAssignment.encode({ version: 0,
      assignment: { t1: [5, 6], t2: [0] }, userData: Buffer.from('z') });
    assert.deepEqual(decodeAssignment(kafkajsAssignment), { version: 0, userData: Buffer.from('z'),
      partitions: [{ topic: 't1', partitions: [5, 6] }, { topic: 't2', partitions: [0] }] });
  });

  test('truncated or garbage bytes are a typed error', () => {
    const bytes = encodeSubscription({ version: 1, topics: ['topic'], userData: Buffer.from('abc'),
      ownedPartitions: [{ topic: 'topic', partitions: [1, 2, 3] }] });
    for (let cut = 1; cut < bytes.length; cut++) {
      // Cutting exactly after the user data leaves a valid v1 subscription without owned partitions.
      const prefix = bytes.subarray(0, cut);
      try {
        decodeSubscription(prefix);
        assert.equal(cut, 2 + 4 + 2 + 5 + 4 + 3, `a cut at ${cut} decoded`);
      } catch (error) {
        assert.ok(error instanceof TributaryError && error.code === 'INVALID_REQUEST', String(error));
      }
    }
    const huge = Buffer.from('0000' + '7fffffff', 'hex');
    assert.throws(() => decodeAssignment(huge), (e: unknown) => e instanceof TributaryError && e.code === 'INVALID_REQUEST');
    assert.throws(() => decodeSubscription(Buffer.from('ffff', 'hex')), TributaryError);
  });
});
