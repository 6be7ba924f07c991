/**
 * Goal: the leadership log writes one info line per new leader per group and cannot be flooded by
 * a flapping group; fsyncs are timed without changing what the FileIo does; the metrics listener
 * serves /metrics in Prometheus text and nothing else.
 * Method: a captured pino logger with an injected clock; the real node FileIo on a temporary file;
 * the real HTTP listener on a free port, read with fetch.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { nodeFileIo } from '../../../storage/file_io.js';
import { BrokerMetrics } from '../../../src/metrics/broker_metrics.js';
import { LEADERSHIP_LOG_DEFAULTS, LeadershipLog } from '../../../src/metrics/leadership_log.js';
import { MetricsServer } from '../../../src/metrics/metrics_server.js';
import { timedFileIo } from '../../../src/metrics/timed_file_io.js';
import { captureLogger } from '../net/helpers.js';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'observability-'));
after(() => { fs.rmSync(folder, { recursive: true, force: true }); });

void describe('LeadershipLog', () => {
  void test('one info line per new leader, with group, partition, term and leader', () => {
    const { logger, lines } = captureLogger();
    const log = new LeadershipLog(logger, (groupId) => (groupId === 7 ? { topic: 'orders', partition: 3 } : {}));
    try {
      assert.equal(log.observe({ groupId: 7, role: 'follower', leaderId: 0, term: 1 }), false, 'no leader yet');
      assert.equal(log.observe({ groupId: 7, role: 'follower', leaderId: 2, term: 2 }), true);
      assert.equal(log.observe({ groupId: 7, role: 'follower', leaderId: 2, term: 2 }), false, 'same leader');
      assert.equal(log.observe({ groupId: 7, role: 'candidate', leaderId: 0, term: 3 }), false, 'leader lost');
      assert.equal(log.observe({ groupId: 7, role: 'leader', leaderId: 1, term: 3 }), true);
      assert.deepEqual(lines.map((l) => [l.level, l.msg, l.group, l.topic, l.partition, l.term, l.leader, l.role]), [
        [30, 'raft leader changed', 7, 'orders', 3, 2, 2, 'follower'],
        [30, 'raft leader changed', 7, 'orders', 3, 3, 1, 'leader'],
      ]);
    } finally {
      log.close();
    }
  });

  void test('a flapping group is limited and summed up; other groups still log', () => {
    const { logger, lines } = captureLogger();
    let nowMs = 0;
    const log = new LeadershipLog(logger, () => ({}), { now: () => nowMs });
    try {
      for (let i = 0; i < 1_000; i += 1) log.observe({ groupId: 1, role: 'follower', leaderId: 1 + (i % 3), term: i });
      assert.equal(lines.length, LEADERSHIP_LOG_DEFAULTS.linesPerInterval);
      assert.equal(log.observe({ groupId: 2, role: 'leader', leaderId: 1, term: 1 }), true);
      assert.equal(lines.length, LEADERSHIP_LOG_DEFAULTS.linesPerInterval + 1, 'group 2 has its own limit');
      nowMs += LEADERSHIP_LOG_DEFAULTS.intervalMs;
      log.observe({ groupId: 1, role: 'follower', leaderId: 2, term: 1_000 });
      const summary = lines.find((l) => l.suppressed !== undefined);
      assert.equal(summary?.suppressed, 1_000 - LEADERSHIP_LOG_DEFAULTS.linesPerInterval);
      assert.equal(summary.level, 30);
    } finally {
      log.close();
    }
  });
});

void describe('timedFileIo', () => {
  void test('times each datasync and passes every call through', async () => {
    const seconds: number[] = [];
    const io = timedFileIo(nodeFileIo, (s) => { seconds.push(s); });
    const file = path.join(folder, 'segment');
    const fd = io.openAppend(file);
    try {
      assert.equal(io.writev(fd, [Buffer.from('hello '), Buffer.from('world')], 0), 11);
      await io.datasync(fd);
      await io.datasync(fd);
      assert.equal(io.sizeOf(fd), 11);
    } finally {
      io.close(fd);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'hello world');
    assert.equal(seconds.length, 2);
    assert.ok(seconds.every((s) => s >= 0 && s < 10), `plausible fsync times: ${seconds.join(', ')}`);
    assert.deepEqual(io.listDirectory(folder), ['segment']);
  });
});

void describe('MetricsServer', () => {
  void test('GET /metrics answers the registry in Prometheus text; other paths and methods are refused', async () => {
    const metrics = new BrokerMetrics({ brokerId: 4, defaultMetrics: false });
    metrics.fsyncDone(0.002);
    const server = await MetricsServer.start(metrics, '127.0.0.1', 0, captureLogger().logger);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const ok = await fetch(`${base}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await ok.text();
      assert.match(text, /^# HELP tributary_/m);
      assert.match(text, /^tributary_fsync_latency_seconds_count\{broker="4"\} 1$/m);
      assert.equal((await fetch(`${base}/`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });

  void test('a port in use is a clear error naming the metrics listener', async () => {
    const metrics = new BrokerMetrics({ brokerId: 4, defaultMetrics: false });
    const first = await MetricsServer.start(metrics, '127.0.0.1', 0, captureLogger().logger);
    try {
      await assert.rejects(MetricsServer.start(metrics, '127.0.0.1', first.port, captureLogger().logger),
        new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${first.port} \\(EADDRINUSE\\)`));
    } finally {
      await first.close();
    }
  });
});
