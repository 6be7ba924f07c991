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
 *
 * Across topics: given brokerLoad (the replicas and leaderships brokers already have), brokers are
 * taken least loaded first, so the extra replicas of partial rounds go to the lightest brokers and
 * the cluster's replica counts stay within one of each other (tested over random topic sequences);
 * tail leaders prefer the least-led broker of their row, which keeps leadership close (a spread of a
 * few) but not exact. Without brokerLoad, Kafka's choice applies: the caller varies startIndex.
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
  /**
   * The replicas and preferred leaderships each broker has already. When given, brokers are taken
   * least loaded first (then by id) instead of by id alone, so the extra replicas and leaders of a
   * partial round land where the cluster is lightest and successive topics stay balanced.
   */
  readonly brokerLoad?: ReadonlyMap<number, BrokerLoad>;
}

export interface BrokerLoad {
  readonly replicas: number;
  readonly leaders: number;
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
  const brokers = orderBrokers(request.brokerIds, request.brokerLoad);
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
    ...stripedTail(brokerCount, request.partitionCount - roundPartitionCount, request.replicationFactor, start,
      (position) => request.brokerLoad?.get(defined(brokers[position], 'broker'))?.leaders ?? 0),
  ];
  const assignments = positions.map((replicas) => replicas.map((position) => defined(brokers[position], 'broker')));
  assert(assignments.length === request.partitionCount, 'one assignment per partition');
  for (const replicas of assignments) {
    assert(replicas.length === request.replicationFactor, 'replication factor replicas per partition');
    assert(new Set(replicas).size === replicas.length, 'replicas of a partition are distinct');
  }
  return { ok: true, assignments };
}

/** Broker ids by ascending load when it is known, then by id. */
function orderBrokers(brokerIds: readonly number[], load: ReadonlyMap<number, BrokerLoad> | undefined): number[] {
  const idle: BrokerLoad = { replicas: 0, leaders: 0 };
  return [...brokerIds].sort((left, right) => {
    const leftLoad = load?.get(left) ?? idle;
    const rightLoad = load?.get(right) ?? idle;
    return leftLoad.replicas - rightLoad.replicas || leftLoad.leaders - rightLoad.leaders || left - right;
  });
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
  leaderCountOf: (position: number) => number,
): number[][] {
  assert(partitionCount < brokerCount, 'the tail is less than one round');
  const leaders = new Set<number>();
  const tail: number[][] = [];
  for (let partition = 0; partition < partitionCount; partition++) {
    const row: number[] = [];
    for (let slot = 0; slot < replicationFactor; slot++) {
      row.push((start + partition * replicationFactor + slot) % brokerCount);
    }
    const leaderSlot = tailLeaderSlot(row, leaders, leaderCountOf);
    leaders.add(defined(row[leaderSlot], 'leader'));
    tail.push([...row.slice(leaderSlot), ...row.slice(0, leaderSlot)]);
  }
  return tail;
}

/**
 * The slot of row whose broker leads: among those not yet leading in the tail, the one with the
 * fewest leaderships elsewhere (first in the row on ties). Without load every count is zero and
 * this is the first free slot, which always exists (every row has one: checked exhaustively by the
 * placement tests). With load a greedy choice can use up a later row; that row then takes its
 * least-led broker again, costing one leadership of balance in that rare case.
 */
function tailLeaderSlot(
  row: readonly number[],
  leaders: ReadonlySet<number>,
  leaderCountOf: (position: number) => number,
): number {
  let best = -1;
  for (const [slot, position] of row.entries()) {
    if (leaders.has(position)) {
      continue;
    }
    if (best < 0 || leaderCountOf(position) < leaderCountOf(defined(row[best], 'slot'))) {
      best = slot;
    }
  }
  if (best >= 0) {
    return best;
  }
  let fallback = 0;
  for (const [slot, position] of row.entries()) {
    if (leaderCountOf(position) < leaderCountOf(defined(row[fallback], 'slot'))) {
      fallback = slot;
    }
  }
  return fallback;
}
