/**
 * Goal: placement puts a partition's replicas on distinct brokers and spreads preferred leaders and
 * replicas evenly, for every shape of cluster and topic. Method: exhaustive properties over broker
 * counts 1..16, every replication factor and start index, partition counts up to three rounds;
 * whole rounds checked against Kafka's round robin with shift; typed rejections as values.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import { assignReplicas, REPLICATION_FACTOR_MAX, TOPIC_PARTITIONS_MAX } from '../../../src/controller/placement.js';

function place(
  brokerIds: readonly number[],
  partitionCount: number,
  replicationFactor: number,
  startIndex: number,
): readonly (readonly number[])[] {
  const result = assignReplicas({ brokerIds, partitionCount, replicationFactor, startIndex });
  assert.ok(result.ok, JSON.stringify(result));
  return result.assignments;
}

function spread(counts: ReadonlyMap<number, number>, brokerIds: readonly number[]): number {
  const values = brokerIds.map((id) => counts.get(id) ?? 0);
  return Math.max(...values) - Math.min(...values);
}

function tally(assignments: readonly (readonly number[])[]): {
  leaders: Map<number, number>;
  replicas: Map<number, number>;
} {
  const leaders = new Map<number, number>();
  const replicas = new Map<number, number>();
  for (const partition of assignments) {
    leaders.set(partition[0]!, (leaders.get(partition[0]!) ?? 0) + 1);
    for (const id of partition) {
      replicas.set(id, (replicas.get(id) ?? 0) + 1);
    }
  }
  return { leaders, replicas };
}

void describe('placement', () => {
  void test('replicas distinct and registered, leaders and replicas balanced within one', () => {
    let cases = 0;
    for (let brokerCount = 1; brokerCount <= 16; brokerCount++) {
      // Sparse, unordered ids: placement must not assume 0..n-1.
      const brokerIds = Array.from({ length: brokerCount }, (_unused, index) => 100 + 3 * index).reverse();
      const replicationFactorMax = Math.min(brokerCount, REPLICATION_FACTOR_MAX);
      for (let replicationFactor = 1; replicationFactor <= replicationFactorMax; replicationFactor++) {
        for (let partitionCount = 1; partitionCount <= 3 * brokerCount + 1; partitionCount++) {
          for (let startIndex = 0; startIndex < brokerCount + 1; startIndex++) {
            const assignments = place(brokerIds, partitionCount, replicationFactor, startIndex);
            assert.equal(assignments.length, partitionCount);
            for (const replicas of assignments) {
              assert.equal(replicas.length, replicationFactor);
              assert.equal(new Set(replicas).size, replicationFactor);
              assert.ok(replicas.every((id) => brokerIds.includes(id)));
            }
            const { leaders, replicas } = tally(assignments);
            const what = `brokers=${brokerCount} partitions=${partitionCount} rf=${replicationFactor} start=${startIndex}`;
            assert.ok(spread(leaders, brokerIds) <= 1, `leader spread ${what}`);
            assert.ok(spread(replicas, brokerIds) <= 1, `replica spread ${what}`);
            cases += 1;
          }
        }
      }
    }
    assert.ok(cases > 10_000);
  });

  void test('whole rounds are Kafka\'s round robin with a shift', () => {
    // Kafka AdminUtils with fixedStartIndex 0 on brokers 0..4, 10 partitions, rf 3.
    const expected = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
      [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2]];
    assert.deepEqual(place([4, 3, 2, 1, 0], 10, 3, 0), expected);
  });

  void test('partition 0 is led by the broker at the start index', () => {
    for (let startIndex = 0; startIndex < 10; startIndex++) {
      assert.equal(place([10, 20, 30, 40], 3, 2, startIndex)[0]![0], [10, 20, 30, 40][startIndex % 4]);
    }
  });

  void test('deterministic: the same request gives the same assignment', () => {
    assert.deepEqual(place([1, 2, 3, 4, 5], 17, 3, 2), place([5, 4, 3, 2, 1], 17, 3, 2));
  });

  void test('a replication factor above the live brokers is INVALID_REPLICATION_FACTOR, as a value', () => {
    const result = assignReplicas({ brokerIds: [1, 2], partitionCount: 3, replicationFactor: 3, startIndex: 0 });
    assert.ok(!result.ok);
    assert.equal(result.code, 'INVALID_REPLICATION_FACTOR');
    assert.match(result.message, /larger than the 2 available brokers/);
    for (const replicationFactor of [0, -1, 1.5, REPLICATION_FACTOR_MAX + 1]) {
      const rejected = assignReplicas({ brokerIds: [1, 2, 3], partitionCount: 1, replicationFactor, startIndex: 0 });
      assert.equal(!rejected.ok && rejected.code, 'INVALID_REPLICATION_FACTOR', String(replicationFactor));
    }
    const none = assignReplicas({ brokerIds: [], partitionCount: 1, replicationFactor: 1, startIndex: 0 });
    assert.equal(!none.ok && none.code, 'INVALID_REPLICATION_FACTOR');
  });

  void test('a partition count below 1 or over the bound is INVALID_PARTITIONS', () => {
    for (const partitionCount of [0, -3, 2.5, TOPIC_PARTITIONS_MAX + 1]) {
      const result = assignReplicas({ brokerIds: [1, 2, 3], partitionCount, replicationFactor: 1, startIndex: 0 });
      assert.equal(!result.ok && result.code, 'INVALID_PARTITIONS', String(partitionCount));
    }
  });

  void test('duplicate broker ids are a programmer error', () => {
    assert.throws(() => assignReplicas({ brokerIds: [1, 1], partitionCount: 1, replicationFactor: 1, startIndex: 0 }),
      { name: 'AssertionError' });
  });

  void test('with the cluster load given, successive topics keep replicas balanced within one', () => {
    // Leaders are balanced within one per topic; across topics they drift a little (measured below).
    let leaderSpreadMax = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const prng = new SeededPrng(seed);
      const brokerIds = Array.from({ length: 1 + prng.nextInt(9) }, (_unused, index) => index + 1);
      const brokerLoad = new Map(brokerIds.map((id) => [id, { replicas: 0, leaders: 0 }]));
      for (let topic = 0; topic < 30; topic++) {
        const replicationFactor = 1 + prng.nextInt(Math.min(brokerIds.length, 3));
        const partitionCount = 1 + prng.nextInt(12);
        const result = assignReplicas({ brokerIds, partitionCount, replicationFactor, startIndex: 0, brokerLoad });
        assert.ok(result.ok);
        for (const replicas of result.assignments) {
          for (const [slot, id] of replicas.entries()) {
            const load = brokerLoad.get(id)!;
            brokerLoad.set(id, { replicas: load.replicas + 1, leaders: load.leaders + (slot === 0 ? 1 : 0) });
          }
        }
        const replicaCounts = new Map([...brokerLoad].map(([id, load]) => [id, load.replicas]));
        assert.ok(spread(replicaCounts, brokerIds) <= 1, `seed ${seed} topic ${topic}`);
        const leaderCounts = new Map([...brokerLoad].map(([id, load]) => [id, load.leaders]));
        leaderSpreadMax = Math.max(leaderSpreadMax, spread(leaderCounts, brokerIds));
      }
    }
    assert.ok(leaderSpreadMax <= 5, `leader spread across topics ${leaderSpreadMax}`);
  });
});
