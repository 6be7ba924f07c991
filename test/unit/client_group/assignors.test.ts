/**
 * Goal: the range, round-robin and sticky assignors give every subscribed partition to exactly one
 * member subscribed to its topic, as Kafka's range and round-robin do, balanced; and sticky moves
 * only the partitions balance needs when a member joins or leaves. Method: Kafka's documented
 * examples for range and round-robin, then seeded random groups (members, subscriptions, partition
 * counts), checking the properties on each; for sticky, a membership change is replayed with the
 * previous assignment as owned partitions and the moved partitions counted against the least
 * number any balanced assignment needs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import type { AssignorMember, GroupAssignment } from '../../../src/client/group/assignors/index.js';
import { rangeAssignor, roundRobinAssignor, stickyAssignor } from '../../../src/client/group/assignors/index.js';
import type { TopicPartitions } from '../../../src/client/group/consumer_protocol.js';

function member(memberId: string, topics: string[], ownedPartitions: TopicPartitions[] = []): AssignorMember {
  return { memberId, topics, ownedPartitions };
}

function flat(list: readonly TopicPartitions[] | undefined): string[] {
  return (list ?? []).flatMap((tp) => tp.partitions.map((p) => `${tp.topic}-${p}`));
}

/** Every subscribed partition assigned once, to a member subscribed to its topic. */
function checkCoverage(members: readonly AssignorMember[], counts: Map<string, number>, result: GroupAssignment): void {
  assert.deepEqual([...result.keys()].sort(), members.map((m) => m.memberId).sort());
  const owner = new Map<string, string>();
  for (const m of members) {
    for (const tp of result.get(m.memberId) ?? []) {
      assert.ok(m.topics.includes(tp.topic), `${m.memberId} got ${tp.topic} it does not subscribe to`);
      for (const p of tp.partitions) {
        const key = `${tp.topic}-${p}`;
        assert.ok(p >= 0 && p < (counts.get(tp.topic) ?? 0), `${key} does not exist`);
        assert.equal(owner.get(key), undefined, `${key} assigned twice`);
        owner.set(key, m.memberId);
      }
    }
  }
  const subscribed = new Set(members.flatMap((m) => m.topics));
  for (const topic of subscribed) {
    for (let p = 0; p < (counts.get(topic) ?? 0); p++) assert.ok(owner.has(`${topic}-${p}`), `${topic}-${p} unassigned`);
  }
}

/** Members with the same subscriptions hold counts within one of each other. */
function checkBalance(members: readonly AssignorMember[], result: GroupAssignment): void {
  const bySubscription = new Map<string, number[]>();
  for (const m of members) {
    const key = [...m.topics].sort().join(',');
    bySubscription.set(key, [...(bySubscription.get(key) ?? []), flat(result.get(m.memberId)).length]);
  }
  for (const [key, sizes] of bySubscription) {
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced for [${key}]: ${sizes.join(' ')}`);
  }
}

function randomGroup(prng: SeededPrng, homogeneous: boolean):
  { members: AssignorMember[]; counts: Map<string, number> } {
  const topicCount = 1 + prng.nextInt(4);
  const counts = new Map(Array.from({ length: topicCount }, (_, i) => [`t${i}`, prng.nextInt(13)] as const));
  const topics = [...counts.keys()];
  const memberCount = 1 + prng.nextInt(8);
  const members = Array.from({ length: memberCount }, (_, i) => {
    const chosen = homogeneous ? topics : topics.filter(() => prng.nextFloat() < 0.6);
    return member(`m-${String(prng.nextInt(1000)).padStart(3, '0')}-${i}`, chosen.length === 0 ? [topics[0]!] : chosen);
  });
  return { members, counts };
}

describe('range assignor', () => {
  test('Kafka\'s example: two members, two topics of three partitions', () => {
    const counts = new Map([['t0', 3], ['t1', 3]]);
    const result = rangeAssignor.assign([member('C1', ['t0', 't1']), member('C0', ['t0', 't1'])], counts);
    assert.deepEqual(flat(result.get('C0')), ['t0-0', 't0-1', 't1-0', 't1-1']);
    assert.deepEqual(flat(result.get('C1')), ['t0-2', 't1-2']);
  });

  test('covers every subscribed partition once, per topic balanced', () => {
    const prng = new SeededPrng(11);
    for (let i = 0; i < 300; i++) {
      const { members, counts } = randomGroup(prng, i % 2 === 0);
      const result = rangeAssignor.assign(members, counts);
      checkCoverage(members, counts, result);
      for (const topic of counts.keys()) {
        const sizes = members.filter((m) => m.topics.includes(topic))
          .map((m) => (result.get(m.memberId) ?? []).find((tp) => tp.topic === topic)?.partitions.length ?? 0);
        if (sizes.length > 0) assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
      }
    }
  });
});

describe('round-robin assignor', () => {
  test('Kafka\'s example: C0 and C1 on t0 and t1 of three partitions each', () => {
    const counts = new Map([['t0', 3], ['t1', 3]]);
    const result = roundRobinAssignor.assign([member('C0', ['t0', 't1']), member('C1', ['t0', 't1'])], counts);
    assert.deepEqual(flat(result.get('C0')), ['t0-0', 't0-2', 't1-1']);
    assert.deepEqual(flat(result.get('C1')), ['t0-1', 't1-0', 't1-2']);
  });

  test('Kafka\'s example with different subscriptions', () => {
    // Kafka's javadoc: C0 [t0], C1 [t0, t1], C2 [t0, t1, t2]; t0 1, t1 2, t2 3 partitions.
    const counts = new Map([['t0', 1], ['t1', 2], ['t2', 3]]);
    const result = roundRobinAssignor.assign([member('C0', ['t0']), member('C1', ['t0', 't1']),
      member('C2', ['t0', 't1', 't2'])], counts);
    assert.deepEqual(flat(result.get('C0')), ['t0-0']);
    assert.deepEqual(flat(result.get('C1')), ['t1-0']);
    assert.deepEqual(flat(result.get('C2')), ['t1-1', 't2-0', 't2-1', 't2-2']);
  });

  test('covers every subscribed partition once; balanced when subscriptions are equal', () => {
    const prng = new SeededPrng(12);
    for (let i = 0; i < 300; i++) {
      const homogeneous = i % 2 === 0;
      const { members, counts } = randomGroup(prng, homogeneous);
      const result = roundRobinAssignor.assign(members, counts);
      checkCoverage(members, counts, result);
      if (homogeneous) checkBalance(members, result);
    }
  });
});

/** Partitions a member held before (owned) and not after. */
function moved(before: GroupAssignment, after: GroupAssignment): number {
  let count = 0;
  for (const [memberId, list] of before) {
    if (!after.has(memberId)) continue; // a member that left moves nothing it could keep
    const now = new Set(flat(after.get(memberId)));
    count += flat(list).filter((key) => !now.has(key)).length;
  }
  return count;
}

/**
 * The fewest moves any balanced assignment needs when every member subscribes to everything: the
 * (total % n) members holding the most may keep ceil(total / n), the rest floor(total / n).
 */
function leastMoves(kept: number[], total: number): number {
  const n = kept.length;
  const floor = Math.floor(total / n);
  const extra = total % n;
  return [...kept].sort((a, b) => b - a)
    .reduce((sum, k, i) => sum + Math.max(0, k - (i < extra ? floor + 1 : floor)), 0);
}

function withOwned(members: readonly AssignorMember[], previous: GroupAssignment): AssignorMember[] {
  return members.map((m) => ({ ...m, ownedPartitions: previous.get(m.memberId) ?? [] }));
}

describe('sticky assignor', () => {
  test('covers every subscribed partition once and balances members with the same subscriptions', () => {
    const prng = new SeededPrng(13);
    for (let i = 0; i < 300; i++) {
      const { members, counts } = randomGroup(prng, i % 2 === 0);
      const result = stickyAssignor.assign(members, counts);
      checkCoverage(members, counts, result);
      checkBalance(members, result);
    }
  });

  test('a member joining or leaving moves only the partitions balance needs', () => {
    const prng = new SeededPrng(14);
    let totalMoves = 0;
    for (let i = 0; i < 300; i++) {
      const { members, counts } = randomGroup(prng, true);
      const first = stickyAssignor.assign(members, counts);
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      // Join: one new member; leave: a random member goes (when there are two or more).
      const joined = [...withOwned(members, first), member(`new-${i}`, [...counts.keys()])];
      const leaving = members.length > 1 ? members[prng.nextInt(members.length)]!.memberId : null;
      const left = withOwned(members.filter((m) => m.memberId !== leaving), first);
      for (const next of [joined, left]) {
        const result = stickyAssignor.assign(next, counts);
        checkCoverage(next, counts, result);
        checkBalance(next, result);
        const kept = next.map((m) => flat(m.ownedPartitions).length);
        const moves = moved(first, result);
        assert.equal(moves, leastMoves(kept, total), `group ${i}: ${moves} moves`);
        totalMoves += moves;
      }
    }
    assert.ok(totalMoves > 0, 'the generated changes needed some moves');
  });

  test('a stable group keeps its assignment; 12 partitions over 3 members, one leaves: 4 move, none else', () => {
    const counts = new Map([['orders', 12]]);
    const members = ['a', 'b', 'c'].map((id) => member(id, ['orders']));
    const first = stickyAssignor.assign(members, counts);
    assert.deepEqual(stickyAssignor.assign(withOwned(members, first), counts), first);
    const afterLeave = stickyAssignor.assign(withOwned(members.slice(0, 2), first), counts);
    assert.equal(moved(first, afterLeave), 0);
    assert.equal(flat(afterLeave.get('a')).length, 6);
    // The leaver's 4 partitions are the only ones whose owner changed.
    const changed = flat(first.get('c'));
    assert.equal(changed.length, 4);
    for (const key of changed) assert.ok([...afterLeave.values()].some((l) => flat(l).includes(key)));
  });

  test('a partition two members claim goes to one of them; owned partitions of unsubscribed topics are dropped', () => {
    const counts = new Map([['t', 4], ['u', 2]]);
    const members = [member('a', ['t'], [{ topic: 't', partitions: [0, 1] }, { topic: 'u', partitions: [0] }]),
      member('b', ['t'], [{ topic: 't', partitions: [1, 2, 9] }])];
    const result = stickyAssignor.assign(members, counts);
    checkCoverage(members, counts, result);
    assert.deepEqual(flat(result.get('a')), ['t-0', 't-1']);
    assert.deepEqual(flat(result.get('b')), ['t-2', 't-3']);
  });
});

