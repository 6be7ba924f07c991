/**
 * What a client knows of the cluster (Kafka's Metadata + NetworkClient's node pool): the brokers
 * and their addresses, the controller, and for the topics it uses each partition's leader and
 * replicas. Producer, Consumer and Admin share the pattern:
 *
 * - The bootstrap list is only a way in: the first Metadata reply names every broker, and from
 *   then on any known broker (or a bootstrap address) answers cluster-wide requests, tried in
 *   turn, so one dead broker does not stop the client.
 * - One Connection per broker address, reused by every request to that broker (a bootstrap
 *   address that is also a broker's address shares its connection).
 * - Refreshes are single-flight: concurrent callers wait for the same Metadata request. A refresh
 *   asks about every topic the client has shown interest in AND every topic it holds in the cache:
 *   a topic learned from a reply naming all topics (the first refresh, before any interest) is
 *   used by the producer straight from the cache, so it must not go stale there (a partition
 *   leaderless at that moment would stay leaderless for good). requestRefresh() is the throttled,
 *   fire-and-forget form used when a request meets NOT_LEADER_OR_FOLLOWER and friends.
 * - A reply that leaves a partition without a reachable leader (the answering broker has not
 *   learned it yet, e.g. just after the topic was created or an election) moves the next refresh
 *   to the next broker, so that one broker with a stale view cannot pin the client.
 * - A leader hint in an error reply updates the cached leader at once, before the refresh.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';

import { assert } from '../../raft/core/assert.js';
import { ERROR_TABLE, errorFromWire, TributaryError } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import { API_KEYS, NO_BROKER_ID } from '../protocol/api_keys.js';
import type { ApiKey } from '../protocol/api_keys.js';
import type { OutgoingFrame } from '../protocol/envelope.js';
import type { DecodedResponseOf, pb, RequestOf } from '../protocol/messages.js';
import { ClientSecurity } from '../security/client_security.js';
import type { ClientSecurityOptions, ConnectionCurve } from '../security/client_security.js';
import { Connection } from './connection.js';
import type { ConnectionOptions, Reply } from './connection.js';

export interface BrokerInfo {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string;
  /** `host:port`. */
  readonly address: string;
}

export interface PartitionInfo {
  readonly partition: number;
  /** 0, or the wire number of a partition-level error (LEADER_NOT_AVAILABLE during an election). */
  readonly errorCode: number;
  /** null when no leader is known. */
  readonly leaderId: number | null;
  readonly leaderEpoch: number;
  readonly replicaIds: readonly number[];
  readonly isrIds: readonly number[];
  readonly offlineReplicaIds: readonly number[];
  /** -1 when the broker did not say. */
  readonly highWatermark: number;
  /** Bytes of the partition's log on its leader; -1 unless the broker answering leads it. */
  readonly logSizeBytes: number;
}

export interface TopicInfo {
  readonly name: string;
  readonly errorCode: number;
  /** Indexed by partition number. */
  readonly partitions: readonly PartitionInfo[];
  readonly configs: Readonly<Record<string, string>>;
}

export interface ClusterInfo {
  readonly clusterId: string;
  readonly controllerId: number | null;
  readonly brokers: readonly BrokerInfo[];
}

export interface MetadataCacheOptions {
  /** `host:port` addresses to start from. */
  readonly bootstrap: readonly string[];
  readonly clientId?: string;
  /** Timeout of requests the cache sends itself (Metadata), per broker tried. */
  readonly metadataTimeoutMs?: number;
  /** Passed to every Connection. */
  readonly requestTimeoutMs?: number;
  /** Refreshes asked for with requestRefresh() are at least this far apart. */
  readonly refreshBackoffMs?: number;
  readonly logger?: Logger;
  readonly connection?: Omit<ConnectionOptions, 'address' | 'clientId' | 'requestTimeoutMs' | 'logger' | 'curve'>;
  /** CURVE credentials (docs/security.md): key files, or credentials loaded already; plaintext when absent. */
  readonly security?: ClientSecurityOptions | ClientSecurity;
}

export const METADATA_CACHE_DEFAULTS = {
  clientId: 'tributary-client',
  metadataTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  refreshBackoffMs: 100,
} as const;

/** A leader hint as it comes in an error reply. */
export type LeaderHintInput = pb.LeaderHint.$Properties;

type MetadataResponse = DecodedResponseOf<typeof API_KEYS.METADATA>;

/** Errors after which a cluster-wide request is tried on the next broker. */
const TRY_NEXT_BROKER: ReadonlySet<ErrorCode> = new Set(['NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT', 'TOO_MANY_REQUESTS']);

/** Splits `a:1,b:2` (or an array of such strings) into checked `host:port` addresses. */
export function parseBootstrap(bootstrap: string | readonly string[]): string[] {
  const parts = (typeof bootstrap === 'string' ? [bootstrap] : bootstrap)
    .flatMap((entry) => entry.split(','))
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (parts.length === 0) throw new TributaryError('INVALID_CONFIG', 'bootstrap: no broker address given');
  for (const part of parts) {
    const address = part.replace(/^tcp:\/\//, '');
    const match = /^(.+):(\d+)$/.exec(address);
    const port = match === null ? NaN : Number(match[2]);
    if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TributaryError('INVALID_CONFIG', `bootstrap: '${part}' is not host:port`);
    }
  }
  return parts.map((part) => part.replace(/^tcp:\/\//, ''));
}

/** The default client logger: warnings and errors to stderr. */
export function defaultClientLogger(name: string): Logger {
  return pino({ name, level: 'warn' }, pino.destination(2));
}

export class MetadataCache {
  private readonly bootstrap: readonly string[];
  private readonly clientId: string;
  private readonly metadataTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly refreshBackoffMs: number;
  private readonly logger: Logger;
  private readonly connectionOptions: MetadataCacheOptions['connection'];
  private readonly security: ClientSecurity | null;
  /** By address; bounded by the brokers and bootstrap addresses ever seen. */
  private readonly connections = new Map<string, Connection>();
  private readonly brokersById = new Map<number, BrokerInfo>();
  private readonly topicsByName = new Map<string, TopicInfo>();
  /** Topics asked about on every refresh. */
  private readonly interest = new Set<string>();
  private clusterIdNow = '';
  private controllerIdNow: number | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefreshStartMs = -Infinity;
  private nextBrokerIndex = 0;
  private closed = false;

  constructor(options: MetadataCacheOptions) {
    this.bootstrap = parseBootstrap(options.bootstrap);
    this.clientId = options.clientId ?? METADATA_CACHE_DEFAULTS.clientId;
    this.metadataTimeoutMs = options.metadataTimeoutMs ?? METADATA_CACHE_DEFAULTS.metadataTimeoutMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? METADATA_CACHE_DEFAULTS.requestTimeoutMs;
    this.refreshBackoffMs = options.refreshBackoffMs ?? METADATA_CACHE_DEFAULTS.refreshBackoffMs;
    this.logger = options.logger ?? defaultClientLogger(this.clientId);
    this.connectionOptions = options.connection;
    const security = options.security;
    this.security = security === undefined ? null
      : security instanceof ClientSecurity ? security : ClientSecurity.load(security);
  }

  get cluster(): ClusterInfo {
    return {
      clusterId: this.clusterIdNow, controllerId: this.controllerIdNow, brokers: [...this.brokersById.values()],
    };
  }

  topic(name: string): TopicInfo | undefined {
    return this.topicsByName.get(name);
  }

  /** The broker id leading (topic, partition), or null when unknown. */
  leaderOf(topic: string, partition: number): number | null {
    return this.topicsByName.get(topic)?.partitions[partition]?.leaderId ?? null;
  }

  broker(id: number): BrokerInfo | undefined {
    return this.brokersById.get(id);
  }

  /** The pooled connection to a broker id, or null when its address is unknown. */
  connectionToBroker(id: number): Connection | null {
    const broker = this.brokersById.get(id);
    return broker === undefined ? null : this.connectionTo(broker.address);
  }

  /**
   * The pooled connection to an address, made on first use. With CURVE and a key per broker, an
   * address whose broker is not known yet has several candidate server keys: `candidate` picks one
   * (each gets a connection of its own; requestAny tries them in turn).
   */
  connectionTo(address: string, candidate = 0): Connection {
    return this.pooledConnection(address, this.curvesFor(address), candidate);
  }

  /**
   * The pooled connection to a broker whose id and address the caller knows (a group coordinator
   * named by FindCoordinator) though the metadata may not list it yet: with a key per broker, its
   * own key, not the candidates of an unknown address (the first of which is another broker's).
   */
  connectionToNode(id: number, address: string): Connection {
    return this.pooledConnection(address, this.security === null ? [] : this.security.curvesFor(id), 0);
  }

  private pooledConnection(address: string, curves: readonly ConnectionCurve[], candidate: number): Connection {
    assert(!this.closed, 'MetadataCache used after close()');
    const curve = curves[candidate];
    assert(candidate === 0 || curve !== undefined, 'a candidate server key exists');
    const poolKey = curves.length > 1 ? `${address}#${curve?.serverKey ?? ''}` : address;
    let connection = this.connections.get(poolKey);
    if (connection?.isRefused === true) {
      // A refused connection never redials: a new one asks the broker again (its key file may have changed).
      void connection.close();
      connection = undefined;
    }
    if (connection === undefined) {
      connection = new Connection({
        ...this.connectionOptions, address, clientId: this.clientId, requestTimeoutMs: this.requestTimeoutMs,
        logger: this.logger, ...(curve === undefined ? {} : { curve }),
      });
      this.connections.set(poolKey, connection);
    }
    return connection;
  }

  /** The server keys to try at an address: none in plaintext, its broker's when known. */
  private curvesFor(address: string): ConnectionCurve[] {
    if (this.security === null) return [];
    const broker = [...this.brokersById.values()].find((b) => b.address === address);
    return this.security.curvesFor(broker?.id ?? null);
  }

  /**
   * Sends a request that any broker can answer, trying the known brokers and the bootstrap
   * addresses in turn while they fail with a network error, a timeout or back-pressure.
   */
  async requestAny<A extends ApiKey>(api: A, body: RequestOf<A>, options: {
    readonly timeoutMs?: number; readonly rawFrames?: readonly OutgoingFrame[];
  } = {}): Promise<Reply<A>> {
    const addresses = this.candidateAddresses();
    let lastError: unknown = null;
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[(this.nextBrokerIndex + i) % addresses.length] ?? '';
      // Several candidate server keys only for an unknown broker with a key per broker (CURVE).
      const candidates = Math.max(1, this.curvesFor(address).length);
      for (let candidate = 0; candidate < candidates; candidate += 1) {
        try {
          const reply = await this.connectionTo(address, candidate).request(api, body, options.rawFrames ?? [],
            { timeoutMs: options.timeoutMs ?? this.metadataTimeoutMs });
          this.nextBrokerIndex = (this.nextBrokerIndex + i) % addresses.length;
          return reply;
        } catch (error) {
          if (!(error instanceof TributaryError) || this.closed) throw error;
          const code = (error as TributaryError).code;
          if (!TRY_NEXT_BROKER.has(code)) throw error;
          lastError = error;
          this.logger.debug({ address, code, candidate }, 'broker did not answer; trying the next');
        }
      }
    }
    this.nextBrokerIndex += 1;
    const detail = lastError instanceof Error ? lastError.message : 'no broker known';
    throw new TributaryError('NETWORK_EXCEPTION',
      `No broker answered (tried ${addresses.join(', ')}): ${detail}`, { cause: lastError });
  }

  /** Adds topics to those every refresh asks about. */
  addInterest(topics: Iterable<string>): void {
    for (const topic of topics) this.interest.add(topic);
  }

  /**
   * Fetches metadata for the topics of interest (plus `topics`), single-flight. With allTopics,
   * every topic in the cluster is fetched and cached. Rejects when no broker answers.
   */
  async refresh(topics: readonly string[] = [], allTopics = false): Promise<void> {
    this.addInterest(topics);
    if (this.refreshing !== null && !allTopics) {
      await this.refreshing;
      if (topics.every((topic) => this.topicsByName.has(topic))) return;
    }
    const run = this.fetchAndApply(allTopics);
    if (!allTopics) this.refreshing = run;
    try {
      await run;
    } finally {
      if (this.refreshing === run) this.refreshing = null;
    }
  }

  /** Throttled background refresh (after NOT_LEADER and the like); failures are logged. */
  requestRefresh(): void {
    if (this.closed || this.refreshing !== null) return;
    if (Date.now() - this.lastRefreshStartMs < this.refreshBackoffMs) return;
    this.refresh().catch((error: unknown) => {
      if (!this.closed) this.logger.warn({ err: error }, 'metadata refresh failed');
    });
  }

  /** A background refresh when the last one started maxAgeMs ago or more (Kafka's metadata.max.age.ms). */
  refreshIfOlderThan(maxAgeMs: number): void {
    if (Date.now() - this.lastRefreshStartMs >= maxAgeMs) this.requestRefresh();
  }

  /**
   * Waits (refreshing) until the topic's partitions are known, and at least partitionsAtLeast of
   * them (a topic just grown); a whole refresh run is bounded. At the deadline a known topic with
   * fewer partitions is returned as it is, for the caller to judge. A topic answered with a
   * non-retriable error (TOPIC_AUTHORIZATION_FAILED) throws it at once.
   */
  async waitForTopic(topic: string, timeoutMs: number, partitionsAtLeast = 1): Promise<TopicInfo> {
    const deadlineMs = Date.now() + timeoutMs;
    let refreshes = 0;
    for (;;) {
      const known = this.topicsByName.get(topic);
      const usable = known !== undefined && known.errorCode === 0 && known.partitions.length > 0;
      if (usable && known.partitions.length >= partitionsAtLeast) return known;
      // A final answer (TOPIC_AUTHORIZATION_FAILED) from this call's own refresh is not waited out;
      // one cached from before is asked again (an ACL may have been added since).
      const failed = known === undefined || known.errorCode === 0 ? undefined : errorFromWire(known.errorCode,
        `topic ${topic}`);
      if (refreshes > 0 && failed !== undefined && !failed.retriable) throw failed;
      if (refreshes > 0 && Date.now() >= deadlineMs) {
        if (usable) return known;
        if (known !== undefined && known.errorCode !== 0) throw errorFromWire(known.errorCode, `topic ${topic}`);
        throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `Topic ${topic} is not known to the cluster`);
      }
      if (refreshes > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(200, 25 * refreshes)));
      await this.refresh([topic]);
      refreshes += 1;
    }
  }

  /** Applies a leader hint from an error reply: the cached leader moves at once. */
  applyLeaderHint(topic: string, partition: number, hint: LeaderHintInput | null | undefined): void {
    const info = this.topicsByName.get(topic);
    const current = info?.partitions[partition];
    if (info === undefined || current === undefined || hint === null || hint === undefined) return;
    const leaderId = hint.leaderId ?? NO_BROKER_ID;
    const host = hint.host ?? '';
    const port = hint.port ?? 0;
    if (leaderId >= 0 && host !== '' && port > 0 && !this.brokersById.has(leaderId)) {
      this.brokersById.set(leaderId, { id: leaderId, host, port, rack: '', address: `${host}:${port}` });
    }
    const partitions = [...info.partitions];
    partitions[partition] = { ...current, leaderId: leaderId >= 0 ? leaderId : null,
      leaderEpoch: hint.leaderEpoch ?? -1 };
    this.topicsByName.set(topic, { ...info, partitions });
  }

  /** Forgets the leader of a partition (after a network error to it), so that it is looked up again. */
  forgetLeader(topic: string, partition: number): void {
    this.applyLeaderHint(topic, partition, { leaderId: NO_BROKER_ID });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
    this.connections.clear();
  }

  private candidateAddresses(): string[] {
    const addresses = new Set<string>();
    for (const broker of this.brokersById.values()) addresses.add(broker.address);
    for (const address of this.bootstrap) addresses.add(address);
    return [...addresses];
  }

  /** The topics a refresh asks about: those of interest and those cached (an empty list means all). */
  private wantedTopics(): string[] {
    return [...new Set([...this.interest, ...this.topicsByName.keys()])];
  }

  private async fetchAndApply(allTopics: boolean): Promise<void> {
    this.lastRefreshStartMs = Date.now();
    const request = allTopics ? { allTopics: true } : { topics: this.wantedTopics() };
    const { response } = await this.requestAny(API_KEYS.METADATA, request);
    this.apply(response, allTopics);
    if (this.lacksALeader(response)) {
      this.nextBrokerIndex = (this.nextBrokerIndex + 1) % Math.max(1, this.candidateAddresses().length);
    }
  }

  /** Whether a reply left some partition without a leader the client can reach. */
  private lacksALeader(response: MetadataResponse): boolean {
    return response.topics.some((topic) => topic.errorCode === 0 && topic.partitions.some((p) =>
      p.leaderId < 0 || !this.brokersById.has(p.leaderId)));
  }

  private apply(response: MetadataResponse, allTopics: boolean): void {
    if (response.brokers.length > 0) {
      this.brokersById.clear();
      for (const broker of response.brokers) {
        this.brokersById.set(broker.brokerId, {
          id: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack,
          address: `${broker.host}:${broker.port}`,
        });
      }
    }
    this.clusterIdNow = response.clusterId;
    this.controllerIdNow = response.controllerId >= 0 ? response.controllerId : null;
    if (allTopics) this.topicsByName.clear();
    for (const topic of response.topics) {
      this.topicsByName.set(topic.name, topicInfoOf(topic));
    }
  }
}

function topicInfoOf(topic: MetadataResponse['topics'][number]): TopicInfo {
  const partitions: PartitionInfo[] = [];
  for (const p of [...topic.partitions].sort((a, b) => a.partition - b.partition)) {
    partitions[p.partition] = {
      partition: p.partition,
      errorCode: p.errorCode,
      leaderId: p.leaderId >= 0 ? p.leaderId : null,
      leaderEpoch: p.leaderEpoch,
      replicaIds: [...p.replicaIds],
      isrIds: [...p.isrIds],
      offlineReplicaIds: [...p.offlineReplicaIds],
      highWatermark: p.highWatermark,
      logSizeBytes: p.logSizeBytes,
    };
  }
  // A gap (a partition the reply left out) would make indexes lie; fill it as leaderless.
  for (let i = 0; i < partitions.length; i++) {
    partitions[i] ??= {
      partition: i, errorCode: ERROR_TABLE.LEADER_NOT_AVAILABLE.wire, leaderId: null, leaderEpoch: -1,
      replicaIds: [], isrIds: [], offlineReplicaIds: [], highWatermark: -1, logSizeBytes: -1,
    };
  }
  return { name: topic.name, errorCode: topic.errorCode, partitions, configs: { ...topic.configs } };
}
