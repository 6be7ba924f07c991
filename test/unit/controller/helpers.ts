/**
 * Builders for controller tests: brokers, topics placed the way the leader places them, and a
 * seeded stream of commands that mixes valid proposals with races (duplicates, stale incarnations,
 * unknown topics) so replay covers rejections too.
 */
import type { Prng } from '../../../raft/core/prng.js';
import type {
  CreatePartitionsCommand, MetadataCommand, RegisterBrokerCommand,
} from '../../../src/controller/commands.js';
import { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { assignReplicas } from '../../../src/controller/placement.js';
import { rawAcl } from '../../../src/security/acl.js';
import type { RawAcl } from '../../../src/security/acl.js';

export function registerBroker(brokerId: number, incarnation = 1): RegisterBrokerCommand {
  return {
    type: 'registerBroker',
    brokerId,
    host: '127.0.0.1',
    port: 9090 + brokerId,
    raftHost: '127.0.0.1',
    raftPort: 19090 + brokerId,
    incarnation,
  };
}

/** A CreateTopic command placed on the machine's live brokers, as the leader would propose it. */
export function createTopic(
  machine: MetadataStateMachine,
  name: string,
  partitionCount: number,
  replicationFactor: number,
  configs: Readonly<Record<string, string>> = {},
): MetadataCommand {
  const placement = assignReplicas({
    brokerIds: machine.liveBrokerIds(),
    partitionCount,
    replicationFactor,
    startIndex: machine.topics().length,
  });
  if (!placement.ok) {
    throw new Error(placement.message);
  }
  return { type: 'createTopic', name, partitionCount, replicationFactor, configs, assignments: placement.assignments };
}

/**
 * A CreatePartitions command growing topic name to partitionCount, its new partitions placed on the
 * live brokers by their load, as the leader would propose it. The topic must exist.
 */
export function createPartitions(machine: MetadataStateMachine, name: string, partitionCount: number):
  CreatePartitionsCommand {
  const topic = machine.topic(name);
  if (topic === undefined) {
    throw new Error(`no topic ${name}`);
  }
  const placement = assignReplicas({
    brokerIds: machine.liveBrokerIds(),
    partitionCount: partitionCount - topic.partitions.length,
    replicationFactor: topic.replicationFactor,
    startIndex: 0,
    brokerLoad: machine.brokerLoad(),
  });
  if (!placement.ok) {
    throw new Error(placement.message);
  }
  return { type: 'createPartitions', name, topicId: topic.topicId, partitionCount, assignments: placement.assignments };
}

/** A machine with brokers 1..brokerCount registered at indices 1..brokerCount. */
export function machineWithBrokers(brokerCount: number): MetadataStateMachine {
  const machine = new MetadataStateMachine();
  for (let brokerId = 1; brokerId <= brokerCount; brokerId++) {
    const result = machine.apply(registerBroker(brokerId), brokerId);
    if (!result.ok) {
      throw new Error(result.message);
    }
  }
  return machine;
}

/**
 * The next command a leader might propose given the state of machine (which the caller keeps
 * applying), drawn from prng. About a quarter of them are rejected when applied.
 */
export function randomCommand(prng: Prng, machine: MetadataStateMachine): MetadataCommand {
  const brokerId = 1 + prng.nextInt(6);
  const broker = machine.broker(brokerId);
  const topicName = `topic-${prng.nextInt(8)}`;
  switch (prng.nextInt(16)) {
    case 0:
      return registerBroker(brokerId, Math.max(0, (broker?.incarnation ?? 0) + prng.nextInt(3) - 1));
    case 1:
      return { type: 'fenceBroker', brokerId, incarnation: broker?.incarnation ?? 7 };
    case 2:
      return { type: 'unfenceBroker', brokerId, incarnation: broker?.incarnation ?? 7 };
    case 3:
    case 4: {
      const live = machine.liveBrokerIds().length;
      if (live === 0) {
        return registerBroker(brokerId, (broker?.incarnation ?? 0) + 1);
      }
      return createTopic(machine, topicName, 1 + prng.nextInt(6), 1 + prng.nextInt(live), randomConfigs(prng));
    }
    case 5:
      return { type: 'deleteTopic', name: topicName };
    case 7: {
      // Grows the topic when it can be placed; otherwise a stale command from a lost race (rejected).
      const topic = machine.topic(topicName);
      const grown = (topic?.partitions.length ?? 0) + 1 + prng.nextInt(3);
      if (topic !== undefined && topic.replicationFactor <= machine.liveBrokerIds().length && prng.nextInt(4) > 0) {
        return createPartitions(machine, topicName, grown);
      }
      return { type: 'createPartitions', name: topicName, topicId: topic?.topicId ?? 1, partitionCount: grown,
        assignments: [[brokerId]] };
    }
    case 6:
      return { type: 'alterConfigs', name: topicName, set: randomConfigs(prng), remove: prng.nextInt(2) === 0 ? [] :
        ['segment.ms'] };
    case 9:
      return randomReassignment(prng, machine, topicName);
    case 10:
      return randomReport(prng, machine, topicName);
    case 11:
      return { type: 'decommissionBroker', brokerId };
    case 12:
      return { type: 'unregisterBroker', brokerId };
    case 13:
      return { type: 'createAcls', bindings: [randomAcl(prng), randomAcl(prng)] };
    case 14:
      return { type: 'deleteAcls', filters: [{ ...rawAcl({}), principal: `User:u${prng.nextInt(3)}` }] };
    case 15: {
      // Sometimes invalid (a zero rate): refused whole, changing nothing.
      const principal = prng.nextInt(4) === 0 ? 'User:*' : `User:u${prng.nextInt(3)}`;
      const key = prng.nextInt(2) === 0 ? 'producer_byte_rate' : 'consumer_byte_rate';
      const remove = prng.nextInt(3) === 0;
      return { type: 'alterClientQuotas', alterations: [{ principal,
        ops: [{ key, value: remove ? 0 : prng.nextInt(5) * 1_000_000, remove }] }] };
    }
    default:
      return {
        type: 'allocateProducerIds',
        brokerId,
        blockStart: Math.max(0, machine.nextProducerId() - 1000 * prng.nextInt(2)),
        blockSize: 1000,
      };
  }
}

/** A topic or group binding of one of three users; a CLUSTER READ (invalid: the command is rejected) now and then. */
function randomAcl(prng: Prng): RawAcl {
  const operations = ['READ', 'WRITE', 'DESCRIBE', 'ALL'] as const;
  const type = prng.nextInt(8) === 0 ? 'CLUSTER' : prng.nextInt(2) === 0 ? 'TOPIC' : 'GROUP';
  return rawAcl({ principal: `User:u${prng.nextInt(3)}`, host: '*', permission: prng.nextInt(4) === 0 ? 'DENY' : 'ALLOW',
    operation: type === 'GROUP' ? 'READ' : operations[prng.nextInt(operations.length)] ?? 'READ', resourceType: type,
    patternType: type === 'CLUSTER' || prng.nextInt(2) === 0 ? 'LITERAL' : 'PREFIXED',
    resourceName: type === 'CLUSTER' ? 'kafka-cluster' : `topic-${prng.nextInt(4)}` });
}

function randomConfigs(prng: Prng): Record<string, string> {
  switch (prng.nextInt(4)) {
    case 0:
      return {};
    case 1:
      return { 'retention.ms': String(prng.nextInt(100_000) - 1) };
    case 2:
      return { 'segment.bytes': String(1024 * (1 + prng.nextInt(1000))), 'retention.bytes': '-1' };
    default:
      return { 'segment.bytes': '1' };
  }
}

/** A move of a random partition to a random target of 1 to 3 registered brokers (some are rejected). */
function randomReassignment(prng: Prng, machine: MetadataStateMachine, topicName: string): MetadataCommand {
  const topic = machine.topic(topicName);
  const brokers = machine.brokers().map((broker) => broker.brokerId);
  const target: number[] = [];
  for (let count = 1 + prng.nextInt(3); count > 0 && brokers.length > 0; count--) {
    const [picked] = brokers.splice(prng.nextInt(brokers.length), 1);
    if (picked !== undefined) target.push(picked);
  }
  return { type: 'alterPartitionReassignment', name: topicName, topicId: topic?.topicId ?? 1,
    partition: prng.nextInt(Math.max(1, topic?.partitions.length ?? 1) + 1), target, throttleBytesPerSec: 0 };
}

/**
 * A leader's report on a move under way, stepping the voters one change towards the target (or a
 * stale report): the way a partition leader reports its applied membership.
 */
function randomReport(prng: Prng, machine: MetadataStateMachine, topicName: string): MetadataCommand {
  const topic = machine.topic(topicName);
  const move = topic?.reassignments?.[prng.nextInt(Math.max(1, topic.reassignments.length))];
  if (topic === undefined || move === undefined) {
    return { type: 'reportPartitionReplicas', name: topicName, topicId: 1, partition: 0, reassignmentId: 1,
      confIndex: 1, voters: [1], learners: [] };
  }
  const voters = [...topic.partitions[move.partition] ?? []];
  const learners = [...move.learners];
  const adding = move.target.find((id) => !voters.includes(id) && !learners.includes(id));
  const promoting = learners[0];
  const removing = voters.find((id) => !move.target.includes(id));
  if (adding !== undefined) learners.push(adding);
  else if (promoting !== undefined) voters.push(...learners.splice(0, 1));
  else if (removing !== undefined) voters.splice(voters.indexOf(removing), 1);
  return { type: 'reportPartitionReplicas', name: topicName, topicId: topic.topicId, partition: move.partition,
    reassignmentId: move.reassignmentId, confIndex: move.confIndex + prng.nextInt(3), voters, learners };
}
