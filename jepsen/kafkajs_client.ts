/**
 * The workload's client incarnation through the brokers' Kafka listeners (`--client kafkajs`):
 * the same send / assign / poll as ClientSession (client.ts), made with kafkajs 2.2.4.
 *
 * - send: kafkajs's idempotent producer, acks -1 (acks 1 without idempotence with `--acks 1`, as
 *   natively), one record per send() to the key's partition; ok with the offset kafkajs returns.
 *   kafkajs retries inside send(), so only an error decided by the request bytes themselves
 *   (identical on every attempt) is a definite fail; every other error is info.
 * - assign + poll: kafkajs's Consumer always joins a group and pushes batches, so a poll would
 *   be a group join away from its assign. Manual assignment is mapped instead onto kafkajs's own
 *   cluster (metadata, leaders, broker connections) and its Fetch request and record decoding:
 *   a poll is one Fetch round to the leaders of the assigned partitions from the session's
 *   positions, as the native Consumer's poll is. A key assigned with seek-to-beginning starts at
 *   the log start its leader reports (ListOffsets earliest). Records below a position (the rest of
 *   a batch that starts earlier) are dropped, as every Kafka consumer does; control records too.
 *   A failed Fetch is a failed poll: nothing moved, and the next poll refreshes the metadata.
 *
 * kafkajs keeps its cluster object private; it is reached through the Kafka instance's own
 * private factory (looked up by its symbol's name), asserted present so a kafkajs upgrade that
 * moves it fails loudly here rather than quietly.
 */
import kafkajs from 'kafkajs';
import type { Producer as KafkaProducer } from 'kafkajs';
import type { Logger } from 'pino';
import { assert } from '../raft/core/assert.js';
import type { ClientOptions, PollOutcome, SendOutcome, WorkloadSession } from './client.js';
import { withTimeout } from './client.js';
import type { ReadRecord } from './history.js';
import { keyOf, topicOfKey } from './history.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const CLOSE_WAIT_MS = 5_000;
const FETCH_BYTES_MAX = 4 * 2 ** 20;
const FETCH_WAIT_MS = 100;

/** Kafka error names decided by the request bytes alone: every retry of the send would get them too. */
const DEFINITE_SEND_ERRORS: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION', 'INVALID_REQUEST', 'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_COMPRESSION_TYPE', 'INVALID_CONFIG', 'CORRUPT_MESSAGE',
]);

/** The parts of kafkajs's (untyped, private) Cluster and Broker this session uses. */
interface FetchedMessage { readonly offset: string; readonly value: Buffer | null; readonly isControlRecord?: boolean }
interface FetchedPartition { readonly partition: number; readonly messages: readonly FetchedMessage[] }
interface FetchResponse {
  readonly responses: readonly { topicName: string; partitions: readonly FetchedPartition[] }[];
}
interface KafkaBroker {
  fetch(request: { replicaId: number; isolationLevel: number; maxWaitTime: number; minBytes: number;
    maxBytes: number; topics: { topic: string; partitions: { partition: number; fetchOffset: string;
      maxBytes: number }[] }[] }): Promise<FetchResponse>;
}
interface KafkaCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<KafkaBroker>;
  fetchTopicsOffset(topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[]):
    Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

type Position = number | 'beginning';

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const type = (error as { type?: unknown }).type;
    return typeof type === 'string' ? `${type}: ${error.message}` : error.message;
  }
  return String(error);
}

/** Whether the error, or one it wraps (kafkajs's retry wrappers keep the last as cause), is definite. */
function isDefinite(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 8; depth += 1) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === 'string' && DEFINITE_SEND_ERRORS.has(type)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function kafkaCluster(kafka: InstanceType<typeof Kafka>): KafkaCluster {
  const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  assert(key !== undefined, 'kafkajs 2.2 keeps its cluster factory under private:Kafka:createCluster');
  const factory = (kafka as unknown as Record<symbol, unknown>)[key];
  assert(typeof factory === 'function', 'the kafkajs cluster factory is a function');
  return (factory as (options: object) => KafkaCluster)({ allowAutoTopicCreation: false, isolationLevel: 0 });
}

export class KafkajsSession implements WorkloadSession {
  private readonly kafka: InstanceType<typeof Kafka>;
  private readonly producer: KafkaProducer;
  private producerConnected: Promise<void> | null = null;
  private readonly cluster: KafkaCluster;
  private clusterConnected: Promise<void> | null = null;
  private readonly positions = new Map<number, Position>();
  private metadataStale = false;
  /**
   * Bumped by every assign and every failed poll: a Fetch round still out from before (a poll the
   * harness stopped waiting for) then lands without moving any position.
   */
  private generation = 0;

  constructor(readonly process: number, private readonly options: ClientOptions) {
    assert(options.kafkaBootstrap !== undefined, 'a kafkajs session needs the brokers\' Kafka listeners');
    const brokers = options.kafkaBootstrap.split(',').filter((address) => address !== '');
    assert(brokers.length > 0, 'at least one Kafka listener');
    this.kafka = new Kafka({ brokers, clientId: `jepsen-kafkajs-${String(process)}`,
      requestTimeout: options.requestTimeoutMs, connectionTimeout: options.requestTimeoutMs,
      retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN, logCreator: pinoLogCreator(options.logger) });
    const idempotent = options.acks === 'all';
    // Retries without limit, as kafkajs asks of an idempotent producer: the harness's own bound on
    // send() (sendTimeoutMs) ends a send that cannot finish, as info, and the session is replaced.
    this.producer = this.kafka.producer({ idempotent, maxInFlightRequests: idempotent ? 5 : 1,
      allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 50, maxRetryTime: 1_000 } });
    this.cluster = kafkaCluster(this.kafka);
  }

  assignedKeys(): number[] {
    return [...this.positions.keys()];
  }

  positionOf(key: number): number {
    const position = this.positions.get(key);
    return position === undefined || position === 'beginning' ? -1 : position;
  }

  async send(key: number, value: number): Promise<SendOutcome> {
    const { topic, partition } = topicOfKey(key);
    try {
      this.producerConnected ??= this.producer.connect();
      // Nothing is handed over until the producer is connected: a failure here wrote nothing.
      await withTimeout(this.producerConnected, this.options.sendTimeoutMs);
    } catch (error) {
      this.producerConnected = null;
      return { type: 'fail', error: describeError(error) };
    }
    try {
      const acks = this.options.acks === 'all' ? -1 : 1;
      const results = await withTimeout(this.producer.send({ topic, acks, timeout: this.options.requestTimeoutMs,
        messages: [{ partition, key: String(key), value: String(value) }] }),
      this.options.sendTimeoutMs + CLOSE_WAIT_MS);
      assert(results.length === 1, () => `one send, one result: got ${results.length}`);
      const [result] = results;
      assert(result !== undefined && result.topicName === topic && result.partition === partition,
        'a record lands where it was sent');
      const offset = Number(result.baseOffset);
      assert(Number.isSafeInteger(offset) && offset >= 0,
        () => `an acknowledged offset, got ${String(result.baseOffset)}`);
      return { type: 'ok', offset };
    } catch (error) {
      return { type: isDefinite(error) ? 'fail' : 'info', error: describeError(error) };
    }
  }

  assign(keys: readonly number[], seekToBeginning: boolean): void {
    const next = new Map<number, Position>();
    for (const key of keys) next.set(key, seekToBeginning ? 'beginning' : this.positions.get(key) ?? 'beginning');
    this.generation += 1;
    this.positions.clear();
    for (const [key, position] of next) this.positions.set(key, position);
  }

  async poll(timeoutMs: number): Promise<PollOutcome> {
    try {
      const records = await withTimeout(this.fetchOnce(), timeoutMs + 3 * this.options.requestTimeoutMs);
      return { type: 'ok', records };
    } catch (error) {
      this.generation += 1;
      this.metadataStale = true;
      return { type: 'fail', error: describeError(error) };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([withTimeout(this.producer.disconnect(), CLOSE_WAIT_MS),
      withTimeout(this.cluster.disconnect(), CLOSE_WAIT_MS)]);
  }

  /**
   * One Fetch round from the positions; the positions move only when every part succeeded, so
   * a failed poll leaves them as the last ok poll did.
   */
  private async fetchOnce(): Promise<Record<string, ReadRecord[]>> {
    const generation = this.generation;
    const keys = this.assignedKeys();
    if (keys.length === 0) return {};
    this.clusterConnected ??= this.cluster.connect();
    try {
      await this.clusterConnected;
    } catch (error) {
      this.clusterConnected = null;
      throw error;
    }
    const topics = [...new Set(keys.map((key) => topicOfKey(key).topic))];
    await this.cluster.addMultipleTargetTopics(topics);
    if (this.metadataStale) {
      await this.cluster.refreshMetadata();
      this.metadataStale = false;
    }
    const starts = await this.resolveBeginnings(keys);
    const position = (key: number): number => {
      const at = this.positions.get(key);
      const resolved = at === 'beginning' ? starts.get(key) : at;
      assert(resolved !== undefined, () => `key ${key} has a position`);
      return resolved;
    };
    // Fetch requests per leader, all at once.
    const byLeader = new Map<string, { topic: string; partitions: { partition: number; fetchOffset: string;
      maxBytes: number }[] }[]>();
    for (const topic of topics) {
      const partitions = keys.filter((key) => topicOfKey(key).topic === topic).map((key) => topicOfKey(key).partition);
      for (const [leader, led] of Object.entries(this.cluster.findLeaderForPartitions(topic, partitions))) {
        const entry = byLeader.get(leader) ?? [];
        entry.push({ topic, partitions: led.map((partition) => ({ partition, maxBytes: FETCH_BYTES_MAX,
          fetchOffset: String(position(keyOf(topic, partition) ?? -1)) })) });
        byLeader.set(leader, entry);
      }
    }
    const responses = await Promise.all([...byLeader].map(async ([nodeId, request]) => {
      const broker = await this.cluster.findBroker({ nodeId });
      return broker.fetch({ replicaId: -1, isolationLevel: 0, maxWaitTime: FETCH_WAIT_MS, minBytes: 1,
        maxBytes: FETCH_BYTES_MAX, topics: request });
    }));
    const byKey: Record<string, ReadRecord[]> = {};
    const nextPositions = new Map<number, number>();
    for (const response of responses) {
      for (const { topicName, partitions } of response.responses) {
        for (const { partition, messages } of partitions) {
          const key = keyOf(topicName, partition);
          assert(key !== null && this.positions.has(key), () => `fetched ${topicName}/${partition}, not assigned`);
          let next = position(key);
          for (const message of messages) {
            const offset = Number(message.offset);
            assert(Number.isSafeInteger(offset), () => `a record offset, got ${message.offset}`);
            // The head of a batch that starts before the position, and control records, are no records.
            if (offset < next || message.isControlRecord === true) continue;
            (byKey[String(key)] ??= []).push([offset, valueOfBuffer(message.value)]);
            next = offset + 1;
          }
          nextPositions.set(key, next);
        }
      }
    }
    // Keys whose leader answered nothing keep a resolved beginning, so the next poll starts there.
    for (const [key, start] of starts) if (!nextPositions.has(key)) nextPositions.set(key, start);
    if (generation !== this.generation) throw new Error('the poll was abandoned or the assignment changed meanwhile');
    for (const [key, next] of nextPositions) this.positions.set(key, next);
    return byKey;
  }

  /** The log start of every assigned key still at 'beginning' (ListOffsets earliest). */
  private async resolveBeginnings(keys: readonly number[]): Promise<Map<number, number>> {
    const pending = keys.filter((key) => this.positions.get(key) === 'beginning');
    const starts = new Map<number, number>();
    if (pending.length === 0) return starts;
    const topics = [...new Set(pending.map((key) => topicOfKey(key).topic))];
    const answer = await this.cluster.fetchTopicsOffset(topics.map((topic) => ({ topic, fromBeginning: true,
      partitions: pending.filter((key) => topicOfKey(key).topic === topic)
        .map((key) => ({ partition: topicOfKey(key).partition })) })));
    for (const { topic, partitions } of answer) {
      for (const { partition, offset } of partitions) {
        const key = keyOf(topic, partition);
        const start = Number(offset);
        assert(key !== null && Number.isSafeInteger(start) && start >= 0, () => `a log start for ${topic}/${partition}`);
        starts.set(key, start);
      }
    }
    for (const key of pending) assert(starts.has(key), () => `ListOffsets answered for key ${key}`);
    return starts;
  }
}

/** A record value the workload wrote is a decimal integer; anything else (corruption served) reads as -1. */
function valueOfBuffer(value: Buffer | null): number {
  const parsed = Number(value?.toString() ?? 'x');
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : -1;
}

/** kafkajs's own log lines go to the run's clients.log, as the native clients' do. */
function pinoLogCreator(logger: Logger) {
  return () => ({ namespace, label, log }: { namespace: string; label: string; log: { message: string } }): void => {
    logger.warn({ kafkajs: namespace, kafkajsLevel: label }, log.message);
  };
}
