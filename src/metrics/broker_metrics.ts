/**
 * The Prometheus metrics of one broker, on a Registry of its own (not prom-client's global one, so
 * that several brokers in one process keep theirs apart). docs/operations.md lists them.
 *
 * Cheap on the hot paths: request, produce, fetch and fsync events only bump plain numbers in Maps
 * or observe a histogram child bound once per label set; the gauges (Raft state, partition counts,
 * disk use, connections) are read from the broker's state when scraped, through a MetricsSource.
 * Series with topic or partition labels exist only for what the broker hosts at the scrape: the
 * per-topic and per-group counters are rebuilt from their Maps at each scrape, and a topic or group
 * this broker no longer hosts is dropped from the Maps then (its counts go with it, as a deleted
 * partition's series would in Kafka).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { assert } from '../../raft/core/assert.js';
import type { GroupOffsetView, MetricsSource, PartitionView, RaftGroupView } from './metrics_source.js';

/** Seconds; from a sub-millisecond local reply to a produce held by a slow fsync or a long poll. */
const REQUEST_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds; fdatasync on an SSD is ~0.1-2 ms, on a busy disk much more. */
const FSYNC_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const RAFT_ROLES = ['follower', 'pre_candidate', 'candidate', 'leader'] as const;

/** Where a topic's traffic is counted: records and bytes in (produce) and out (fetch). */
interface TopicTraffic {
  recordsIn: number;
  bytesIn: number;
  recordsOut: number;
  bytesOut: number;
}

/** A histogram child bound to its labels once, so that observing does not hash them again. */
interface Observer { observe(value: number): void }

export interface BrokerMetricsOptions {
  readonly brokerId: number;
  /** prom-client's process metrics (event-loop lag, GC, memory, CPU); off in unit tests that count series. */
  readonly defaultMetrics?: boolean;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  private source: MetricsSource | undefined;
  /** The partition views of the scrape under way, read from the source once per scrape. */
  private scraped: readonly PartitionView[] | null = null;
  private scraping = false;
  private readonly traffic = new Map<string, TopicTraffic>();
  /** New leaders seen per Raft group since this broker started hosting it. */
  private readonly leaderChanges = new Map<number, number>();
  /** Elections this broker started per group, and the role it last reported for each group. */
  private readonly electionsStarted = new Map<number, number>();
  private readonly lastRole = new Map<number, string>();
  private readonly requestCounts = new Map<string, { api: string; error: string; count: number }>();
  private readonly partitionErrorCounts = new Map<string, { api: string; error: string; count: number }>();
  private readonly refusedConnections = new Map<string, { listener: string; reason: string; count: number }>();
  private readonly latencyByApi = new Map<string, Observer>();
  private readonly latencyByAcks = new Map<number, Observer>();
  private readonly requestLatency: Histogram<'api'>;
  private readonly produceLatency: Histogram<'acks'>;
  private readonly fsyncLatency: Histogram;
  private readonly quotaThrottle: Counter<'kind'>;
  private readonly quotaThrottled: Counter<'kind'>;

  constructor(options: BrokerMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ broker: String(options.brokerId) });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.requestLatency = new Histogram({ name: 'tributary_request_latency_seconds', registers,
      help: 'Time from a request\'s dispatch to its reply being queued, per API', labelNames: ['api'],
      buckets: REQUEST_SECONDS_BUCKETS });
    this.produceLatency = new Histogram({ name: 'tributary_produce_latency_seconds', registers,
      help: 'Time from a Produce request\'s dispatch to its reply being queued, per acks (-1, 0, 1)',
      labelNames: ['acks'], buckets: REQUEST_SECONDS_BUCKETS });
    this.fsyncLatency = new Histogram({ name: 'tributary_fsync_latency_seconds', registers,
      help: 'Time an fdatasync of the write-ahead journal or of a log segment took', buckets: FSYNC_SECONDS_BUCKETS });
    this.quotaThrottle = new Counter({ name: 'tributary_quota_throttle_seconds_total', registers, labelNames: ['kind'],
      help: 'Time replies were held for byte-rate quotas, per kind (produce, fetch)' });
    this.quotaThrottled = new Counter({ name: 'tributary_quota_throttled_requests_total', registers,
      labelNames: ['kind'], help: 'Replies held for byte-rate quotas, per kind (produce, fetch)' });
    this.defineRequestCounters();
    this.defineTrafficCounters();
    this.defineRaftMetrics();
    this.definePartitionMetrics();
  }

  /** Where the scrape-time gauges read the broker's state; until it is set they report nothing. */
  attach(source: MetricsSource): void {
    this.source = source;
  }

  /** A request was answered (or, for acks=0, handled): `error` is its whole-request code, 'NONE' when it succeeded. */
  requestHandled(api: string, error: string, seconds: number): void {
    const key = `${api}\u0000${error}`;
    const entry = this.requestCounts.get(key);
    if (entry === undefined) this.requestCounts.set(key, { api, error, count: 1 });
    else entry.count += 1;
    let latency = this.latencyByApi.get(api);
    if (latency === undefined) {
      latency = this.requestLatency.labels({ api });
      this.latencyByApi.set(api, latency);
    }
    latency.observe(seconds);
  }

  /** A request refused before its handler ran (malformed, too large, too many in flight). */
  requestRefused(api: string, error: string): void {
    const key = `${api}\u0000${error}`;
    const entry = this.requestCounts.get(key);
    if (entry === undefined) this.requestCounts.set(key, { api, error, count: 1 });
    else entry.count += 1;
  }

  /** A connection refused by a connection limit of a listener ('native' or 'kafka'), once per connection. */
  connectionRefused(listener: string, reason: string): void {
    const key = `${listener}\u0000${reason}`;
    const entry = this.refusedConnections.get(key);
    if (entry === undefined) this.refusedConnections.set(key, { listener, reason, count: 1 });
    else entry.count += 1;
  }

  produceHandled(acks: number, seconds: number): void {
    let latency = this.latencyByAcks.get(acks);
    if (latency === undefined) {
      latency = this.produceLatency.labels({ acks: String(acks) });
      this.latencyByAcks.set(acks, latency);
    }
    latency.observe(seconds);
  }

  /** One partition of a Produce or Fetch answered with an error code (the request itself succeeded). */
  partitionError(api: string, error: string): void {
    const key = `${api}\u0000${error}`;
    const entry = this.partitionErrorCounts.get(key);
    if (entry === undefined) this.partitionErrorCounts.set(key, { api, error, count: 1 });
    else entry.count += 1;
  }

  recordsIn(topic: string, records: number, bytes: number): void {
    const traffic = this.trafficOf(topic);
    traffic.recordsIn += records;
    traffic.bytesIn += bytes;
  }

  recordsOut(topic: string, records: number, bytes: number): void {
    const traffic = this.trafficOf(topic);
    traffic.recordsOut += records;
    traffic.bytesOut += bytes;
  }

  fsyncDone(seconds: number): void {
    this.fsyncLatency.observe(seconds);
  }

  /** A reply held for a byte-rate quota (quota/throttling_handlers.ts). */
  quotaThrottleApplied(kind: 'produce' | 'fetch', seconds: number): void {
    this.quotaThrottled.inc({ kind });
    this.quotaThrottle.inc({ kind }, seconds);
  }

  /** A Raft group has a leader it did not know just before (LeadershipLog decides). */
  raftLeaderChanged(groupId: number): void {
    this.leaderChanges.set(groupId, (this.leaderChanges.get(groupId) ?? 0) + 1);
  }

  /**
   * A group's role as the Raft host reported it: a move into candidate is an election this broker
   * started (pre-vote rounds that found no majority are not: they change no term).
   */
  raftRoleObserved(groupId: number, role: string): void {
    const before = this.lastRole.get(groupId);
    this.lastRole.set(groupId, role);
    if (role === 'candidate' && before !== 'candidate') {
      this.electionsStarted.set(groupId, (this.electionsStarted.get(groupId) ?? 0) + 1);
    }
  }

  /** The text Prometheus scrapes. */
  async scrape(): Promise<string> {
    this.scraping = true;
    try {
      return await this.registry.metrics();
    } finally {
      this.scraping = false;
      this.scraped = null;
    }
  }

  /** The hosted partitions now; during a scrape, as its first collector read them (one read per scrape). */
  private partitionsNow(): readonly PartitionView[] {
    if (this.source === undefined) return [];
    if (!this.scraping) return this.source.partitions();
    this.scraped ??= this.source.partitions();
    return this.scraped;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private trafficOf(topic: string): TopicTraffic {
    let traffic = this.traffic.get(topic);
    if (traffic === undefined) {
      traffic = { recordsIn: 0, bytesIn: 0, recordsOut: 0, bytesOut: 0 };
      this.traffic.set(topic, traffic);
    }
    return traffic;
  }

  private defineRequestCounters(): void {
    const requestCounts = this.requestCounts;
    const partitionErrorCounts = this.partitionErrorCounts;
    const refusedConnections = this.refusedConnections;
    new Counter({ name: 'tributary_requests_total', registers: [this.registry], labelNames: ['api', 'error'],
      help: 'Client requests per API and outcome (error: the whole-request error code, NONE when it succeeded)',
      collect(): void {
        this.reset();
        for (const { api, error, count } of requestCounts.values()) this.inc({ api, error }, count);
      } });
    new Counter({ name: 'tributary_partition_errors_total', registers: [this.registry], labelNames: ['api', 'error'],
      help: 'Partitions of Produce and Fetch requests answered with an error code, per API and code',
      collect(): void {
        this.reset();
        for (const { api, error, count } of partitionErrorCounts.values()) this.inc({ api, error }, count);
      } });
    new Counter({ name: 'tributary_connections_refused_total', registers: [this.registry],
      labelNames: ['listener', 'reason'],
      help: 'Client connections refused by a connection limit, per listener (native, kafka) and limit ' +
        '(total, address, principal)',
      collect(): void {
        this.reset();
        for (const { listener, reason, count } of refusedConnections.values()) this.inc({ listener, reason }, count);
      } });
  }

  private defineTrafficCounters(): void {
    const counter = (name: string, help: string, read: (traffic: TopicTraffic) => number): void => {
      const prune = (): void => { this.pruneTopics(); };
      const traffic = this.traffic;
      new Counter({ name, help, registers: [this.registry], labelNames: ['topic'], collect(): void {
        prune();
        this.reset();
        for (const [topic, counts] of traffic) this.inc({ topic }, read(counts));
      } });
    };
    counter('tributary_records_in_total', 'Records produced to this broker\'s leader replicas, per topic',
      (t) => t.recordsIn);
    counter('tributary_bytes_in_total', 'Record batch bytes produced to this broker\'s leader replicas, per topic',
      (t) => t.bytesIn);
    counter('tributary_records_out_total', 'Records sent to consumers by Fetch, per topic', (t) => t.recordsOut);
    counter('tributary_bytes_out_total', 'Record batch bytes sent to consumers by Fetch, per topic', (t) => t.bytesOut);
  }

  /** Forgets the traffic of topics this broker no longer hosts: their series go with them. */
  private pruneTopics(): void {
    if (this.source === undefined) return;
    const hosted = new Set(this.partitionsNow().map((p) => p.topic));
    for (const topic of this.traffic.keys()) if (!hosted.has(topic)) this.traffic.delete(topic);
  }

  private pruneGroups(groups: readonly RaftGroupView[]): void {
    const hosted = new Set(groups.map((g) => g.groupId));
    for (const counts of [this.leaderChanges, this.electionsStarted, this.lastRole]) {
      for (const groupId of counts.keys()) if (!hosted.has(groupId)) counts.delete(groupId);
    }
  }

  private raftGroups(): RaftGroupView[] {
    if (this.source === undefined) return [];
    const controller = this.source.controller();
    return [...controller === undefined ? [] : [controller], ...this.partitionsNow()];
  }

  private defineRaftMetrics(): void {
    const groupLabels = ['group', 'topic', 'partition'] as const;
    const labelsOf = (g: RaftGroupView): Record<(typeof groupLabels)[number], string> =>
      ({ group: String(g.groupId), topic: g.topic, partition: String(g.partition) });
    const groups = (): RaftGroupView[] => this.raftGroups();
    const gauge = (name: string, help: string, read: (g: RaftGroupView) => number): void => {
      new Gauge({ name, help, registers: [this.registry], labelNames: groupLabels, collect(): void {
        this.reset();
        for (const g of groups()) this.set(labelsOf(g), read(g));
      } });
    };
    new Gauge({ name: 'tributary_raft_role', registers: [this.registry], labelNames: [...groupLabels, 'role'],
      help: 'The Raft role of this broker in each group it hosts: 1 for its role, 0 for the others',
      collect(): void {
        this.reset();
        for (const g of groups()) {
          assert((RAFT_ROLES as readonly string[]).includes(g.role), () => `unknown raft role ${g.role}`);
          for (const role of RAFT_ROLES) this.set({ ...labelsOf(g), role }, g.role === role ? 1 : 0);
        }
      } });
    gauge('tributary_raft_term', 'The current Raft term of each hosted group', (g) => g.term);
    gauge('tributary_raft_leader_id', 'The broker this one knows as the group\'s leader, 0 when none', (g) => g.leaderId);
    gauge('tributary_raft_commit_index', 'The Raft commit index of each hosted group', (g) => g.commitIndex);
    gauge('tributary_raft_applied_index', 'The Raft applied index of each hosted group', (g) => g.appliedIndex);
    const prune = (all: readonly RaftGroupView[]): void => { this.pruneGroups(all); };
    const leaderChanges = this.leaderChanges;
    new Counter({ name: 'tributary_raft_leader_changes_total', registers: [this.registry], labelNames: groupLabels,
      help: 'New leaders this broker saw in each hosted group (each also logged, rate limited, at info)',
      collect(): void {
        const all = groups();
        prune(all);
        this.reset();
        for (const g of all) this.inc(labelsOf(g), leaderChanges.get(g.groupId) ?? 0);
      } });
    const electionsStarted = this.electionsStarted;
    new Counter({ name: 'tributary_raft_elections_total', registers: [this.registry], labelNames: groupLabels,
      help: 'Elections this broker started in each hosted group (it became a candidate)',
      collect(): void {
        const all = groups();
        prune(all);
        this.reset();
        for (const g of all) this.inc(labelsOf(g), electionsStarted.get(g.groupId) ?? 0);
      } });
    const partitions = (): readonly PartitionView[] => this.partitionsNow();
    new Gauge({ name: 'tributary_raft_follower_lag_entries', registers: [this.registry],
      labelNames: [...groupLabels, 'follower'],
      help: 'On a partition\'s leader: entries each follower is behind the leader\'s commit index',
      collect(): void {
        this.reset();
        for (const p of partitions()) {
          for (const [follower, match] of p.followerMatch) {
            this.set({ ...labelsOf(p), follower: String(follower) }, Math.max(0, p.commitIndex - match));
          }
        }
      } });
  }

  private definePartitionMetrics(): void {
    const partitions = (): readonly PartitionView[] => this.partitionsNow();
    const connections = (): number => this.source?.connections() ?? 0;
    new Gauge({ name: 'tributary_under_replicated_partitions', registers: [this.registry],
      help: 'Partitions this broker leads with a replica not holding every committed entry',
      collect(): void {
        this.set(partitions().filter((p) => p.role === 'leader' && p.inSyncReplicas !== null
          && p.inSyncReplicas.length < p.replicas.length).length);
      } });
    new Gauge({ name: 'tributary_offline_partitions', registers: [this.registry],
      help: 'Partitions this broker hosts that know no leader',
      collect(): void { this.set(partitions().filter((p) => p.leaderId === 0).length); } });
    new Gauge({ name: 'tributary_leader_partitions', registers: [this.registry],
      help: 'Partitions this broker leads',
      collect(): void { this.set(partitions().filter((p) => p.role === 'leader').length); } });
    const partitionGauge = (name: string, help: string, read: (p: PartitionView) => number): void => {
      new Gauge({ name, help, registers: [this.registry], labelNames: ['topic', 'partition'], collect(): void {
        this.reset();
        for (const p of partitions()) this.set({ topic: p.topic, partition: String(p.partition) }, read(p));
      } });
    };
    partitionGauge('tributary_log_segments', 'Segment files of each hosted partition\'s log', (p) => p.segmentCount);
    partitionGauge('tributary_log_size_bytes', 'Bytes on disk of each hosted partition\'s segments', (p) => p.sizeBytes);
    partitionGauge('tributary_partition_high_watermark', 'The high watermark of each hosted partition (its leader\'s ' +
      'is current; a follower\'s follows it)', (p) => p.highWatermark);
    const groupOffsets = (): readonly GroupOffsetView[] => this.source?.groupOffsets() ?? [];
    new Gauge({ name: 'tributary_consumer_group_lag', registers: [this.registry],
      labelNames: ['group', 'topic', 'partition'],
      help: 'On the group\'s coordinator: records between the group\'s committed offset and the partition\'s ' +
        'high watermark (partitions this broker hosts)',
      collect(): void {
        this.reset();
        for (const o of groupOffsets()) {
          this.set({ group: o.group, topic: o.topic, partition: String(o.partition) },
            Math.max(0, o.highWatermark - o.committedOffset));
        }
      } });
    new Gauge({ name: 'tributary_client_connections', registers: [this.registry],
      help: 'Client connections open to this broker\'s listener',
      collect(): void { this.set(connections()); } });
  }
}
