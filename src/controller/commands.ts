/**
 * The controller log's commands as TypeScript values, and their protobuf encoding
 * (MetadataCommand of src/protocol/proto/metadata.proto).
 *
 * A command's `type` is the name of its oneof field, so the TypeScript union and the wire format
 * cannot drift apart. Encoding asserts what the leader must already have checked (integer ranges);
 * decoding treats the bytes as untrusted and throws MalformedMetadataError. Whether a well-formed
 * command makes sense against the current state is the state machine's business, not the codec's.
 */
import { assertNever } from '../../raft/core/assert.js';
import {
  checkUint32,
  checkUint64,
  decodeMessage,
  encodeMessage,
  MalformedMetadataError,
  readAssignments,
  readBool,
  readMessage,
  readMessageList,
  readString,
  readStringList,
  readStringMap,
  readUint32,
  readUint32List,
  readUint64,
  sortedStringMap,
} from './metadata_codec.js';
import type { DecodedFields } from './metadata_codec.js';
import type { RawAcl } from '../security/acl.js';
import type { QuotaAlteration } from '../quota/client_quotas.js';

export interface RegisterBrokerCommand {
  readonly type: 'registerBroker';
  readonly brokerId: number;
  /** Client listener. */
  readonly host: string;
  readonly port: number;
  /** Raft listener. */
  readonly raftHost: string;
  readonly raftPort: number;
  /** Grows with every start of the broker process; a smaller one is a stale registration. */
  readonly incarnation: number;
  /** Kafka wire-protocol listener (src/kafka/), advertised; absent when the broker runs none. */
  readonly kafkaHost?: string;
  readonly kafkaPort?: number;
}

export interface FenceBrokerCommand {
  readonly type: 'fenceBroker';
  readonly brokerId: number;
  readonly incarnation: number;
}

export interface UnfenceBrokerCommand {
  readonly type: 'unfenceBroker';
  readonly brokerId: number;
  readonly incarnation: number;
}

export interface CreateTopicCommand {
  readonly type: 'createTopic';
  readonly name: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
  /** assignments[p] lists partition p's replicas, preferred leader first. */
  readonly assignments: readonly (readonly number[])[];
  /** A topic of Tributary's own (`__consumer_offsets`), sent by brokers only; absent means false. */
  readonly internal?: boolean;
}

export interface DeleteTopicCommand {
  readonly type: 'deleteTopic';
  readonly name: string;
}

export interface AlterConfigsCommand {
  readonly type: 'alterConfigs';
  readonly name: string;
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

export interface AllocateProducerIdsCommand {
  readonly type: 'allocateProducerIds';
  readonly brokerId: number;
  /** The next free producer id as the leader saw it. */
  readonly blockStart: number;
  readonly blockSize: number;
}

/** New partitions for topic `name` (id `topicId`): it goes from assignments' start to partitionCount. */
export interface CreatePartitionsCommand {
  readonly type: 'createPartitions';
  readonly name: string;
  readonly topicId: number;
  /** The new total; the topic must have exactly partitionCount - assignments.length partitions now. */
  readonly partitionCount: number;
  /** The replicas of each new partition in order, preferred leader first. */
  readonly assignments: readonly (readonly number[])[];
}

/** Start moving a partition to target replicas; its Raft leader carries the move out. */
export interface AlterPartitionReassignmentCommand {
  readonly type: 'alterPartitionReassignment';
  readonly name: string;
  readonly topicId: number;
  readonly partition: number;
  /** The replicas the partition should end with, preferred leader first. */
  readonly target: readonly number[];
  /** Catch-up bytes per second to each learner of this move; 0: the brokers' own limit. */
  readonly throttleBytesPerSec: number;
}

/** A partition leader's applied Raft membership during a move (see metadata.proto). */
export interface ReportPartitionReplicasCommand {
  readonly type: 'reportPartitionReplicas';
  readonly name: string;
  readonly topicId: number;
  readonly partition: number;
  readonly reassignmentId: number;
  readonly confIndex: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

/** Start decommissioning a broker: no new replicas go to it (see decommission.ts for the checks). */
export interface DecommissionBrokerCommand {
  readonly type: 'decommissionBroker';
  readonly brokerId: number;
}

/** Remove an emptied decommissioning broker's registration and record it as decommissioned. */
export interface UnregisterBrokerCommand {
  readonly type: 'unregisterBroker';
  readonly brokerId: number;
}

/**
 * Add ACL bindings (CreateAcls). The bindings travel as strings and are checked on apply
 * (security/acl.ts checkAclBinding): the codec only reads the shape.
 */
export interface CreateAclsCommand {
  readonly type: 'createAcls';
  readonly bindings: readonly RawAcl[];
}

/** Remove every binding any filter matches (DeleteAcls); a filter's '' fields match anything. */
export interface DeleteAclsCommand {
  readonly type: 'deleteAcls';
  readonly filters: readonly RawAcl[];
}

/**
 * Alter client quotas (AlterClientQuotas): set or remove one rate per op. Checked on apply
 * (quota/client_quotas.ts quotaAlterationProblem): the codec only reads the shape.
 */
export interface AlterClientQuotasCommand {
  readonly type: 'alterClientQuotas';
  readonly alterations: readonly QuotaAlteration[];
}

export type MetadataCommand =
  | RegisterBrokerCommand
  | FenceBrokerCommand
  | UnfenceBrokerCommand
  | CreateTopicCommand
  | DeleteTopicCommand
  | AlterConfigsCommand
  | AllocateProducerIdsCommand
  | CreatePartitionsCommand
  | AlterPartitionReassignmentCommand
  | ReportPartitionReplicasCommand
  | DecommissionBrokerCommand
  | UnregisterBrokerCommand
  | CreateAclsCommand
  | DeleteAclsCommand
  | AlterClientQuotasCommand;

export type MetadataCommandType = MetadataCommand['type'];

export const METADATA_COMMAND_TYPES = [
  'registerBroker',
  'fenceBroker',
  'unfenceBroker',
  'createTopic',
  'deleteTopic',
  'alterConfigs',
  'allocateProducerIds',
  'createPartitions',
  'alterPartitionReassignment',
  'reportPartitionReplicas',
  'decommissionBroker',
  'unregisterBroker',
  'createAcls',
  'deleteAcls',
  'alterClientQuotas',
] as const satisfies readonly MetadataCommandType[];

/** The MetadataCommand protobuf bytes of command. */
export function encodeCommand(command: MetadataCommand): Uint8Array {
  return encodeMessage('MetadataCommand', { [command.type]: commandBody(command) });
}

/** The command in bytes; throws MalformedMetadataError when they are not a MetadataCommand. */
export function decodeCommand(bytes: Uint8Array): MetadataCommand {
  const envelope = decodeMessage('MetadataCommand', bytes);
  const type = envelope['command'];
  if (typeof type !== 'string' || !isCommandType(type)) {
    throw new MalformedMetadataError('MetadataCommand names no known command');
  }
  return commandFromFields(type, readMessage(envelope, type));
}

function isCommandType(type: string): type is MetadataCommandType {
  return (METADATA_COMMAND_TYPES as readonly string[]).includes(type);
}

function commandBody(command: MetadataCommand): Record<string, unknown> {
  switch (command.type) {
    case 'registerBroker':
      return {
        brokerId: checkUint32(command.brokerId, 'brokerId'),
        host: command.host,
        port: checkUint32(command.port, 'port'),
        raftHost: command.raftHost,
        raftPort: checkUint32(command.raftPort, 'raftPort'),
        incarnation: checkUint64(command.incarnation, 'incarnation'),
        ...encodeKafkaEndpoint(command),
      };
    case 'fenceBroker':
    case 'unfenceBroker':
      return {
        brokerId: checkUint32(command.brokerId, 'brokerId'),
        incarnation: checkUint64(command.incarnation, 'incarnation'),
      };
    case 'createTopic':
      return {
        name: command.name,
        partitionCount: checkUint32(command.partitionCount, 'partitionCount'),
        replicationFactor: checkUint32(command.replicationFactor, 'replicationFactor'),
        configs: { ...sortedStringMap(Object.entries(command.configs)) },
        assignments: encodeAssignments(command.assignments),
        internal: command.internal === true,
      };
    case 'deleteTopic':
      return { name: command.name };
    case 'alterConfigs':
      return {
        name: command.name,
        set: { ...sortedStringMap(Object.entries(command.set)) },
        remove: [...command.remove],
      };
    case 'allocateProducerIds':
      return {
        brokerId: checkUint32(command.brokerId, 'brokerId'),
        blockStart: checkUint64(command.blockStart, 'blockStart'),
        blockSize: checkUint32(command.blockSize, 'blockSize'),
      };
    case 'createPartitions':
      return {
        name: command.name,
        topicId: checkUint64(command.topicId, 'topicId'),
        partitionCount: checkUint32(command.partitionCount, 'partitionCount'),
        assignments: encodeAssignments(command.assignments),
      };
    case 'alterPartitionReassignment':
      return {
        name: command.name,
        topicId: checkUint64(command.topicId, 'topicId'),
        partition: checkUint32(command.partition, 'partition'),
        target: encodeBrokerIds(command.target),
        throttleBytesPerSec: checkUint64(command.throttleBytesPerSec, 'throttleBytesPerSec'),
      };
    case 'reportPartitionReplicas':
      return {
        name: command.name,
        topicId: checkUint64(command.topicId, 'topicId'),
        partition: checkUint32(command.partition, 'partition'),
        reassignmentId: checkUint64(command.reassignmentId, 'reassignmentId'),
        confIndex: checkUint64(command.confIndex, 'confIndex'),
        voters: encodeBrokerIds(command.voters),
        learners: encodeBrokerIds(command.learners),
      };
    case 'decommissionBroker':
    case 'unregisterBroker':
      return { brokerId: checkUint32(command.brokerId, 'brokerId') };
    case 'createAcls':
      return { bindings: command.bindings.map((binding) => ({ ...binding })) };
    case 'deleteAcls':
      return { filters: command.filters.map((filter) => ({ ...filter })) };
    case 'alterClientQuotas':
      return { alterations: command.alterations.map((alteration) => ({ principal: alteration.principal,
        ops: alteration.ops.map((op) => ({ key: op.key, value: checkUint64(op.remove ? 0 : op.value, 'value'),
          remove: op.remove })) })) };
    default:
      return assertNever(command, 'metadata command');
  }
}

/** The optional Kafka listener fields of a registration or broker record; nothing when absent. */
export function encodeKafkaEndpoint(endpoint: { readonly kafkaHost?: string; readonly kafkaPort?: number }):
  Record<string, unknown> {
  if (endpoint.kafkaHost === undefined) return {};
  return { kafkaHost: endpoint.kafkaHost, kafkaPort: checkUint32(endpoint.kafkaPort ?? 0, 'kafkaPort') };
}

/** Reads the optional Kafka listener fields: an empty host (proto3's default) means none. */
export function readKafkaEndpoint(fields: DecodedFields): { kafkaHost?: string; kafkaPort?: number } {
  const kafkaHost = readString(fields, 'kafkaHost');
  return kafkaHost === '' ? {} : { kafkaHost, kafkaPort: readUint32(fields, 'kafkaPort') };
}

/** An AclBindingRecord's strings, unchecked (the state machine checks them). */
export function readRawAcl(fields: DecodedFields): RawAcl {
  return {
    principal: readString(fields, 'principal'),
    host: readString(fields, 'host'),
    operation: readString(fields, 'operation'),
    permission: readString(fields, 'permission'),
    resourceType: readString(fields, 'resourceType'),
    patternType: readString(fields, 'patternType'),
    resourceName: readString(fields, 'resourceName'),
  };
}

/** A list of broker ids as repeated uint32. */
export function encodeBrokerIds(ids: readonly number[]): number[] {
  return ids.map((id) => checkUint32(id, 'broker id'));
}

/** PartitionAssignment messages for replica lists. */
export function encodeAssignments(assignments: readonly (readonly number[])[]): Record<string, unknown>[] {
  return assignments.map((replicas) => ({ replicas: replicas.map((id) => checkUint32(id, 'replica broker id')) }));
}

function commandFromFields(type: MetadataCommandType, fields: DecodedFields): MetadataCommand {
  switch (type) {
    case 'registerBroker':
      return {
        type,
        brokerId: readUint32(fields, 'brokerId'),
        host: readString(fields, 'host'),
        port: readUint32(fields, 'port'),
        raftHost: readString(fields, 'raftHost'),
        raftPort: readUint32(fields, 'raftPort'),
        incarnation: readUint64(fields, 'incarnation'),
        ...readKafkaEndpoint(fields),
      };
    case 'fenceBroker':
    case 'unfenceBroker':
      return { type, brokerId: readUint32(fields, 'brokerId'), incarnation: readUint64(fields, 'incarnation') };
    case 'createTopic':
      return {
        type,
        name: readString(fields, 'name'),
        partitionCount: readUint32(fields, 'partitionCount'),
        replicationFactor: readUint32(fields, 'replicationFactor'),
        configs: readStringMap(fields, 'configs'),
        assignments: readAssignments(fields, 'assignments'),
        // Absent unless set, so commands without the flag decode as they were written.
        ...(readBool(fields, 'internal') ? { internal: true } : {}),
      };
    case 'deleteTopic':
      return { type, name: readString(fields, 'name') };
    case 'alterConfigs':
      return {
        type,
        name: readString(fields, 'name'),
        set: readStringMap(fields, 'set'),
        remove: readStringList(fields, 'remove'),
      };
    case 'allocateProducerIds':
      return {
        type,
        brokerId: readUint32(fields, 'brokerId'),
        blockStart: readUint64(fields, 'blockStart'),
        blockSize: readUint32(fields, 'blockSize'),
      };
    case 'createPartitions':
      return {
        type,
        name: readString(fields, 'name'),
        topicId: readUint64(fields, 'topicId'),
        partitionCount: readUint32(fields, 'partitionCount'),
        assignments: readAssignments(fields, 'assignments'),
      };
    case 'alterPartitionReassignment':
      return {
        type,
        name: readString(fields, 'name'),
        topicId: readUint64(fields, 'topicId'),
        partition: readUint32(fields, 'partition'),
        target: readUint32List(fields, 'target'),
        throttleBytesPerSec: readUint64(fields, 'throttleBytesPerSec'),
      };
    case 'reportPartitionReplicas':
      return {
        type,
        name: readString(fields, 'name'),
        topicId: readUint64(fields, 'topicId'),
        partition: readUint32(fields, 'partition'),
        reassignmentId: readUint64(fields, 'reassignmentId'),
        confIndex: readUint64(fields, 'confIndex'),
        voters: readUint32List(fields, 'voters'),
        learners: readUint32List(fields, 'learners'),
      };
    case 'decommissionBroker':
    case 'unregisterBroker':
      return { type, brokerId: readUint32(fields, 'brokerId') };
    case 'createAcls':
      return { type, bindings: readMessageList(fields, 'bindings').map(readRawAcl) };
    case 'deleteAcls':
      return { type, filters: readMessageList(fields, 'filters').map(readRawAcl) };
    case 'alterClientQuotas':
      return { type, alterations: readMessageList(fields, 'alterations').map((alteration) => ({
        principal: readString(alteration, 'principal'),
        ops: readMessageList(alteration, 'ops').map((op) => ({ key: readString(op, 'key'),
          value: readUint64(op, 'value'), remove: readBool(op, 'remove') })) })) };
    default:
      return assertNever(type, 'metadata command type');
  }
}
