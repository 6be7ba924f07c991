/**
 * Which brokers hold each jepsen partition at the end of a run, asked of the healed cluster just
 * before it stops: the replicas Metadata names, plus the target and learners of a move still under
 * way. The replica checks use it to tell the replicas that must agree from what a move or a
 * decommission left behind. A key the cluster did not answer for is absent (all its replicas are checked).
 */
import type { Admin } from '../src/client/index.js';
import { withTimeout } from './client.js';
import { topicOfKey } from './history.js';

const ASK_TIMEOUT_MS = 10_000;

export async function finalAssignment(admin: Admin, keys: readonly number[]): Promise<Map<number, number[]>> {
  const assignment = new Map<number, number[]>();
  let ongoing: Awaited<ReturnType<Admin['listPartitionReassignments']>> = [];
  try {
    ongoing = await withTimeout(admin.listPartitionReassignments(), ASK_TIMEOUT_MS);
  } catch {
    // Unknown moves: the named replicas alone.
  }
  const topics = new Map<string, number[]>();
  for (const key of keys) {
    const { topic } = topicOfKey(key);
    topics.set(topic, [...topics.get(topic) ?? [], key]);
  }
  for (const [topic, topicKeys] of topics) {
    try {
      const described = await withTimeout(admin.describeTopic(topic), ASK_TIMEOUT_MS);
      for (const key of topicKeys) {
        const { partition } = topicOfKey(key);
        const info = described.partitions.find((p) => p.partition === partition);
        if (info === undefined) continue;
        const moving = ongoing.find((m) => m.topic === topic && m.partition === partition);
        const holders = new Set([...info.replicaIds, ...moving?.target ?? [], ...moving?.learners ?? [],
          ...moving?.adding ?? []]);
        assignment.set(key, [...holders].sort((a, b) => a - b));
      }
    } catch {
      // This topic's keys stay unknown.
    }
  }
  return assignment;
}
