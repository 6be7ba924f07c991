/**
 * What a partition assignor is: a pure function the group leader runs over every member's
 * subscription (and, for sticky, what each member owns now) and the partition counts of the
 * subscribed topics, giving every member its partitions. Names are Kafka's, so a group may mix
 * Tributary and Kafka clients that offer the same assignor.
 */
import { assert } from '../../../../raft/core/assert.js';
import type { TopicPartitions } from '../consumer_protocol.js';

export interface AssignorMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** From a v1 subscription; empty for v0 members and new ones. */
  readonly ownedPartitions: readonly TopicPartitions[];
}

/** Partition counts by topic; a subscribed topic missing here (unknown to metadata) gets nothing. */
export type PartitionCounts = ReadonlyMap<string, number>;

/** By member id; every member is present, topics and partitions sorted. */
export type GroupAssignment = Map<string, TopicPartitions[]>;

export interface PartitionAssignor {
  /** Kafka's protocol name: 'range', 'roundrobin', 'sticky'. */
  readonly name: string;
  assign(members: readonly AssignorMember[], partitionCounts: PartitionCounts): GroupAssignment;
}

/** A partition as one string key, for sets and maps (topic names cannot hold a NUL). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function comparePartitions(a: { topic: string; partition: number },
  b: { topic: string; partition: number }): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/** Member ids sorted as Kafka's assignors sort them (plain string order), checked unique. */
export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    assert(sorted[i]?.memberId !== sorted[i - 1]?.memberId, () => `member ${sorted[i]?.memberId} appears twice`);
  }
  return sorted;
}

/** Groups (topic, partition) pairs into sorted TopicPartitions. */
export function toTopicPartitions(pairs: Iterable<{ topic: string; partition: number }>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of pairs) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return [...byTopic.keys()].sort().map((topic) => ({
    topic, partitions: (byTopic.get(topic) ?? []).sort((a, b) => a - b),
  }));
}

/** The partition count of a topic, or 0 when unknown. */
export function partitionCount(counts: PartitionCounts, topic: string): number {
  const count = counts.get(topic) ?? 0;
  assert(Number.isSafeInteger(count) && count >= 0, () => `bad partition count ${count} for ${topic}`);
  return count;
}
