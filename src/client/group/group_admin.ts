/**
 * Consumer groups for the Admin client (Kafka's kafka-consumer-groups.sh, Admin.listConsumerGroups
 * and friends): list the groups of every broker, describe one (members, their assignments, and
 * per partition the committed offset, the log end offset and the lag), delete empty groups, and
 * plan or execute an offset reset. A reset commits with generation -1 and no member id, which the
 * coordinator accepts only while the group has no members; the plan refuses an active group
 * first, as Kafka's tool does.
 */
import type { Logger } from 'pino';

import { errorFromWire, TributaryError } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import type { MetadataCache } from '../metadata_cache.js';
import { cryptoSeededPrng, retry } from '../retry.js';
import { decodeAssignment, decodeSubscription } from './consumer_protocol.js';
import { CoordinatorLink } from './coordinator_link.js';
import { OffsetClient } from './offset_client.js';

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** The topics of its subscription (empty when not a consumer-protocol member). */
  readonly subscribedTopics: readonly string[];
  readonly assignment: readonly { readonly topic: string; readonly partition: number }[];
}

export interface GroupPartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The member assigned the partition, or null. */
  readonly memberId: string | null;
  readonly committedOffset: number | null;
  /** The high watermark; -1 when it could not be read (a deleted topic). */
  readonly logEndOffset: number;
  /** logEndOffset - committedOffset; null without either. */
  readonly lag: number | null;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly generationId: number;
  readonly leader: string;
  readonly members: readonly GroupMemberDescription[];
  readonly partitions: readonly GroupPartitionLag[];
}

export type OffsetResetSpec = { readonly to: 'earliest' } | { readonly to: 'latest' }
  | { readonly to: 'offset'; readonly offset: number } | { readonly to: 'datetime'; readonly timestampMs: number };

export interface OffsetResetPlanEntry {
  readonly topic: string;
  readonly partition: number;
  readonly currentOffset: number | null;
  readonly newOffset: number;
}

/** What the group admin needs of the Admin client. */
export interface GroupAdminHost {
  readonly metadata: MetadataCache;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  listOffset(topic: string, partition: number, spec: 'earliest' | 'latest' | number): Promise<number>;
}

const INACTIVE_STATES: ReadonlySet<string> = new Set(['Empty', 'Dead', '']);

export class GroupAdmin {
  constructor(private readonly host: GroupAdminHost) {}

  /** Every group of every broker, sorted by id. */
  async listGroups(): Promise<GroupListing[]> {
    const { metadata } = this.host;
    await this.withRetry(() => metadata.refresh());
    const brokers = metadata.cluster.brokers;
    if (brokers.length === 0) throw new TributaryError('NETWORK_EXCEPTION', 'No broker known');
    const lists = await Promise.all(brokers.map((broker) => this.withRetry(async () => {
      const { response } = await metadata.connectionToNode(broker.id, broker.address).request(API_KEYS.LIST_GROUPS,
        { statesFilter: [] }, [], { timeoutMs: this.host.requestTimeoutMs });
      if (response.errorCode !== 0) throw errorFromWire(response.errorCode, `ListGroups on broker ${broker.id}`);
      return response.groups;
    })));
    const byId = new Map<string, GroupListing>();
    for (const group of lists.flat()) {
      byId.set(group.groupId, { groupId: group.groupId, protocolType: group.protocolType, state: group.groupState });
    }
    return [...byId.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** Members, assignments and per-partition lag of a group. */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    const link = this.link(groupId);
    try {
      const response = await this.withRetry(() => link.request(API_KEYS.DESCRIBE_GROUPS, { groupIds: [groupId] },
        { errorCodeOf: (r) => r.groups[0]?.errorCode ?? 0 }));
      const group = response.groups.find((g) => g.groupId === groupId) ?? response.groups[0];
      if (group === undefined) throw new TributaryError('UNKNOWN_SERVER_ERROR', `DescribeGroups did not answer ${groupId}`);
      if (group.errorCode !== 0) throw errorFromWire(group.errorCode, `group ${groupId}: ${group.errorMessage}`);
      const consumer = group.protocolType === 'consumer' || group.protocolType === '';
      const members = group.members.map((m): GroupMemberDescription => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId === '' ? null : m.groupInstanceId,
        clientId: m.clientId, clientHost: m.clientHost,
        subscribedTopics: consumer && m.memberMetadata.length > 0
          ? decodeSubscription(Buffer.from(m.memberMetadata)).topics : [],
        assignment: consumer ? decodeAssignment(Buffer.from(m.memberAssignment)).partitions.flatMap((tp) =>
          tp.partitions.map((partition) => ({ topic: tp.topic, partition }))) : [],
      }));
      const owner = new Map(members.flatMap((m) => m.assignment.map((p) => [`${p.topic}/${p.partition}`, m.memberId])));
      const keys = new Map<string, { topic: string; partition: number }>();
      for (const m of members) for (const p of m.assignment) keys.set(`${p.topic}/${p.partition}`, p);
      const committedByKey = new Map<string, number | null>();
      for (const c of await this.fetchAllCommitted(groupId, link)) {
        keys.set(`${c.topic}/${c.partition}`, c);
        committedByKey.set(`${c.topic}/${c.partition}`, c.offset);
      }
      const partitions = await Promise.all([...keys.values()].sort((a, b) =>
        (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)).map(async (p) => {
        const key = `${p.topic}/${p.partition}`;
        // A partition of a deleted topic has no end: -1, and no lag.
        const logEndOffset = await this.host.listOffset(p.topic, p.partition, 'latest').catch(() => -1);
        const committedOffset = committedByKey.get(key) ?? null;
        return { topic: p.topic, partition: p.partition, memberId: owner.get(key) ?? null, committedOffset,
          logEndOffset,
          lag: committedOffset === null || logEndOffset < 0 ? null : Math.max(0, logEndOffset - committedOffset) };
      }));
      return { groupId, state: group.groupState, protocolType: group.protocolType, protocolName: group.protocolName,
        generationId: group.generationId, leader: group.leader, members, partitions };
    } finally {
      link.close();
    }
  }

  /** Deletes a group with no members (NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND when unknown). */
  async deleteGroup(groupId: string): Promise<void> {
    const link = this.link(groupId);
    try {
      const response = await this.withRetry(() => link.request(API_KEYS.DELETE_GROUPS, { groupIds: [groupId] },
        { errorCodeOf: (r) => r.results[0]?.errorCode ?? 0 }));
      const result = response.results.find((r) => r.groupId === groupId) ?? response.results[0];
      if (result === undefined) throw new TributaryError('UNKNOWN_SERVER_ERROR', `DeleteGroups did not answer ${groupId}`);
      if (result.errorCode !== 0) {
        throw errorFromWire(result.errorCode, `group ${groupId}: ${result.errorMessage || errorFromWire(result.errorCode).message}`);
      }
    } finally {
      link.close();
    }
  }

  /**
   * The new offsets of the group's partitions of topic: an offset is clamped into the log's range
   * (as Kafka's tool does), a time with no record at or after it goes to the end. With execute,
   * commits them (generation -1, no member id); an active group is refused before anything is written.
   */
  async resetOffsets(groupId: string, topic: string, spec: OffsetResetSpec, execute: boolean):
    Promise<OffsetResetPlanEntry[]> {
    const description = await this.describeGroup(groupId).catch((error: unknown) => {
      if (error instanceof TributaryError && error.code === 'GROUP_ID_NOT_FOUND') return null;
      throw error;
    });
    if (description !== null && !INACTIVE_STATES.has(description.state)) {
      throw new TributaryError('NON_EMPTY_GROUP',
        `Group ${groupId} is ${description.state} with ${description.members.length} member(s): offsets can only be reset while it has none`);
    }
    await this.withRetry(() => this.host.metadata.refresh([topic]));
    const info = this.host.metadata.topic(topic);
    if (info === undefined || info.errorCode !== 0) {
      throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} does not exist`);
    }
    const current = new Map((description?.partitions ?? []).filter((p) => p.topic === topic)
      .map((p) => [p.partition, p.committedOffset]));
    const plan = await Promise.all(info.partitions.map(async ({ partition }): Promise<OffsetResetPlanEntry> => ({
      topic, partition, currentOffset: current.get(partition) ?? null,
      newOffset: await this.targetOffset(topic, partition, spec),
    })));
    if (execute) {
      const link = this.link(groupId);
      try {
        const offsets = plan.map((p) => ({ topic, partition: p.partition, offset: p.newOffset }));
        await this.offsets(groupId, link).commit(offsets, () => ({ generationId: -1, memberId: '', groupInstanceId: '' }), (wire) => errorFromWire(wire),
          Date.now() + this.host.requestTimeoutMs);
      } finally {
        link.close();
      }
    }
    return plan;
  }

  private async targetOffset(topic: string, partition: number, spec: OffsetResetSpec): Promise<number> {
    switch (spec.to) {
      case 'earliest':
        return this.host.listOffset(topic, partition, 'earliest');
      case 'latest':
        return this.host.listOffset(topic, partition, 'latest');
      case 'offset': {
        const earliest = await this.host.listOffset(topic, partition, 'earliest');
        const latest = await this.host.listOffset(topic, partition, 'latest');
        return Math.min(latest, Math.max(earliest, spec.offset));
      }
      case 'datetime': {
        const found = await this.host.listOffset(topic, partition, spec.timestampMs);
        return found >= 0 ? found : this.host.listOffset(topic, partition, 'latest');
      }
    }
  }

  private async fetchAllCommitted(groupId: string, link: CoordinatorLink):
    Promise<{ topic: string; partition: number; offset: number | null }[]> {
    const response = await this.withRetry(() => link.request(API_KEYS.OFFSET_FETCH, { groupId, partitions: [] },
      { errorCodeOf: (r) => r.errorCode }));
    if (response.errorCode !== 0) throw errorFromWire(response.errorCode, `OffsetFetch of ${groupId}`);
    return response.partitions.filter((p) => p.errorCode === 0).map((p) => ({ topic: p.topic, partition: p.partition,
      offset: p.committedOffset >= 0 ? p.committedOffset : null }));
  }

  private link(groupId: string): CoordinatorLink {
    if (groupId === '') throw new TributaryError('INVALID_GROUP_ID', 'A group id must not be empty');
    return new CoordinatorLink({ metadata: this.host.metadata, groupId, requestTimeoutMs: this.host.requestTimeoutMs,
      retryBackoffMs: 100, retryBackoffMaxMs: 1_000, logger: this.host.logger, prng: cryptoSeededPrng() });
  }

  private offsets(groupId: string, link: CoordinatorLink): OffsetClient {
    return new OffsetClient({ groupId, link, retryBackoffMs: 100, retryBackoffMaxMs: 1_000, logger: this.host.logger,
      prng: cryptoSeededPrng() });
  }

  private withRetry<T>(operation: () => Promise<T>): Promise<T> {
    return retry(operation, { retriesMax: 50, totalTimeMaxMs: this.host.requestTimeoutMs });
  }
}
