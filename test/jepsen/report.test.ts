/**
 * The report of a Jepsen run. Goal: the plots really draw every outcome and the fault window, the
 * page shows the verdict and the anomaly, and untrusted text cannot inject markup. Method: a small
 * synthetic history (sends and polls, a partition, one of each outcome, an error message carrying
 * a <script> tag) is rendered into a temporary folder and the files are read back. The helpers
 * (fault windows, pairing, sampling, meta.json parsing) are checked on their own beside it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NEMESIS } from '../../jepsen/history.js';
import type { HistoryEvent } from '../../jepsen/history.js';
import { laneRows } from '../../jepsen/report/fault_layers.js';
import { faultWindows } from '../../jepsen/report/fault_windows.js';
import { parseRunMeta, writeReport } from '../../jepsen/report/index.js';
import type { RunMeta } from '../../jepsen/report/index.js';
import { latencyPlot } from '../../jepsen/report/latency_plot.js';
import { pairOperations } from '../../jepsen/report/operations.js';
import type { Verdict } from '../../jepsen/verdict.js';

const SCRIPT_ERROR = 'broker said <script>alert("x")</script>';
const PARTITION = { family: 'partition', description: 'isolate 2', nodes: [2] };

type EventWithoutIndex = Omit<HistoryEvent, 'index' | 'time'> & { readonly seconds: number };

function history(events: readonly EventWithoutIndex[]): HistoryEvent[] {
  return events.map(({ seconds, ...event }, index) => ({ ...event, index, time: Math.round(seconds * 1e9) }));
}

const send = (key: number, value: number) => ({ key, value });
const HISTORY = history([
  { seconds: 0.1, process: 0, type: 'invoke', f: 'send', value: send(0, 1) },
  { seconds: 0.1, process: 1, type: 'invoke', f: 'assign', value: { keys: [0], seekToBeginning: true } },
  { seconds: 0.11, process: 0, type: 'ok', f: 'send', value: { ...send(0, 1), offset: 0 } },
  { seconds: 0.12, process: 1, type: 'ok', f: 'assign', value: { keys: [0], seekToBeginning: true } },
  { seconds: 0.5, process: 1, type: 'invoke', f: 'poll', value: {} },
  { seconds: 0.52, process: 1, type: 'ok', f: 'poll', value: { records: { 0: [[0, 1]] } } },
  { seconds: 1.0, process: NEMESIS, type: 'info', f: 'start-fault', value: PARTITION },
  { seconds: 1.2, process: 0, type: 'invoke', f: 'send', value: send(0, 2) },
  { seconds: 1.5, process: 0, type: 'fail', f: 'send', value: send(0, 2), error: SCRIPT_ERROR },
  { seconds: 1.6, process: 0, type: 'invoke', f: 'send', value: send(0, 3) },
  { seconds: 2.6, process: 0, type: 'info', f: 'send', value: send(0, 3), error: 'timeout' },
  { seconds: 3.0, process: NEMESIS, type: 'info', f: 'stop-fault', value: PARTITION },
  { seconds: 3.5, process: 1, type: 'invoke', f: 'poll', value: {}, final: true },
  { seconds: 3.6, process: 1, type: 'ok', f: 'poll', value: { records: { 0: [[0, 1]] } }, final: true },
]);

const VERDICT: Verdict = {
  valid: false,
  anomalyTypes: ['lost-write'],
  anomalies: [{ type: 'lost-write', key: 0, description: 'value 3 of key 0 was never read',
    evidence: { invokeIndex: 9, value: 3 } }],
  linearizability: { 0: 'nonlinearizable' },
  stats: { sends: { ok: 1, fail: 1, info: 1 }, polls: { ok: 2, fail: 0, info: 0 },
    commits: { ok: 0, fail: 0, info: 0 }, keys: 1, valuesRead: 1 },
};

const META: RunMeta = {
  commandLine: 'node dist/jepsen/run.js --seed 7', seed: 7, nodes: 3, nemeses: ['partition'], durationSeconds: 4,
  acks: 'all', fsync: true, startedAt: '2025-01-01T00:00:00.000Z', drain: 'every key read to its end',
};

/** Data marks of the plots carry an aria-label naming their outcome; legends and axes do not. */
function marksByOutcome(svg: string, role: string): Record<string, number> {
  const counts: Record<string, number> = { ok: 0, fail: 0, info: 0 };
  const pattern = new RegExp(`aria-label="[^"]*outcome: (ok|fail|info)" role="graphics-symbol" aria-roledescription="${role}"`, 'g');
  for (const match of svg.matchAll(pattern)) counts[match[1]!]! += 1;
  return counts;
}

function renderedFolder(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'jepsen-report-'));
  fs.writeFileSync(path.join(folder, 'history.jsonl'), HISTORY.map((event) => `${JSON.stringify(event)}\n`).join(''));
  fs.writeFileSync(path.join(folder, 'verdict.json'), JSON.stringify(VERDICT));
  return folder;
}

describe('writeReport', () => {
  it('writes two SVG plots with a mark for each operation and outcome, and the fault window', async () => {
    const folder = renderedFolder();
    try {
      await writeReport(folder, HISTORY, VERDICT, META);
      const latency = fs.readFileSync(path.join(folder, 'latency.svg'), 'utf8');
      const throughput = fs.readFileSync(path.join(folder, 'throughput.svg'), 'utf8');
      assert.match(latency, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(throughput, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.deepEqual(marksByOutcome(latency, 'point'), { ok: 4, fail: 1, info: 1 }, 'one point per operation');
      assert.deepEqual(marksByOutcome(throughput, 'line mark'), { ok: 3, fail: 1, info: 1 },
        'one line per function and outcome that occurred');
      for (const svg of [latency, throughput]) {
        // Three panels (send, poll, assign) each shade the window once; the strip above names it.
        assert.equal(svg.match(/aria-roledescription="rect mark"/g)?.length, 3);
        assert.match(svg, />isolate 2<\/text>/);
      }
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('writes a page with the verdict, the anomaly and every piece of run text escaped', async () => {
    const folder = renderedFolder();
    try {
      await writeReport(folder, HISTORY, VERDICT, META);
      const html = fs.readFileSync(path.join(folder, 'index.html'), 'utf8');
      assert.match(html, /<p class="verdict invalid">INVALID<\/p>/);
      assert.match(html, /<td>lost-write<\/td><td>0<\/td><td>value 3 of key 0 was never read<\/td>/);
      assert.ok(html.includes('{&quot;invokeIndex&quot;:9,&quot;value&quot;:3}'), 'evidence as escaped JSON');
      assert.ok(html.includes('broker said &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'the error is shown');
      assert.ok(!html.includes('<script'), 'no markup got through');
      assert.match(html, /<td>nonlinearizable<\/td><td>1<\/td><td>0<\/td>/);
      assert.match(html, /<a href="history.jsonl">/);
      assert.match(html, /<a href="verdict.json">/);
      assert.equal(html.match(/<svg/g)?.length, 2, 'both plots inline');
      assert.deepEqual(parseRunMeta(JSON.parse(fs.readFileSync(path.join(folder, 'meta.json'), 'utf8'))), META);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('renders again from the folder alone with the CLI', async () => {
    const folder = renderedFolder();
    try {
      await writeReport(folder, HISTORY, VERDICT, META);
      fs.rmSync(path.join(folder, 'index.html'));
      fs.rmSync(path.join(folder, 'latency.svg'));
      const cli = fileURLToPath(new URL('../../jepsen/report/cli.js', import.meta.url));
      execFileSync(process.execPath, [cli, folder], { stdio: 'pipe', timeout: 60_000 });
      assert.match(fs.readFileSync(path.join(folder, 'index.html'), 'utf8'), /INVALID/);
      assert.ok(fs.existsSync(path.join(folder, 'latency.svg')));
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('faultWindows', () => {
  it('pairs a start with the next stop of the same family and nodes; an unhealed one runs to the end', () => {
    const kill = { family: 'kill', description: 'kill 1', nodes: [1] };
    const windows = faultWindows(history([
      { seconds: 1, process: NEMESIS, type: 'invoke', f: 'start-fault', value: PARTITION },
      { seconds: 1.1, process: NEMESIS, type: 'info', f: 'start-fault', value: PARTITION },
      { seconds: 2, process: NEMESIS, type: 'info', f: 'start-fault', value: kill },
      { seconds: 3, process: NEMESIS, type: 'invoke', f: 'stop-fault', value: PARTITION },
      { seconds: 3.2, process: NEMESIS, type: 'info', f: 'stop-fault', value: PARTITION },
      { seconds: 4, process: NEMESIS, type: 'invoke', f: 'start-fault', value: { ...kill, nodes: [2] } },
      { seconds: 4.1, process: NEMESIS, type: 'fail', f: 'start-fault', value: { ...kill, nodes: [2] } },
      { seconds: 9, process: 0, type: 'invoke', f: 'poll', value: {} },
    ]));
    const summary = windows.map(({ description, startSeconds, endSeconds, healed }) =>
      [description, startSeconds, endSeconds, healed]);
    assert.deepEqual(summary, [['isolate 2', 1, 3.2, true], ['kill 1', 2, 9, false]]);
  });
});

describe('pairOperations and latency sampling', () => {
  it('counts invokes never completed, and keeps failed operations when it samples', () => {
    const events = history([
      ...Array.from({ length: 20 }, (_, value): EventWithoutIndex[] => [
        { seconds: value, process: 0, type: 'invoke', f: 'send', value: send(0, value) },
        { seconds: value + 0.5, process: 0, type: value === 7 ? 'fail' : 'ok', f: 'send', value: send(0, value) },
      ]).flat(),
      { seconds: 30, process: 1, type: 'invoke', f: 'poll', value: {} },
    ]);
    const { completed, unfinishedCount } = pairOperations(events);
    assert.equal(completed.length, 20);
    assert.equal(unfinishedCount, 1);
    assert.equal(completed[3]?.latencyMs, 500);
    const plot = latencyPlot(completed, [], 30, 4);
    assert.deepEqual([plot.shownCount, plot.totalCount], [4, 20]);
    assert.match(JSON.stringify(plot.spec), /"outcome":"fail"/, 'the one failure survives sampling');
  });

  it('rejects a meta.json with a missing field, naming it', () => {
    const { drain: _drain, ...withoutDrain } = META;
    assert.throws(() => parseRunMeta(withoutDrain), /'drain' must be a string/);
  });
});

describe('the fault timeline lanes', () => {
  const row = (lane: string, label: string, startSeconds: number, endSeconds: number) =>
    ({ lane, label, startSeconds, endSeconds });

  it('moves a fault whose lane-mate\'s label would run into it to a lane of its own', () => {
    // A 60 s plot 900 px wide: 15 px a second; the 44-character label needs about 18 s.
    const long = 'flapping silent bridge 3 between [1] and [2]';
    const lanes = laneRows([row('silent [1]', long, 10, 14), row('silent [1]', 'silent isolate 1', 20, 24),
      row('silent [1]', 'silent isolate 1', 50, 54), row('kill [2]', 'kill one', 20, 24)], 60)
      .map((each) => `${each.lane}@${each.startSeconds}`);
    assert.deepEqual(lanes.sort(), ['kill [2]@20', 'silent [1] #2@20', 'silent [1]@10', 'silent [1]@50']);
  });

  it('keeps faults far enough apart in one lane', () => {
    const lanes = laneRows([row('pause [2]', 'pause one', 0, 4), row('pause [2]', 'pause one', 20, 24)], 60);
    assert.deepEqual(lanes.map((each) => each.lane), ['pause [2]', 'pause [2]']);
  });
});
