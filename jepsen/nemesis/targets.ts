/**
 * Choosing fault targets: random brokers, a majority, the leader of a partition in use, the
 * controller leader. Leaders come from Metadata through the Admin client; when none is known (an
 * election is running, or no topic exists yet) a random broker stands in, and the description says so.
 */
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { groupPartition, OFFSETS_TOPIC } from '../../src/group/offsets_topic.js';
import { topicOfKey } from '../history.js';
import type { NemesisContext } from './nemesis.js';

export interface Targets {
  readonly nodes: readonly number[];
  readonly description: string;
}

export function pickOne<T>(prng: Prng, items: readonly T[]): T {
  assert(items.length > 0, 'pick from a non-empty list');
  return items[prng.nextInt(items.length)] as T;
}

/** `count` distinct items in random order (a partial Fisher-Yates shuffle). */
export function pickSeveral<T>(prng: Prng, items: readonly T[], count: number): T[] {
  assert(count >= 0 && count <= items.length, () => `cannot pick ${count} of ${items.length}`);
  const copy = [...items];
  for (let i = 0; i < count; i += 1) {
    const j = i + prng.nextInt(copy.length - i);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, count);
}

export function majoritySize(brokerCount: number): number {
  return Math.floor(brokerCount / 2) + 1;
}

export function sorted(nodes: readonly number[]): number[] {
  return [...nodes].sort((a, b) => a - b);
}

/**
 * The leader of a random partition in use, or a random broker when none is known. In the group
 * workload, half the time the leader of the group's `__consumer_offsets` partition: its coordinator.
 */
export async function partitionLeader(context: NemesisContext): Promise<Targets> {
  if (context.groupId !== undefined && context.prng.nextFloat() < 0.5) {
    const coordinator = await groupCoordinator(context, context.groupId);
    if (coordinator !== null) return coordinator;
  }
  const keys = context.liveKeys();
  if (keys.length > 0) {
    const key = pickOne(context.prng, keys);
    const { topic, partition } = topicOfKey(key);
    try {
      const described = await context.admin.describeTopic(topic);
      const leader = described.partitions.find((p) => p.partition === partition)?.leaderId ?? null;
      if (leader !== null && leader > 0) return { nodes: [leader], description: `leader of key ${key}` };
    } catch {
      // No answer: fall through to a random broker.
    }
  }
  return { nodes: [pickOne(context.prng, context.cluster.ids())], description: 'one (no partition leader known)' };
}

/** The broker coordinating groupId (the leader of its offsets partition), or null when unknown. */
async function groupCoordinator(context: NemesisContext, groupId: string): Promise<Targets | null> {
  try {
    const described = await context.admin.describeTopic(OFFSETS_TOPIC);
    const partition = groupPartition(groupId, described.partitions.length);
    const leader = described.partitions.find((p) => p.partition === partition)?.leaderId ?? null;
    if (leader !== null && leader > 0) return { nodes: [leader], description: `coordinator of group ${groupId}` };
  } catch {
    // No answer: the caller picks another target.
  }
  return null;
}

/** The controller leader, or a random broker when none is known. */
export async function controllerLeader(context: NemesisContext): Promise<Targets> {
  try {
    const { controllerId } = await context.admin.describeCluster();
    if (controllerId !== null && controllerId > 0) return { nodes: [controllerId], description: 'controller leader' };
  } catch {
    // No answer: fall through to a random broker.
  }
  return { nodes: [pickOne(context.prng, context.cluster.ids())], description: 'one (no controller leader known)' };
}

export function randomOne(context: NemesisContext): Targets {
  return { nodes: [pickOne(context.prng, context.cluster.ids())], description: 'one' };
}

export function randomMajority(context: NemesisContext): Targets {
  const ids = context.cluster.ids();
  return { nodes: sorted(pickSeveral(context.prng, ids, majoritySize(ids.length))), description: 'majority' };
}

export function everyBroker(context: NemesisContext): Targets {
  return { nodes: context.cluster.ids(), description: 'all' };
}
