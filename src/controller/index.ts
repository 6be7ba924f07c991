/**
 * The controller's public surface: the metadata commands and their codec, the metadata state
 * machine, replica placement, topic configs and names, and the reconciler a broker runs.
 */
export {
  decodeCommand,
  encodeCommand,
  METADATA_COMMAND_TYPES,
} from './commands.js';
export type {
  AllocateProducerIdsCommand,
  AlterConfigsCommand,
  CreatePartitionsCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  FenceBrokerCommand,
  MetadataCommand,
  MetadataCommandType,
  RegisterBrokerCommand,
  UnfenceBrokerCommand,
} from './commands.js';
export { MalformedMetadataError } from './metadata_codec.js';
export { decodeSnapshot, encodeSnapshot } from './metadata_snapshot.js';
export type { MetadataSnapshotData } from './metadata_snapshot.js';
export {
  BROKERS_MAX,
  CLUSTER_PARTITIONS_MAX,
  MetadataStateMachine,
  PRODUCER_ID_BLOCK_SIZE_MAX,
  TOPICS_MAX,
  validateCreatePartitions,
  validateCreateTopic,
} from './metadata_state_machine.js';
export type {
  ApplyRejected,
  ApplyResult,
  BrokerInfo,
  CreatePartitionsRequest,
  CreateTopicRequest,
  MetadataProblem,
  MetadataRejectionCode,
  MetadataView,
  TopicInfo,
} from './metadata_state_machine.js';
export { assignReplicas, checkCounts, REPLICATION_FACTOR_MAX, TOPIC_PARTITIONS_MAX } from './placement.js';
export type { BrokerLoad, PlacementRequest, PlacementResult } from './placement.js';
export { diffReplicas, isEmptyDiff, reconcile, replicasForBroker } from './reconciler.js';
export type { ReplicaAssignment, ReplicaChange, ReplicaDiff } from './reconciler.js';
export {
  describeTopicConfig,
  InvalidConfigError,
  isTopicConfigKey,
  parseTopicConfig,
  TOPIC_CONFIG_DEFAULTS,
  TOPIC_CONFIG_ENTRIES_MAX,
  TOPIC_CONFIG_KEYS,
  validateTopicConfig,
} from './topic_config.js';
export type { TopicConfig, TopicConfigKey, TopicConfigResult } from './topic_config.js';
export { internalNameProblem, isInternalName, isValidTopicName, TOPIC_NAME_LENGTH_MAX, topicNameProblem } from './topic_name.js';
