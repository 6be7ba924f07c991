/**
 * The admin client (Kafka Admin, kafkajs admin): topics, the cluster, and consumer groups (through
 * group/group_admin.ts). Any broker accepts
 * CreateTopics, CreatePartitions and DeleteTopics and answers once the controller has applied them, so requests go
 * to whichever broker answers (MetadataCache.requestAny). Retriable failures (no broker reachable,
 * an election of the controller) are retried with back-off within requestTimeoutMs; a topic-level
 * error is thrown as the TributaryError of its code.
 */
import type { Logger } from 'pino';

import { setTimeout as sleep } from 'node:timers/promises';

import { assert } from '../../raft/core/assert.js';
import { ERROR_TABLE, errorFromWire, TributaryError } from '../common/errors.js';
import { quotaAlterationProblem } from '../quota/client_quotas.js';
import type { QuotaAlteration, QuotaEntry } from '../quota/client_quotas.js';
import { API_KEYS, LIST_OFFSETS_EARLIEST, LIST_OFFSETS_LATEST } from '../protocol/api_keys.js';
import type { DecodedResponseOf, RequestOf } from '../protocol/messages.js';
import { defaultClientLogger, MetadataCache, parseBootstrap } from './metadata_cache.js';
import type { BrokerInfo, PartitionInfo } from './metadata_cache.js';
import { retry } from './retry.js';
import { checkAclBinding, checkAclFilter, describeBinding, rawAcl } from '../security/acl.js';
import type { AclBinding, AclBindingFilter, RawAcl } from '../security/acl.js';
import { GroupAdmin } from './group/group_admin.js';
import type { GroupDescription, GroupListing, OffsetResetPlanEntry, OffsetResetSpec } from './group/group_admin.js';
import type { ClientSecurity, ClientSecurityOptions } from '../security/client_security.js';

export type { AclBinding, AclBindingFilter } from '../security/acl.js';
export type {
  GroupDescription, GroupListing, GroupMemberDescription, GroupPartitionLag, OffsetResetPlanEntry, OffsetResetSpec,
} from './group/group_admin.js';

export interface AdminOptions {
  readonly bootstrap: string | readonly string[];
  /** CURVE credentials (docs/security.md): { keyFile, serverKey }; plaintext when absent. */
  readonly security?: ClientSecurityOptions | ClientSecurity;
  readonly clientId?: string;
  /** Bounds each call, retries included. */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
}

export interface CreateTopicOptions {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs?: Readonly<Record<string, string>>;
  readonly validateOnly?: boolean;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: readonly PartitionInfo[];
  readonly configs: Readonly<Record<string, string>>;
}

export interface ClusterDescription {
  readonly clusterId: string;
  /** The broker leading the controller group, or null during an election. */
  readonly controllerId: number | null;
  readonly controllerVoterIds: readonly number[];
  readonly brokers: readonly BrokerInfo[];
  /** Registered brokers that are fenced: down, or not heard from within the session. */
  readonly fencedBrokers: readonly BrokerInfo[];
  /** Registered brokers being decommissioned: no new replicas go to them. */
  readonly decommissioningBrokerIds: readonly number[];
}

export interface PartitionOffsets {
  readonly partition: number;
  /** The log start offset. */
  readonly earliest: number;
  /** The high watermark. */
  readonly latest: number;
}

/** A partition's log size on its leader. */
export interface PartitionSize {
  readonly topic: string;
  readonly partition: number;
  readonly bytes: number;
}

/** One partition's preferred-leader election (Kafka's ElectLeaders, preferred type). */
export interface PreferredLeaderElection {
  readonly topic: string;
  readonly partition: number;
  /** elected: the preferred replica took over now; already: it led already; failed: see error. */
  readonly outcome: 'elected' | 'already' | 'failed';
  /** The first replica of the partition's replica list; null when unknown. */
  readonly preferredLeaderId: number | null;
  /** The leader as the answer left it; null when unknown. */
  readonly leaderId: number | null;
  readonly error: TributaryError | null;
}

/** Rounds of ElectLeaders requests, each to the partitions' leaders as the metadata names them. */
const ELECTION_ROUNDS_MAX = 10;
/** Time kept back from the broker's wait for the reply to travel. */
const ELECTION_REPLY_MARGIN_MS = 1_000;
/** One partition's move: its target replicas, preferred leader first. */
export interface PartitionMove {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

export interface PartitionMoveResult extends PartitionMove {
  /** Null when the move was recorded (or, validating only, would be). */
  readonly error: TributaryError | null;
}

/** A move under way (Kafka's ListPartitionReassignments entry). */
export interface OngoingMove {
  readonly topic: string;
  readonly partition: number;
  /** The partition's Raft voters as last reported. */
  readonly replicas: readonly number[];
  readonly target: readonly number[];
  readonly adding: readonly number[];
  readonly removing: readonly number[];
  readonly learners: readonly number[];
  /** Entries each learner is behind the leader's commit index; empty when the leader did not answer. */
  readonly lags: ReadonlyMap<number, number>;
}

/** One member of the controller quorum as its leader sees it (DescribeQuorum). */
export interface QuorumMemberState {
  readonly id: number;
  /** The highest metadata log index known to match the leader's. */
  readonly matchIndex: number;
  /** How many entries it is behind the leader's last index. */
  readonly entriesBehind: number;
  /** Registered, not fenced, and heard from by the leader recently. */
  readonly live: boolean;
}

/** The controller quorum (Kafka's DescribeQuorum): its leader, term, voters and learners. */
export interface QuorumDescription {
  readonly leaderId: number;
  readonly term: number;
  readonly lastIndex: number;
  readonly commitIndex: number;
  readonly voters: readonly QuorumMemberState[];
  readonly learners: readonly QuorumMemberState[];
}

type QuorumApi = typeof API_KEYS.DESCRIBE_QUORUM | typeof API_KEYS.ADD_RAFT_VOTER | typeof API_KEYS.REMOVE_RAFT_VOTER;

/** How long the controller leader waits for one voter change to apply before answering. */
const VOTER_CHANGE_WAIT_MS_MAX = 10_000;
/** Time kept for the reply to travel, on top of the broker's own wait. */
const QUORUM_REPLY_MARGIN_MS = 2_000;

/** How long one ListOffsets waits on a partition leader before the leader is looked up again. */
const LEADER_ATTEMPT_TIMEOUT_MS = 3_000;

export const ADMIN_DEFAULTS = {
  requestTimeoutMs: 30_000,
} as const;

export class Admin {
  private readonly metadata: MetadataCache;
  private readonly requestTimeoutMs: number;
  private readonly groups: GroupAdmin;

  constructor(options: AdminOptions) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? ADMIN_DEFAULTS.requestTimeoutMs;
    this.metadata = new MetadataCache({
      bootstrap: parseBootstrap(options.bootstrap),
      ...(options.security === undefined ? {} : { security: options.security }),
      clientId: options.clientId ?? 'tributary-admin',
      requestTimeoutMs: this.requestTimeoutMs,
      metadataTimeoutMs: Math.min(5_000, this.requestTimeoutMs),
      logger: options.logger ?? defaultClientLogger(options.clientId ?? 'tributary-admin'),
    });
    this.groups = new GroupAdmin({ metadata: this.metadata, requestTimeoutMs: this.requestTimeoutMs,
      logger: options.logger ?? defaultClientLogger(options.clientId ?? 'tributary-admin'),
      listOffset: (topic, partition, spec) => this.listOffset(topic, partition, spec) });
  }

  /** Every consumer group the brokers coordinate, sorted by id. */
  async listGroups(): Promise<GroupListing[]> {
    return this.groups.listGroups();
  }

  /** A group's state, members and assignments, and per partition its committed offset, log end and lag. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    return this.groups.describeGroup(groupId);
  }

  /** Deletes a group with no members (NON_EMPTY_GROUP when it has some). */
  async deleteGroup(groupId: string): Promise<void> {
    await this.groups.deleteGroup(groupId);
  }

  /**
   * The new committed offsets of a group's partitions of a topic; with execute, commits them. The
   * group must have no members (NON_EMPTY_GROUP otherwise).
   */
  async resetGroupOffsets(groupId: string, topic: string, spec: OffsetResetSpec, options: { execute: boolean }):
    Promise<OffsetResetPlanEntry[]> {
    return this.groups.resetOffsets(groupId, topic, spec, options.execute);
  }

  /** Checks that some broker answers. */
  async connect(): Promise<void> {
    await this.withRetry(() => this.metadata.refresh());
  }

  async createTopic(options: CreateTopicOptions): Promise<void> {
    const topic = {
      name: options.name, numPartitions: options.partitions, replicationFactor: options.replicationFactor,
      configs: { ...options.configs },
    };
    const { response } = await this.withRetry(() => this.metadata.requestAny(API_KEYS.CREATE_TOPICS, {
      topics: [topic], timeoutMs: this.requestTimeoutMs, validateOnly: options.validateOnly ?? false,
    }, { timeoutMs: this.requestTimeoutMs }));
    const result = response.topics.find((t) => t.name === options.name);
    if (result === undefined) throw new TributaryError('UNKNOWN_SERVER_ERROR', `No result for topic ${options.name}`);
    if (result.errorCode !== 0) throw topicError(result.errorCode, `Topic ${options.name}`, result.errorMessage);
  }

  /**
   * Grows a topic to count partitions (Kafka's createPartitions): count must be above the current
   * one (INVALID_PARTITIONS otherwise). Keyed records hash over the new count from then on, so a
   * key's new records may go to another partition than its earlier ones, as in Kafka.
   */
  async createPartitions(topic: string, count: number, options: { validateOnly?: boolean } = {}): Promise<void> {
    // The wire field is a uint32: a fraction or a negative number would arrive as another count.
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new TributaryError('INVALID_PARTITIONS', `Topic ${topic}: partition count ${count} is not a positive integer`);
    }
    const { response } = await this.withRetry(() => this.metadata.requestAny(API_KEYS.CREATE_PARTITIONS, {
      topics: [{ name: topic, count }], timeoutMs: this.requestTimeoutMs, validateOnly: options.validateOnly ?? false,
    }, { timeoutMs: this.requestTimeoutMs }));
    const result = response.topics.find((t) => t.name === topic);
    if (result === undefined) throw new TributaryError('UNKNOWN_SERVER_ERROR', `No result for topic ${topic}`);
    if (result.errorCode !== 0) throw topicError(result.errorCode, `Topic ${topic}`, result.errorMessage);
  }

  /**
   * Starts moving partitions to new replica sets (Kafka's alterPartitionReassignments); resolves
   * once the controller has recorded each move, with a typed error per partition it refused
   * (REASSIGNMENT_IN_PROGRESS, INVALID_REPLICA_ASSIGNMENT, UNKNOWN_TOPIC_OR_PARTITION, ...).
   */
  async reassignPartitions(moves: readonly PartitionMove[], options: { throttleBytesPerSec?: number;
    validateOnly?: boolean } = {}): Promise<PartitionMoveResult[]> {
    const throttle = options.throttleBytesPerSec ?? 0;
    if (!Number.isSafeInteger(throttle) || throttle < 0) {
      throw new TributaryError('INVALID_REQUEST', `throttle ${throttle} bytes/s is not a natural number`);
    }
    const { response } = await this.withRetry(() => this.metadata.requestAny(API_KEYS.ALTER_PARTITION_REASSIGNMENTS, {
      partitions: moves.map((move) => ({ topic: move.topic, partition: move.partition, replicas: [...move.replicas] })),
      timeoutMs: this.requestTimeoutMs, throttleBytesPerSec: throttle, validateOnly: options.validateOnly ?? false,
    }, { timeoutMs: this.requestTimeoutMs }));
    return moves.map((move) => {
      const result = response.partitions.find((p) => p.topic === move.topic && p.partition === move.partition);
      if (result === undefined) {
        return { ...move, error: new TributaryError('UNKNOWN_SERVER_ERROR', `No result for ${move.topic}/${move.partition}`) };
      }
      return { ...move, error: result.errorCode === 0 ? null
        : topicError(result.errorCode, `${move.topic}/${move.partition}`, result.errorMessage) };
    });
  }

  /** The moves under way, with each learner's lag as the partition's leader sees it. */
  async listPartitionReassignments(): Promise<OngoingMove[]> {
    const { response } = await this.withRetry(() =>
      this.metadata.requestAny(API_KEYS.LIST_PARTITION_REASSIGNMENTS, {}));
    const lags = await this.learnerLagsFromLeaders(response.partitions.filter((p) => p.learners.length > 0));
    return response.partitions.map((p) => ({
      topic: p.topic, partition: p.partition, replicas: [...p.replicas], target: [...p.target],
      adding: [...p.addingReplicas], removing: [...p.removingReplicas], learners: [...p.learners],
      lags: lags.get(`${p.topic}/${p.partition}`) ?? new Map<number, number>(),
    })).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** Asks each moving partition's leader for its learners' lags; partitions whose leader fails are left out. */
  private async learnerLagsFromLeaders(moving: readonly { topic: string; partition: number }[]):
    Promise<Map<string, Map<number, number>>> {
    const lags = new Map<string, Map<number, number>>();
    if (moving.length === 0) return lags;
    await this.metadata.refresh([...new Set(moving.map((p) => p.topic))]).catch(() => undefined);
    const leaders = new Set(moving.map((p) => this.metadata.leaderOf(p.topic, p.partition))
      .filter((id): id is number => id !== null));
    await Promise.all([...leaders].map(async (leader) => {
      const connection = this.metadata.connectionToBroker(leader);
      if (connection === null) return;
      const answer = await connection.request(API_KEYS.LIST_PARTITION_REASSIGNMENTS, {}, [],
        { timeoutMs: Math.min(LEADER_ATTEMPT_TIMEOUT_MS, this.requestTimeoutMs) }).catch(() => null);
      for (const p of answer?.response.partitions ?? []) {
        if (p.leaderId !== leader) continue;
        lags.set(`${p.topic}/${p.partition}`, new Map(p.lags.map((lag) => [lag.brokerId, lag.entriesBehind])));
      }
    }));
    return lags;
  }

  async deleteTopic(name: string): Promise<void> {
    const { response } = await this.withRetry(() => this.metadata.requestAny(API_KEYS.DELETE_TOPICS, {
      topicNames: [name], timeoutMs: this.requestTimeoutMs,
    }, { timeoutMs: this.requestTimeoutMs }));
    const result = response.topics.find((t) => t.name === name);
    if (result === undefined) throw new TributaryError('UNKNOWN_SERVER_ERROR', `No result for topic ${name}`);
    if (result.errorCode !== 0) throw topicError(result.errorCode, `Topic ${name}`, result.errorMessage);
  }

  /** Every topic name, sorted. */
  async listTopics(): Promise<string[]> {
    const { response } = await this.withRetry(() => this.metadata.requestAny(API_KEYS.METADATA, { allTopics: true }));
    return response.topics.filter((t) => t.errorCode === 0).map((t) => t.name).sort();
  }

  /** Partitions (leader, replicas, in-sync replicas, high watermark) and configs of a topic. */
  async describeTopic(name: string): Promise<TopicDescription> {
    await this.withRetry(() => this.metadata.refresh([name]));
    const topic = this.metadata.topic(name);
    if (topic === undefined) throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${name} does not exist`);
    if (topic.errorCode !== 0) throw topicError(topic.errorCode, `Topic ${name}`, '');
    return { name: topic.name, partitions: topic.partitions, configs: topic.configs };
  }

  async describeCluster(): Promise<ClusterDescription> {
    const { response } = await this.withRetry(() => this.metadata.requestAny(API_KEYS.DESCRIBE_CLUSTER, {}));
    return {
      clusterId: response.clusterId,
      controllerId: response.controllerId >= 0 ? response.controllerId : null,
      controllerVoterIds: [...response.controllerVoterIds],
      brokers: response.brokers.map(brokerInfo).sort((a, b) => a.id - b.id),
      fencedBrokers: response.fencedBrokers.map(brokerInfo).sort((a, b) => a.id - b.id),
      decommissioningBrokerIds: [...response.decommissioningBrokerIds].sort((a, b) => a - b),
    };
  }

  /** The controller quorum as its leader sees it: each voter's and learner's lag and liveness. */
  async describeQuorum(): Promise<QuorumDescription> {
    const response = await this.toController(API_KEYS.DESCRIBE_QUORUM, {}, 0, () => false);
    assert(response !== null, 'a describe is never done already');
    const member = (m: { brokerId: number; matchIndex: number; entriesBehind: number; live: boolean }):
      QuorumMemberState => ({ id: m.brokerId, matchIndex: m.matchIndex, entriesBehind: m.entriesBehind, live: m.live });
    return { leaderId: response.leaderId, term: response.term, lastIndex: response.lastIndex,
      commitIndex: response.commitIndex, voters: response.voters.map(member).sort((a, b) => a.id - b.id),
      learners: response.learners.map(member).sort((a, b) => a.id - b.id) };
  }

  /**
   * Makes a broker a controller voter (KIP-853's AddRaftVoter): it must be registered, live, a
   * controller learner, and caught up with the metadata log. Resolves once the change is applied;
   * DUPLICATE_VOTER, BROKER_ID_NOT_REGISTERED, BROKER_NOT_AVAILABLE when it cannot be made.
   */
  async addRaftVoter(brokerId: number): Promise<void> {
    const waitMs = this.voterChangeWaitMs();
    await this.toController(API_KEYS.ADD_RAFT_VOTER, { brokerId, timeoutMs: waitMs }, waitMs,
      (error) => error.code === 'DUPLICATE_VOTER');
  }

  /**
   * Removes a controller voter (KIP-853's RemoveRaftVoter); it stays a learner while registered.
   * The leader, if it is the one, hands leadership away first. VOTER_NOT_FOUND when it is no voter,
   * INVALID_REQUEST for the last voter.
   */
  async removeRaftVoter(brokerId: number): Promise<void> {
    const waitMs = this.voterChangeWaitMs();
    await this.toController(API_KEYS.REMOVE_RAFT_VOTER, { brokerId, timeoutMs: waitMs }, waitMs,
      (error) => error.code === 'VOTER_NOT_FOUND');
  }

  private voterChangeWaitMs(): number {
    return Math.max(1, Math.min(VOTER_CHANGE_WAIT_MS_MAX, this.requestTimeoutMs - QUORUM_REPLY_MARGIN_MS));
  }

  /**
   * One controller quorum request, sent to the controller leader: first to any broker, then to the
   * leader each NOT_CONTROLLER answer names; the broker may wait up to waitMs. `doneAlready` says
   * which error means the state asked for holds already: after an attempt of ours that may have
   * taken effect unanswered (lost, or timed out waiting), that is success, and null is returned.
   */
  private async toController<A extends QuorumApi>(api: A, body: RequestOf<A>, waitMs: number,
    doneAlready: (error: TributaryError) => boolean): Promise<DecodedResponseOf<A> | null> {
    let leader: number | null = null;
    let mayHaveApplied = false;
    const timeoutMs = Math.min(this.requestTimeoutMs, waitMs + QUORUM_REPLY_MARGIN_MS);
    const attempt = async (): Promise<DecodedResponseOf<A> | null> => {
      const connection = leader === null ? null : this.metadata.connectionToBroker(leader);
      let reply: { response: DecodedResponseOf<A> };
      try {
        reply = connection === null ? await this.metadata.requestAny(api, body, { timeoutMs })
          : await connection.request(api, body, [], { timeoutMs });
      } catch (error) {
        // The leader may be gone; and a change sent may have been applied without an answer.
        leader = null;
        mayHaveApplied = true;
        throw error;
      }
      const { errorCode, errorMessage, leaderId } = reply.response as
        { errorCode: number; errorMessage: string; leaderId: number };
      if (errorCode === 0) return reply.response;
      const error = errorFromWire(errorCode, errorMessage === '' ? undefined : errorMessage);
      if (mayHaveApplied && doneAlready(error)) return null;
      if (error.code === 'NOT_CONTROLLER') {
        leader = leaderId > 0 ? leaderId : null;
        if (leader !== null && this.metadata.connectionToBroker(leader) === null) {
          await this.metadata.refresh().catch(() => undefined);
        }
      }
      if (error.code === 'REQUEST_TIMED_OUT') mayHaveApplied = true;
      throw error;
    };
    return this.withRetry(attempt);
  }

  /**
   * Bytes of each partition's log of `topics`, as its leader measures it: Metadata carries a size
   * only from the broker leading the partition, so every live broker is asked. A partition whose
   * leader did not answer is left out.
   */
  async partitionSizes(topics: readonly string[]): Promise<PartitionSize[]> {
    const brokers = (await this.describeCluster()).brokers;
    await this.withRetry(() => this.metadata.refresh([...topics]));
    const sizes = new Map<string, PartitionSize>();
    await Promise.all(brokers.map(async (broker) => {
      const connection = this.metadata.connectionToBroker(broker.id)
        ?? this.metadata.connectionToNode(broker.id, broker.address);
      const answer = await connection.request(API_KEYS.METADATA, { topics: [...topics], allTopics: false })
        .catch(() => null);
      for (const topic of answer?.response.topics ?? []) {
        for (const p of topic.errorCode === 0 ? topic.partitions : []) {
          if (p.logSizeBytes >= 0) {
            sizes.set(partitionKey(topic.name, p.partition), { topic: topic.name, partition: p.partition,
              bytes: p.logSizeBytes });
          }
        }
      }
    }));
    return [...sizes.values()].sort((a, b) =>
      (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /**
   * One phase of a broker's decommission (DecommissionBroker): start marks it so no new replica
   * goes to it; unregister removes it once it holds no replica. Both are idempotent. Resolves with
   * how many partitions still have a replica on it and whether it is unregistered already; a
   * refusal is thrown as its TributaryError (BROKER_ID_NOT_REGISTERED, INVALID_REQUEST,
   * INVALID_REPLICATION_FACTOR, ...).
   */
  async decommissionBroker(brokerId: number, phase: 'start' | 'unregister'):
    Promise<{ replicasLeft: number; unregistered: boolean }> {
    if (!Number.isSafeInteger(brokerId) || brokerId < 0) {
      throw new TributaryError('INVALID_REQUEST', `broker id ${brokerId} is not a natural number`);
    }
    // Inside the retry: a retriable answer (REQUEST_TIMED_OUT during an election) is asked again.
    return this.withRetry(async () => {
      const { response } = await this.metadata.requestAny(API_KEYS.DECOMMISSION_BROKER, { brokerId,
        unregister: phase === 'unregister', timeoutMs: Math.max(1, this.requestTimeoutMs - ELECTION_REPLY_MARGIN_MS) },
      { timeoutMs: this.requestTimeoutMs });
      if (response.errorCode !== 0) throw topicError(response.errorCode, `Broker ${brokerId}`, response.errorMessage);
      return { replicasLeft: response.replicasLeft, unregistered: response.unregistered };
    });
  }

  /**
   * Adds ACL bindings (CreateAcls); bindings present already stay once. Resolves once the
   * controller applied them and the answering broker authorizes with them; every broker applies
   * them within moments. A bad binding is INVALID_REQUEST (checked here first, nothing is sent).
   */
  async createAcls(bindings: readonly AclBinding[]): Promise<void> {
    const checked = bindings.map((binding) => checkedBinding(rawAcl(binding)));
    if (checked.length === 0) return;
    await this.withRetry(async () => {
      const { response } = await this.metadata.requestAny(API_KEYS.CREATE_ACLS, { creations: checked.map(rawAcl),
        timeoutMs: this.adminWaitMs() }, { timeoutMs: this.requestTimeoutMs });
      for (const [i, result] of response.results.entries()) {
        if (result.errorCode !== 0) {
          const binding = checked[i];
          throw topicError(result.errorCode, binding === undefined ? 'ACL' : describeBinding(binding),
            result.errorMessage);
        }
      }
    });
  }

  /**
   * Removes the bindings each filter matches (DeleteAcls; a filter's absent fields match anything)
   * and resolves with those removed. A bad filter is INVALID_REQUEST.
   */
  async deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[]> {
    const raw = filters.map((filter) => checkedFilter(rawAcl(filter)));
    if (raw.length === 0) return [];
    return this.withRetry(async () => {
      const { response } = await this.metadata.requestAny(API_KEYS.DELETE_ACLS, { filters: raw,
        timeoutMs: this.adminWaitMs() }, { timeoutMs: this.requestTimeoutMs });
      const removed: AclBinding[] = [];
      for (const result of response.filterResults) {
        if (result.errorCode !== 0) throw topicError(result.errorCode, 'ACL filter', result.errorMessage);
        removed.push(...result.matchingAcls.map((binding) => checkedBinding(binding)));
      }
      return removed;
    });
  }

  /**
   * Sets or removes principals' byte-rate quotas (AlterClientQuotas; docs/quotas.md): each
   * alteration names a principal (`User:name`, or `User:*` for the default) and its changes to
   * `producer_byte_rate` / `consumer_byte_rate`. Resolves once the answering broker throttles with
   * them. A bad alteration is INVALID_REQUEST (checked here first, nothing is sent).
   */
  async alterClientQuotas(alterations: readonly QuotaAlteration[]): Promise<void> {
    for (const alteration of alterations) {
      const problem = quotaAlterationProblem(alteration);
      if (problem !== null) throw new TributaryError('INVALID_REQUEST', problem);
    }
    if (alterations.length === 0) return;
    await this.withRetry(async () => {
      const { response } = await this.metadata.requestAny(API_KEYS.ALTER_CLIENT_QUOTAS, {
        alterations: alterations.map((alteration) => ({ principal: alteration.principal,
          ops: alteration.ops.map((op) => ({ key: op.key, value: op.remove ? 0 : op.value, remove: op.remove })) })),
        timeoutMs: this.adminWaitMs() }, { timeoutMs: this.requestTimeoutMs });
      for (const result of response.results) {
        if (result.errorCode !== 0) throw topicError(result.errorCode, `Quota of ${result.principal}`, result.errorMessage);
      }
    });
  }

  /** The quota entries (DescribeClientQuotas) of one principal, or every entry, as a broker's metadata has them. */
  async describeClientQuotas(principal?: string): Promise<QuotaEntry[]> {
    return this.withRetry(async () => {
      const { response } = await this.metadata.requestAny(API_KEYS.DESCRIBE_CLIENT_QUOTAS,
        { principal: principal ?? '' });
      if (response.errorCode !== 0) throw topicError(response.errorCode, 'Quotas', response.errorMessage);
      return response.entries.map((entry) => ({ principal: entry.principal,
        ...(entry.producerByteRate === 0 ? {} : { producerByteRate: entry.producerByteRate }),
        ...(entry.consumerByteRate === 0 ? {} : { consumerByteRate: entry.consumerByteRate }) }));
    });
  }

  /** How long a broker may wait for the controller: the call's time less the reply's margin. */
  private adminWaitMs(): number {
    return Math.max(1, this.requestTimeoutMs - ELECTION_REPLY_MARGIN_MS);
  }

  /** The bindings a filter matches (DescribeAcls), every binding without one, as a broker's metadata has them. */
  async describeAcls(filter: AclBindingFilter = {}): Promise<AclBinding[]> {
    const raw = checkedFilter(rawAcl(filter));
    return this.withRetry(async () => {
      const { response } = await this.metadata.requestAny(API_KEYS.DESCRIBE_ACLS, { filter: raw });
      if (response.errorCode !== 0) throw topicError(response.errorCode, 'ACL filter', response.errorMessage);
      return response.acls.map((binding) => checkedBinding(binding));
    });
  }

  /** Earliest (log start) and latest (high watermark) offsets of every partition, from the leaders. */
  async fetchOffsets(topic: string): Promise<PartitionOffsets[]> {
    const description = await this.describeTopic(topic);
    return Promise.all(description.partitions.map(async (p) => ({
      partition: p.partition,
      earliest: await this.listOffset(topic, p.partition, 'earliest'),
      latest: await this.listOffset(topic, p.partition, 'latest'),
    })));
  }

  async close(): Promise<void> {
    await this.metadata.close();
  }

  /**
   * Kafka's preferred-leader election (kafka-leader-election.sh --election-type preferred): every
   * partition of `topics` (default: every topic, internal ones included) whose preferred replica,
   * the first of its replica list, is in sync and not its leader gets its leadership handed to it
   * by Raft leadership transfer. Each request goes to the partition's leader, which waits for the
   * transfer; a leader that moved meanwhile is followed (bounded rounds within requestTimeoutMs).
   * An outcome per partition, sorted; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION, thrown.
   */
  async electPreferredLeaders(options: { readonly topics?: readonly string[] } = {}):
    Promise<PreferredLeaderElection[]> {
    const deadlineMs = Date.now() + this.requestTimeoutMs;
    const names = options.topics === undefined ? await this.listTopics() : [...new Set(options.topics)];
    await this.withRetry(() => this.metadata.refresh(names));
    const pending = new Map<string, { topic: string; partition: number; preferred: number | null }>();
    for (const name of names) {
      const topic = this.metadata.topic(name);
      if (topic === undefined || topic.errorCode !== 0) {
        throw topicError(topic?.errorCode ?? ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire, `Topic ${name}`, '');
      }
      for (const p of topic.partitions) {
        pending.set(partitionKey(name, p.partition), { topic: name, partition: p.partition,
          preferred: p.replicaIds[0] ?? null });
      }
    }
    const results = new Map<string, PreferredLeaderElection>();
    const lastErrors = new Map<string, TributaryError>();
    for (let round = 0; pending.size > 0 && round < ELECTION_ROUNDS_MAX && Date.now() < deadlineMs; round += 1) {
      if (round > 0) {
        await sleep(Math.min(100 * round, Math.max(0, deadlineMs - Date.now())));
        await this.metadata.refresh(names).catch(() => undefined);
      }
      const byLeader = new Map<number, { topic: string; partition: number }[]>();
      for (const [key, target] of pending) {
        const leader = this.metadata.leaderOf(target.topic, target.partition);
        if (leader === null) {
          lastErrors.set(key, new TributaryError('LEADER_NOT_AVAILABLE', `${target.topic}/${target.partition}: no leader known`));
          continue;
        }
        byLeader.set(leader, [...byLeader.get(leader) ?? [], { topic: target.topic, partition: target.partition }]);
      }
      await Promise.all([...byLeader].map(async ([leader, partitions]) => {
        const answered = await this.electAt(leader, partitions, deadlineMs);
        for (const { topic, partition } of partitions) {
          const key = partitionKey(topic, partition);
          const target = pending.get(key);
          const answer = answered instanceof TributaryError ? answered : answered.get(key);
          if (target === undefined) continue;
          if (answer === undefined || answer instanceof TributaryError) {
            this.metadata.forgetLeader(topic, partition);
            lastErrors.set(key, answer ?? new TributaryError('UNKNOWN_SERVER_ERROR', `no answer for ${topic}/${partition}`));
            continue;
          }
          const leaderId = answer.leaderId >= 0 ? answer.leaderId : null;
          const preferredLeaderId = answer.preferredLeaderId >= 0 ? answer.preferredLeaderId : target.preferred;
          const base = { topic, partition, preferredLeaderId, leaderId };
          const code = answer.errorCode === 0 ? null : errorFromWire(answer.errorCode,
            `${topic}/${partition}: ${answer.errorMessage === '' ? errorFromWire(answer.errorCode).message : answer.errorMessage}`);
          if (code === null) {
            results.set(key, { ...base, outcome: 'elected', error: null });
          } else if (code.code === 'ELECTION_NOT_NEEDED') {
            results.set(key, { ...base, outcome: 'already', error: null });
          } else if (code.code === 'NOT_LEADER_OR_FOLLOWER' || code.code === 'LEADER_NOT_AVAILABLE') {
            // Led elsewhere now: follow the hint, or look the leader up again next round.
            if (answer.currentLeader !== null) this.metadata.applyLeaderHint(topic, partition, answer.currentLeader);
            else this.metadata.forgetLeader(topic, partition);
            lastErrors.set(key, code);
            continue;
          } else {
            results.set(key, { ...base, outcome: 'failed', error: code });
          }
          pending.delete(key);
        }
      }));
    }
    for (const [key, target] of pending) {
      results.set(key, { topic: target.topic, partition: target.partition, outcome: 'failed',
        preferredLeaderId: target.preferred, leaderId: this.metadata.leaderOf(target.topic, target.partition),
        error: lastErrors.get(key) ?? new TributaryError('REQUEST_TIMED_OUT', 'no leader answered in time') });
    }
    return [...results.values()].sort((a, b) =>
      (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /** One ElectLeaders request to a leader: its answers by partition key, or the error of the whole request. */
  private async electAt(leader: number, partitions: readonly { topic: string; partition: number }[],
    deadlineMs: number):
    Promise<Map<string, DecodedResponseOf<typeof API_KEYS.ELECT_LEADERS>['partitions'][number]> | TributaryError> {
    const connection = this.metadata.connectionToBroker(leader);
    if (connection === null) return new TributaryError('LEADER_NOT_AVAILABLE', `broker ${leader} is not known`);
    const waitMs = Math.max(1, deadlineMs - Date.now() - ELECTION_REPLY_MARGIN_MS);
    try {
      const { response } = await connection.request(API_KEYS.ELECT_LEADERS,
        { partitions: [...partitions], timeoutMs: waitMs }, [],
        { timeoutMs: waitMs + ELECTION_REPLY_MARGIN_MS });
      return new Map(response.partitions.map((p) => [partitionKey(p.topic, p.partition), p]));
    } catch (error) {
      if (error instanceof TributaryError) return error;
      throw error;
    }
  }

  /**
   * ListOffsets on the partition's leader: 'earliest' is the log start, 'latest' the high
   * watermark, a number (ms) the first offset whose record is at or after that time (-1: none).
   */
  async listOffset(topic: string, partition: number, spec: 'earliest' | 'latest' | number): Promise<number> {
    const timestamp = spec === 'earliest' ? LIST_OFFSETS_EARLIEST : spec === 'latest' ? LIST_OFFSETS_LATEST : spec;
    return this.withRetry(async () => {
      let leader = this.metadata.leaderOf(topic, partition);
      if (leader === null) {
        await this.metadata.refresh([topic]);
        leader = this.metadata.leaderOf(topic, partition);
      }
      const connection = leader === null ? null : this.metadata.connectionToBroker(leader);
      if (connection === null) {
        throw new TributaryError('LEADER_NOT_AVAILABLE', `No leader known for ${topic}/${partition}`);
      }
      // A leader that died answers nothing: give up on it after a short wait and ask the metadata
      // again (the partition elects a new leader within seconds), instead of spending the whole
      // request timeout on one dead broker.
      const { response } = await connection.request(API_KEYS.LIST_OFFSETS,
        { partitions: [{ topic, partition, timestamp }] }, [], { timeoutMs: Math.min(LEADER_ATTEMPT_TIMEOUT_MS,
          this.requestTimeoutMs) }).catch((error: unknown) => {
        this.metadata.forgetLeader(topic, partition);
        throw error;
      });
      const result = response.partitions[0];
      if (result === undefined) throw new TributaryError('UNKNOWN_SERVER_ERROR', `No offset for ${topic}/${partition}`);
      if (result.errorCode !== 0) {
        this.metadata.forgetLeader(topic, partition);
        throw topicError(result.errorCode, `${topic}/${partition}`, result.errorMessage);
      }
      return result.offset;
    });
  }

  private withRetry<T>(operation: () => Promise<T>): Promise<T> {
    return retry(operation, { retriesMax: 50, totalTimeMaxMs: this.requestTimeoutMs });
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A binding in the model's terms, or INVALID_REQUEST saying what is wrong with it. */
function checkedBinding(raw: RawAcl): AclBinding {
  const checked = checkAclBinding(raw);
  if (!checked.ok) throw new TributaryError('INVALID_REQUEST', `ACL binding: ${checked.message}`);
  return checked.value;
}

/** A filter's wire form, checked: INVALID_REQUEST saying what is wrong with it. */
function checkedFilter(raw: RawAcl): RawAcl {
  const checked = checkAclFilter(raw);
  if (!checked.ok) throw new TributaryError('INVALID_REQUEST', `ACL filter: ${checked.message}`);
  return raw;
}

/** The error of a wire code, its message naming the topic (or partition). */
function topicError(wire: number, name: string, message: string): TributaryError {
  return errorFromWire(wire, `${name}: ${message === '' ? errorFromWire(wire).message : message}`);
}

function brokerInfo(b: { brokerId: number; host: string; port: number; rack: string }): BrokerInfo {
  return { id: b.brokerId, host: b.host, port: b.port, rack: b.rack, address: `${b.host}:${b.port}` };
}
