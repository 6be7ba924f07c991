/**
 * Partition leaders a broker cannot see: a broker that holds no replica of a partition does not
 * know its Raft leader (native Metadata says -1 there, and a native client asks another broker).
 * A Kafka client cannot be told -1 as usefully: kafkajs, for one, waits for every leader after
 * CreateTopics and keeps asking the same broker. So for those partitions the Kafka Metadata asks
 * one live replica broker, over the native protocol, which leader it sees; answers are cached a
 * short while, and a broker that does not answer in time leaves the leader unknown
 * (LEADER_NOT_AVAILABLE, which clients retry).
 */
import type { Logger } from 'pino';
import type { BrokerInfo } from '../controller/metadata_snapshot.js';
import { Connection } from '../client/connection.js';
import { API_KEYS } from '../protocol/api_keys.js';
import { curveOptionsFor } from '../security/client_security.js';
import type { ClientSecurity } from '../security/client_security.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

/** How long a looked-up leader is trusted (a NOT_LEADER from the partition corrects it sooner). */
const CACHE_MS = 1_000;
const LOOKUP_TIMEOUT_MS = 1_000;

export interface RemotePartition {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${String(partition)}`;
}

export class RemoteLeaders {
  private readonly connections = new Map<number, { address: string; connection: Connection }>();
  private readonly cache = new Map<string, { leaderId: number; expiresMs: number }>();
  private closed = false;

  constructor(private readonly brokerId: number, private readonly brokers: () => readonly BrokerInfo[],
    private readonly logger: Logger, private readonly security?: ClientSecurity) {}

  /** Leaders (broker ids) by partition for those a replica broker could name; the others are absent. */
  async leaders(partitions: readonly RemotePartition[]): Promise<Map<string, number>> {
    const now = monotonicNowMs();
    const found = new Map<string, number>();
    const live = new Map(this.brokers().filter((b) => !b.fenced && b.brokerId !== this.brokerId)
      .map((b) => [b.brokerId, b]));
    const topicsByBroker = new Map<number, Set<string>>();
    for (const { topic, partition, replicas } of partitions) {
      const cached = this.cache.get(keyOf(topic, partition));
      if (cached !== undefined && cached.expiresMs > now) {
        found.set(keyOf(topic, partition), cached.leaderId);
        continue;
      }
      const asked = replicas.find((id) => live.has(id));
      if (asked === undefined) continue;
      let topics = topicsByBroker.get(asked);
      if (topics === undefined) topicsByBroker.set(asked, topics = new Set());
      topics.add(topic);
    }
    await Promise.all([...topicsByBroker].map(async ([id, topics]) => {
      const broker = live.get(id);
      if (broker === undefined || this.closed) return;
      try {
        const { response } = await this.connectionTo(broker).request(API_KEYS.METADATA, { topics: [...topics] }, [],
          { timeoutMs: LOOKUP_TIMEOUT_MS });
        for (const topic of response.topics) {
          for (const partition of topic.partitions) {
            if (partition.leaderId < 0) continue;
            const key = keyOf(topic.name, partition.partition);
            this.cache.set(key, { leaderId: partition.leaderId, expiresMs: monotonicNowMs() + CACHE_MS });
            found.set(key, partition.leaderId);
          }
        }
      } catch (error) {
        this.logger.debug({ err: error, brokerId: id }, 'no leader lookup from a replica broker');
      }
    }));
    return found;
  }

  static key(topic: string, partition: number): string {
    return keyOf(topic, partition);
  }

  private connectionTo(broker: BrokerInfo): Connection {
    const address = `${broker.host}:${String(broker.port)}`;
    const known = this.connections.get(broker.brokerId);
    if (known !== undefined && known.address === address && !known.connection.isClosed) return known.connection;
    if (known !== undefined) void known.connection.close();
    const connection = new Connection({ address, clientId: `kafka-listener-${String(this.brokerId)}`,
      requestTimeoutMs: LOOKUP_TIMEOUT_MS, logger: this.logger, ...curveOptionsFor(this.security, broker.brokerId) });
    this.connections.set(broker.brokerId, { address, connection });
    return connection;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.connections.values()].map(({ connection }) => connection.close()));
    this.connections.clear();
  }
}
