/**
 * Enforcement: wraps a broker's handler table so every API checks Kafka's (operation, resource)
 * pairs before the real handler runs, as Kafka's KafkaApis does. The handlers themselves know
 * nothing of ACLs; both listeners (ZeroMQ and Kafka) run the wrapped table.
 *
 * Where a response has per-topic, per-partition or per-group errors, a denied item is answered
 * there (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED) and only the allowed items reach
 * the handler; a whole-request denial is the response's own error code, or a thrown
 * CLUSTER_AUTHORIZATION_FAILED for the cluster admin APIs. A denial never tells whether the
 * resource exists: it is checked first, and a named topic the principal may not DESCRIBE is
 * answered TOPIC_AUTHORIZATION_FAILED in Metadata whether it exists or not, while a listing of
 * every topic (or group) leaves unauthorized ones out.
 *
 * Brokers replicate and forward over the Raft transport, not these APIs; the few calls one broker
 * makes to another here (a FindCoordinator relay, a Kafka leader look-up, the auto-rebalancer's
 * admin requests) are ordinary requests, allowed to `Broker:N` principals (acl.ts). So no native
 * API is broker-internal, and Kafka's CLUSTER_ACTION guards nothing here.
 */
import { assert } from '../../raft/core/assert.js';
import { ERROR_TABLE, TributaryError } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import type { HandlerResult, HandlerTable, RequestContext, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { ApiKey } from '../protocol/api_keys.js';
import { CLUSTER_RESOURCE_NAME } from './acl.js';
import type { AclOperation, AclResource } from './acl.js';
import type { Authorizer } from './authorizer.js';

type Rule<A extends ApiKey> = (inner: RequestHandler<A>, authorizer: Authorizer) => RequestHandler<A>;

const CLUSTER: AclResource = { type: 'CLUSTER', name: CLUSTER_RESOURCE_NAME };

function topic(name: string): AclResource {
  return { type: 'TOPIC', name };
}

function group(name: string): AclResource {
  return { type: 'GROUP', name };
}

function denial(code: Extract<ErrorCode, `${string}_AUTHORIZATION_FAILED`>, what: string):
  { errorCode: number; errorMessage: string } {
  return { errorCode: ERROR_TABLE[code].wire, errorMessage: `${ERROR_TABLE[code].message}: ${what}` };
}

const TOPIC_DENIED = ERROR_TABLE.TOPIC_AUTHORIZATION_FAILED.wire;
const GROUP_DENIED = ERROR_TABLE.GROUP_AUTHORIZATION_FAILED.wire;
const CLUSTER_DENIED = ERROR_TABLE.CLUSTER_AUTHORIZATION_FAILED.wire;

/**
 * A copy of a decoded message with some fields replaced. The copy keeps the prototype: proto3
 * defaults live there, and a plain spread would turn an unset acks or timeout into undefined.
 */
function withFields<T extends object>(message: T, fields: Partial<T>): T {
  return Object.assign(Object.create(Object.getPrototypeOf(message) as object | null) as T, message, fields);
}

/** The items in order: allowed ones as the handler answered them, denied ones as denied() says. */
function interleave<I, R>(items: readonly I[], allowed: readonly boolean[], answered: readonly R[],
  denied: (item: I) => R): R[] {
  assert(answered.length === allowed.filter(Boolean).length, () => `the handler answered ${answered.length} items ` +
    `for ${allowed.filter(Boolean).length} asked`);
  let next = 0;
  return items.map((item, i) => (allowed[i] === true ? answered[next++] as R : denied(item)));
}

/** Per-item checks with one decision per distinct resource name in a request (a produce names a topic many times). */
function decider(authorizer: Authorizer, context: RequestContext, operation: AclOperation,
  resource: (name: string) => AclResource): (name: string) => boolean {
  const decided = new Map<string, boolean>();
  return (name) => {
    let allowed = decided.get(name);
    if (allowed === undefined) {
      allowed = authorizer.allows(context, operation, resource(name));
      decided.set(name, allowed);
    }
    return allowed;
  };
}

/** A whole request that needs operation on the cluster; refused with a thrown CLUSTER_AUTHORIZATION_FAILED. */
function clusterOperation<A extends ApiKey>(operation: AclOperation): Rule<A> {
  return (inner, authorizer) => (request, context) => {
    if (!authorizer.allows(context, operation, CLUSTER)) {
      throw new TributaryError('CLUSTER_AUTHORIZATION_FAILED', `${ERROR_TABLE.CLUSTER_AUTHORIZATION_FAILED.message}: ` +
        `${operation} on the cluster is not allowed for ${context.principal}`);
    }
    return inner(request, context);
  };
}

/** No check (Kafka answers DescribeCluster to anyone, as it does Metadata's broker list). */
function open<A extends ApiKey>(): Rule<A> {
  return (inner) => inner;
}

const produce: Rule<typeof API_KEYS.PRODUCE> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'WRITE', topic);
  const allowed = request.partitions.map((p) => may(p.topic));
  const result = await inner(withFields(request, { partitions: request.partitions.filter((_, i) => allowed[i]) }),
    context);
  return { ...result, response: { ...result.response, partitions: interleave(request.partitions, allowed,
    result.response.partitions ?? [], (p) => ({ topic: p.topic, partition: p.partition,
      ...denial('TOPIC_AUTHORIZATION_FAILED', `WRITE on topic ${p.topic}`), baseOffset: -1, logAppendTimeMs: -1,
      logStartOffset: -1 })) } };
};

const fetch: Rule<typeof API_KEYS.FETCH> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'READ', topic);
  const allowed = request.partitions.map((p) => may(p.topic));
  // Nothing allowed: answered at once (the handler would long-poll a fetch of no partitions).
  const result: HandlerResult<typeof API_KEYS.FETCH> = allowed.some(Boolean)
    ? await inner(withFields(request, { partitions: request.partitions.filter((_, i) => allowed[i]) }), context)
    : { response: { partitions: [] }, rawFrames: [] };
  return { ...result, response: { ...result.response, partitions: interleave(request.partitions, allowed,
    result.response.partitions ?? [], (p) => ({ topic: p.topic, partition: p.partition,
      ...denial('TOPIC_AUTHORIZATION_FAILED', `READ on topic ${p.topic}`), highWatermark: -1, logStartOffset: -1,
      rawFrameIndexes: [] })) } };
};

const listOffsets: Rule<typeof API_KEYS.LIST_OFFSETS> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'DESCRIBE', topic);
  const allowed = request.partitions.map((p) => may(p.topic));
  const result = await inner(withFields(request, { partitions: request.partitions.filter((_, i) => allowed[i]) }),
    context);
  return { ...result, response: { ...result.response, partitions: interleave(request.partitions, allowed,
    result.response.partitions ?? [], (p) => ({ topic: p.topic, partition: p.partition,
      ...denial('TOPIC_AUTHORIZATION_FAILED', `DESCRIBE on topic ${p.topic}`), timestamp: -1, offset: -1 })) } };
};

/**
 * Every topic: the ones the principal may not DESCRIBE are left out. Named topics: those are
 * answered TOPIC_AUTHORIZATION_FAILED with nothing else, the same whether they exist or not.
 */
const metadata: Rule<typeof API_KEYS.METADATA> = (inner, authorizer) => async (request, context) => {
  const listing = request.allTopics || request.topics.length === 0;
  const may = decider(authorizer, context, 'DESCRIBE', topic);
  const result = await inner(request, context);
  const topics = (result.response.topics ?? []).flatMap((answer) => {
    const name = answer.name ?? '';
    if (may(name)) return [answer];
    return listing ? [] : [{ name, errorCode: TOPIC_DENIED }];
  });
  return { ...result, response: { ...result.response, topics } };
};

/** CREATE on the cluster, or else on each topic (Kafka's CreateTopics). */
const createTopics: Rule<typeof API_KEYS.CREATE_TOPICS> = (inner, authorizer) => async (request, context) => {
  const cluster = authorizer.allowsAnyOfType(context, 'CREATE', 'CLUSTER');
  const may = decider(authorizer, context, 'CREATE', topic);
  const allowed = request.topics.map((wanted) => cluster || may(wanted.name));
  const result = await inner(withFields(request, { topics: request.topics.filter((_, i) => allowed[i]) }), context);
  return { ...result, response: { ...result.response, topics: interleave(request.topics, allowed,
    result.response.topics ?? [], (wanted) => ({ name: wanted.name, numPartitions: wanted.numPartitions,
      replicationFactor: wanted.replicationFactor, ...denial('TOPIC_AUTHORIZATION_FAILED',
        `CREATE on topic ${wanted.name}`) })) } };
};

const deleteTopics: Rule<typeof API_KEYS.DELETE_TOPICS> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'DELETE', topic);
  const allowed = request.topicNames.map(may);
  const result = await inner(withFields(request, { topicNames: request.topicNames.filter((_, i) => allowed[i]) }),
    context);
  return { ...result, response: { ...result.response, topics: interleave(request.topicNames, allowed,
    result.response.topics ?? [], (name) => ({ name, ...denial('TOPIC_AUTHORIZATION_FAILED', `DELETE on topic ${name}`) })) } };
};

const createPartitions: Rule<typeof API_KEYS.CREATE_PARTITIONS> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'ALTER', topic);
  const allowed = request.topics.map((wanted) => may(wanted.name));
  const result = await inner(withFields(request, { topics: request.topics.filter((_, i) => allowed[i]) }), context);
  return { ...result, response: { ...result.response, topics: interleave(request.topics, allowed,
    result.response.topics ?? [], (wanted) => ({ name: wanted.name, ...denial('TOPIC_AUTHORIZATION_FAILED',
      `ALTER on topic ${wanted.name}`) })) } };
};

/** Idempotence: IDEMPOTENT_WRITE on the cluster, or WRITE on any topic (Kafka's InitProducerId). */
const initProducerId: Rule<typeof API_KEYS.INIT_PRODUCER_ID> = (inner, authorizer) => (request, context) => {
  if (authorizer.allowsAnyOfType(context, 'IDEMPOTENT_WRITE', 'CLUSTER')
    || authorizer.allowsAnyOfType(context, 'WRITE', 'TOPIC')) {
    return inner(request, context);
  }
  authorizer.logDenied(context, 'IDEMPOTENT_WRITE', 'the cluster (and WRITE on no topic)');
  return { response: { errorCode: CLUSTER_DENIED, producerId: -1, producerEpoch: -1 } };
};

const findCoordinator: Rule<typeof API_KEYS.FIND_COORDINATOR> = (inner, authorizer) => (request, context) => {
  if (authorizer.allows(context, 'DESCRIBE', group(request.key))) return inner(request, context);
  return { response: { ...denial('GROUP_AUTHORIZATION_FAILED', `DESCRIBE on group ${request.key}`), nodeId: -1,
    host: '', port: 0 } };
};

const joinGroup: Rule<typeof API_KEYS.JOIN_GROUP> = (inner, authorizer) => (request, context) => {
  if (authorizer.allows(context, 'READ', group(request.groupId))) return inner(request, context);
  return { response: { errorCode: GROUP_DENIED, generationId: -1, memberId: request.memberId } };
};

const syncGroup: Rule<typeof API_KEYS.SYNC_GROUP> = (inner, authorizer) => (request, context) => {
  if (authorizer.allows(context, 'READ', group(request.groupId))) return inner(request, context);
  return { response: { errorCode: GROUP_DENIED } };
};

const heartbeat: Rule<typeof API_KEYS.HEARTBEAT> = (inner, authorizer) => (request, context) => {
  if (authorizer.allows(context, 'READ', group(request.groupId))) return inner(request, context);
  return { response: { errorCode: GROUP_DENIED } };
};

const leaveGroup: Rule<typeof API_KEYS.LEAVE_GROUP> = (inner, authorizer) => (request, context) => {
  if (authorizer.allows(context, 'READ', group(request.groupId))) return inner(request, context);
  return { response: { errorCode: GROUP_DENIED, members: [] } };
};

/** READ on the group, then READ on each partition's topic (Kafka's OffsetCommit). */
const offsetCommit: Rule<typeof API_KEYS.OFFSET_COMMIT> = (inner, authorizer) => async (request, context) => {
  const answer = (p: { topic: string; partition: number }, errorCode: number): { topic: string; partition: number;
    errorCode: number } => ({ topic: p.topic, partition: p.partition, errorCode });
  if (!authorizer.allows(context, 'READ', group(request.groupId))) {
    return { response: { partitions: request.partitions.map((p) => answer(p, GROUP_DENIED)) } };
  }
  const may = decider(authorizer, context, 'READ', topic);
  const allowed = request.partitions.map((p) => may(p.topic));
  const result: HandlerResult<typeof API_KEYS.OFFSET_COMMIT> = allowed.some(Boolean)
    ? await inner(withFields(request, { partitions: request.partitions.filter((_, i) => allowed[i]) }), context)
    : { response: { partitions: [] } };
  return { ...result, response: { ...result.response, partitions: interleave(request.partitions, allowed,
    result.response.partitions ?? [], (p) => answer(p, TOPIC_DENIED)) } };
};

/**
 * DESCRIBE on the group, then DESCRIBE on each topic (Kafka's OffsetFetch): named partitions of a
 * denied topic are answered TOPIC_AUTHORIZATION_FAILED; a fetch of every partition leaves them out.
 */
const offsetFetch: Rule<typeof API_KEYS.OFFSET_FETCH> = (inner, authorizer) => async (request, context) => {
  if (!authorizer.allows(context, 'DESCRIBE', group(request.groupId))) {
    return { response: { errorCode: GROUP_DENIED, partitions: [] } };
  }
  const may = decider(authorizer, context, 'DESCRIBE', topic);
  if (request.partitions.length === 0) {
    const result = await inner(request, context);
    return { ...result, response: { ...result.response,
      partitions: (result.response.partitions ?? []).filter((p) => may(p.topic ?? '')) } };
  }
  const allowed = request.partitions.map((p) => may(p.topic));
  // An empty list would mean every partition: with none allowed the handler is not asked.
  const result: HandlerResult<typeof API_KEYS.OFFSET_FETCH> = allowed.some(Boolean)
    ? await inner(withFields(request, { partitions: request.partitions.filter((_, i) => allowed[i]) }), context)
    : { response: { errorCode: 0, partitions: [] } };
  if ((result.response.errorCode ?? 0) !== 0) return result; // the group failed whole (NOT_COORDINATOR, ...)
  return { ...result, response: { ...result.response, partitions: interleave(request.partitions, allowed,
    result.response.partitions ?? [], (p) => ({ topic: p.topic, partition: p.partition, committedOffset: -1,
      committedLeaderEpoch: -1, metadata: '', errorCode: TOPIC_DENIED })) } };
};

const describeGroups: Rule<typeof API_KEYS.DESCRIBE_GROUPS> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'DESCRIBE', group);
  const allowed = request.groupIds.map(may);
  const result: HandlerResult<typeof API_KEYS.DESCRIBE_GROUPS> = allowed.some(Boolean)
    ? await inner(withFields(request, { groupIds: request.groupIds.filter((_, i) => allowed[i]) }), context)
    : { response: { groups: [] } };
  return { ...result, response: { ...result.response, groups: interleave(request.groupIds, allowed,
    result.response.groups ?? [], (groupId) => ({ groupId, ...denial('GROUP_AUTHORIZATION_FAILED',
      `DESCRIBE on group ${groupId}`), groupState: '' })) } };
};

/** DESCRIBE on the cluster lists every group; otherwise only the groups the principal may DESCRIBE. */
const listGroups: Rule<typeof API_KEYS.LIST_GROUPS> = (inner, authorizer) => async (request, context) => {
  const result = await inner(request, context);
  if (authorizer.allowsAnyOfType(context, 'DESCRIBE', 'CLUSTER')) return result;
  const may = decider(authorizer, context, 'DESCRIBE', group);
  return { ...result, response: { ...result.response,
    groups: (result.response.groups ?? []).filter((listed) => may(listed.groupId ?? '')) } };
};

const deleteGroups: Rule<typeof API_KEYS.DELETE_GROUPS> = (inner, authorizer) => async (request, context) => {
  const may = decider(authorizer, context, 'DELETE', group);
  const allowed = request.groupIds.map(may);
  const result: HandlerResult<typeof API_KEYS.DELETE_GROUPS> = allowed.some(Boolean)
    ? await inner(withFields(request, { groupIds: request.groupIds.filter((_, i) => allowed[i]) }), context)
    : { response: { results: [] } };
  return { ...result, response: { ...result.response, results: interleave(request.groupIds, allowed,
    result.response.results ?? [], (groupId) => ({ groupId, ...denial('GROUP_AUTHORIZATION_FAILED',
      `DELETE on group ${groupId}`) })) } };
};

/** Every API's rule; the mapped type makes a new API without one a compile error. */
const RULES: { readonly [A in ApiKey]: Rule<A> } = {
  [API_KEYS.PRODUCE]: produce,
  [API_KEYS.FETCH]: fetch,
  [API_KEYS.LIST_OFFSETS]: listOffsets,
  [API_KEYS.METADATA]: metadata,
  [API_KEYS.CREATE_TOPICS]: createTopics,
  [API_KEYS.DELETE_TOPICS]: deleteTopics,
  [API_KEYS.DESCRIBE_CLUSTER]: open(),
  [API_KEYS.INIT_PRODUCER_ID]: initProducerId,
  [API_KEYS.FIND_COORDINATOR]: findCoordinator,
  [API_KEYS.OFFSET_COMMIT]: offsetCommit,
  [API_KEYS.OFFSET_FETCH]: offsetFetch,
  [API_KEYS.JOIN_GROUP]: joinGroup,
  [API_KEYS.SYNC_GROUP]: syncGroup,
  [API_KEYS.HEARTBEAT]: heartbeat,
  [API_KEYS.LEAVE_GROUP]: leaveGroup,
  [API_KEYS.DESCRIBE_GROUPS]: describeGroups,
  [API_KEYS.LIST_GROUPS]: listGroups,
  [API_KEYS.DELETE_GROUPS]: deleteGroups,
  [API_KEYS.CREATE_PARTITIONS]: createPartitions,
  [API_KEYS.ELECT_LEADERS]: clusterOperation('ALTER'),
  [API_KEYS.ALTER_PARTITION_REASSIGNMENTS]: clusterOperation('ALTER'),
  [API_KEYS.LIST_PARTITION_REASSIGNMENTS]: clusterOperation('DESCRIBE'),
  [API_KEYS.DESCRIBE_QUORUM]: clusterOperation('DESCRIBE'),
  [API_KEYS.ADD_RAFT_VOTER]: clusterOperation('ALTER'),
  [API_KEYS.REMOVE_RAFT_VOTER]: clusterOperation('ALTER'),
  [API_KEYS.DECOMMISSION_BROKER]: clusterOperation('ALTER'),
  [API_KEYS.CREATE_ACLS]: clusterOperation('ALTER'),
  [API_KEYS.DELETE_ACLS]: clusterOperation('ALTER'),
  [API_KEYS.DESCRIBE_ACLS]: clusterOperation('DESCRIBE'),
  // Kafka's rules for client quotas: ALTER_CONFIGS and DESCRIBE_CONFIGS on the cluster.
  [API_KEYS.ALTER_CLIENT_QUOTAS]: clusterOperation('ALTER_CONFIGS'),
  [API_KEYS.DESCRIBE_CLIENT_QUOTAS]: clusterOperation('DESCRIBE_CONFIGS'),
};

function wrapOne<A extends ApiKey>(api: A, handler: RequestHandler<A>, authorizer: Authorizer): RequestHandler<A> {
  const rule = RULES[api] as Rule<A>;
  return rule(handler, authorizer);
}

/** The table with every handler behind its API's checks. */
export function authorizingHandlers(table: HandlerTable, authorizer: Authorizer): HandlerTable {
  const wrapped: Partial<Record<ApiKey, unknown>> = {};
  for (const key of Object.keys(table)) {
    const api = Number(key) as ApiKey;
    const handler = table[api] as RequestHandler<ApiKey> | undefined;
    assert(handler !== undefined, () => `handler table entry ${key} is empty`);
    wrapped[api] = wrapOne(api, handler, authorizer);
  }
  return wrapped as HandlerTable;
}
