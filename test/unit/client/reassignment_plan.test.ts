/**
 * Goal: reassignment plans in Kafka's JSON shape are parsed strictly, checked whole with typed
 * errors before anything moves, and generated plans are even while moving as few replicas as
 * possible. Method: malformed and bad plans against a four-broker shape; generated plans over
 * seeded random placements compared with the lower bound on moves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import type { PartitionMove } from '../../../src/client/admin.js';
import { generatePlan, parsePlan, parseThrottle, planProblem } from '../../../src/client/reassignment_plan.js';
import { TributaryError } from '../../../src/common/errors.js';

const SHAPE = { brokerIds: [1, 2, 3, 4], partitionCounts: new Map([['t', 4]]) };

function planOf(...partitions: PartitionMove[]): ReturnType<typeof parsePlan> {
  return { version: 1, partitions };
}

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof TributaryError, String(error));
    const typed = error as TributaryError;
    return typed.code;
  }
  return 'none';
}

/** Replicas per broker over the moves, brokers with none included. */
function loads(moves: readonly PartitionMove[], brokers: readonly number[]): Map<number, number> {
  const load = new Map(brokers.map((id) => [id, 0]));
  for (const move of moves) for (const id of move.replicas) load.set(id, (load.get(id) ?? 0) + 1);
  return load;
}

void describe('reassignment plans', () => {
  void test('Kafka\'s JSON parses; anything else is INVALID_REQUEST', () => {
    assert.deepEqual(parsePlan('{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3,4]}]}'),
      planOf({ topic: 't', partition: 0, replicas: [2, 3, 4] }));
    for (const text of ['not json', '[]', '{"version":2,"partitions":[]}', '{"version":1}',
      '{"version":1,"partitions":[{"topic":"t","partition":-1,"replicas":[1]}]}',
      '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1.5]}]}',
      '{"version":1,"partitions":[{"topic":7,"partition":0,"replicas":[1]}]}',
      '{"version":1,"partitions":[{"topic":"t","partition":0}]}']) {
      assert.equal(codeOf(() => parsePlan(text)), 'INVALID_REQUEST', text);
    }
  });

  void test('bad plans get the typed error of their first problem', () => {
    const cases: [PartitionMove[], string][] = [
      [[], 'INVALID_REQUEST'],
      [[{ topic: 't', partition: 0, replicas: [1, 2, 5] }], 'INVALID_REPLICA_ASSIGNMENT'],
      [[{ topic: 't', partition: 0, replicas: [1, 2, 2] }], 'INVALID_REPLICA_ASSIGNMENT'],
      [[{ topic: 't', partition: 0, replicas: [] }], 'INVALID_REPLICA_ASSIGNMENT'],
      [[{ topic: 't', partition: 0, replicas: [1, 2, 3, 4, 5] }], 'INVALID_REPLICATION_FACTOR'],
      [[{ topic: 'u', partition: 0, replicas: [1] }], 'UNKNOWN_TOPIC_OR_PARTITION'],
      [[{ topic: 't', partition: 4, replicas: [1] }], 'UNKNOWN_TOPIC_OR_PARTITION'],
      [[{ topic: 't', partition: 1, replicas: [1] }, { topic: 't', partition: 1, replicas: [2] }], 'INVALID_REQUEST'],
    ];
    for (const [partitions, code] of cases) {
      assert.equal(planProblem(planOf(...partitions), SHAPE)?.code, code, JSON.stringify(partitions));
    }
    assert.equal(planProblem(planOf({ topic: 't', partition: 3, replicas: [4, 1] }), SHAPE), null,
      'a smaller replication factor within the brokers is a valid move');
    assert.equal(planProblem(planOf({ topic: 't', partition: 0, replicas: [1, 2, 9] }),
      { partitionCounts: SHAPE.partitionCounts }), null, 'without the broker list, brokers are left to the brokers');
  });

  void test('a new broker gets an even share, moved from the most loaded and never a leader when a follower will do',
    () => {
      const current: PartitionMove[] = [
        { topic: 't', partition: 0, replicas: [1, 2, 3] }, { topic: 't', partition: 1, replicas: [2, 3, 1] },
        { topic: 't', partition: 2, replicas: [3, 1, 2] }, { topic: 't', partition: 3, replicas: [1, 3, 2] },
      ];
      const plan = generatePlan(current, [1, 2, 3, 4]);
      const after = current.map((move) => plan.partitions.find((p) => p.partition === move.partition) ?? move);
      assert.deepEqual([...loads(after, [1, 2, 3, 4]).values()], [3, 3, 3, 3]);
      assert.equal(plan.partitions.length, 3, 'three replicas move to broker 4, one per partition');
      for (const move of plan.partitions) {
        const before = current.find((p) => p.partition === move.partition);
        assert.equal(move.replicas[0], before?.replicas[0], 'preferred leaders stay');
      }
    });

  void test('generated plans are balanced and move (nearly always exactly) the replicas that must move (seeded)', () => {
    const prng = new SeededPrng(7);
    const excessMoves = new Map<number, number>();
    for (let round = 0; round < 400; round++) {
      const brokerCount = 2 + prng.nextInt(5);
      const all = Array.from({ length: brokerCount + 2 }, (_, i) => i + 1);
      const current: PartitionMove[] = [];
      for (let partition = 0; partition < 1 + prng.nextInt(12); partition++) {
        const pool = [...all];
        const replicas: number[] = [];
        const replicationFactor = round % 4 === 0 ? 1 : 1 + prng.nextInt(Math.min(3, brokerCount));
        for (let r = replicationFactor; r > 0; r--) {
          replicas.push(...pool.splice(prng.nextInt(pool.length), 1));
        }
        current.push({ topic: 't', partition, replicas });
      }
      const brokers = all.slice(0, brokerCount);
      const plan = generatePlan(current, brokers);
      const after = current.map((move) => plan.partitions.find((p) => p.partition === move.partition) ?? move);
      const load = loads(after, brokers);
      assert.deepEqual([...load.keys()].sort((a, b) => a - b), brokers, 'only the given brokers hold replicas');
      const counts = [...load.values()];
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `even: ${JSON.stringify([...load])}`);
      for (const move of after) assert.equal(new Set(move.replicas).size, move.replicas.length, 'distinct');
      // Lower bound: every replica on an unlisted broker moves, and every listed broker above its
      // even share's ceiling (or above the floor, for all but `remainder` of them) gives its excess.
      const total = counts.reduce((sum, n) => sum + n, 0);
      const floor = Math.floor(total / brokerCount);
      const before = loads(current, all);
      const offList = all.filter((id) => !brokers.includes(id)).reduce((sum, id) => sum + (before.get(id) ?? 0), 0);
      const excess = brokers.map((id) => Math.max(0, (before.get(id) ?? 0) - floor)).sort((a, b) => b - a);
      let mustMove = offList;
      let ceilings = total % brokerCount;
      for (const over of excess) {
        const allowed = ceilings > 0 && over > 0 ? 1 : 0;
        if (allowed === 1) ceilings -= 1;
        mustMove += Math.max(0, over - allowed);
      }
      const moved = after.reduce((sum, move, i) => sum +
        move.replicas.filter((id) => !(current[i]?.replicas.includes(id) ?? false)).length, 0);
      assert.ok(moved >= mustMove, 'the bound holds');
      excessMoves.set(moved - mustMove, (excessMoves.get(moved - mustMove) ?? 0) + 1);
      if (current.every((move) => move.replicas.length === 1)) {
        assert.equal(moved, mustMove, `round ${round}: with one replica per partition nothing forces an extra move`);
      }
    }
    console.log(`generated plans: moves beyond the lower bound -> rounds ${JSON.stringify([...excessMoves])}`);
    // The bound ignores that a broker holding a partition cannot take another of its replicas, which
    // can force one more move (round 90: both replicas leaving broker 7 fit only broker 5).
    assert.deepEqual([...excessMoves.keys()].filter((extra) => extra > 1), [], 'never two moves beyond the bound');
    assert.ok((excessMoves.get(0) ?? 0) >= 0.97 * 400, 'the bound itself nearly always');
  });

  void test('throttles read binary units', () => {
    assert.equal(parseThrottle('50MB'), 50 * 1024 * 1024);
    assert.equal(parseThrottle('10 kib'), 10 * 1024);
    assert.equal(parseThrottle('1000'), 1000);
    for (const bad of ['', 'fast', '-1MB', '0', '5TB']) assert.equal(codeOf(() => parseThrottle(bad)), 'INVALID_REQUEST');
  });
});
