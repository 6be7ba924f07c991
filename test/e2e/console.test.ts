/**
 * The web console and `tributary top` against three real brokers (each with --metrics-listen):
 * records produced to a topic, a group's offsets committed, then `tributary console` started as a
 * child process on a free port. The JSON API is checked against what was produced and committed
 * (partitions and leaders, offsets, lag, records at an offset and from a time, creating a topic,
 * bad input, charts fed by the scraped metrics); `tributary top --once` prints the same figures;
 * and headless Chromium (Debian's package, through playwright-core) sees the topic with its
 * partitions and leaders, the group's lag, the records at an offset, creates a topic through the
 * form, and shows a SIGKILLed broker as down.
 *
 * Screenshots go to test-output/console/ (git-ignored; TRIBUTARY_SCREENSHOTS names another folder).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { Admin, Consumer, Producer } from '../../src/client/index.js';
import { freePorts } from '../../src/cli/free_ports.js';
import type { BrokerSlot } from '../../src/cli/local_cluster.js';
import type { BrowseResult, ClusterOverview, GroupSummary, GroupView, MetricsAnswer, TopicView }
  from '../../src/console/api_types.js';
import { CLI_MAIN, runCli } from '../helpers/cli_process.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'console-orders';
const PARTITIONS = 3;
const RECORDS = 60;
/** Each partition's committed offset: the group's lag is RECORDS - PARTITIONS * COMMITTED. */
const COMMITTED = 2;
const GROUP = 'console-readers';
const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCREENSHOTS = process.env.TRIBUTARY_SCREENSHOTS ?? path.join(REPO_ROOT, 'test-output', 'console');

/** Polls an async check until it holds; fails naming `what` after timeoutMs. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Debian's chromium, where CI installs it, or whatever `command -v` finds; null when there is none. */
function findChromium(): string | null {
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'],
      { encoding: 'utf8' }).trim();
    return found === '' ? null : found;
  } catch {
    return null;
  }
}

/** Starts `tributary console` and resolves with its URL once it prints it. */
function startConsole(args: readonly string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, 'console', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`console did not start: ${output}`)); },
      15_000);
    const read = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /http:\/\/\S+\//.exec(output)?.[0];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`console exited (${code}): ${output}`)); });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** An API answer: an error carries its code. */
interface ApiAnswer {
  readonly error?: { readonly code: string; readonly message: string };
}

describe('web console and tributary top over three real brokers', () => {
  let cluster: TestCluster;
  let admin: Admin;
  let consoleProcess: { child: ChildProcess; url: string } | null = null;
  /** The value produced at each partition/offset. */
  const produced = new Map<string, string>();
  let metricsAddresses: string[];

  /** The status and JSON body of an API call (its shape is checked by the assertions that read it). */
  const api = async (route: string, init?: RequestInit): Promise<{ status: number; body: ApiAnswer }> => {
    assert.ok(consoleProcess !== null);
    const response = await fetch(new URL(route, consoleProcess.url), { ...init, signal: AbortSignal.timeout(15_000) });
    return { status: response.status, body: await response.json() as ApiAnswer };
  };
  const get = async <T>(route: string): Promise<T> => {
    const { status, body } = await api(route);
    assert.equal(status, 200, `${route}: ${JSON.stringify(body)}`);
    return body as T;
  };

  before(async () => {
    const ports = await freePorts(3);
    metricsAddresses = ports.map((port) => `127.0.0.1:${port}`);
    const voters = (all: readonly BrokerSlot[]): string => all.map((s) => `${s.id}@127.0.0.1:${s.raftPort}`).join(',');
    cluster = await TestCluster.startWith(3, { brokerSetup: (slot, all) => ({ arguments: ['--id', String(slot.id),
      '--data', slot.dataDirectory, '--listen', `127.0.0.1:${slot.port}`, '--raft-listen', `127.0.0.1:${slot.raftPort}`,
      '--voters', voters(all), '--metrics-listen', metricsAddresses[slot.id - 1] ?? ''] }) });
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    await eventually(async () => (await admin.describeTopic(TOPIC)).partitions.every((p) => p.leaderId !== null),
      10_000, 'leaders for every partition');

    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 2, requestTimeoutMs: 10_000 });
    const results = await Promise.all(Array.from({ length: RECORDS }, async (_, i) => {
      const value = JSON.stringify({ n: i, note: `record ${i}` });
      const sent = await producer.send({ topic: TOPIC, key: `key-${i}`, value, headers: { source: 'console-test' } });
      return { ...sent, value };
    }));
    await producer.close();
    for (const r of results) produced.set(`${r.partition}/${r.offset}`, r.value);
    for (let p = 0; p < PARTITIONS; p += 1) {
      assert.ok(produced.has(`${p}/${COMMITTED}`), `partition ${p} got more than ${COMMITTED} records`);
    }

    const consumer = new Consumer({ bootstrap: cluster.bootstrap, groupId: GROUP, autoCommit: false });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition })));
    await consumer.commitSync(Array.from({ length: PARTITIONS }, (_, partition) =>
      ({ topic: TOPIC, partition, offset: COMMITTED })));
    await consumer.close();
    // Every test below reads the group through listings. If it is not listed, say what its
    // coordinator holds (once, in CI beside the harness, it stayed unlisted for over 20 s).
    const listed = async (): Promise<boolean> => (await admin.listGroups()).some((g) => g.groupId === GROUP);
    await eventually(listed, 20_000, `group ${GROUP} in the cluster's group listing`).catch(async (error: unknown) => {
      const described = await admin.describeGroup(GROUP).then((g) => JSON.stringify({ state: g.state,
        generation: g.generationId, partitions: g.partitions.map((p) => [p.partition, p.committedOffset]) }),
      (e: unknown) => String(e));
      const offsets = await admin.describeTopic('__consumer_offsets').then((t) => JSON.stringify(t.partitions
        .map((p) => [p.partition, p.leaderId, p.isrIds])), (e: unknown) => String(e));
      throw new Error(`${String(error)}; describeGroup: ${described}; __consumer_offsets: ${offsets}`);
    });

    consoleProcess = await startConsole(['--port', String((await freePorts(1))[0]), '--host', '127.0.0.1',
      '--bootstrap', cluster.bootstrap, '--metrics', metricsAddresses.join(',')]);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    if (consoleProcess !== null) await stopProcess(consoleProcess.child);
    await admin.close();
    await cluster.stop();
  });

  it('answers the JSON API with what was produced and committed', { timeout: 60_000 }, async () => {
    const overview = await get<ClusterOverview>('api/overview');
    assert.deepEqual(overview.brokers.map((b) => [b.id, b.up]), [[1, true], [2, true], [3, true]]);
    assert.equal(overview.brokers.filter((b) => b.controller).length, 1);
    const summary = overview.topics.find((t) => t.name === TOPIC);
    assert.deepEqual(summary && { partitions: summary.partitions, records: summary.records,
      rf: summary.replicationFactor, under: summary.underReplicated },
    { partitions: PARTITIONS, records: RECORDS, rf: 3, under: 0 });
    assert.equal(overview.brokers.reduce((total, b) => total + b.leaderPartitions, 0) >= PARTITIONS, true);

    // The same leaders and replicas as the Admin sees (read again if a leadership moved in between:
    // the brokers hand leaderships back to preferred replicas on their own).
    type Layout = readonly { partition: number; leaderId: number | null; replicaIds: readonly number[] }[];
    const layout = (partitions: Layout): string => JSON.stringify([...partitions]
      .sort((a, b) => a.partition - b.partition).map((p) => [p.partition, p.leaderId, [...p.replicaIds].sort()]));
    let topic = await get<TopicView>(`api/topics/${TOPIC}`);
    await eventually(async () => {
      topic = await get<TopicView>(`api/topics/${TOPIC}`);
      return layout(topic.partitions) === layout((await admin.describeTopic(TOPIC)).partitions);
    }, 10_000, 'the console\'s partition layout to match the Admin\'s');
    assert.equal(topic.partitions.length, PARTITIONS);
    assert.ok(topic.partitions.every((p) => p.leaderId !== null && p.replicaIds.includes(p.leaderId)));
    const perPartition = (p: number): number => [...produced.keys()].filter((k) => k.startsWith(`${p}/`)).length;
    assert.deepEqual(topic.partitions.map((p) => [p.logStartOffset, p.highWatermark]),
      topic.partitions.map((p) => [0, perPartition(p.partition)]));
    // Sizes come from the leaders' metrics, scraped every second.
    await eventually(async () => (await get<TopicView>(`api/topics/${TOPIC}`)).partitions
      .every((p) => (p.sizeBytes ?? 0) > 0),
      10_000, 'partition sizes from the leaders\' metrics');

    const groups = await get<GroupSummary[]>('api/groups');
    assert.equal(groups.find((g) => g.groupId === GROUP)?.lag, RECORDS - PARTITIONS * COMMITTED);
    const group = await get<GroupView>(`api/groups/${GROUP}`);
    assert.deepEqual(group.partitions.map((p) => [p.partition, p.committedOffset, p.lag]),
      topic.partitions.map((p) => [p.partition, COMMITTED, (p.highWatermark ?? 0) - COMMITTED]));

    const browsed = await get<BrowseResult>(`api/records?topic=${TOPIC}&partition=1&offset=1&limit=3`);
    assert.equal(browsed.startOffset, 1);
    assert.deepEqual(browsed.records.map((r) => [r.offset, r.value?.text, r.value?.json, r.headers[0]?.value?.text]),
      [1, 2, 3].filter((o) => produced.has(`1/${o}`)).map((o) => [o, produced.get(`1/${o}`), true, 'console-test']));
    const fromStart = await get<BrowseResult>(`api/records?topic=${TOPIC}&partition=0&time=0&limit=2`);
    assert.deepEqual(fromStart.records.map((r) => [r.offset, r.value?.text]),
      [[0, produced.get('0/0')], [1, produced.get('0/1')]]);
    const future = await get<BrowseResult>(`api/records?topic=${TOPIC}&partition=0&time=${Date.now() + 3_600_000}`);
    assert.deepEqual([future.startOffset, future.records.length], [null, 0]);

    const bad = await api(`api/records?topic=${TOPIC}&partition=0&offset=-1`);
    assert.deepEqual([bad.status, bad.body.error?.code], [400, 'OFFSET_OUT_OF_RANGE']);
    const missing = await api('api/topics/no-such-topic');
    assert.deepEqual([missing.status, missing.body.error?.code], [404, 'UNKNOWN_TOPIC_OR_PARTITION']);
    const notJson = await api('api/topics', { method: 'POST', body: '{}' });
    assert.equal(notJson.status, 415);
    const create = (body: unknown): Promise<{ status: number; body: ApiAnswer }> =>
      api('api/topics', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await create({ name: 'console-created', partitions: 2, replicationFactor: 3 })).status, 200);
    const again = await create({ name: 'console-created', partitions: 2, replicationFactor: 3 });
    assert.deepEqual([again.status, again.body.error?.code], [400, 'TOPIC_ALREADY_EXISTS']);
    const zero = await create({ name: 'console-zero', partitions: 0, replicationFactor: 3 });
    assert.deepEqual([zero.status, zero.body.error?.code], [400, 'INVALID_PARTITIONS']);
    assert.equal((await admin.describeTopic('console-created')).partitions.length, 2);
    // Another site's name resolved to 127.0.0.1 (DNS rebinding) gets nothing.
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      assert.ok(consoleProcess !== null);
      http.get(new URL('api/overview', consoleProcess.url), { headers: { host: 'evil.example' } }, (response) => {
        response.resume();
        resolve(response.statusCode);
      }).on('error', reject);
    });
    assert.equal(rebound, 403);

    // Records produced now show in the charts' history as records in per second and a produce latency.
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 2 });
    const deadline = Date.now() + 15_000;
    let charted: MetricsAnswer | null = null;
    try {
      while (Date.now() < deadline) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'console-created', value: `v${i}` })));
        const metrics = await get<MetricsAnswer>('api/metrics');
        if (metrics.series.some((p) => p.recordsInPerSec > 0 && p.produceP50Ms !== null)) {
          charted = metrics;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      await producer.close();
    }
    assert.ok(charted !== null, 'a chart point with records in and a produce latency');
    assert.deepEqual(charted.endpoints.map((e) => [e.brokerId, e.up]), [[1, true], [2, true], [3, true]]);
  });

  it('tributary top --once prints brokers, the topic and the group\'s lag', { timeout: 30_000 }, async () => {
    const run = await runCli(['top', '--once', '--interval-ms', '300', '--bootstrap', cluster.bootstrap], 25_000);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines.filter((l) => /^\s+[123]\s+127\.0\.0\.1:\d+\s+up\b/.test(l)).length, 3, run.stdout);
    const topicLine = lines.find((l) => l.trim().startsWith(`${TOPIC} `));
    assert.match(topicLine ?? '', new RegExp(`^\\s+${TOPIC}\\s+${PARTITIONS}\\s+3\\s+0\\s+0\\s+${RECORDS}\\s+0\\.0$`),
      run.stdout);
    const groupLine = lines.find((l) => l.trim().startsWith(`${GROUP} `));
    assert.match(groupLine ?? '', new RegExp(`\\s${RECORDS - PARTITIONS * COMMITTED}$`), run.stdout);
    assert.ok(!run.stdout.includes('\u001b['), '--once prints no screen clearing');
  });

  it('shows topics, partitions, lag and records in Chromium, and a killed broker as down', { timeout: 90_000 },
    async () => {
      // The browser checks are part of the suite: .ci/run installs chromium when it is missing.
      const executablePath = findChromium();
      assert.ok(executablePath !== null, 'no chromium found: apt-get install chromium (.ci/run does it)');
      const { chromium } = await import('playwright-core');
      assert.ok(consoleProcess !== null);
      const base = consoleProcess.url;
      const browser: Browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
      try {
        const page: Page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
        const errors: string[] = [];
        page.on('pageerror', (error) => { errors.push(error.message); });
        const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`),
          fullPage: true });

        await page.goto(`${base}#/topics`);
        await page.locator(`tr[data-topic="${TOPIC}"]`).waitFor({ timeout: 15_000 });
        assert.equal((await page.locator(`tr[data-topic="${TOPIC}"] td`).nth(1).innerText()).trim(), String(PARTITIONS));
        await shot('topics');

        await page.click(`tr[data-topic="${TOPIC}"] a`);
        await page.locator('table[data-test="partitions"] tbody tr').nth(PARTITIONS - 1).waitFor({ timeout: 15_000 });
        // The page's leaders are the Admin's (it redraws every 2 s, so a moved leadership shows soon).
        const pageLeaders = async (): Promise<string[]> =>
          (await page.locator('td[data-test="leader"]').allInnerTexts()).map((text) => text.trim());
        const adminLeaders = async (): Promise<string[]> =>
          [...(await admin.describeTopic(TOPIC)).partitions].sort((a, b) => a.partition - b.partition)
            .map((p) => String(p.leaderId));
        await eventually(async () => (await pageLeaders()).join() === (await adminLeaders()).join(), 10_000,
          'the page\'s leaders to be the Admin\'s');
        assert.ok((await pageLeaders()).every((leader) => /^[123]$/.test(leader)));
        await page.selectOption('form[data-test="browse"] select[name="partition"]', '1');
        await page.fill('form[data-test="browse"] input[name="offset"]', '1');
        await page.fill('form[data-test="browse"] input[name="limit"]', '2');
        await page.click('form[data-test="browse"] button[type="submit"]');
        await page.locator('table[data-test="records"] tbody tr').first().waitFor({ timeout: 15_000 });
        const values = await page.locator('td[data-test="record-value"]').allInnerTexts();
        assert.deepEqual(values.map((v) => v.trim()), [produced.get('1/1'), produced.get('1/2')]);
        await shot('topic-records');

        await page.goto(`${base}#/groups`);
        const lag = page.locator(`tr[data-group="${GROUP}"] td[data-test="group-lag"]`);
        await lag.waitFor({ timeout: 15_000 });
        assert.equal((await lag.innerText()).trim(), String(RECORDS - PARTITIONS * COMMITTED));
        await shot('groups');
        await page.click(`tr[data-group="${GROUP}"] a`);
        const rows = page.locator('table[data-test="group-partitions"] tbody tr');
        await rows.nth(PARTITIONS - 1).waitFor({ timeout: 15_000 });
        // Topic, partition, member, committed, log end, lag: every partition committed at COMMITTED.
        const cells = (await rows.allInnerTexts()).map((row) => row.split('\t').map((cell) => cell.trim()));
        assert.deepEqual(cells.map((c) => [c[0], c[3]]),
          Array.from({ length: PARTITIONS }, () => [TOPIC, String(COMMITTED)]));
        assert.equal(cells.reduce((total, c) => total + Number(c[5]), 0), RECORDS - PARTITIONS * COMMITTED);

        await page.goto(`${base}#/topics`);
        await page.fill('form[data-test="create-topic"] input[name="name"]', 'console-from-page');
        await page.fill('form[data-test="create-topic"] input[name="partitions"]', '2');
        await page.click('form[data-test="create-topic"] button[type="submit"]');
        await page.locator('form[data-test="create-topic"]', { hasText: 'Created topic console-from-page.' })
          .waitFor({ timeout: 15_000 });
        await page.locator('tr[data-topic="console-from-page"]').waitFor({ timeout: 15_000 });
        assert.equal((await admin.describeTopic('console-from-page')).partitions.length, 2);

        await page.goto(`${base}#/charts`);
        await page.locator('div[data-test="chart-throughput"] canvas').waitFor({ timeout: 15_000 });
        await shot('charts');

        const overview = await get<ClusterOverview>('api/overview');
        const victim = overview.brokers.find((b) => !b.controller)?.id;
        assert.ok(victim !== undefined);
        await cluster.kill(victim, 'SIGKILL');
        await page.goto(`${base}#/brokers`);
        // The controller fences a silent broker after its session timeout (6 s).
        await page.locator(`tr[data-broker="${victim}"] td[data-test="broker-state"]`, { hasText: 'down' })
          .waitFor({ timeout: 30_000 });
        assert.equal((await page.locator('td[data-test="broker-state"]', { hasText: 'down' }).count()), 1);
        await shot('brokers-one-down');
        assert.deepEqual(errors, [], 'no script errors on the page');
      } finally {
        await browser.close();
      }
    });
});
