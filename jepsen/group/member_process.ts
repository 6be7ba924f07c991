/**
 * A consumer-group member as its own process, so the harness can crash it for real (SIGKILL: no
 * LeaveGroup, no last commit, heartbeats stop). It runs a Consumer subscribed to the workload's
 * topics and does what the harness asks over IPC (member_protocol.ts): poll, commit given offsets,
 * close. It commits by itself in onPartitionsRevoked (Kafka's pattern: what the application
 * processed, which here is everything earlier polls returned, since the harness processes a poll's
 * records before it asks for anything else) and, in the positive control, right after a poll and
 * before the harness processes its records.
 *
 * Started by member_handle.ts with the MemberConfig as JSON in argv[2]; logs go to stderr.
 */
import pino from 'pino';
import type { ConsumerRecord, OffsetToCommit } from '../../src/client/index.js';
import { Consumer } from '../../src/client/index.js';
import { assert } from '../../raft/core/assert.js';
import { describeError, valueOf } from '../client.js';
import type { KeyOffsetMap, ReadRecord } from '../history.js';
import { keyOf, topicOfKey } from '../history.js';
import type { HarnessMessage, MemberConfig, MemberMessage, PollResult } from './member_protocol.js';

const config = JSON.parse(process.argv[2] ?? '') as MemberConfig;
const logger = pino({ name: `jepsen-member-${config.process}`, level: 'warn' }, pino.destination(2));

function send(message: MemberMessage): void {
  process.send?.(message);
}

function keyOfPartition(partition: { readonly topic: string; readonly partition: number }): number {
  const key = keyOf(partition.topic, partition.partition);
  assert(key !== null, () => `the group assigned ${partition.topic}/${partition.partition}, not a workload topic`);
  return key;
}

function toCommit(offsets: KeyOffsetMap): OffsetToCommit[] {
  return Object.entries(offsets).map(([key, offset]) => ({ ...topicOfKey(Number(key)), offset }));
}

/** The next offset to read of each key this member delivered records of since it was assigned. */
const delivered = new Map<number, number>();
/** What the rebalance listener saw since the last reply. */
let revoked: number[] = [];
let assigned: number[] | null = null;

/** Commits chosen by the member itself go through the harness first, which records their start. */
let nextCommitId = 0;
const recordedStarts = new Map<number, () => void>();

async function selfCommit(reason: 'revoked' | 'before-processing', offsets: KeyOffsetMap): Promise<void> {
  if (Object.keys(offsets).length === 0) return;
  const id = nextCommitId++;
  const recorded = new Promise<void>((resolve) => { recordedStarts.set(id, resolve); });
  send({ type: 'commit-start', id, reason, offsets });
  await recorded;
  try {
    await consumer.commitSync(toCommit(offsets));
    send({ type: 'commit-end', id, ok: true });
  } catch (error) {
    send({ type: 'commit-end', id, ok: false, error: describeError(error) });
  }
}

function deliveredOffsets(keys: readonly number[]): KeyOffsetMap {
  const offsets: Record<string, number> = {};
  for (const key of keys) {
    const next = delivered.get(key);
    if (next !== undefined) offsets[String(key)] = next;
  }
  return offsets;
}

const consumer = new Consumer({
  bootstrap: config.bootstrap, clientId: `jepsen-member-${config.process}`, groupId: config.groupId,
  ...(config.groupInstanceId === null ? {} : { groupInstanceId: config.groupInstanceId }),
  sessionTimeoutMs: config.sessionTimeoutMs, heartbeatIntervalMs: config.heartbeatIntervalMs,
  maxPollIntervalMs: config.maxPollIntervalMs, requestTimeoutMs: config.requestTimeoutMs,
  apiTimeoutMs: config.requestTimeoutMs * 2, autoCommit: false, autoOffsetReset: 'earliest', maxWaitMs: 100,
  retryBackoffMs: 50, maxPollRecords: 200, partitionAssignors: ['sticky', 'range'], logger,
  ...(config.security === undefined ? {} : { security: config.security }),
});

consumer.subscribe([...config.topics], {
  onPartitionsRevoked: async (partitions) => {
    const keys = partitions.map(keyOfPartition);
    revoked.push(...keys);
    await selfCommit('revoked', deliveredOffsets(keys));
    for (const key of keys) delivered.delete(key);
  },
  // The membership is gone: a commit would be refused, and must not be tried.
  onPartitionsLost: (partitions) => {
    const keys = partitions.map(keyOfPartition);
    revoked.push(...keys);
    for (const key of keys) delivered.delete(key);
  },
  onPartitionsAssigned: (partitions) => {
    assigned = partitions.map(keyOfPartition).sort((a, b) => a - b);
  },
});

function takeRebalance(): Omit<PollResult, 'records'> {
  const noted = { revoked: [...new Set(revoked)].sort((a, b) => a - b), assigned };
  revoked = [];
  assigned = null;
  return noted;
}

async function poll(timeoutMs: number): Promise<PollResult> {
  const records: ConsumerRecord[] = await consumer.poll({ timeoutMs });
  const byKey: Record<string, ReadRecord[]> = {};
  for (const record of records) {
    const key = keyOfPartition(record);
    (byKey[String(key)] ??= []).push([record.offset, valueOf(record)]);
    delivered.set(key, record.offset + 1);
  }
  if (config.commitMode === 'before') {
    await selfCommit('before-processing', deliveredOffsets(Object.keys(byKey).map(Number)));
  }
  return { records: byKey, ...takeRebalance() };
}

async function handle(message: HarnessMessage): Promise<void> {
  if (message.type === 'commit-recorded') {
    recordedStarts.get(message.id)?.();
    recordedStarts.delete(message.id);
    return;
  }
  try {
    if (message.type === 'poll') {
      send({ type: 'reply', id: message.id, ok: true, poll: await poll(message.timeoutMs) });
    } else if (message.type === 'commit') {
      await consumer.commitSync(toCommit(message.offsets));
      send({ type: 'reply', id: message.id, ok: true });
    } else {
      await consumer.close();
      send({ type: 'reply', id: message.id, ok: true });
      process.disconnect();
    }
  } catch (error) {
    send({ type: 'reply', id: message.id, ok: false, error: describeError(error),
      ...(message.type === 'poll' ? { poll: takeRebalance() } : {}) });
  }
}

process.on('message', (message: HarnessMessage) => { void handle(message); });
process.on('disconnect', () => { process.exit(0); });
send({ type: 'ready' });
