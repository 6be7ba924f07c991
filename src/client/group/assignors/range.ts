/**
 * Kafka's RangeAssignor ('range'): topic by topic, the members subscribed to the topic, sorted by
 * member id, each get a contiguous range of its partitions; the first (count % members) members
 * get one extra. Members subscribed to the same topics with the same partition counts get the
 * same partition numbers of each (co-partitioning), at the cost of imbalance across topics.
 */
import type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './assignor.js';
import { partitionCount, sortedMembers, toTopicPartitions } from './assignor.js';

function assignRange(members: readonly AssignorMember[], counts: PartitionCounts): GroupAssignment {
  const sorted = sortedMembers(members);
  const pairs = new Map<string, { topic: string; partition: number }[]>(sorted.map((m) => [m.memberId, []]));
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const subscribers = sorted.filter((m) => m.topics.includes(topic));
    const count = partitionCount(counts, topic);
    const perMember = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    subscribers.forEach((member, i) => {
      const start = perMember * i + Math.min(i, extra);
      const length = perMember + (i < extra ? 1 : 0);
      for (let partition = start; partition < start + length; partition++) {
        pairs.get(member.memberId)?.push({ topic, partition });
      }
    });
  }
  return new Map([...pairs].map(([memberId, list]) => [memberId, toTopicPartitions(list)]));
}

export const rangeAssignor: PartitionAssignor = { name: 'range', assign: assignRange };
