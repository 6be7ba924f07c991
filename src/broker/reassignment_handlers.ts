/**
 * Kafka's AlterPartitionReassignments and ListPartitionReassignments. Altering validates each move
 * against this broker's metadata, proposes an AlterPartitionReassignment per partition and answers
 * once the controller has recorded it; the partition's leader carries it out (reassignment_driver).
 * Listing answers from the metadata, with each learner's lag where this broker leads the partition.
 */
import { TributaryError, wireCodeOf } from '../common/errors.js';
import { encodeCommand } from '../controller/commands.js';
import { validateReassignment } from '../controller/metadata_state_machine.js';
import type { HandlerTable, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { pb } from '../protocol/messages.js';
import type { BrokerContext } from './broker_context.js';
import { clampTimeoutMs } from './request_limits.js';

const ADMIN_TIMEOUT_MS_DEFAULT = 10_000;

interface Move { readonly topic: string; readonly partition: number; readonly replicas: readonly number[] }

/** Records one move, or the typed reason it cannot be made (nothing recorded then). */
async function startMove(context: BrokerContext, move: Move, throttleBytesPerSec: number, validateOnly: boolean,
  timeoutMs: number): Promise<TributaryError | null> {
  const metadata = context.controller.metadata;
  const problem = validateReassignment(metadata, { name: move.topic, partition: move.partition,
    target: move.replicas }, metadata.brokers().length);
  if (problem !== null) return new TributaryError(problem.code, problem.message);
  const topic = metadata.topic(move.topic);
  if (topic === undefined) return new TributaryError('UNKNOWN_TOPIC_OR_PARTITION');
  if (validateOnly) return null;
  const target = [...move.replicas];
  const recorded = (): boolean => {
    const now = context.controller.metadata;
    const current = now.partitionReplicas(move.topic, move.partition) ?? [];
    const under = now.reassignment(move.topic, move.partition);
    return now.topic(move.topic)?.topicId !== topic.topicId || sameList(under?.target ?? current, target);
  };
  const done = await context.submitUntil(encodeCommand({ type: 'alterPartitionReassignment', name: move.topic,
    topicId: topic.topicId, partition: move.partition, target, throttleBytesPerSec }), recorded, timeoutMs);
  if (!done) return new TributaryError('REQUEST_TIMED_OUT', 'the controller did not record the move in time');
  if (context.controller.metadata.topic(move.topic)?.topicId !== topic.topicId) {
    return new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${move.topic} was deleted or re-created meanwhile`);
  }
  return null;
}

function alterHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.ALTER_PARTITION_REASSIGNMENTS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const mentions = new Map<string, number>();
    const keyOf = (p: { topic: string; partition: number }): string => `${p.topic}\0${p.partition}`;
    for (const p of request.partitions) mentions.set(keyOf(p), (mentions.get(keyOf(p)) ?? 0) + 1);
    const throttle = request.throttleBytesPerSec;
    if (!Number.isSafeInteger(throttle) || throttle < 0) {
      throw new TributaryError('INVALID_REQUEST', `throttle ${throttle} bytes/s is not a natural number`);
    }
    const partitions = await Promise.all(request.partitions.map(async (p) => {
      const base = { topic: p.topic, partition: p.partition };
      const error = (mentions.get(keyOf(p)) ?? 0) > 1
        ? new TributaryError('INVALID_REQUEST', `partition ${p.topic}-${p.partition} is named twice`)
        : await startMove(context, { topic: p.topic, partition: p.partition, replicas: p.replicas }, throttle,
          request.validateOnly, timeoutMs);
      return error === null ? { ...base, errorCode: 0 }
        : { ...base, errorCode: wireCodeOf(error), errorMessage: error.message };
    }));
    return { response: { partitions, controllerId: context.controllerId() } };
  };
}

function listHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.LIST_PARTITION_REASSIGNMENTS> {
  return () => {
    const metadata = context.controller.metadata;
    const partitions: pb.OngoingPartitionReassignment.$Properties[] = [];
    for (const topic of metadata.topicsMoving()) {
      for (const move of topic.reassignments ?? []) {
        const replicas = topic.partitions[move.partition] ?? [];
        const hosted = context.replicas.partition(topic.name, move.partition);
        const leads = hosted?.replica.isLeader === true;
        partitions.push({ topic: topic.name, partition: move.partition, replicas: [...replicas],
          target: [...move.target], addingReplicas: move.target.filter((id) => !replicas.includes(id)),
          removingReplicas: replicas.filter((id) => !move.target.includes(id)), learners: [...move.learners],
          lags: leads ? context.learnerLags(hosted.groupId) : [],
          leaderId: leads ? context.brokerId : -1 });
      }
    }
    return { response: { partitions } };
  };
}

function sameList(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, i) => right[i] === id);
}

export function reassignmentHandlers(context: BrokerContext): HandlerTable {
  return {
    [API_KEYS.ALTER_PARTITION_REASSIGNMENTS]: alterHandler(context),
    [API_KEYS.LIST_PARTITION_REASSIGNMENTS]: listHandler(context),
  };
}
