/**
 * The broker's answers to client requests. Partition work goes to the local leader replica; admin
 * work becomes controller commands (forwarded to the controller leader when this broker is not it)
 * and is answered once the command shows in this broker's applied metadata. Per-partition errors
 * are wire codes from the one error table; a thrown TributaryError fails the whole request.
 */
import { randomInt } from 'node:crypto';
import { assert } from '../../raft/core/assert.js';
import { NotLeaderOrFollowerError, OffsetOutOfRangeError, TributaryError, wireCodeOf } from '../common/errors.js';
import { encodeCommand } from '../controller/commands.js';
import { validateCreatePartitions, validateCreateTopic } from '../controller/metadata_state_machine.js';
import { internalNameProblem } from '../controller/topic_name.js';
import { assignReplicas } from '../controller/placement.js';
import type { HandlerTable, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { pb } from '../protocol/messages.js';
import type { Acks } from '../partition/partition_replica.js';
import type { BrokerContext } from './broker_context.js';
import type { ElectionOutcome } from './leadership_transfers.js';
import type { HostedPartition } from './replica_manager.js';
import {
  clampTimeoutMs, FETCH_WAIT_MS_MAX, fetchBytesMax, FetchReplyBudget, refuseDuplicateFetchPartitions,
} from './request_limits.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

const ADMIN_TIMEOUT_MS_DEFAULT = 10_000;

function errorFields(error: unknown): { errorCode: number; errorMessage: string } {
  if (!(error instanceof TributaryError)) throw error;
  return { errorCode: wireCodeOf(error), errorMessage: error.message };
}

function leaderHintOf(context: BrokerContext, error: unknown): pb.LeaderHint.$Properties | null {
  if (!(error instanceof NotLeaderOrFollowerError) || error.leaderHint === null) return null;
  const broker = context.controller.metadata.broker(error.leaderHint);
  return { leaderId: error.leaderHint, leaderEpoch: -1, host: broker?.host ?? '', port: broker?.port ?? 0 };
}

function replicaOf(context: BrokerContext, topic: string, partition: number): ReturnType<
  BrokerContext['replicas']['partition']> & object {
  const hosted = context.replicas.partition(topic, partition);
  if (hosted !== undefined) return hosted;
  const known = context.controller.metadata.topic(topic);
  if (known === undefined || partition >= known.partitions.length) {
    throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${topic}-${partition}`);
  }
  throw new NotLeaderOrFollowerError(null);
}

interface ProduceTarget { readonly topic: string; readonly partition: number; readonly rawFrameIndex: number }

async function produceOne(context: BrokerContext, data: ProduceTarget, acks: Acks, timeoutMs: number,
  rawFrames: readonly Buffer[]): Promise<pb.ProducePartitionResponse.$Properties> {
  const base = { topic: data.topic, partition: data.partition, logAppendTimeMs: -1 };
  try {
    const batch = rawFrames[data.rawFrameIndex];
    if (batch === undefined) throw new TributaryError('INVALID_REQUEST', 'no raw frame for the partition');
    const reserved = internalNameProblem(data.topic);
    if (reserved !== null) throw new TributaryError('INVALID_TOPIC_EXCEPTION', reserved);
    const { replica } = replicaOf(context, data.topic, data.partition);
    const result = await replica.produce(batch, acks, timeoutMs);
    return { ...base, errorCode: 0, baseOffset: result.baseOffset, logStartOffset: result.logStartOffset };
  } catch (error) {
    return { ...base, ...errorFields(error), baseOffset: -1, logStartOffset: -1,
      currentLeader: leaderHintOf(context, error) };
  }
}

function produceHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.PRODUCE> {
  return async (request, requestContext) => {
    const acks = request.acks;
    if (acks !== -1 && acks !== 0 && acks !== 1) {
      throw new TributaryError('INVALID_REQUIRED_ACKS', `acks ${acks}`);
    }
    const timeoutMs = clampTimeoutMs(request.timeoutMs, 30_000);
    const partitions = await Promise.all(request.partitions.map((data) =>
      produceOne(context, data, acks, timeoutMs, requestContext.rawFrames)));
    return { response: { partitions } };
  };
}

function fetchHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.FETCH> {
  return async (request, requestContext) => {
    refuseDuplicateFetchPartitions(request.partitions);
    const maxBytes = fetchBytesMax(request.maxBytes);
    const minBytes = Math.max(1, request.minBytes);
    const deadline = monotonicNowMs() + Math.min(request.maxWaitMs, FETCH_WAIT_MS_MAX);
    for (;;) {
      const rawFrames: Buffer[] = [];
      // Sized now, when the reply is built: the connection's budget less what is queued for it.
      const connection = requestContext.replyBytes;
      const budget = new FetchReplyBudget(Math.min(maxBytes, connection.available()), connection.idle());
      const partitions = request.partitions.map((fetch): pb.FetchPartitionResponse.$Properties => {
        const base = { topic: fetch.topic, partition: fetch.partition };
        try {
          const { replica } = replicaOf(context, fetch.topic, fetch.partition);
          const limit = budget.partitionLimit(fetch.partitionMaxBytes);
          if (limit === 0) { // the reply is full: the partition is answered without reading it
            if (!replica.isLeader) throw new NotLeaderOrFollowerError(replica.leaderHint);
            return { ...base, errorCode: 0, highWatermark: replica.highWatermark,
              logStartOffset: replica.logStartOffset, rawFrameIndexes: [] };
          }
          const read = replica.read(fetch.fetchOffset, limit);
          const bytes = read.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
          const kept = budget.take(bytes) ? read.chunks : [];
          const indexes = kept.map((chunk) => rawFrames.push(chunk) - 1);
          return { ...base, errorCode: 0, highWatermark: read.highWatermark, logStartOffset: read.logStartOffset,
            rawFrameIndexes: indexes };
        } catch (error) {
          // An out-of-range fetch learns where the log is now, so the consumer can reset (Kafka does the same).
          const range = error instanceof OffsetOutOfRangeError
            ? { highWatermark: error.highWatermark, logStartOffset: error.logStartOffset }
            : { highWatermark: -1, logStartOffset: -1 };
          return { ...base, ...errorFields(error), ...range, currentLeader: leaderHintOf(context, error) };
        }
      });
      const remainingMs = deadline - monotonicNowMs();
      const failed = partitions.some((p) => (p.errorCode ?? 0) !== 0);
      if (budget.usedBytes >= minBytes || remainingMs <= 0 || failed) {
        connection.reserve(budget.usedBytes);
        return { response: { partitions }, rawFrames };
      }
      await context.waitForData(request.partitions.map((p) => [p.topic, p.partition] as const), remainingMs);
    }
  };
}

/** Idempotence only (no transactions): a fresh producer id at epoch 0 from this broker's block. */
function initProducerIdHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.INIT_PRODUCER_ID> {
  return async () => {
    try {
      return { response: { errorCode: 0, producerId: await context.nextProducerId(), producerEpoch: 0 } };
    } catch (error) {
      return { response: { errorCode: errorFields(error).errorCode, producerId: -1, producerEpoch: -1 } };
    }
  };
}

function listOffsetsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.LIST_OFFSETS> {
  return (request) => ({ response: { partitions: request.partitions.map((query) => {
    const base = { topic: query.topic, partition: query.partition };
    try {
      const { replica } = replicaOf(context, query.topic, query.partition);
      const found = replica.listOffset(query.timestamp);
      return { ...base, errorCode: 0, offset: found.offset, timestamp: found.timestampMs };
    } catch (error) {
      return { ...base, ...errorFields(error), offset: -1, timestamp: -1, currentLeader: leaderHintOf(context, error) };
    }
  }) } });
}

function metadataHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.METADATA> {
  return (request) => {
    const metadata = context.controller.metadata;
    const names = request.allTopics || request.topics.length === 0
      ? metadata.topics().map((topic) => topic.name) : request.topics;
    const topics = names.map((name): pb.TopicMetadata.$Properties => {
      const topic = metadata.topic(name);
      if (topic === undefined) return { name, errorCode: wireCodeOf(new TributaryError('UNKNOWN_TOPIC_OR_PARTITION')) };
      return { name, errorCode: 0, configs: { ...topic.configs }, partitions: topic.partitions.map((replicas, p) => {
        const hosted = context.replicas.partition(name, p);
        // A broker without a replica does not know the leader, and says so (-1): the client asks
        // another broker. Naming the preferred leader instead sent clients in circles with five
        // brokers: each refresh from a non-replica overrode the real leader a NOT_LEADER hint had given.
        const leaderId = hosted === undefined ? -1 : hosted.replica.leaderForClients ?? -1;
        // In sync: a live (unfenced) broker and, where this broker leads, holding every committed entry.
        const live = replicas.filter((id) => metadata.broker(id)?.fenced === false);
        const isrIds = hosted?.replica.inSyncReplicas(live) ?? live;
        return { partition: p, errorCode: 0, leaderId, leaderEpoch: hosted?.replica.leaderEpoch ?? -1,
          replicaIds: [...replicas], isrIds,
          highWatermark: hosted?.replica.isLeader === true ? hosted.replica.highWatermark : -1,
          logSizeBytes: hosted?.replica.isLeader === true ? hosted.storage.log.sizeBytes : -1 };
      }) };
    });
    return { response: { brokers: context.brokerList(), clusterId: 'tributary', controllerId: context.controllerId(),
      topics } };
  };
}

function createTopicsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.CREATE_TOPICS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const topics = await Promise.all(request.topics.map(async (wanted) => {
      const base = { name: wanted.name, numPartitions: wanted.numPartitions,
        replicationFactor: wanted.replicationFactor };
      const metadata = context.controller.metadata;
      const brokerIds = metadata.liveBrokerIds();
      const createRequest = { name: wanted.name, partitionCount: wanted.numPartitions,
        replicationFactor: wanted.replicationFactor, configs: { ...wanted.configs } };
      const problem = validateCreateTopic(metadata, createRequest, brokerIds.length);
      if (problem !== null) return { ...base, errorCode: wireCodeOf(new TributaryError(problem.code)),
        errorMessage: problem.message };
      const placement = assignReplicas({ brokerIds, partitionCount: wanted.numPartitions,
        replicationFactor: wanted.replicationFactor, startIndex: randomInt(brokerIds.length) });
      if (!placement.ok) return { ...base, errorCode: wireCodeOf(new TributaryError(placement.code)),
        errorMessage: placement.message };
      if (request.validateOnly) return { ...base, errorCode: 0 };
      const command = encodeCommand({ type: 'createTopic', ...createRequest, assignments: placement.assignments });
      const created = await context.submitUntil(command, () => context.controller.metadata.topic(wanted.name)
        !== undefined, timeoutMs);
      if (!created) return { ...base, ...errorFields(new TributaryError('REQUEST_TIMED_OUT',
        'the controller did not apply the topic in time')) };
      return { ...base, errorCode: 0 };
    }));
    return { response: { topics, controllerId: context.controllerId() } };
  };
}

/** Rounds of validate, place and submit when other requests keep changing a topic's count meanwhile. */
const GROW_ROUNDS_MAX = 3;

/**
 * Grows one topic to count partitions: validated against this broker's metadata, the new
 * partitions placed on the live brokers least loaded first, and done once the topic has the count
 * in this broker's applied metadata. The command names the topic id and the count it grows from,
 * so resubmitting it (submitUntil) never adds partitions twice; if another request changed the
 * count first, the command is rejected on apply and this validates and places again; when that
 * request reached or passed this count, this one has what it asked for and succeeds. A topic
 * deleted or re-created meanwhile is not grown: the request named the one it replaced.
 */
async function growTopic(context: BrokerContext, name: string, count: number, validateOnly: boolean,
  deadlineMs: number): Promise<TributaryError | null> {
  for (let round = 0; round < GROW_ROUNDS_MAX; round++) {
    const metadata = context.controller.metadata;
    const problem = validateCreatePartitions(metadata, { name, partitionCount: count });
    if (problem !== null) return new TributaryError(problem.code, problem.message);
    const topic = metadata.topic(name);
    assert(topic !== undefined, 'validateCreatePartitions found the topic');
    const current = topic.partitions.length;
    const brokerIds = metadata.liveBrokerIds();
    const placement = assignReplicas({ brokerIds, partitionCount: count - current,
      replicationFactor: topic.replicationFactor, startIndex: randomInt(Math.max(1, brokerIds.length)),
      brokerLoad: metadata.brokerLoad() });
    if (!placement.ok) return new TributaryError(placement.code, placement.message);
    if (validateOnly) return null;
    const command = encodeCommand({ type: 'createPartitions', name, topicId: topic.topicId, partitionCount: count,
      assignments: placement.assignments });
    const now = (): ReturnType<typeof metadata.topic> => context.controller.metadata.topic(name);
    const grown = (): boolean => now()?.topicId === topic.topicId && (now()?.partitions.length ?? 0) >= count;
    const moved = (): boolean => now()?.topicId !== topic.topicId || now()?.partitions.length !== current;
    await context.submitUntil(command, moved, Math.max(0, deadlineMs - monotonicNowMs()));
    if (grown()) return null;
    if (!moved()) break;
    if (now()?.topicId !== topic.topicId) {
      return new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} was deleted or re-created meanwhile`);
    }
  }
  return new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply the new partitions in time');
}

/** Kafka's CreatePartitions: each topic grows to its count, or gets a typed error and is left as it was. */
function createPartitionsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.CREATE_PARTITIONS> {
  return async (request) => {
    const deadlineMs = monotonicNowMs() + clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const mentions = new Map<string, number>();
    for (const { name } of request.topics) mentions.set(name, (mentions.get(name) ?? 0) + 1);
    const topics = await Promise.all(request.topics.map(async ({ name, count }) => {
      const error = (mentions.get(name) ?? 0) > 1
        ? new TributaryError('INVALID_REQUEST', `topic ${name} is named twice`)
        : await growTopic(context, name, count, request.validateOnly, deadlineMs);
      return error === null ? { name, errorCode: 0 } : { name, ...errorFields(error) };
    }));
    return { response: { topics, controllerId: context.controllerId() } };
  };
}

function deleteTopicsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.DELETE_TOPICS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const topics = await Promise.all(request.topicNames.map(async (name) => {
      const reserved = internalNameProblem(name);
      if (reserved !== null) return { name, ...errorFields(new TributaryError('INVALID_TOPIC_EXCEPTION', reserved)) };
      if (context.controller.metadata.topic(name) === undefined) {
        return { name, ...errorFields(new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${name}`)) };
      }
      const deleted = await context.submitUntil(encodeCommand({ type: 'deleteTopic', name }),
        () => context.controller.metadata.topic(name) === undefined, timeoutMs);
      return deleted ? { name, errorCode: 0 }
        : { name, ...errorFields(new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply it')) };
    }));
    return { response: { topics, controllerId: context.controllerId() } };
  };
}

type ElectResult = pb.ElectLeadersPartitionResult.$Properties;

/** What an election outcome tells the client about one partition. */
function electResultOf(base: { topic: string; partition: number; preferredLeaderId: number }, outcome: ElectionOutcome,
  context: BrokerContext): ElectResult {
  switch (outcome.kind) {
    case 'elected':
      return { ...base, errorCode: 0, leaderId: outcome.leaderId };
    case 'not_needed':
      return { ...base, ...errorFields(new TributaryError('ELECTION_NOT_NEEDED')), leaderId: base.preferredLeaderId };
    case 'not_leader': {
      const error = new NotLeaderOrFollowerError(outcome.leaderId);
      return { ...base, ...errorFields(error), leaderId: outcome.leaderId ?? -1,
        currentLeader: leaderHintOf(context, error) };
    }
    case 'unavailable':
      return { ...base, ...errorFields(new TributaryError('PREFERRED_LEADER_NOT_AVAILABLE', outcome.message)),
        leaderId: -1 };
    case 'timed_out':
      return { ...base, ...errorFields(new TributaryError('REQUEST_TIMED_OUT', outcome.message)), leaderId: -1 };
  }
}

/**
 * Kafka's ElectLeaders, preferred type, on this broker's partitions: each one it leads whose
 * preferred replica can take over is handed to it (leadership_transfers.ts), and the reply waits
 * for the transfers up to timeout_ms. Partitions it does not lead are NOT_LEADER_OR_FOLLOWER with a
 * hint; no partitions named means every partition it leads.
 */
function electLeadersHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.ELECT_LEADERS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const named = request.partitions.length > 0
      ? request.partitions.map((p) => ({ topic: p.topic, partition: p.partition }))
      : context.replicas.all().filter((hosted) => hosted.replica.isLeader)
        .map((hosted) => ({ topic: hosted.assignment.topic, partition: hosted.assignment.partition }));
    const answers: (ElectResult | HostedPartition)[] = named.map(({ topic, partition }) => {
      const base = { topic, partition, preferredLeaderId: -1 };
      try {
        const hosted = replicaOf(context, topic, partition);
        if (!hosted.replica.isLeader) throw new NotLeaderOrFollowerError(hosted.replica.leaderHint);
        return hosted;
      } catch (error) {
        return { ...base, ...errorFields(error), leaderId: -1, currentLeader: leaderHintOf(context, error) };
      }
    });
    const leading = answers.filter((answer): answer is HostedPartition => 'groupId' in answer);
    const outcomes = leading.length === 0 ? new Map<number, ElectionOutcome>()
      : await context.electPreferredLeaders(leading, timeoutMs);
    const partitions = answers.map((answer): ElectResult => {
      if (!('groupId' in answer)) return answer;
      const { topic, partition } = answer.assignment;
      const outcome = outcomes.get(answer.groupId);
      assert(outcome !== undefined, () => `no election outcome for ${topic}-${partition}`);
      const now = context.controller.metadata.topic(topic);
      const replicas = (now?.topicId === answer.assignment.topicId ? now.partitions[partition] : undefined)
        ?? answer.assignment.replicas;
      return electResultOf({ topic, partition, preferredLeaderId: replicas[0] ?? -1 }, outcome, context);
    });
    return { response: { partitions } };
  };
}

export function brokerHandlers(context: BrokerContext): HandlerTable {
  return {
    [API_KEYS.PRODUCE]: produceHandler(context),
    [API_KEYS.FETCH]: fetchHandler(context),
    [API_KEYS.LIST_OFFSETS]: listOffsetsHandler(context),
    [API_KEYS.METADATA]: metadataHandler(context),
    [API_KEYS.CREATE_TOPICS]: createTopicsHandler(context),
    [API_KEYS.DELETE_TOPICS]: deleteTopicsHandler(context),
    [API_KEYS.CREATE_PARTITIONS]: createPartitionsHandler(context),
    [API_KEYS.DESCRIBE_CLUSTER]: () => ({ response: { clusterId: 'tributary', controllerId: context.controllerId(),
      brokers: context.brokerList(), controllerVoterIds: context.voterIds(),
      fencedBrokers: context.fencedBrokerList(), decommissioningBrokerIds: context.controller.metadata.brokers()
        .filter((b) => b.decommissioning).map((b) => b.brokerId) } }),
    [API_KEYS.INIT_PRODUCER_ID]: initProducerIdHandler(context),
    [API_KEYS.ELECT_LEADERS]: electLeadersHandler(context),
  };
}
