/**
 * What a broker should host: the partition replicas the metadata assigns to it, and the difference
 * from what it hosts now (replicas to start, to stop, and whose replica set changed).
 *
 * Pure, so the broker can run it after every metadata change and act on the result. A replica is
 * identified by topic id and partition, not by name: a topic deleted and created again under the
 * same name has a new id, so its old replicas are stopped (and their data deleted by the caller)
 * and the new ones started empty.
 */
import type { MetadataView } from './metadata_state_machine.js';
import { isHostableTopic } from './topic_name.js';

export interface ReplicaAssignment {
  readonly topic: string;
  readonly topicId: number;
  readonly partition: number;
  /** The partition's replica set (its Raft voters as last reported), preferred leader first. */
  readonly replicas: readonly number[];
  /**
   * Start a new (empty) log with the replica set as its initial voters. Only for a partition never
   * reassigned, on a broker of its set: any other new replica starts with no membership and waits
   * for its leader to add it, since the set is no longer the one the group began with.
   */
  readonly bootstrap: boolean;
}

export interface ReplicaChange {
  readonly hosted: ReplicaAssignment;
  readonly desired: ReplicaAssignment;
}

export interface ReplicaDiff {
  /** Assigned to the broker and not hosted: create the log and start the Raft group. */
  readonly toStart: readonly ReplicaAssignment[];
  /** Hosted and no longer assigned (topic deleted or re-created): stop the group and drop the data. */
  readonly toStop: readonly ReplicaAssignment[];
  /** Hosted and assigned, but with another replica set (a move's step): note the new set. */
  readonly changed: readonly ReplicaChange[];
  /** Hosted and assigned with the same replica set. */
  readonly unchanged: readonly ReplicaAssignment[];
}

/**
 * The replicas brokerId should host, ordered by topic name then partition: those of its replica sets
 * and those of the targets of moves under way (their new replicas, which join as learners).
 */
export function replicasForBroker(view: Pick<MetadataView, 'topics'>, brokerId: number): ReplicaAssignment[] {
  const assigned: ReplicaAssignment[] = [];
  for (const topic of view.topics()) {
    // A `__` name is hosted only for a known internal topic created as internal (by a broker); any
    // other (metadata written before `__` names were reserved) could name the controller's own log.
    if (!isHostableTopic(topic)) continue;
    const moved = new Set(topic.movedPartitions ?? []);
    const targets = new Map((topic.reassignments ?? []).map((move) => [move.partition, move.target]));
    for (const [partition, replicas] of topic.partitions.entries()) {
      if (replicas.includes(brokerId) || targets.get(partition)?.includes(brokerId) === true) {
        const bootstrap = !moved.has(partition) && replicas.includes(brokerId);
        assigned.push({ topic: topic.name, topicId: topic.topicId, partition, replicas, bootstrap });
      }
    }
  }
  return assigned.sort(compareReplicas);
}

/** How to go from the hosted replicas to the desired ones; each list is ordered by topic and partition. */
export function diffReplicas(
  desired: readonly ReplicaAssignment[],
  hosted: readonly ReplicaAssignment[],
): ReplicaDiff {
  const hostedByKey = new Map(hosted.map((replica) => [replicaKey(replica), replica]));
  const desiredKeys = new Set(desired.map(replicaKey));
  const toStart: ReplicaAssignment[] = [];
  const changed: ReplicaChange[] = [];
  const unchanged: ReplicaAssignment[] = [];
  for (const replica of desired) {
    const current = hostedByKey.get(replicaKey(replica));
    if (current === undefined) {
      toStart.push(replica);
    } else if (sameReplicaSet(current.replicas, replica.replicas)) {
      unchanged.push(replica);
    } else {
      changed.push({ hosted: current, desired: replica });
    }
  }
  const toStop = hosted.filter((replica) => !desiredKeys.has(replicaKey(replica)));
  return {
    toStart: toStart.sort(compareReplicas),
    toStop: toStop.sort(compareReplicas),
    changed: changed.sort((left, right) => compareReplicas(left.desired, right.desired)),
    unchanged: unchanged.sort(compareReplicas),
  };
}

/** replicasForBroker then diffReplicas: what brokerId must start and stop to match view. */
export function reconcile(
  view: Pick<MetadataView, 'topics'>,
  brokerId: number,
  hosted: readonly ReplicaAssignment[],
): ReplicaDiff {
  return diffReplicas(replicasForBroker(view, brokerId), hosted);
}

/** True when the diff asks for no work. */
export function isEmptyDiff(diff: ReplicaDiff): boolean {
  return diff.toStart.length === 0 && diff.toStop.length === 0 && diff.changed.length === 0;
}

function replicaKey(replica: ReplicaAssignment): string {
  return `${replica.topicId}:${replica.partition}`;
}

/** Order matters: the first replica is the preferred leader. */
function sameReplicaSet(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, index) => id === right[index]);
}

function compareReplicas(left: ReplicaAssignment, right: ReplicaAssignment): number {
  if (left.topic !== right.topic) {
    return left.topic < right.topic ? -1 : 1;
  }
  return left.topicId - right.topicId || left.partition - right.partition;
}
