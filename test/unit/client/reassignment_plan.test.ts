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
import { generatePlan, parsePlan, parseThrottle, partitionKey, planProblem } from '../../../src/client/reassignment_plan.js';
import type { PartitionSizes } from '../../../src/client/reassignment_plan.js';
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

/** Preferred leaderships (first replicas) per broker. */
function leaderLoads(moves: readonly PartitionMove[], brokers: readonly number[]): Map<number, number> {
  const load = new Map(brokers.map((id) => [id, 0]));
  for (const move of moves) load.set(move.replicas[0] ?? -1, (load.get(move.replicas[0] ?? -1) ?? 0) + 1);
  return load;
}

function byteLoads(moves: readonly PartitionMove[], brokers: readonly number[], sizes: PartitionSizes):
  Map<number, number> {
  const load = new Map(brokers.map((id) => [id, 0]));
  for (const move of moves) {
    const size = sizes.get(partitionKey(move.topic, move.partition)) ?? 0;
    for (const id of move.replicas) load.set(id, (load.get(id) ?? 0) + size);
  }
  return load;
}

/** The partitions after a plan: its entry where it has one, else as they were. */
function applied(current: readonly PartitionMove[], plan: readonly PartitionMove[]): PartitionMove[] {
  return current.map((move) => plan.find((p) => p.topic === move.topic && p.partition === move.partition) ?? move);
}

/** Replicas on a broker that did not hold them before (data to copy). */
function movedReplicas(current: readonly PartitionMove[], after: readonly PartitionMove[]): number {
  return after.reduce((sum, move, i) => sum + move.replicas.filter((id) => !(current[i]?.replicas.includes(id) ??
    false)).length, 0);
}

/** The smallest spread of leader counts any choice of leaders among the replicas gives (all choices tried). */
function bestLeaderSpread(moves: readonly PartitionMove[], brokers: readonly number[]): number {
  let best = Number.POSITIVE_INFINITY;
  const counts = new Map(brokers.map((id) => [id, 0]));
  const visit = (i: number): void => {
    const move = moves[i];
    if (move === undefined) {
      const values = [...counts.values()];
      best = Math.min(best, Math.max(...values) - Math.min(...values));
      return;
    }
    for (const id of move.replicas) {
      counts.set(id, (counts.get(id) ?? 0) + 1);
      visit(i + 1);
      counts.set(id, (counts.get(id) ?? 0) - 1);
    }
  };
  visit(0);
  return best;
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
      const after = applied(current, plan.partitions);
      assert.deepEqual([...loads(after, [1, 2, 3, 4]).values()], [3, 3, 3, 3]);
      assert.equal(movedReplicas(current, after), 3, 'three replicas move to broker 4, one per partition');
      for (const [i, move] of after.entries()) {
        assert.ok(move.replicas.includes(current[i]?.replicas[0] ?? -1), 'no preferred leader\'s replica moves');
      }
      assert.deepEqual([...leaderLoads(after, [1, 2, 3, 4]).values()], [1, 1, 1, 1],
        'broker 4 takes over the preferred leadership broker 1 had twice, by a reorder');
    });

  void test('preferred leaders spread per topic and overall, by reorders alone when the replicas are even', () => {
    // broker_4 joined a 3-broker cluster of three 2-partition topics led by broker 1 and 2 alone.
    const current: PartitionMove[] = ['a', 'b', 'c'].flatMap((topic) => [
      { topic, partition: 0, replicas: [1, 2, 3] }, { topic, partition: 1, replicas: [2, 3, 1] }]);
    const plan = generatePlan(current, [1, 2, 3]);
    const after = applied(current, plan.partitions);
    assert.equal(movedReplicas(current, after), 0, 'replicas are even already: nothing moves');
    assert.deepEqual([...leaderLoads(after, [1, 2, 3]).values()], [2, 2, 2]);
    for (const topic of ['a', 'b', 'c']) {
      const counts = [...leaderLoads(after.filter((m) => m.topic === topic), [1, 2, 3]).values()];
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `topic ${topic}: ${counts.join(',')}`);
    }
    assert.equal(plan.partitions.length, 2, 'two reorders: broker 3 takes one leadership from each of 1 and 2');

    // The e2e case: a 6-partition RF 3 topic on brokers 1-3, broker 4 joins.
    const six: PartitionMove[] = Array.from({ length: 6 }, (_, p) =>
      ({ topic: 't', partition: p, replicas: [1, 2, 3].map((_, r) => ((p + r) % 3) + 1) }));
    const grown = applied(six, generatePlan(six, [1, 2, 3, 4]).partitions);
    assert.equal(movedReplicas(six, grown), 4);
    for (const [id, led] of leaderLoads(grown, [1, 2, 3, 4])) assert.ok(led === 1 || led === 2, `broker ${id}: ${led}`);
  });

  void test('many topics on few brokers each: leaders even overall, and each topic as even as its replicas allow', () => {
    // 200 partitions of 20 topics on brokers 1-5 (each topic on 4 of them), broker 6 new.
    const current: PartitionMove[] = Array.from({ length: 200 }, (_, p) => ({ topic: `t${p % 20}`, partition: p,
      replicas: [1, 2, 3].map((r) => ((p + r) % 5) + 1) }));
    const brokers = [1, 2, 3, 4, 5, 6];
    const after = applied(current, generatePlan(current, brokers).partitions);
    assert.deepEqual([...loads(after, brokers).values()], [100, 100, 100, 100, 100, 100]);
    assert.equal(movedReplicas(current, after), 100, 'only broker 6\'s share moves');
    const leaders = [...leaderLoads(after, brokers).values()];
    assert.ok(Math.max(...leaders) - Math.min(...leaders) <= 1, `leaders overall ${leaders.join(',')}`);
    for (let t = 0; t < 20; t++) {
      const topic = after.filter((move) => move.topic === `t${t}`);
      const counts = [...leaderLoads(topic, brokers).values()];
      assert.equal(Math.max(...counts) - Math.min(...counts), bestLeaderSpread(topic, brokers),
        `topic t${t}: ${counts.join(',')}`);
    }
  });

  void test('bytes break ties: of equally good moves, those bringing byte totals closest; never more moves', () => {
    const current: PartitionMove[] = [0, 1, 2, 3].map((partition) => ({ topic: 't', partition, replicas: [1] }));
    const sizes = new Map([[partitionKey('t', 0), 10], [partitionKey('t', 1), 10], [partitionKey('t', 2), 1000],
      [partitionKey('t', 3), 1000]]);
    const blind = applied(current, generatePlan(current, [1, 2]).partitions);
    const weighed = applied(current, generatePlan(current, [1, 2], sizes).partitions);
    assert.equal(movedReplicas(current, weighed), 2);
    assert.equal(movedReplicas(current, blind), 2);
    assert.deepEqual([...byteLoads(blind, [1, 2], sizes).values()], [2000, 20], 'blind to bytes: the first two move');
    assert.deepEqual([...byteLoads(weighed, [1, 2], sizes).values()], [1010, 1010]);
    assert.deepEqual(generatePlan(current, [1, 2], sizes), generatePlan(current, [1, 2], new Map(sizes)),
      'the same input, the same plan');
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
      // Leaders: as even as any choice among the final replicas allows, with only reorders beyond the moves.
      const leaders = [...leaderLoads(after, brokers).values()];
      if (after.length <= 8) {
        assert.equal(Math.max(...leaders) - Math.min(...leaders), bestLeaderSpread(after, brokers),
          `round ${round}: leaders ${leaders.join(',')}`);
      }
      // Sizes only break ties: never more moves, never byte totals further apart than blind to them.
      const sizes = new Map(current.map((move) => [partitionKey(move.topic, move.partition), prng.nextInt(1000)]));
      const weighedPlan = generatePlan(current, brokers, sizes);
      const weighed = applied(current, weighedPlan.partitions);
      assert.ok(movedReplicas(current, weighed) <= moved, `round ${round}: sizes cost no move`);
      const bytesOf = (moves: PartitionMove[]): number => {
        const totals = [...byteLoads(moves, brokers, sizes).values()];
        return Math.max(...totals) - Math.min(...totals);
      };
      if (movedReplicas(current, weighed) === moved) assert.ok(bytesOf(weighed) <= bytesOf(after), `round ${round}`);
      assert.deepEqual(generatePlan(current, brokers, sizes), weighedPlan, 'stable');
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
