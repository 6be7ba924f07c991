/**
 * The group workload's main phase (`--workload group`): its topics, made before anything runs (a
 * fixed set, so the subscription never changes), producers sending to them as the queue workload's
 * do, and `--group-members` member processes of one consumer group processing and committing,
 * crashing and rejoining, while the nemesis injects faults (its partition-leader targets include
 * the group's coordinator).
 */
import type { SeededPrng } from '../../raft/core/prng.js';
import type { ClientOptions } from '../client.js';
import type { HistoryRecorder } from '../history.js';
import { PARTITIONS_PER_TOPIC, topicOfKey } from '../history.js';
import type { NemesisContext } from '../nemesis/nemesis.js';
import type { RunOptions } from '../options.js';
import type { TopicCreator } from '../topics.js';
import { Worker } from '../worker.js';
import type { KeyOffsets, KeyPool } from '../workload.js';
import type { GroupSettings } from './group_worker.js';
import { GroupWorker } from './group_worker.js';
import type fs from 'node:fs';

export const GROUP_ID = 'jepsen-group';
/** Kafka's lowest allowed session timeout; a killed dynamic member's partitions wait this long. */
const SESSION_TIMEOUT_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
const MAX_POLL_INTERVAL_MS = 30_000;
const TOPIC_ATTEMPTS = 20;

/** Every key's topic, created now; throws when one cannot be. */
export async function createGroupTopics(topics: TopicCreator, keyCount: number): Promise<string[]> {
  const names: string[] = [];
  for (let key = 0; key < keyCount; key += PARTITIONS_PER_TOPIC) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await topics.ensure(key);
        break;
      } catch (error) {
        if (attempt >= TOPIC_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    names.push(topicOfKey(key).topic);
  }
  return names;
}

export function groupSettings(options: RunOptions, client: ClientOptions, topics: readonly string[]): GroupSettings {
  // A getter: brokers join and leave during a run, and each new member starts from the brokers of now.
  return { get bootstrap() { return client.bootstrap; }, groupId: GROUP_ID, topics,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS, maxPollIntervalMs: MAX_POLL_INTERVAL_MS,
    requestTimeoutMs: client.requestTimeoutMs, commitMode: options.groupCommit,
    ...(client.security === undefined ? {} : { security: client.security }) };
}

export interface GroupPhaseContext {
  readonly options: RunOptions;
  readonly history: HistoryRecorder;
  readonly pool: KeyPool;
  readonly offsets: KeyOffsets;
  readonly topics: TopicCreator;
  readonly client: ClientOptions;
  readonly settings: GroupSettings;
  readonly prng: SeededPrng;
  readonly nextProcess: () => number;
  readonly memberLog: fs.WriteStream;
}

/** Producers and members until the deadline; odd member slots are static (a group.instance.id). */
export async function runGroupWorkers(context: GroupPhaseContext, deadlineMs: number): Promise<void> {
  const { options } = context;
  const producers = Array.from({ length: options.concurrency }, () => new Worker({
    history: context.history, pool: context.pool, offsets: context.offsets, topics: context.topics,
    client: context.client, prng: context.prng, nextProcess: context.nextProcess,
    opIntervalMs: options.concurrency * 1000 / options.rate, inFlight: options.inFlight, sendOnly: true,
  }));
  const members = Array.from({ length: options.groupMembers }, (_, slot) => new GroupWorker({
    history: context.history, nextProcess: context.nextProcess, log: context.memberLog, settings: context.settings,
    offsets: context.offsets, prng: context.prng,
  }, slot % 2 === 1 ? `jepsen-member-${slot}` : null));
  await Promise.all([...producers.map((worker) => worker.run(deadlineMs)),
    ...members.map((member) => member.run(deadlineMs))]);
}

export function groupNemesisContext(base: Omit<NemesisContext, 'groupId'>): NemesisContext {
  return { ...base, groupId: GROUP_ID };
}
