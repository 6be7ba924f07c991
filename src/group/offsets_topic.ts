/**
 * `__consumer_offsets`, the internal topic whose partitions hold the groups (docs/groups.md): its
 * name, which partition holds a group, its configs, and its creation on first use through the
 * controller (a createTopic command with `internal: true`, which only brokers send).
 */
import { randomInt } from 'node:crypto';
import { murmur2, toPositive } from '../client/murmur2.js';
import { encodeCommand } from '../controller/commands.js';
import { assignReplicas } from '../controller/placement.js';
import { CONSUMER_OFFSETS_TOPIC } from '../controller/topic_name.js';
import type { BrokerContext } from '../broker/broker_context.js';
import { assert } from '../../raft/core/assert.js';

export const OFFSETS_TOPIC = CONSUMER_OFFSETS_TOPIC;
/** Kafka's offsets.topic.num.partitions. */
export const OFFSETS_TOPIC_PARTITIONS_DEFAULT = 16;
/** Kafka's offsets.topic.replication.factor, capped by the live brokers when the topic is created. */
export const OFFSETS_TOPIC_REPLICATION_FACTOR = 3;

/**
 * The topic's configs. Every snapshot of a partition holds its whole group store (the latest value
 * of every key), so retention may delete any applied prefix: 4 MiB segments and 16 MiB of
 * retention keep a partition's log within about 20 MiB whatever the commit rate. There is no time
 * limit (retention.ms -1): a quiet partition keeps its few records rather than leaning on a
 * snapshot for all of them. A group of many members with large subscriptions makes one large
 * record, so batches may be as large as the broker allows (8 MiB by default, message.max.bytes).
 */
export const OFFSETS_TOPIC_SEGMENT_BYTES_DEFAULT = 4 * 1024 * 1024;
export const OFFSETS_TOPIC_RETENTION_BYTES_DEFAULT = 16 * 1024 * 1024;

/** The configs the topic is created with, for the given segment and retention sizes. */
export function offsetsTopicConfigs(segmentBytes: number, retentionBytes: number): Record<string, string> {
  return { 'segment.bytes': String(segmentBytes), 'retention.bytes': String(retentionBytes), 'retention.ms': '-1',
    'max.message.bytes': String(8 * 1024 * 1024) };
}

/** The partition of group `groupId`: Kafka's murmur2 of its UTF-8 bytes, made positive, modulo the count. */
export function groupPartition(groupId: string, partitionCount: number): number {
  assert(Number.isInteger(partitionCount) && partitionCount > 0, () => `bad partition count ${partitionCount}`);
  return toPositive(murmur2(Buffer.from(groupId, 'utf8'))) % partitionCount;
}

export interface OffsetsTopicOptions {
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** Creates the topic once, for every caller that finds it missing at the same time. */
export class OffsetsTopicCreator {
  private creating: Promise<boolean> | null = null;

  constructor(private readonly context: BrokerContext, private readonly options: OffsetsTopicOptions) {
    assert(options.partitions >= 1, 'the offsets topic needs a partition');
  }

  exists(): boolean {
    return this.context.controller.metadata.topic(OFFSETS_TOPIC) !== undefined;
  }

  /** Resolves true once the topic is in this broker's metadata; false when it could not be created in time. */
  ensure(): Promise<boolean> {
    if (this.exists()) return Promise.resolve(true);
    this.creating ??= this.create().finally(() => { this.creating = null; });
    return this.creating;
  }

  private async create(): Promise<boolean> {
    const metadata = this.context.controller.metadata;
    const brokerIds = metadata.liveBrokerIds();
    if (brokerIds.length === 0) return false;
    const replicationFactor = Math.min(OFFSETS_TOPIC_REPLICATION_FACTOR, brokerIds.length);
    const placement = assignReplicas({ brokerIds, partitionCount: this.options.partitions, replicationFactor,
      startIndex: randomInt(brokerIds.length) });
    if (!placement.ok) return false;
    const command = encodeCommand({ type: 'createTopic', name: OFFSETS_TOPIC, partitionCount: this.options.partitions,
      replicationFactor, configs: { ...this.options.configs }, assignments: placement.assignments, internal: true });
    return this.context.submitUntil(command, () => this.exists(), this.options.timeoutMs);
  }
}
