/**
 * Broker decommission checks (`tributary cluster decommission`), shared by the state machine's
 * apply and the broker handler that validates before proposing, so both refuse the same requests
 * with the same typed errors.
 *
 * Decommission has two steps. DecommissionBroker marks the broker so placement leaves it out;
 * the CLI then moves every replica away with ordinary reassignments. UnregisterBroker removes the
 * emptied broker's registration. Pure functions of the metadata: fencing is in the metadata, so
 * apply stays deterministic. Whether the broker is a controller voter lives in the Raft conf
 * state, not in the metadata, so the handler checks that one (voterProblem) before proposing.
 */
import type { BrokerInfo, TopicInfo } from './metadata_snapshot.js';
import type { MetadataRejectionCode } from './metadata_state_machine.js';

export interface DecommissionProblem {
  readonly code: MetadataRejectionCode;
  readonly message: string;
}

interface DecommissionView {
  broker(brokerId: number): BrokerInfo | undefined;
  brokers(): readonly BrokerInfo[];
  topics(): readonly TopicInfo[];
}

/** A partition, named for messages. */
export interface PartitionRef { readonly topic: string; readonly partition: number }

/** At most this many partitions are named in one error message. */
const NAMED_PARTITIONS_MAX = 5;

/** The partitions with a replica on brokerId, in topic then partition order. */
export function partitionsOn(view: Pick<DecommissionView, 'topics'>, brokerId: number): PartitionRef[] {
  const found: PartitionRef[] = [];
  for (const topic of view.topics()) {
    for (const [partition, replicas] of topic.partitions.entries()) {
      if (replicas.includes(brokerId)) found.push({ topic: topic.name, partition });
    }
  }
  return found;
}

/** The partitions whose move under way has brokerId in its target. */
export function movesTo(view: Pick<DecommissionView, 'topics'>, brokerId: number): PartitionRef[] {
  return view.topics().flatMap((topic) => (topic.reassignments ?? [])
    .filter((move) => move.target.includes(brokerId))
    .map((move) => ({ topic: topic.name, partition: move.partition })));
}

/** Brokers that may take replicas: registered, live (unfenced) and not decommissioning. */
export function placeableBrokerIds(view: Pick<DecommissionView, 'brokers'>): number[] {
  return view.brokers().filter((broker) => !broker.fenced && !broker.decommissioning).map((broker) => broker.brokerId);
}

/**
 * Why brokerId cannot start decommissioning, or null when it can (also when it is decommissioning
 * already: a repeated request changes nothing). Refused: an unregistered broker; a partition on it
 * with more replicas than the live non-decommissioning brokers left to hold them; a fenced broker
 * holding a partition's only replica, which no move can copy.
 */
export function decommissionProblem(view: DecommissionView, brokerId: number): DecommissionProblem | null {
  const broker = view.broker(brokerId);
  if (broker === undefined) {
    return { code: 'BROKER_ID_NOT_REGISTERED', message: `broker ${brokerId} is not registered` };
  }
  if (broker.decommissioning) return null;
  const remaining = placeableBrokerIds(view).filter((id) => id !== brokerId);
  const crowded: string[] = [];
  const onlyCopies: string[] = [];
  for (const topic of view.topics()) {
    for (const [partition, replicas] of topic.partitions.entries()) {
      if (!replicas.includes(brokerId)) continue;
      if (replicas.length > remaining.length) crowded.push(`${topic.name}-${partition} (${replicas.length} replicas)`);
      if (broker.fenced && replicas.length === 1) onlyCopies.push(`${topic.name}-${partition}`);
    }
  }
  if (onlyCopies.length > 0) {
    return { code: 'INVALID_REPLICA_ASSIGNMENT', message: `broker ${brokerId} is down (fenced) and holds the only ` +
      `replica of ${namedList(onlyCopies)}: there is no copy to move; start it again, or delete those topics first` };
  }
  if (crowded.length > 0) {
    return { code: 'INVALID_REPLICATION_FACTOR', message: `only ${remaining.length} live brokers besides ${brokerId} ` +
      `(${remaining.join(',') || 'none'}) would be left for ${namedList(crowded)}; add a broker first` };
  }
  return null;
}

/**
 * Why brokerId cannot be unregistered, or null when it can. Only a decommissioning broker that
 * holds no replica and is no move's target goes (replicas must always name registered brokers).
 * `decommissioned` says whether the broker was unregistered already, which the caller treats as
 * done rather than as an unknown broker.
 */
export function unregisterProblem(view: DecommissionView, brokerId: number, decommissioned: boolean):
  DecommissionProblem | null {
  const broker = view.broker(brokerId);
  if (broker === undefined) {
    return decommissioned ? null : { code: 'BROKER_ID_NOT_REGISTERED', message: `broker ${brokerId} is not registered` };
  }
  if (!broker.decommissioning) {
    return { code: 'INVALID_REQUEST', message: `broker ${brokerId} is not being decommissioned; ` +
      `run \`tributary cluster decommission --id ${brokerId}\`` };
  }
  const targets = movesTo(view, brokerId);
  if (targets.length > 0) {
    return { code: 'REASSIGNMENT_IN_PROGRESS', message: `broker ${brokerId} is the target of moves under way: ` +
      namedList(targets.map(refName)) };
  }
  const held = partitionsOn(view, brokerId);
  if (held.length > 0) {
    return { code: 'INVALID_REQUEST', message: `broker ${brokerId} still holds ${held.length} replicas: ` +
      namedList(held.map(refName)) };
  }
  return null;
}

/** Why brokerId cannot be decommissioned as a controller voter, or null when it is none. */
export function voterProblem(voterIds: readonly number[], brokerId: number): DecommissionProblem | null {
  return voterIds.includes(brokerId) ? { code: 'INVALID_REQUEST', message: `broker ${brokerId} is a controller ` +
    `voter; remove it from the controller quorum first with \`tributary cluster controllers remove --id ${brokerId}\`` }
    : null;
}

function refName(ref: PartitionRef): string {
  return `${ref.topic}-${ref.partition}`;
}

function namedList(names: readonly string[]): string {
  const shown = names.slice(0, NAMED_PARTITIONS_MAX).join(', ');
  return names.length > NAMED_PARTITIONS_MAX ? `${shown} and ${names.length - NAMED_PARTITIONS_MAX} more` : shown;
}
