/**
 * What the console and `tributary top` show of a cluster, read through the client library's Admin:
 * brokers (up or fenced, the controller, leader and replica counts, disk use from their metrics),
 * topics with their partitions (leader, replicas, in-sync replicas, log start, high watermark,
 * size on the leader's disk), consumer groups with lag, and topic creation.
 *
 * Offsets come from each partition's leader (ListOffsets) through an Admin with a short timeout,
 * so that a dead leader shows `null` quickly instead of holding the whole answer; sizes come from
 * the leaders' `tributary_log_size_bytes` when their metrics are scraped.
 */
import { Admin } from '../client/admin.js';
import type { PartitionInfo } from '../client/metadata_cache.js';
import type { Logger } from 'pino';
import type { ClientSecurity } from '../security/client_security.js';
import type { MetricsScraper } from './metrics_scraper.js';
import { sumOf } from './prometheus_text.js';
import type { ClusterOverview, CreateTopicRequest, GroupSummary, GroupView, PartitionView, TopicSummary,
  TopicView } from './api_types.js';

/** Admin calls give up after this long (retries included). */
const ADMIN_TIMEOUT_MS = 8_000;
/** One partition's ListOffsets: a leader that does not answer quickly is shown as unknown. */
const OFFSET_TIMEOUT_MS = 2_000;

export class ClusterReader {
  private readonly admin: Admin;
  private readonly offsets: Admin;

  /** `security`: CURVE credentials for a secure cluster (docs/security.md); the record browser uses them too. */
  constructor(bootstrap: string, logger: Logger, private readonly metrics: MetricsScraper | null,
    readonly security?: ClientSecurity) {
    const options = { bootstrap, logger, clientId: 'tributary-console', ...(security === undefined ? {} : { security }) };
    this.admin = new Admin({ ...options, requestTimeoutMs: ADMIN_TIMEOUT_MS });
    this.offsets = new Admin({ ...options, requestTimeoutMs: OFFSET_TIMEOUT_MS });
  }

  async close(): Promise<void> {
    await Promise.all([this.admin.close(), this.offsets.close()]);
  }

  async overview(): Promise<ClusterOverview> {
    return (await this.snapshot()).overview;
  }

  /** The overview and the topics it was made from (their partitions' offsets: `tributary top`'s rates). */
  async snapshot(): Promise<{ overview: ClusterOverview; topics: TopicView[] }> {
    const cluster = await this.admin.describeCluster();
    const topics = await this.topics();
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    for (const topic of topics) {
      for (const p of topic.partitions) {
        if (p.leaderId !== null) leaders.set(p.leaderId, (leaders.get(p.leaderId) ?? 0) + 1);
        for (const id of p.replicaIds) replicas.set(id, (replicas.get(id) ?? 0) + 1);
      }
    }
    const endpoints = this.metrics?.endpoints() ?? [];
    const brokers = [...cluster.brokers.map((b) => ({ ...b, up: true })),
      ...cluster.fencedBrokers.map((b) => ({ ...b, up: false }))].sort((a, b) => a.id - b.id).map((b) => {
      const endpoint = endpoints.find((e) => e.brokerId === b.id);
      return { id: b.id, address: b.address, up: b.up, controller: b.id === cluster.controllerId,
        leaderPartitions: leaders.get(b.id) ?? 0, replicaPartitions: replicas.get(b.id) ?? 0,
        diskBytes: endpoint === undefined ? null : sumOf(endpoint.samples, 'tributary_log_size_bytes'),
        metrics: endpoint === undefined ? null : { address: endpoint.address, up: endpoint.up } };
    });
    return { topics, overview: { clusterId: cluster.clusterId, controllerId: cluster.controllerId, brokers,
      readAtMs: Date.now(), topics: topics.map(summarize) } };
  }

  /** Every topic with its partitions and their offsets. */
  async topics(): Promise<TopicView[]> {
    const names = await this.admin.listTopics();
    // A topic deleted between the listing and its description is left out, not an error.
    const topics = await Promise.all(names.map((name) => this.topic(name).catch(() => null)));
    return topics.filter((t): t is TopicView => t !== null);
  }

  async topic(name: string): Promise<TopicView> {
    const description = await this.admin.describeTopic(name);
    const partitions = await Promise.all(description.partitions.map((p) => this.partition(name, p)));
    return { name, configs: description.configs, replicationFactor: description.partitions[0]?.replicaIds.length ?? 0,
      partitions: [...partitions].sort((a, b) => a.partition - b.partition) };
  }

  async groups(): Promise<GroupSummary[]> {
    const listings = await this.admin.listGroups();
    return Promise.all(listings.map(async (listing) => {
      const group = await this.admin.describeGroup(listing.groupId).catch(() => null);
      const lags = group?.partitions.map((p) => p.lag).filter((lag): lag is number => lag !== null) ?? [];
      return { ...listing, members: group?.members.length ?? 0,
        lag: lags.length === 0 ? null : lags.reduce((a, b) => a + b, 0) };
    }));
  }

  group(groupId: string): Promise<GroupView> {
    return this.admin.describeGroup(groupId);
  }

  /** The first offset at or after timestampMs in a partition, -1 when every record is older. */
  offsetForTime(topic: string, partition: number, timestampMs: number): Promise<number> {
    return this.admin.listOffset(topic, partition, timestampMs);
  }

  async createTopic(request: CreateTopicRequest): Promise<void> {
    await this.admin.createTopic({ name: request.name, partitions: request.partitions,
      replicationFactor: request.replicationFactor, configs: request.configs });
  }

  private async partition(topic: string, p: PartitionInfo): Promise<PartitionView> {
    const offset = async (spec: 'earliest' | 'latest'): Promise<number | null> => {
      if (p.leaderId === null) return null;
      return this.offsets.listOffset(topic, p.partition, spec).catch(() => null);
    };
    const [logStartOffset, latest] = await Promise.all([offset('earliest'), offset('latest')]);
    const leaderSamples = p.leaderId === null ? null : this.metrics?.samplesOf(p.leaderId) ?? null;
    // Metadata carries the size when the broker that answered leads the partition; else the metrics.
    const sizeBytes = p.logSizeBytes >= 0 ? p.logSizeBytes : leaderSamples === null ? null
      : sumOf(leaderSamples, 'tributary_log_size_bytes', { topic, partition: String(p.partition) });
    return { partition: p.partition, leaderId: p.leaderId, replicaIds: p.replicaIds, isrIds: p.isrIds,
      logStartOffset, highWatermark: latest ?? (p.highWatermark >= 0 ? p.highWatermark : null), sizeBytes };
  }
}

function summarize(topic: TopicView): TopicSummary {
  let records = 0;
  let size: number | null = null;
  for (const p of topic.partitions) {
    if (p.highWatermark !== null && p.logStartOffset !== null) records += p.highWatermark - p.logStartOffset;
    if (p.sizeBytes !== null) size = (size ?? 0) + p.sizeBytes;
  }
  return { name: topic.name, partitions: topic.partitions.length, replicationFactor: topic.replicationFactor,
    underReplicated: topic.partitions.filter((p) => p.replicaIds.some((id) => !p.isrIds.includes(id))).length,
    offline: topic.partitions.filter((p) => p.leaderId === null).length, records, sizeBytes: size };
}
