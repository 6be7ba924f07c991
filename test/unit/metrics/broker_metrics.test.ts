/**
 * Goal: each broker's metrics live on a registry of its own; requests, errors, latency and records
 * in/out are counted from what a real RequestServer handled; Raft, partition and disk gauges read
 * the broker's state at scrape time; series carry topic labels only for hosted topics and vanish
 * with their partition; unknown API keys cannot grow the label set.
 * Method: BrokerMetrics scraped as Prometheus text, fed by a RequestServer on 127.0.0.1 with a
 * client Connection and real record batches; the broker's state is given as plain views (the
 * MetricsSource interface), changed between scrapes.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { register as globalRegistry } from 'prom-client';

import { ERROR_TABLE, TributaryError, kafkaWireCode } from '../../../src/common/errors.js';
import { BrokerMetrics } from '../../../src/metrics/broker_metrics.js';
import type { GroupOffsetView, MetricsSource, PartitionView } from '../../../src/metrics/metrics_source.js';
import { RequestMetrics, recordsInBatches } from '../../../src/metrics/request_metrics.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { pb } from '../../../src/protocol/messages.js';
import { RecordBatchBuilder } from '../../../src/protocol/record_batch_builder.js';
import { captureLogger, connect, rawDealer, receiveEnvelope, startServer, waitFor } from '../net/helpers.js';

/** A batch of `count` records of 10-byte values, as a producer builds it. */
function batchOf(count: number): Buffer {
  const now = Date.now();
  const builder = new RecordBatchBuilder(now, 64 * 1024);
  const value = Buffer.alloc(10, 7);
  for (let i = 0; i < count; i += 1) {
    builder.append(null, value, [], now, builder.nextBodyBytes(null, value, [], now));
  }
  return builder.build({ compression: 'none', producerId: -1, producerEpoch: -1, baseSequence: -1 });
}

/** The value of the sample `name{labels...}` in Prometheus text, or undefined when there is no such series. */
function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map([...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) return Number(match[3]);
  }
  return undefined;
}

function partitionView(topic: string, partition: number, fields: Partial<PartitionView> = {}): PartitionView {
  return { groupId: 16_384 + partition, topic, partition, role: 'leader', leaderId: 1, term: 3, commitIndex: 10,
    appliedIndex: 10, replicas: [1, 2, 3], inSyncReplicas: [1, 2, 3], followerMatch: new Map([[2, 10], [3, 10]]),
    highWatermark: 42, segmentCount: 2, sizeBytes: 4096, ...fields };
}

function sourceOf(views: () => readonly PartitionView[], connections = (): number => 0,
  groupOffsets = (): readonly GroupOffsetView[] => []): MetricsSource {
  return {
    controller: () => ({ groupId: 0, topic: '__controller', partition: 0, role: 'follower', leaderId: 2, term: 5,
      commitIndex: 7, appliedIndex: 6 }),
    partitions: views,
    connections,
    groupOffsets,
  };
}

void describe('BrokerMetrics', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => { for (const close of closers) await close(); });

  void test('each broker has its own registry, none on the global one', async () => {
    const one = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    const two = new BrokerMetrics({ brokerId: 2 });
    one.requestHandled('METADATA', 'NONE', 0.001);
    one.requestHandled('METADATA', 'NONE', 0.002);
    const first = await one.scrape();
    const second = await two.scrape();
    assert.equal(sample(first, 'tributary_requests_total', { api: 'METADATA', error: 'NONE', broker: '1' }), 2);
    assert.equal(sample(second, 'tributary_requests_total', { api: 'METADATA' }), undefined);
    assert.equal(sample(first, 'tributary_request_latency_seconds_count', { api: 'METADATA' }), 2);
    assert.ok(second.includes('nodejs_eventloop_lag_seconds'), 'prom-client defaults on the broker registry');
    assert.ok(!first.includes('nodejs_eventloop_lag_seconds'), 'defaults only where asked');
    assert.equal(globalRegistry.getSingleMetric('tributary_requests_total'), undefined);
    assert.equal(globalRegistry.getSingleMetric('nodejs_eventloop_lag_seconds'), undefined);
  });

  void test('requests, errors, latency, records and bytes counted from a real RequestServer', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    const requests = new RequestMetrics(metrics);
    metrics.attach(sourceOf(() => [partitionView('orders', 0), partitionView('audit', 0)],
      () => requests.connections));
    const stored = [batchOf(3), batchOf(4)];
    const server = await startServer({ logger: captureLogger().logger, observer: requests, handlers: {
      [API_KEYS.PRODUCE]: (request) => ({ response: { partitions: request.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, baseOffset: 0, logStartOffset: 0, logAppendTimeMs: -1,
        errorCode: p.topic === 'audit' ? kafkaWireCode('NOT_LEADER_OR_FOLLOWER') : 0 })) } }),
      [API_KEYS.FETCH]: () => ({ response: { partitions: [{ topic: 'orders', partition: 0, errorCode: 0,
        highWatermark: 7, logStartOffset: 0, rawFrameIndexes: [0] }] },
      rawFrames: [Buffer.concat(stored)] }),
      [API_KEYS.METADATA]: () => { throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', 'no such topic'); },
    } });
    closers.push(() => server.close());
    const connection = connect(server, { clientId: 'metrics-test' });
    closers.push(() => connection.close());

    const produced = batchOf(5);
    await connection.request(API_KEYS.PRODUCE, { acks: -1, timeoutMs: 1_000, partitions: [
      { topic: 'orders', partition: 0, rawFrameIndex: 0 }, { topic: 'audit', partition: 0, rawFrameIndex: 1 }] },
    [produced, batchOf(2)]);
    await connection.request(API_KEYS.PRODUCE, { acks: 1, timeoutMs: 1_000, partitions: [
      { topic: 'orders', partition: 0, rawFrameIndex: 0 }] }, [produced]);
    await connection.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, partitions: [
      { topic: 'orders', partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] });
    await assert.rejects(connection.request(API_KEYS.METADATA, { allTopics: true }));
    // Acks a client makes up are counted as requests, but make no latency series of their own.
    await connection.request(API_KEYS.PRODUCE, { acks: 7, timeoutMs: 1_000, partitions: [] });
    // A request for an API this server does not serve is refused before any handler runs.
    await assert.rejects(connection.request(API_KEYS.LIST_GROUPS, {}));
    await waitFor(() => requests.connections === 1, 'the connection to be counted');

    const text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_requests_total', { api: 'PRODUCE', error: 'NONE' }), 3);
    assert.equal(sample(text, 'tributary_requests_total', { api: 'FETCH', error: 'NONE' }), 1);
    assert.equal(sample(text, 'tributary_requests_total', { api: 'METADATA', error: 'UNKNOWN_TOPIC_OR_PARTITION' }), 1);
    assert.equal(sample(text, 'tributary_requests_total', { api: 'LIST_GROUPS', error: 'INVALID_REQUEST' }), 1);
    assert.equal(sample(text, 'tributary_partition_errors_total', { api: 'PRODUCE', error: 'NOT_LEADER_OR_FOLLOWER' }),
      1);
    assert.equal(sample(text, 'tributary_records_in_total', { topic: 'orders' }), 10, 'two produces of 5 records');
    assert.equal(sample(text, 'tributary_bytes_in_total', { topic: 'orders' }), 2 * produced.length);
    assert.equal(sample(text, 'tributary_records_in_total', { topic: 'audit' }), undefined, 'failed: not counted');
    assert.equal(sample(text, 'tributary_records_out_total', { topic: 'orders' }), 7, 'both fetched batches');
    assert.equal(sample(text, 'tributary_bytes_out_total', { topic: 'orders' }), stored[0]!.length + stored[1]!.length);
    assert.equal(sample(text, 'tributary_produce_latency_seconds_count', { acks: '-1' }), 1);
    assert.equal(sample(text, 'tributary_produce_latency_seconds_count', { acks: '1' }), 1);
    assert.equal(sample(text, 'tributary_produce_latency_seconds_count', { acks: '7' }), undefined);
    assert.equal(sample(text, 'tributary_request_latency_seconds_count', { api: 'PRODUCE' }), 3);
    assert.equal(sample(text, 'tributary_client_connections'), 1);
  });

  void test('unknown API keys share one label however many a client sends', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    const requests = new RequestMetrics(metrics);
    const server = await startServer({ logger: captureLogger().logger, observer: requests });
    closers.push(() => server.close());
    const dealer = rawDealer(server.endpoint);
    closers.push(async () => { dealer.close(); await Promise.resolve(); });
    for (const [i, apiKey] of [900, 901, 902, 77].entries()) {
      await dealer.send([Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: i + 1,
        apiKey })).finish()), Buffer.alloc(0)]);
      assert.equal((await receiveEnvelope(dealer)).envelope.errorCode, ERROR_TABLE.INVALID_REQUEST.wire);
    }
    const text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_requests_total', { api: 'UNKNOWN', error: 'INVALID_REQUEST' }), 4);
    assert.equal(text.split('\n').filter((line) => line.startsWith('tributary_requests_total{')).length, 1);
  });

  void test('connections refused by a limit: once per connection, by listener and reason', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    const requests = new RequestMetrics(metrics);
    const server = await startServer({ logger: captureLogger().logger, observer: requests, handlers: {
      [API_KEYS.METADATA]: () => ({ response: { controllerId: 1 } }) },
    connectionLimits: { maxConnections: 1, maxConnectionsPerPrincipal: 0 },
    onConnectionRefused: (reason) => { metrics.connectionRefused('native', reason); } });
    closers.push(() => server.close());
    const admitted = connect(server);
    const refused = connect(server);
    closers.push(async () => { await admitted.close(); await refused.close(); });
    await admitted.request(API_KEYS.METADATA, { allTopics: true });
    for (let i = 0; i < 3; i += 1) {
      await assert.rejects(refused.request(API_KEYS.METADATA, { allTopics: true }),
        (error: unknown) => error instanceof TributaryError && error.code === 'CONNECTION_LIMIT_EXCEEDED');
    }
    metrics.connectionRefused('kafka', 'address');
    const text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_connections_refused_total', { listener: 'native', reason: 'total' }), 1);
    assert.equal(sample(text, 'tributary_connections_refused_total', { listener: 'kafka', reason: 'address' }), 1);
    assert.equal(sample(text, 'tributary_requests_total', { api: 'METADATA', error: 'CONNECTION_LIMIT_EXCEEDED' }), 3);
  });

  void test('Raft, replication and disk gauges read the state at each scrape', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    let views: PartitionView[] = [
      partitionView('orders', 0),
      partitionView('orders', 1, { inSyncReplicas: [1, 2], followerMatch: new Map([[2, 10], [3, 4]]) }),
      partitionView('orders', 2, { role: 'follower', leaderId: 0, inSyncReplicas: null, followerMatch: new Map() }),
    ];
    metrics.attach(sourceOf(() => views));
    let text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_under_replicated_partitions'), 1);
    assert.equal(sample(text, 'tributary_offline_partitions'), 1);
    assert.equal(sample(text, 'tributary_leader_partitions'), 2);
    assert.equal(sample(text, 'tributary_raft_follower_lag_entries', { topic: 'orders', partition: '1', follower: '3' }),
      6);
    assert.equal(sample(text, 'tributary_raft_role', { topic: '__controller', role: 'follower' }), 1);
    assert.equal(sample(text, 'tributary_raft_role', { topic: '__controller', role: 'leader' }), 0);
    assert.equal(sample(text, 'tributary_raft_term', { topic: '__controller' }), 5);
    assert.equal(sample(text, 'tributary_raft_applied_index', { topic: '__controller' }), 6);
    assert.equal(sample(text, 'tributary_log_segments', { topic: 'orders', partition: '2' }), 2);
    assert.equal(sample(text, 'tributary_log_size_bytes', { topic: 'orders', partition: '0' }), 4096);

    views = views.map((v) => ({ ...v, role: 'leader', leaderId: 1, inSyncReplicas: [1, 2, 3] }));
    text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_under_replicated_partitions'), 0);
    assert.equal(sample(text, 'tributary_offline_partitions'), 0);
  });

  void test('consumer-group lag: high watermark less the committed offset, never below 0', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    let offsets: GroupOffsetView[] = [
      { group: 'readers', topic: 'orders', partition: 0, committedOffset: 30, highWatermark: 42 },
      { group: 'readers', topic: 'orders', partition: 1, committedOffset: 50, highWatermark: 42 },
    ];
    metrics.attach(sourceOf(() => [], () => 0, () => offsets));
    let text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_consumer_group_lag', { group: 'readers', partition: '0' }), 12);
    assert.equal(sample(text, 'tributary_consumer_group_lag', { group: 'readers', partition: '1' }), 0);
    offsets = [];
    text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_consumer_group_lag', { group: 'readers', partition: '0' }), undefined,
      'a group this broker no longer coordinates has no series');
  });

  void test('series of a partition no longer hosted are removed, counters included', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    let views = [partitionView('orders', 0), partitionView('gone', 0, { groupId: 99 })];
    metrics.attach(sourceOf(() => views));
    metrics.recordsIn('orders', 5, 500);
    metrics.recordsIn('gone', 7, 700);
    metrics.recordsOut('gone', 7, 700);
    metrics.raftLeaderChanged(99);
    for (const role of ['follower', 'pre_candidate', 'candidate', 'candidate', 'leader', 'follower', 'candidate']) {
      metrics.raftRoleObserved(99, role);
    }
    let text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_raft_elections_total', { group: '99' }), 2, 'became a candidate twice');
    assert.equal(sample(text, 'tributary_records_in_total', { topic: 'gone' }), 7);
    assert.equal(sample(text, 'tributary_raft_leader_changes_total', { group: '99' }), 1);

    views = [partitionView('orders', 0)];
    text = await metrics.scrape();
    assert.ok(!text.includes('topic="gone"'), 'no series of a deleted partition is left');
    assert.equal(sample(text, 'tributary_raft_leader_changes_total', { group: '99' }), undefined);
    assert.equal(sample(text, 'tributary_raft_elections_total', { group: '99' }), undefined);
    assert.equal(sample(text, 'tributary_records_in_total', { topic: 'orders' }), 5);

    // A topic created again under the old name starts from zero.
    views = [partitionView('orders', 0), partitionView('gone', 0, { groupId: 99 })];
    metrics.recordsIn('gone', 1, 100);
    text = await metrics.scrape();
    assert.equal(sample(text, 'tributary_records_in_total', { topic: 'gone' }), 1);
    assert.equal(sample(text, 'tributary_raft_leader_changes_total', { group: '99' }), 0);
  });

  void test('traffic of a topic this broker does not host is never exposed', async () => {
    const metrics = new BrokerMetrics({ brokerId: 1, defaultMetrics: false });
    metrics.attach(sourceOf(() => [partitionView('orders', 0)]));
    for (let i = 0; i < 1_000; i += 1) metrics.recordsOut(`not-here-${i}`, 1, 1);
    const text = await metrics.scrape();
    assert.equal(text.split('\n').filter((line) => line.startsWith('tributary_records_out_total{')).length, 0);
  });
});

void describe('recordsInBatches', () => {
  void test('counts every whole batch of a chunk and ignores a torn tail', () => {
    const one = batchOf(3);
    const two = batchOf(11);
    assert.equal(recordsInBatches(one), 3);
    assert.equal(recordsInBatches(Buffer.concat([one, two])), 14);
    assert.equal(recordsInBatches(Buffer.concat([one, two.subarray(0, two.length - 1)])), 3);
    assert.equal(recordsInBatches(Buffer.alloc(0)), 0);
    assert.equal(recordsInBatches(Buffer.alloc(70)), 0, 'a batch length of 0 is not a batch');
  });
});
