/**
 * A small in-memory stand-in for a Tributary cluster, for the client library tests: N
 * RequestServers on 127.0.0.1 (OS-chosen ports) sharing one table of topics. Each partition has a
 * leader that a test can move, an in-memory log of RecordBatch v2 bytes with offsets assigned as
 * a broker does (assignOffsets), Kafka-style idempotent dedupe, long-poll Fetch that starts at the
 * batch containing the fetch offset, ListOffsets, and switches for injected per-partition errors
 * and delayed (lost) replies. Every Produce request is recorded with the batch headers it carried.
 * Two broker-level faults: a broker with a stale view (its Metadata replies name no leader, as a
 * broker that has not learned it yet) and a paused broker (it takes requests and answers none
 * until resumed, like a SIGSTOPped process whose TCP connections stay open).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { pino } from 'pino';

import { SeededPrng } from '../../../raft/core/prng.js';
import { decodeBatch } from '../../../src/client/compression.js';
import { Producer } from '../../../src/client/producer.js';
import type { ProducerOptions } from '../../../src/client/producer.js';
import { ERROR_TABLE } from '../../../src/common/errors.js';
import type { ErrorCode } from '../../../src/common/errors.js';
import { RequestServer } from '../../../src/net/request_server.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import type { DecodedRequestOf, ResponseOf } from '../../../src/protocol/messages.js';
import { assignOffsets, readBatchHeader } from '../../../src/protocol/record_batch.js';

export interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Buffer;
}

interface ProducerEntry {
  lastSequence: number;
  readonly batches: { first: number; last: number; baseOffset: number }[];
}

export interface FakePartition {
  leaderId: number;
  replicaIds: number[];
  log: StoredBatch[];
  logStartOffset: number;
  nextOffset: number;
  readonly producers: Map<number, ProducerEntry>;
}

export interface FakeTopic {
  readonly partitions: FakePartition[];
  readonly configs: Record<string, string>;
}

export interface ProduceSeen {
  readonly brokerId: number;
  readonly acks: number;
  readonly batches: readonly {
    readonly topic: string; readonly partition: number; readonly producerId: number;
    readonly baseSequence: number; readonly recordCount: number; readonly compression: string;
  }[];
}

interface Injected { readonly code: ErrorCode; remaining: number; readonly hint: boolean }

type Api = 'produce' | 'fetch' | 'listOffsets';

export class FakeCluster {
  readonly servers = new Map<number, RequestServer>();
  readonly topics = new Map<string, FakeTopic>();
  readonly produceRequests: ProduceSeen[] = [];
  readonly fetchRequests: {
    brokerId: number; partitions: { topic: string; partition: number; offset: number }[];
  }[] = [];
  /** The next Produce requests handled have their replies held this long (a lost reply). */
  delayNextProduceReplies = { count: 0, delayMs: 0 };
  /** Brokers whose Metadata replies name no partition leader. */
  readonly staleMetadataBrokers = new Set<number>();
  /** Paused brokers, each with the release of the requests it holds. */
  private readonly paused = new Map<number, { readonly resumed: Promise<void>; readonly resume: () => void }>();
  private readonly injected = new Map<string, Injected>();
  private nextProducerId = 1000;
  /** Error codes the next InitProducerId requests are answered with, one each (a broker awaiting ids). */
  readonly initProducerIdErrors: number[] = [];

  static async start(brokerCount: number): Promise<FakeCluster> {
    const cluster = new FakeCluster();
    for (let id = 1; id <= brokerCount; id++) {
      const server = new RequestServer({ listen: 'tcp://127.0.0.1:*', logger: pino({ level: 'silent' }) });
      cluster.install(server, id);
      await server.start();
      cluster.servers.set(id, server);
    }
    return cluster;
  }

  /** `host:port` of a broker. */
  address(brokerId: number): string {
    const server = this.servers.get(brokerId);
    if (server === undefined) throw new Error(`no broker ${brokerId}`);
    return server.endpoint.replace('tcp://', '');
  }

  get bootstrap(): string {
    return this.address(1);
  }

  createTopic(name: string, partitionCount: number, leaders?: readonly number[]): FakeTopic {
    const brokerIds = [...this.servers.keys()];
    const partitions = Array.from({ length: partitionCount }, (_, i): FakePartition => ({
      leaderId: leaders?.[i] ?? brokerIds[i % brokerIds.length] ?? 1,
      replicaIds: brokerIds.slice(0, Math.min(3, brokerIds.length)),
      log: [], logStartOffset: 0, nextOffset: 0, producers: new Map(),
    }));
    const topic = { partitions, configs: {} };
    this.topics.set(name, topic);
    return topic;
  }

  /** Grows a topic to partitionCount partitions (CreatePartitions), led round robin. */
  addPartitions(name: string, partitionCount: number): void {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new Error(`no topic ${name}`);
    const brokerIds = [...this.servers.keys()];
    for (let i = topic.partitions.length; i < partitionCount; i++) {
      topic.partitions.push({ leaderId: brokerIds[i % brokerIds.length] ?? 1,
        replicaIds: brokerIds.slice(0, Math.min(3, brokerIds.length)), log: [], logStartOffset: 0, nextOffset: 0,
        producers: new Map() });
    }
  }

  partition(topic: string, partition: number): FakePartition {
    const found = this.topics.get(topic)?.partitions[partition];
    if (found === undefined) throw new Error(`no partition ${topic}/${partition}`);
    return found;
  }

  /** Every record of a partition, decoded, in offset order. */
  records(topic: string, partition: number): { offset: number; key: string | null; value: string | null;
    timestamp: number; }[] {
    return this.partition(topic, partition).log.flatMap((batch) => decodeBatch(batch.bytes).records.map((r) => ({
      offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp,
    })));
  }

  /** The next `times` requests of api for (topic, partition) fail with code (hint: current leader). */
  inject(api: Api, topic: string, partition: number, code: ErrorCode, times = 1, hint = true): void {
    this.injected.set(`${api}/${topic}/${partition}`, { code, remaining: times, hint });
  }

  /** Drops whole batches below offset and moves the log start there (retention). */
  truncateBefore(topic: string, partition: number, offset: number): void {
    const p = this.partition(topic, partition);
    p.log = p.log.filter((batch) => batch.lastOffset >= offset);
    p.logStartOffset = p.log[0]?.baseOffset ?? p.nextOffset;
  }

  /** The broker keeps its connections but answers nothing until resume(). */
  pause(brokerId: number): void {
    if (this.paused.has(brokerId)) return;
    let resume = (): void => undefined;
    const resumed = new Promise<void>((resolve) => { resume = resolve; });
    this.paused.set(brokerId, { resumed, resume });
  }

  /** The broker answers again, the requests it held first (late, as a resumed process does). */
  resume(brokerId: number): void {
    this.paused.get(brokerId)?.resume();
    this.paused.delete(brokerId);
  }

  async close(): Promise<void> {
    for (const brokerId of [...this.paused.keys()]) this.resume(brokerId);
    await Promise.all([...this.servers.values()].map((server) => server.close()));
  }

  private takeInjected(api: Api, topic: string, partition: number): Injected | null {
    const key = `${api}/${topic}/${partition}`;
    const injected = this.injected.get(key);
    if (injected === undefined) return null;
    injected.remaining -= 1;
    if (injected.remaining <= 0) this.injected.delete(key);
    return injected;
  }

  private hint(p: FakePartition): { leaderId: number; leaderEpoch: number; host: string; port: number } {
    const [host, port] = this.servers.has(p.leaderId) ? this.address(p.leaderId).split(':') : ['', '0'];
    return { leaderId: p.leaderId, leaderEpoch: 1, host: host ?? '', port: Number(port) };
  }

  /** An error for a partition request to brokerId, or null when it may be served. */
  private refusal(api: Api, brokerId: number, topic: string, partition: number):
    { errorCode: number; currentLeader?: ReturnType<FakeCluster['hint']> } | null {
    const p = this.topics.get(topic)?.partitions[partition];
    if (p === undefined) return { errorCode: ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire };
    const injected = this.takeInjected(api, topic, partition);
    if (injected !== null) {
      return { errorCode: ERROR_TABLE[injected.code].wire, ...(injected.hint ? { currentLeader: this.hint(p) } : {}) };
    }
    if (p.leaderId !== brokerId) {
      return { errorCode: ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire, currentLeader: this.hint(p) };
    }
    return null;
  }

  /** Holds a request while its broker is paused. */
  private async unpaused(brokerId: number): Promise<void> {
    for (let paused = this.paused.get(brokerId); paused !== undefined; paused = this.paused.get(brokerId)) {
      await paused.resumed;
    }
  }

  private install(server: RequestServer, brokerId: number): void {
    server.setHandler(API_KEYS.METADATA, async (request) => {
      await this.unpaused(brokerId);
      return { response: this.metadata(request, this.staleMetadataBrokers.has(brokerId)) };
    });
    server.setHandler(API_KEYS.DESCRIBE_CLUSTER, () => ({ response: {
      clusterId: 'fake', controllerId: 1, controllerVoterIds: [...this.servers.keys()], brokers: this.brokers(),
    } }));
    server.setHandler(API_KEYS.INIT_PRODUCER_ID, () => {
      const errorCode = this.initProducerIdErrors.shift();
      if (errorCode !== undefined) return { response: { errorCode, producerId: -1, producerEpoch: -1 } };
      return { response: { producerId: this.nextProducerId++, producerEpoch: 0 } };
    });
    server.setHandler(API_KEYS.CREATE_TOPICS, (request) => ({ response: { topics: request.topics.map((t) => {
      if (this.topics.has(t.name)) return { name: t.name, errorCode: ERROR_TABLE.TOPIC_ALREADY_EXISTS.wire };
      if (t.numPartitions < 1) return { name: t.name, errorCode: ERROR_TABLE.INVALID_PARTITIONS.wire,
        errorMessage: 'at least one partition' };
      if (!request.validateOnly) this.createTopic(t.name, t.numPartitions);
      Object.assign(this.topics.get(t.name)?.configs ?? {}, t.configs);
      return { name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor };
    }) } }));
    server.setHandler(API_KEYS.DELETE_TOPICS, (request) => ({ response: { topics: request.topicNames.map((name) => ({
      name, errorCode: this.topics.delete(name) ? 0 : ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire,
    })) } }));
    server.setHandler(API_KEYS.PRODUCE, async (request, context) => {
      await this.unpaused(brokerId);
      return this.produce(brokerId, request, context.rawFrames);
    });
    server.setHandler(API_KEYS.FETCH, async (request) => {
      await this.unpaused(brokerId);
      return this.fetch(brokerId, request);
    });
    server.setHandler(API_KEYS.LIST_OFFSETS, async (request) => {
      await this.unpaused(brokerId);
      return this.listOffsets(brokerId, request);
    });
  }

  private listOffsets(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.LIST_OFFSETS>):
    { response: ResponseOf<typeof API_KEYS.LIST_OFFSETS> } {
    return { response: { partitions: request.partitions.map((q) => {
      const refused = this.refusal('listOffsets', brokerId, q.topic, q.partition);
      if (refused !== null) return { topic: q.topic, partition: q.partition, ...refused };
      return { topic: q.topic, partition: q.partition, offset: this.offsetFor(q.topic, q.partition, q.timestamp),
        timestamp: -1 };
    }) } };
  }

  private brokers(): { brokerId: number; host: string; port: number }[] {
    return [...this.servers.keys()].map((id) => {
      const [host, port] = this.address(id).split(':');
      return { brokerId: id, host: host ?? '', port: Number(port) };
    });
  }

  private metadata(request: DecodedRequestOf<typeof API_KEYS.METADATA>, stale: boolean):
    ResponseOf<typeof API_KEYS.METADATA> {
    // As the real broker: no topics named means all of them.
    const names = request.allTopics || request.topics.length === 0 ? [...this.topics.keys()] : request.topics;
    return {
      brokers: this.brokers(), clusterId: 'fake', controllerId: 1,
      topics: names.map((name) => {
        const topic = this.topics.get(name);
        if (topic === undefined) return { name, errorCode: ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire };
        return { name, configs: topic.configs, partitions: topic.partitions.map((p, i) => ({
          partition: i, leaderId: stale ? -1 : p.leaderId, leaderEpoch: 1, replicaIds: p.replicaIds,
          isrIds: p.replicaIds,
          highWatermark: p.nextOffset,
        })) };
      }),
    };
  }

  private async produce(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.PRODUCE>,
    rawFrames: readonly Buffer[]): Promise<{ response: ResponseOf<typeof API_KEYS.PRODUCE> }> {
    const seen: ProduceSeen['batches'][number][] = [];
    const partitions = request.partitions.map((q) => {
      const bytes = rawFrames[q.rawFrameIndex] ?? Buffer.alloc(0);
      const header = readBatchHeader(bytes);
      seen.push({ topic: q.topic, partition: q.partition, producerId: header.producerId,
        baseSequence: header.baseSequence, recordCount: header.recordCount, compression: header.compression });
      const refused = this.refusal('produce', brokerId, q.topic, q.partition);
      if (refused !== null) return { topic: q.topic, partition: q.partition, baseOffset: -1, ...refused };
      return { topic: q.topic, partition: q.partition, baseOffset: this.append(q.topic, q.partition, bytes),
        logAppendTimeMs: -1 };
    });
    this.produceRequests.push({ brokerId, acks: request.acks, batches: seen });
    if (this.delayNextProduceReplies.count > 0) {
      this.delayNextProduceReplies.count -= 1;
      await sleep(this.delayNextProduceReplies.delayMs);
    }
    return { response: { partitions } };
  }

  /** Appends a batch (or finds its duplicate) and returns its base offset. */
  private append(topic: string, partition: number, bytes: Buffer): number {
    const p = this.partition(topic, partition);
    const header = readBatchHeader(bytes);
    const last = header.baseSequence + header.recordCount - 1;
    if (header.producerId >= 0) {
      const entry = p.producers.get(header.producerId);
      const duplicate = entry?.batches.find((b) => b.first === header.baseSequence && b.last === last);
      if (duplicate !== undefined) return duplicate.baseOffset;
    }
    const copy = Buffer.from(bytes);
    const baseOffset = p.nextOffset;
    const lastOffset = assignOffsets(copy, baseOffset, 1);
    p.log.push({ baseOffset, lastOffset, bytes: copy });
    p.nextOffset = lastOffset + 1;
    if (header.producerId >= 0) {
      const entry = p.producers.get(header.producerId) ?? { lastSequence: -1, batches: [] };
      entry.lastSequence = last;
      entry.batches.push({ first: header.baseSequence, last, baseOffset });
      if (entry.batches.length > 5) entry.batches.shift();
      p.producers.set(header.producerId, entry);
    }
    return baseOffset;
  }

  private async fetch(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.FETCH>):
    Promise<{ response: ResponseOf<typeof API_KEYS.FETCH>; rawFrames: Buffer[] }> {
    this.fetchRequests.push({ brokerId, partitions: request.partitions.map((q) => ({ topic: q.topic,
      partition: q.partition, offset: q.fetchOffset })) });
    const deadline = Date.now() + request.maxWaitMs;
    for (;;) {
      const rawFrames: Buffer[] = [];
      const partitions = request.partitions.map((q) => {
        const base = { topic: q.topic, partition: q.partition };
        const refused = this.refusal('fetch', brokerId, q.topic, q.partition);
        if (refused !== null) return { ...base, ...refused };
        const p = this.partition(q.topic, q.partition);
        const common = { ...base, highWatermark: p.nextOffset, logStartOffset: p.logStartOffset };
        if (q.fetchOffset < p.logStartOffset || q.fetchOffset > p.nextOffset) {
          return { ...common, errorCode: ERROR_TABLE.OFFSET_OUT_OF_RANGE.wire };
        }
        const batches: Buffer[] = [];
        let bytes = 0;
        for (const batch of p.log) {
          if (batch.lastOffset < q.fetchOffset) continue;
          if (batches.length > 0 && bytes + batch.bytes.length > q.partitionMaxBytes) break;
          batches.push(batch.bytes);
          bytes += batch.bytes.length;
        }
        if (batches.length === 0) return common;
        rawFrames.push(Buffer.concat(batches));
        return { ...common, rawFrameIndexes: [rawFrames.length - 1] };
      });
      const errors = partitions.some((p) => 'errorCode' in p);
      if (rawFrames.length > 0 || errors || Date.now() >= deadline) return { response: { partitions }, rawFrames };
      await sleep(Math.min(20, Math.max(1, deadline - Date.now())));
    }
  }

  private offsetFor(topic: string, partition: number, timestamp: number): number {
    const p = this.partition(topic, partition);
    if (timestamp === -1) return p.nextOffset;
    if (timestamp === -2) return p.logStartOffset;
    for (const batch of p.log) {
      if (readBatchHeader(batch.bytes).maxTimestamp < timestamp) continue;
      const found = decodeBatch(batch.bytes).records.find((r) => r.timestamp >= timestamp);
      if (found !== undefined) return found.offset;
    }
    return -1;
  }
}

/** A Producer of the fake cluster with short back-offs and timeouts, seeded so its choices repeat. */
export function testProducer(cluster: FakeCluster, options: Partial<ProducerOptions> = {}, seed = 7): Producer {
  return new Producer({
    bootstrap: cluster.bootstrap, prng: new SeededPrng(seed), retryBackoffMs: 10, retryBackoffMaxMs: 50,
    requestTimeoutMs: 2_000, maxBlockMs: 5_000, ...options,
  });
}

/** Runs `body` against a fresh fake cluster of `brokers` brokers and closes it afterwards. */
export async function withCluster(brokers: number, body: (cluster: FakeCluster) => Promise<void>): Promise<void> {
  const cluster = await FakeCluster.start(brokers);
  try {
    await body(cluster);
  } finally {
    await cluster.close();
  }
}
