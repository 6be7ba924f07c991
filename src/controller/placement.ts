/**
 * Replica placement for a new topic: which brokers host each partition's Raft group, and which of
 * them is the preferred leader (the first replica, which the partition's election favours).
 *
 * Pure and deterministic: the controller leader runs it before proposing CreateTopic and logs the
 * result, so replay never runs it again. Two properties hold for every input:
 * - a partition's replicas are distinct brokers;
 * - per broker, the counts of preferred leaderships and of replicas each differ by at most one.
 *
 * Method. Whole rounds of `brokers` partitions follow Kafka's rack-unaware assignment
 * (AdminUtils.assignReplicasToBrokersRackUnaware): the first replica walks the brokers round robin
 * from the start index, and the others follow at a shift that grows by one each round, so the
 * followers of a broker's partitions spread over the others. A round gives every broker one
 * leadership and `replicationFactor` replicas. Kafka's shift alone leaves a last partial round
 * uneven (up to min(rf, brokers - rf) replicas apart), so the remaining partitions are striped:
 * partition i of the tail takes the next rf brokers of one ring walk, whose leader is the first of
 * them not yet leading in the tail. The walk covers each broker at most once more than any other,
 * and the leaders of the tail are distinct.
 */
import { assert, assertNatural, defined } from '../../raft/core/assert.js';

/** Bound on partitions per topic (each is a Raft group on rf brokers). */
export const TOPIC_PARTITIONS_MAX = 10_000;
/** Bound on replicas per partition (the size of a Raft group). */
export const REPLICATION_FACTOR_MAX = 15;

export interface PlacementRequest {
  /** The brokers that may take replicas (registered and live); any order, no duplicates. */
  readonly brokerIds: readonly number[];
  readonly partitionCount: number;
  readonly replicationFactor: number;
  /** Which broker (by position in ascending id order, modulo their count) leads partition 0. */
  readonly startIndex: number;
  /** Kafka's initial follower shift; defaults to startIndex. */
  readonly replicaShift?: number;
}

export type PlacementResult =
  | { readonly ok: true; readonly assignments: readonly (readonly number[])[] }
  | {
      readonly ok: false;
      readonly code: 'INVALID_PARTITIONS' | 'INVALID_REPLICATION_FACTOR';
      readonly message: string;
    };

/** The replicas of each partition, preferred leader first, or why the request cannot be placed. */
export function assignReplicas(request: PlacementRequest): PlacementResult {
  const brokers = [...request.brokerIds].sort((left, right) => left - right);
  assert(new Set(brokers).size === brokers.length, 'placement broker ids must be distinct');
  for (const id of brokers) {
    assertNatural(id, 'broker id');
  }
  const rejection = checkCounts(request.partitionCount, request.replicationFactor, brokers.length);
  if (rejection !== null) {
    return rejection;
  }
  const brokerCount = brokers.length;
  const start = assertNatural(request.startIndex, 'startIndex') % brokerCount;
  const shift = assertNatural(request.replicaShift ?? request.startIndex, 'replicaShift');
  const roundPartitionCount = Math.floor(request.partitionCount / brokerCount) * brokerCount;
  const positions = [
    ...wholeRounds(brokerCount, roundPartitionCount, request.replicationFactor, start, shift),
    ...stripedTail(brokerCount, request.partitionCount - roundPartitionCount, request.replicationFactor, start),
  ];
  const assignments = positions.map((replicas) => replicas.map((position) => defined(brokers[position], 'broker')));
  assert(assignments.length === request.partitionCount, 'one assignment per partition');
  for (const replicas of assignments) {
    assert(replicas.length === request.replicationFactor, 'replication factor replicas per partition');
    assert(new Set(replicas).size === replicas.length, 'replicas of a partition are distinct');
  }
  return { ok: true, assignments };
}

/** Why these counts cannot be placed on brokerCount live brokers, or null when they can. */
export function checkCounts(
  partitionCount: number,
  replicationFactor: number,
  brokerCount: number,
): Extract<PlacementResult, { ok: false }> | null {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1 || partitionCount > TOPIC_PARTITIONS_MAX) {
    return {
      ok: false,
      code: 'INVALID_PARTITIONS',
      message: `partition count ${partitionCount} is not in [1, ${TOPIC_PARTITIONS_MAX}]`,
    };
  }
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > REPLICATION_FACTOR_MAX) {
    return {
      ok: false,
      code: 'INVALID_REPLICATION_FACTOR',
      message: `replication factor ${replicationFactor} is not in [1, ${REPLICATION_FACTOR_MAX}]`,
    };
  }
  if (replicationFactor > brokerCount) {
    return {
      ok: false,
      code: 'INVALID_REPLICATION_FACTOR',
      message: `replication factor ${replicationFactor} is larger than the ${brokerCount} available brokers`,
    };
  }
  return null;
}

/** Kafka's round robin with a shift, as broker positions, for a multiple of brokerCount partitions. */
function wholeRounds(
  brokerCount: number,
  partitionCount: number,
  replicationFactor: number,
  start: number,
  shiftInitial: number,
): number[][] {
  const rounds: number[][] = [];
  let shift = shiftInitial;
  for (let partition = 0; partition < partitionCount; partition++) {
    if (partition > 0 && partition % brokerCount === 0) {
      shift += 1;
    }
    const first = (partition + start) % brokerCount;
    const replicas = [first];
    for (let follower = 0; follower < replicationFactor - 1; follower++) {
      replicas.push((first + 1 + ((shift + follower) % (brokerCount - 1))) % brokerCount);
    }
    rounds.push(replicas);
  }
  return rounds;
}

/**
 * Fewer than brokerCount partitions, as broker positions: partition i takes the rf positions after
 * start + i * rf on the ring, led by the first of them not yet leading a tail partition.
 */
function stripedTail(
  brokerCount: number,
  partitionCount: number,
  replicationFactor: number,
  start: number,
): number[][] {
  assert(partitionCount < brokerCount, 'the tail is less than one round');
  const leaders = new Set<number>();
  const tail: number[][] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    const row: number[] = [];
    for (let slot = 0; slot < replicationFactor; slot++) {
      row.push((start + partition * replicationFactor + slot) % brokerCount);
    }
    const leaderSlot = row.findIndex((position) => !leaders.has(position));
    assert(leaderSlot >= 0, () => `no free leader for tail partition ${partition} of ${partitionCount}`);
    leaders.add(defined(row[leaderSlot], 'leader'));
    tail.push([...row.slice(leaderSlot), ...row.slice(0, leaderSlot)]);
  }
  return tail;
}

/**
 * A start index that puts partition 0 on the broker leading the fewest partitions so far (ties to
 * the lowest id), so successive topics spread their leaders over the cluster.
 */
export function leastLoadedStartIndex(
  brokerIds: readonly number[],
  leaderCountByBroker: ReadonlyMap<number, number>,
): number {
  const brokers = [...brokerIds].sort((left, right) => left - right);
  let best = 0;
  for (let index = 1; index < brokers.length; index++) {
    const count = leaderCountByBroker.get(defined(brokers[index], 'broker')) ?? 0;
    const bestCount = leaderCountByBroker.get(defined(brokers[best], 'broker')) ?? 0;
    if (count < bestCount) {
      best = index;
    }
  }
  return best;
}
