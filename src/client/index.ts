/**
 * The client library's public surface: Producer, Consumer (manual assignment or a consumer group)
 * and Admin, their option and result types, the partition assignors, and the typed errors they
 * reject with.
 */
export { Admin, ADMIN_DEFAULTS } from './admin.js';
export type {
  AclBinding,
  AclBindingFilter,
  AdminOptions,
  ClusterDescription,
  CreateTopicOptions,
  GroupDescription,
  GroupListing,
  GroupMemberDescription,
  GroupPartitionLag,
  OffsetResetPlanEntry,
  OffsetResetSpec,
  PartitionOffsets,
  TopicDescription,
} from './admin.js';
export { Consumer, CONSUMER_DEFAULTS, GROUP_DEFAULTS } from './consumer.js';
export type {
  AutoOffsetReset,
  CommittedOffset,
  OffsetToCommit,
  RebalanceListener,
  ConsumerOptions,
  ConsumerRecord,
  SeekTarget,
  TopicPartitionRef,
} from './consumer.js';
export { Producer, PRODUCER_DEFAULTS } from './producer.js';
export type {
  Acks,
  ProducerMessage,
  ProducerOptions,
  RecordBytes,
  RecordHeaders,
  SendResult,
} from './producer.js';
export type { SendManyResult } from './send_many.js';
export type { BrokerInfo, PartitionInfo } from './metadata_cache.js';
export type { NullKeyStrategy, Partitioner, PartitionInput } from './partitioner.js';
export { DefaultPartitioner } from './partitioner.js';
export type { ProducerCompression } from './compression.js';
export type { DecodedHeader as RecordHeader } from '../protocol/record_batch.js';
export { rangeAssignor, roundRobinAssignor, stickyAssignor } from './group/assignors/index.js';
export type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './group/assignors/index.js';
export type { TopicPartitions } from './group/consumer_protocol.js';
export { IllegalStateError } from './group/errors.js';
export { ClientSecurity } from '../security/client_security.js';
export type { ClientSecurityOptions } from '../security/client_security.js';
