/**
 * Goal: the console's pure parts read what the brokers really serve and compute the right figures:
 * Prometheus text (samples, sums, histogram quantiles), the scraper's rates and latency quantiles
 * (including across a broker restart, whose counters start again from 0), `tributary top`'s rates
 * and frame, record bytes as text/JSON/hex, and the `--metrics` list.
 * Method: the text comes from a real BrokerMetrics registry, served by a real MetricsServer on
 * 127.0.0.1 for the scraper; a restart is a new registry and server on the same port.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { UsageError } from '../../../src/cli/client_common.js';
import { parseMetricsAddresses } from '../../../src/cli/commands/console.js';
import { hostAllowed } from '../../../src/console/console_server.js';
import { freePort } from '../../../src/cli/free_ports.js';
import type { ClusterOverview, GroupSummary } from '../../../src/console/api_types.js';
import { MetricsScraper } from '../../../src/console/metrics_scraper.js';
import { histogramBuckets, parseSamples, quantile, sumOf } from '../../../src/console/prometheus_text.js';
import { viewBytes } from '../../../src/console/record_browser.js';
import { formatTopFrame, topicRates } from '../../../src/console/top_frame.js';
import { BrokerMetrics } from '../../../src/metrics/broker_metrics.js';
import { MetricsServer } from '../../../src/metrics/metrics_server.js';

const quietLogger = { error: (): void => undefined };

describe('Prometheus text', () => {
  test('samples, label sums and quantiles of a real broker registry', async () => {
    const metrics = new BrokerMetrics({ brokerId: 7, defaultMetrics: false });
    metrics.recordsIn('orders', 5, 500);
    metrics.recordsIn('orders', 7, 700);
    metrics.recordsIn('audit', 1, 10);
    // 90 observations at 3 ms (bucket 2.5..5 ms), 10 at 200 ms (bucket 100..250 ms).
    for (let i = 0; i < 90; i += 1) metrics.produceHandled(-1, 0.003);
    for (let i = 0; i < 10; i += 1) metrics.produceHandled(1, 0.2);
    const samples = parseSamples(await metrics.scrape());
    assert.equal(sumOf(samples, 'tributary_records_in_total', { topic: 'orders' }), 12);
    assert.equal(sumOf(samples, 'tributary_records_in_total'), 13);
    assert.ok(samples.every((s) => s.labels.broker === '7'), 'every sample names its broker');
    const buckets = histogramBuckets(samples, 'tributary_produce_latency_seconds');
    assert.equal(buckets.at(-1)?.le, Infinity);
    assert.equal(buckets.at(-1)?.count, 100, 'the acks series are summed');
    const p50 = quantile(buckets, 0.5);
    const p99 = quantile(buckets, 0.99);
    assert.ok(p50 !== null && p50 > 0.0025 && p50 <= 0.005, `p50 ${p50}`);
    assert.ok(p99 !== null && p99 > 0.1 && p99 <= 0.25, `p99 ${p99}`);
    assert.equal(quantile([], 0.5), null);
    assert.equal(quantile([{ le: 1, count: 0 }, { le: Infinity, count: 0 }], 0.5), null);
  });

  test('escaped label values, comments and lines that are not samples', () => {
    const samples = parseSamples('# HELP x help\n# TYPE x counter\nx{a="q\\"uote",b="n\\\\l"} 3\ngarbage line here\n' +
      'y 1.5e3\nz NaNx\n');
    assert.deepEqual(samples.map((s) => [s.name, s.labels, s.value]),
      [['x', { a: 'q"uote', b: 'n\\l' }, 3], ['y', {}, 1500]]);
  });
});

describe('MetricsScraper', () => {
  test('rates and produce latency over each interval, across a restart of the broker', { timeout: 20_000 },
    async () => {
      const port = await freePort();
      let metrics = new BrokerMetrics({ brokerId: 2, defaultMetrics: false });
      let server = await MetricsServer.start(metrics, '127.0.0.1', port, quietLogger);
      const scraper = new MetricsScraper({ addresses: [`127.0.0.1:${port}`, '127.0.0.1:1'], intervalMs: 500 });
      try {
        metrics.recordsIn('orders', 1_000, 10_000);
        await scraper.scrapeOnce();
        assert.deepEqual(scraper.series(), [], 'a rate needs two scrapes');
        assert.deepEqual(scraper.endpoints().map((e) => [e.brokerId, e.up]), [[2, true], [null, false]]);
        const startedMs = Date.now();
        metrics.recordsIn('orders', 300, 3_000);
        for (let i = 0; i < 50; i += 1) metrics.produceHandled(-1, 0.004);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await scraper.scrapeOnce();
        const seconds = (Date.now() - startedMs) / 1_000;
        const point = scraper.series().at(-1);
        assert.ok(point !== undefined);
        // 300 records over about `seconds` (the first scrape's end is a little earlier than startedMs).
        assert.ok(point.recordsInPerSec >= 300 / (seconds + 0.5) && point.recordsInPerSec <= 300 / 0.2,
          `records in ${point.recordsInPerSec}/s over ~${seconds} s`);
        assert.ok(point.produceP50Ms !== null && point.produceP50Ms > 2.5 && point.produceP50Ms <= 5);
        assert.equal(point.endpointsUp, 1);

        // The broker restarts: its counters start from 0; 40 records since are 40, not -1260.
        await server.close();
        metrics = new BrokerMetrics({ brokerId: 2, defaultMetrics: false });
        metrics.recordsIn('orders', 40, 400);
        server = await MetricsServer.start(metrics, '127.0.0.1', port, quietLogger);
        await scraper.scrapeOnce();
        const afterRestart = scraper.series().at(-1);
        assert.ok(afterRestart !== undefined);
        const records = afterRestart.recordsInPerSec * ((afterRestart.timeMs - point.timeMs) / 1_000);
        assert.ok(Math.abs(records - 40) < 1e-6, `${records} records in the interval, not 40`);
        assert.equal(afterRestart.produceP50Ms, null, 'nothing produced in the interval');

        // A broker that stops answering keeps its last samples (its disk use) but is down.
        await server.close();
        await scraper.scrapeOnce();
        const [stopped] = scraper.endpoints();
        assert.ok(stopped !== undefined && !stopped.up && stopped.error !== null);
        assert.equal(sumOf(scraper.samplesOf(2) ?? [], 'tributary_records_in_total'), 40);
      } finally {
        scraper.stop();
        await server.close().catch(() => undefined);
      }
    });
});

describe('tributary top', () => {
  test('topic rates from high watermark deltas', () => {
    const before = new Map([['orders/0', 100], ['orders/1', 50], ['audit/0', 7], ['gone/0', 9]]);
    const now = new Map([['orders/0', 130], ['orders/1', 60], ['audit/0', 3], ['new/0', 500]]);
    assert.deepEqual([...topicRates(before, now, 2)].sort(), [['audit', 1.5], ['orders', 20]]);
    assert.equal(topicRates(before, now, 0).size, 0);
  });

  test('one frame: brokers, topics with their rates, groups with their lag', () => {
    const overview: ClusterOverview = { clusterId: 'c1', controllerId: 1, readAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
      brokers: [
        { id: 1, address: 'h:1', up: true, controller: true, leaderPartitions: 2, replicaPartitions: 3,
          diskBytes: null, metrics: null },
        { id: 2, address: 'h:2', up: false, controller: false, leaderPartitions: 0, replicaPartitions: 3,
          diskBytes: null, metrics: null }],
      topics: [{ name: 'orders', partitions: 3, replicationFactor: 2, underReplicated: 1, offline: 0, records: 42,
        sizeBytes: null }] };
    const groups: GroupSummary[] = [{ groupId: 'readers', protocolType: 'consumer', state: 'Stable', members: 2,
      lag: 17 }];
    const frame = formatTopFrame(overview, groups, new Map([['orders', 12.34]]));
    assert.deepEqual(frame.split('\n'), [
      'tributary top   cluster c1   controller 1   2026-01-02 03:04:05 UTC',
      '',
      'BROKERS',
      '  ID  ADDRESS  STATE            LEADERS  REPLICAS',
      '  1   h:1      up (controller)  2        3',
      '  2   h:2      DOWN (fenced)    0        3',
      '',
      'TOPICS',
      '  TOPIC   PARTITIONS  RF  UNDER-REPLICATED  OFFLINE  RECORDS  IN/S',
      '  orders  3           2   1                 0        42       12.3',
      '',
      'GROUPS',
      '  GROUP    STATE   MEMBERS  LAG',
      '  readers  Stable  2        17',
    ]);
  });
});

describe('record bytes and options', () => {
  test('text, JSON and hex views of record bytes', () => {
    assert.deepEqual(viewBytes(Buffer.from('{"a":1}')), { size: 7, text: '{"a":1}', json: true,
      hex: '7b2261223a317d' });
    assert.deepEqual(viewBytes(Buffer.from('héllo')), { size: 6, text: 'héllo', json: false, hex: '68c3a96c6c6f' });
    assert.deepEqual(viewBytes(Buffer.from([0xff, 0x00, 0xfe])), { size: 3, text: null, json: false, hex: 'ff00fe' });
    assert.equal(viewBytes(null), null);
    assert.equal(viewBytes(Buffer.alloc(10_000, 1))?.hex.length, 8_192, 'hex is cut at 4 KiB');
  });

  test('--metrics takes host:port addresses', () => {
    assert.deepEqual(parseMetricsAddresses('127.0.0.1:9100, h:9101,'), ['127.0.0.1:9100', 'h:9101']);
    assert.deepEqual(parseMetricsAddresses(undefined), []);
    assert.throws(() => parseMetricsAddresses('localhost'), UsageError);
    assert.throws(() => parseMetricsAddresses('h:99999'), UsageError);
  });

  test('a loopback console answers only to loopback Host names (DNS rebinding)', () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080', '127.0.0.1']) {
      assert.ok(hostAllowed('127.0.0.1', host), host);
    }
    for (const host of ['evil.example:8080', 'evil.example', '127.0.0.1.evil.example', undefined]) {
      assert.ok(!hostAllowed('127.0.0.1', host), String(host));
    }
    assert.ok(hostAllowed('0.0.0.0', 'console.example.com:8080'), 'a console bound to every address answers any name');
  });
});
