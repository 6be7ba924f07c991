/**
 * Kafka's RoundRobinAssignor ('roundrobin'): every partition of every subscribed topic, sorted by
 * topic then partition, dealt in turn to the members sorted by member id; a member not subscribed
 * to a partition's topic is skipped for it (the deal goes on to the next that is).
 */
import type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './assignor.js';
import { partitionCount, sortedMembers, toTopicPartitions } from './assignor.js';

function assignRoundRobin(members: readonly AssignorMember[], counts: PartitionCounts): GroupAssignment {
  const sorted = sortedMembers(members);
  const pairs = new Map<string, { topic: string; partition: number }[]>(sorted.map((m) => [m.memberId, []]));
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
  let next = 0;
  for (const topic of topics) {
    for (let partition = 0; partition < partitionCount(counts, topic); partition++) {
      // At least one member subscribes to topic, so this finds one within a full turn.
      for (let tried = 0; tried < sorted.length; tried++) {
        const member = sorted[(next + tried) % sorted.length];
        if (member?.topics.includes(topic) !== true) continue;
        pairs.get(member.memberId)?.push({ topic, partition });
        next = (next + tried + 1) % sorted.length;
        break;
      }
    }
  }
  return new Map([...pairs].map(([memberId, list]) => [memberId, toTopicPartitions(list)]));
}

export const roundRobinAssignor: PartitionAssignor = { name: 'roundrobin', assign: assignRoundRobin };
