/**
 * Goal: the client commands keep the command-line contract of issue 4: `topics
 * create|list|describe|delete`, `produce` (a record per stdin line, key separator, silent on
 * success, --json summary), `consume` (from the beginning, an offset or the end; --max-messages,
 * --timeout-ms of silence, --print-key, --print-offset, --json), `cluster status`, and failures as
 * one line on stderr with exit code 1. Method: each command runs as a child process
 * (cli_entry.js) against a FakeCluster on 127.0.0.1; every child is bounded by a kill timeout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import { FakeCluster } from './fake_cluster.js';
import { FakeCoordinator } from './fake_coordinator.js';

const ENTRY = fileURLToPath(new URL('./cli_entry.js', import.meta.url));

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

function run(args: readonly string[], stdin = '', timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

void describe('client commands', () => {
  void test('topics, produce, consume and cluster status against a fake cluster', async () => {
    const cluster = await FakeCluster.start(3);
    const bootstrap = ['--bootstrap', `${cluster.address(2)},${cluster.address(1)}`];
    try {
      const created = await run(['topics', 'create', 'demo', '--partitions', '3', '--config', 'retention.ms=5000',
        ...bootstrap]);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(created.stdout, 'Created topic demo.\n');
      assert.equal(cluster.topics.get('demo')?.partitions.length, 3);
      assert.equal(cluster.topics.get('demo')?.configs['retention.ms'], '5000');

      const again = await run(['topics', 'create', 'demo', ...bootstrap]);
      assert.equal(again.code, 1);
      assert.equal(again.stdout, '');
      assert.match(again.stderr, /^tributary topics create: Topic demo: .*\(TOPIC_ALREADY_EXISTS\)\n$/);

      const listed = await run(['topics', 'list', '--json', ...bootstrap]);
      assert.deepEqual(JSON.parse(listed.stdout), ['demo']);
      const described = await run(['topics', 'describe', 'demo', ...bootstrap]);
      assert.match(described.stdout, /^Topic: demo\tPartitions: 3\tReplicationFactor: 3\tConfigs: retention.ms=5000\n/);
      assert.match(described.stdout, /\tPartition: 2\tLeader: 3\tReplicas: 1,2,3/);
      assert.doesNotMatch(described.stdout, /HighWatermark: \?/, 'every row has its high watermark from its leader');

      const lines = Array.from({ length: 30 }, (_, i) => `k${i % 5}:value ${i}`);
      const produced = await run(['produce', 'demo', '--key-separator', ':', ...bootstrap], `${lines.join('\n')}\n`);
      assert.equal(produced.code, 0, produced.stderr);
      assert.equal(produced.stdout, '', 'nothing on stdout on success');
      assert.match(produced.stderr, /^tributary produce: 30 records to demo \(3 partitions\) in \d+\.\d s\n$/);
      const stored = [0, 1, 2].flatMap((p) => cluster.records('demo', p));
      assert.equal(stored.length, 30);
      assert.ok(stored.every((r) => r.key !== null && r.value?.startsWith('value ') === true));

      const summary = await run(['produce', 'demo', '--acks', '1', '--partition', '1', '--json', ...bootstrap],
        'one\ntwo\n');
      assert.equal(summary.code, 0, summary.stderr);
      assert.deepEqual(JSON.parse(summary.stdout), { topic: 'demo', sent: 2, failed: 0,
        elapsedMs: (JSON.parse(summary.stdout) as { elapsedMs: number }).elapsedMs, partitions: { 1: 2 } });

      const all = await run(['consume', 'demo', '--from-beginning', '--max-messages', '32', ...bootstrap]);
      assert.equal(all.code, 0, all.stderr);
      const values = all.stdout.trimEnd().split('\n');
      assert.equal(values.length, 32);
      assert.deepEqual([...values].sort(), [...lines.map((l) => l.slice(l.indexOf(':') + 1)), 'one', 'two'].sort());

      const fromOffset = await run(['consume', 'demo', '--partition', '1', '--offset', '1', '--print-key',
        '--print-offset', '--timeout-ms', '300', ...bootstrap]);
      assert.equal(fromOffset.code, 0, fromOffset.stderr);
      const expected = cluster.records('demo', 1).slice(1).map((r) => `1:${r.offset}\t${r.key ?? 'null'}\t${r.value}`);
      assert.deepEqual(fromOffset.stdout.trimEnd().split('\n'), expected);

      const pastEnd = await run(['consume', 'demo', '--partition', '0', '--offset', '999999', '--timeout-ms', '300',
        ...bootstrap]);
      assert.equal(pastEnd.code, 0, pastEnd.stderr);
      assert.match(pastEnd.stderr,
        /^tributary consume: --offset 999999 is past the end of demo\/0 \(next offset \d+\); waiting for records\n$/);
      const future = await run(['consume', 'demo', '--partition', '0', '--from-time', '2999-01-01T00:00:00Z',
        '--timeout-ms', '300', ...bootstrap]);
      assert.match(future.stderr, /no record of demo\/0 at or after 2999-01-01T00:00:00Z yet; waiting for records\n$/);

      const fromEnd = await run(['consume', 'demo', '--timeout-ms', '300', ...bootstrap]);
      assert.equal(fromEnd.code, 0, fromEnd.stderr);
      assert.equal(fromEnd.stdout, '', 'the default start is the end');

      const json = await run(['consume', 'demo', '--partition', '1', '--from-beginning', '--max-messages', '1',
        '--json', ...bootstrap]);
      const record = JSON.parse(json.stdout) as { topic: string; partition: number; offset: number };
      assert.deepEqual([record.topic, record.partition, record.offset], ['demo', 1, 0]);

      const status = await run(['cluster', 'status', '--json', ...bootstrap]);
      assert.equal(status.code, 0, status.stderr);
      const parsed = JSON.parse(status.stdout) as { controllerId: number; brokers: unknown[];
        topics: { name: string; partitions: { highWatermark: number }[] }[] };
      assert.equal(parsed.controllerId, 1);
      assert.equal(parsed.brokers.length, 3);
      const total = parsed.topics[0]?.partitions.reduce((sum, p) => sum + p.highWatermark, 0);
      assert.equal(total, 32);
      const text = await run(['cluster', 'status', ...bootstrap]);
      assert.match(text.stdout, /\(controller leader\)/);
      assert.match(text.stdout, /demo\/0\tLeader: 1/);

      const deleted = await run(['topics', 'delete', 'demo', ...bootstrap]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(cluster.topics.has('demo'), false);
    } finally {
      await cluster.close();
    }
  });

  void test('usage and connection errors are one line on stderr with exit code 1', async () => {
    const badAddress = await run(['topics', 'list', '--bootstrap', 'nowhere']);
    assert.equal(badAddress.code, 1);
    assert.equal(badAddress.stderr, "tributary topics list: bootstrap: 'nowhere' is not host:port (INVALID_CONFIG)\n");
    const badAcks = await run(['produce', 't', '--acks', '2']);
    assert.equal(badAcks.code, 1);
    assert.equal(badAcks.stderr, 'tributary produce: --acks 2: expected all, 1 or 0\n');
    // Nothing answers at the bootstrap: produce gives up after --timeout, with one line.
    const started = Date.now();
    const dead = await run(['produce', 't', '--timeout', '1', '--bootstrap', '127.0.0.1:1'], 'x\n');
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /^tributary produce: No broker answered \(tried 127\.0\.0\.1:1\).*\n$/);
    assert.ok(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms`);
    const badTime = await run(['consume', 't', '--from-time', 'yesterday']);
    assert.equal(badTime.code, 1);
    assert.equal(badTime.stderr, 'tributary consume: --from-time yesterday: not an ISO 8601 time\n');
  });
});

void describe('group commands', () => {
  void test('consume --group resumes after the last printed record; groups list, describe, reset-offsets, delete',
    async () => {
      const cluster = await FakeCluster.start(2);
      const coordinator = new FakeCoordinator(cluster);
      const bootstrap = ['--bootstrap', cluster.address(1)];
      try {
        cluster.createTopic('t', 2);
        const lines = Array.from({ length: 10 }, (_, i) => `v${i}`);
        // Keyed, so that both partitions get records.
        const produced = await run(['produce', 't', '--key-separator', ':', ...bootstrap],
          `${lines.map((line, i) => `k${i}:${line}`).join('\n')}\n`);
        assert.equal(produced.code, 0, produced.stderr);
        assert.ok(cluster.partition('t', 0).nextOffset > 0 && cluster.partition('t', 1).nextOffset > 0);

        const first = await run(['consume', 't', '--group', 'g', '--from-beginning', '--max-messages', '4',
          ...bootstrap]);
        assert.equal(first.code, 0, first.stderr);
        const firstValues = first.stdout.trim().split('\n');
        assert.equal(firstValues.length, 4);
        const committed = [...coordinator.offsets.values()].reduce((sum, o) => sum + o.offset, 0);
        assert.equal(committed, 4, 'exactly the printed records are committed');

        // --from-beginning again: it applies only where the group committed nothing (a partition the
        // first run printed nothing of); where it committed, the run resumes there.
        const second = await run(['consume', 't', '--group', 'g', '--from-beginning', '--timeout-ms', '1000',
          ...bootstrap]);
        assert.equal(second.code, 0, second.stderr);
        const secondValues = second.stdout.trim().split('\n');
        assert.deepEqual([...firstValues, ...secondValues].sort(), [...lines].sort(), 'the rest, each record once');
        assert.equal(coordinator.requests('leave').length, 2, 'each run left the group');

        const listed = await run(['groups', 'list', ...bootstrap]);
        assert.equal(listed.stdout, 'g\tEmpty\n', listed.stderr);

        const described = await run(['groups', 'describe', 'g', '--json', ...bootstrap]);
        assert.equal(described.code, 0, described.stderr);
        const group = JSON.parse(described.stdout) as { state: string; partitions: { partition: number;
          committedOffset: number; logEndOffset: number; lag: number; }[]; };
        assert.equal(group.state, 'Empty');
        assert.deepEqual(group.partitions.map((p) => p.lag), [0, 0]);
        assert.deepEqual(group.partitions.map((p) => p.committedOffset),
          [0, 1].map((p) => cluster.partition('t', p).nextOffset));
        const text = await run(['groups', 'describe', 'g', ...bootstrap]);
        assert.match(text.stdout, /^Group: g\tState: Empty/);
        assert.match(text.stdout, /TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG/);

        const plan = await run(['groups', 'reset-offsets', 'g', '--topic', 't', '--to-earliest', ...bootstrap]);
        assert.equal(plan.code, 0, plan.stderr);
        assert.match(plan.stdout, /Dry run/);
        assert.notEqual(coordinator.offsets.get('t/0')?.offset, 0, 'a plan commits nothing');
        const executed = await run(['groups', 'reset-offsets', 'g', '--topic', 't', '--to-offset', '1', '--execute',
          '--json', ...bootstrap]);
        assert.equal(executed.code, 0, executed.stderr);
        assert.deepEqual(coordinator.offsets.get('t/0')?.offset, 1);
        assert.deepEqual(coordinator.offsets.get('t/1')?.offset, 1);
        const lastCommit = coordinator.requests('offsetCommit').at(-1);
        assert.equal(lastCommit?.generationId, -1);
        assert.equal(lastCommit.memberId, '');
        const badReset = await run(['groups', 'reset-offsets', 'g', '--topic', 't', ...bootstrap]);
        assert.equal(badReset.code, 1);
        assert.match(badReset.stderr, /name one of --to-earliest/);

        const deleted = await run(['groups', 'delete', 'g', ...bootstrap]);
        assert.equal(deleted.stdout, 'Deleted group g.\n', deleted.stderr);
        const unknown = await run(['groups', 'delete', 'other', ...bootstrap]);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /GROUP_ID_NOT_FOUND/);
      } finally {
        coordinator.close();
        await cluster.close();
      }
    });
});
