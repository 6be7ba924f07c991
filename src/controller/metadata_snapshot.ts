/**
 * The controller state as values (BrokerInfo, TopicInfo) and its MetadataSnapshot encoding.
 *
 * Encoding sorts brokers by id, topics by name and config entries by key, so two machines in the
 * same state produce the same bytes. Decoding checks field types and ranges only; the state
 * machine checks the cross-record invariants when it restores.
 */
import {
  checkUint32,
  checkUint64,
  decodeMessage,
  encodeMessage,
  readAssignments,
  readBool,
  readMessageList,
  readString,
  readStringMap,
  readUint32,
  readUint32List,
  readUint64,
  sortedStringMap,
} from './metadata_codec.js';
import { encodeAssignments, encodeBrokerIds, encodeKafkaEndpoint, readKafkaEndpoint } from './commands.js';
import type { DecodedFields } from './metadata_codec.js';
import { readRawAcl } from './commands.js';
import type { RawAcl } from '../security/acl.js';
import type { QuotaEntry } from '../quota/client_quotas.js';

export interface BrokerInfo {
  readonly brokerId: number;
  readonly host: string;
  readonly port: number;
  readonly raftHost: string;
  readonly raftPort: number;
  readonly incarnation: number;
  /** Raft index of the registration of this incarnation (Kafka's broker epoch). */
  readonly epoch: number;
  /** True once the broker missed heartbeats for the session timeout; false while it is live. */
  readonly fenced: boolean;
  /** DecommissionBroker applied: placement puts no new replica here; false in older snapshots. */
  readonly decommissioning: boolean;
  /** Kafka wire-protocol listener, advertised (src/kafka/); absent when the broker runs none. */
  readonly kafkaHost?: string;
  readonly kafkaPort?: number;
}

/** A broker removed by UnregisterBroker (see metadata.proto DecommissionedBrokerRecord). */
export interface DecommissionedBroker {
  readonly brokerId: number;
  /** The incarnation registered when it was removed: that process must not register again. */
  readonly incarnation: number;
  /** Raft index of the UnregisterBroker entry. */
  readonly index: number;
}

export interface TopicInfo {
  readonly name: string;
  /** Raft index of the CreateTopic entry; a topic re-created under the same name gets a new id. */
  readonly topicId: number;
  readonly replicationFactor: number;
  /** The overrides set on the topic, keys sorted; other keys take their defaults. */
  readonly configs: Readonly<Record<string, string>>;
  /** partitions[p] lists partition p's replicas, preferred leader first. */
  readonly partitions: readonly (readonly number[])[];
  /** Created by a broker for Tributary's own use (`__consumer_offsets`); false in older snapshots. */
  readonly internal: boolean;
  /** Partitions whose replicas were ever reassigned, ascending (absent: none). */
  readonly movedPartitions?: readonly number[];
  /** Moves under way, by ascending partition (absent: none). */
  readonly reassignments?: readonly PartitionReassignment[];
}

/** A partition's move under way (AlterPartitionReassignment), as the leader's last report left it. */
export interface PartitionReassignment {
  readonly partition: number;
  /** The replicas the partition ends with, preferred leader first. */
  readonly target: readonly number[];
  /** Raft index of the command that started the move. */
  readonly reassignmentId: number;
  /** The partition group's applied index at the last accepted report; 0 before any. */
  readonly confIndex: number;
  /** Learners of the partition's group at the last report. */
  readonly learners: readonly number[];
  /** Catch-up bytes per second to each learner; 0: the brokers' own limit. */
  readonly throttleBytesPerSec: number;
}

/** The producer ids [blockStart, blockStart + blockSize) granted to a broker by AllocateProducerIds. */
export interface ProducerIdBlock {
  readonly brokerId: number;
  readonly blockStart: number;
  readonly blockSize: number;
}

export interface MetadataSnapshotData {
  readonly lastAppliedIndex: number;
  readonly nextProducerId: number;
  readonly brokers: readonly BrokerInfo[];
  readonly topics: readonly TopicInfo[];
  /** Each broker's last granted block, one per broker at most. */
  readonly producerIdBlocks: readonly ProducerIdBlock[];
  /** Brokers removed by UnregisterBroker and not registered again since; none in older snapshots. */
  readonly decommissionedBrokers: readonly DecommissionedBroker[];
  /** ACL bindings, checked and ordered by the state machine; none in older snapshots. */
  readonly acls: readonly RawAcl[];
  /** Client quota entries, sorted by principal (checked on restore); none in older snapshots. */
  readonly clientQuotas: readonly QuotaEntry[];
}

export function encodeSnapshot(data: MetadataSnapshotData): Uint8Array {
  const brokers = [...data.brokers].sort((left, right) => left.brokerId - right.brokerId);
  const topics = [...data.topics].sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
  const blocks = [...data.producerIdBlocks].sort((left, right) => left.brokerId - right.brokerId);
  const decommissioned = [...data.decommissionedBrokers].sort((left, right) => left.brokerId - right.brokerId);
  return encodeMessage('MetadataSnapshot', {
    lastAppliedIndex: checkUint64(data.lastAppliedIndex, 'lastAppliedIndex'),
    nextProducerId: checkUint64(data.nextProducerId, 'nextProducerId'),
    brokers: brokers.map((broker) => ({
      brokerId: checkUint32(broker.brokerId, 'brokerId'),
      host: broker.host,
      port: checkUint32(broker.port, 'port'),
      raftHost: broker.raftHost,
      raftPort: checkUint32(broker.raftPort, 'raftPort'),
      incarnation: checkUint64(broker.incarnation, 'incarnation'),
      fenced: broker.fenced,
      epoch: checkUint64(broker.epoch, 'epoch'),
      decommissioning: broker.decommissioning,
      ...encodeKafkaEndpoint(broker),
    })),
    topics: topics.map((topic) => ({
      name: topic.name,
      topicId: checkUint64(topic.topicId, 'topicId'),
      replicationFactor: checkUint32(topic.replicationFactor, 'replicationFactor'),
      configs: { ...sortedStringMap(Object.entries(topic.configs)) },
      partitions: encodeAssignments(topic.partitions),
      internal: topic.internal,
      movedPartitions: encodeBrokerIds(topic.movedPartitions ?? []),
      reassignments: (topic.reassignments ?? []).map((move) => ({
        partition: checkUint32(move.partition, 'partition'),
        target: encodeBrokerIds(move.target),
        reassignmentId: checkUint64(move.reassignmentId, 'reassignmentId'),
        confIndex: checkUint64(move.confIndex, 'confIndex'),
        learners: encodeBrokerIds(move.learners),
        throttleBytesPerSec: checkUint64(move.throttleBytesPerSec, 'throttleBytesPerSec'),
      })),
    })),
    producerIdBlocks: blocks.map((block) => ({
      brokerId: checkUint32(block.brokerId, 'brokerId'),
      blockStart: checkUint64(block.blockStart, 'blockStart'),
      blockSize: checkUint32(block.blockSize, 'blockSize'),
    })),
    decommissionedBrokers: decommissioned.map((gone) => ({
      brokerId: checkUint32(gone.brokerId, 'brokerId'),
      incarnation: checkUint64(gone.incarnation, 'incarnation'),
      index: checkUint64(gone.index, 'index'),
    })),
    // In the state machine's order already (compareBindings): equal states, equal bytes.
    acls: data.acls.map((binding) => ({ ...binding })),
    clientQuotas: data.clientQuotas.map((entry) => ({ principal: entry.principal,
      producerByteRate: checkUint64(entry.producerByteRate ?? 0, 'producerByteRate'),
      consumerByteRate: checkUint64(entry.consumerByteRate ?? 0, 'consumerByteRate') })),
  });
}

/** The snapshot in bytes; throws MalformedMetadataError when they are not a MetadataSnapshot. */
export function decodeSnapshot(bytes: Uint8Array): MetadataSnapshotData {
  const fields = decodeMessage('MetadataSnapshot', bytes);
  return {
    lastAppliedIndex: readUint64(fields, 'lastAppliedIndex'),
    nextProducerId: readUint64(fields, 'nextProducerId'),
    brokers: readMessageList(fields, 'brokers').map(brokerFromFields),
    topics: readMessageList(fields, 'topics').map(topicFromFields),
    producerIdBlocks: readMessageList(fields, 'producerIdBlocks').map((block) => ({
      brokerId: readUint32(block, 'brokerId'),
      blockStart: readUint64(block, 'blockStart'),
      blockSize: readUint32(block, 'blockSize'),
    })),
    decommissionedBrokers: readMessageList(fields, 'decommissionedBrokers').map((gone) => ({
      brokerId: readUint32(gone, 'brokerId'),
      incarnation: readUint64(gone, 'incarnation'),
      index: readUint64(gone, 'index'),
    })),
    acls: readMessageList(fields, 'acls').map(readRawAcl),
    clientQuotas: readMessageList(fields, 'clientQuotas').map(quotaEntryFromFields),
  };
}

/** 0 on the wire: no rate of its own. */
function quotaEntryFromFields(fields: DecodedFields): QuotaEntry {
  const producerByteRate = readUint64(fields, 'producerByteRate');
  const consumerByteRate = readUint64(fields, 'consumerByteRate');
  return { principal: readString(fields, 'principal'), ...(producerByteRate === 0 ? {} : { producerByteRate }),
    ...(consumerByteRate === 0 ? {} : { consumerByteRate }) };
}

function brokerFromFields(fields: DecodedFields): BrokerInfo {
  return {
    brokerId: readUint32(fields, 'brokerId'),
    host: readString(fields, 'host'),
    port: readUint32(fields, 'port'),
    raftHost: readString(fields, 'raftHost'),
    raftPort: readUint32(fields, 'raftPort'),
    incarnation: readUint64(fields, 'incarnation'),
    epoch: readUint64(fields, 'epoch'),
    fenced: readBool(fields, 'fenced'),
    decommissioning: readBool(fields, 'decommissioning'),
    ...readKafkaEndpoint(fields),
  };
}

function topicFromFields(fields: DecodedFields): TopicInfo {
  return {
    name: readString(fields, 'name'),
    topicId: readUint64(fields, 'topicId'),
    replicationFactor: readUint32(fields, 'replicationFactor'),
    configs: readStringMap(fields, 'configs'),
    partitions: readAssignments(fields, 'partitions'),
    internal: readBool(fields, 'internal'),
    movedPartitions: readUint32List(fields, 'movedPartitions'),
    reassignments: readMessageList(fields, 'reassignments').map((move) => ({
      partition: readUint32(move, 'partition'),
      target: readUint32List(move, 'target'),
      reassignmentId: readUint64(move, 'reassignmentId'),
      confIndex: readUint64(move, 'confIndex'),
      learners: readUint32List(move, 'learners'),
      throttleBytesPerSec: readUint64(move, 'throttleBytesPerSec'),
    })),
  };
}
