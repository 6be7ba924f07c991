/**
 * The sweep's pure parts: the steps it is given, and the chart and page it draws from its figures
 * (bench/sweep/). The cluster run itself is in test/e2e/bench_smoke.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFractions } from '../../../bench/sweep/sweep.js';
import type { SweepResult, SweepStep } from '../../../bench/sweep/sweep.js';
import { sweepChartSpec, sweepHtml, sweepTableRows } from '../../../bench/sweep/sweep_chart.js';

const latency = (p50: number): SweepStep['ackLatencyMs'] => ({ count: 10, mean: p50, p50, p99: p50 * 3, p999: p50 * 5,
  max: p50 * 6 });

function step(fraction: number | null, reached: number, endToEnd: boolean): SweepStep {
  return { fraction, targetRecordsPerSec: fraction === null ? null : fraction * 1_000, recordsPerSec: reached,
    mbPerSec: reached / 10_000, records: reached * 2, failed: 0, ackLatencyMs: latency(reached / 100),
    endToEndLatencyMs: endToEnd ? latency(reached / 50) : null, hostCpu: { cpus: 2, busy: 0.8, steal: 0.012 },
    processCpu: { 'broker 1': { cores: 0.4, mainRunning: 0.3, mainWaiting: 0.4 },
      'broker 2': { cores: 0.4, mainRunning: 0.2, mainWaiting: 0.2 },
      bench: { cores: 0.3, mainRunning: 0.9, mainWaiting: 0.9 } } };
}

void describe('bench sweep', () => {
  void test('steps are fractions of the peak in (0, 1], run once each in rising order', () => {
    assert.deepEqual(parseFractions('0.5, 0.1,0.5,1'), [0.1, 0.5, 1]);
    assert.throws(() => parseFractions('0.1,0'), /fraction of the peak in \(0, 1\]/);
    assert.throws(() => parseFractions('1.5'), /fraction of the peak/);
    assert.throws(() => parseFractions('half'), /fraction of the peak/);
  });

  void test('the chart has a point per percentile and latency kind for every step and the peak', () => {
    const result: SweepResult = { peakRecordsPerSec: 1_000, peak: step(null, 1_000, true),
      steps: [step(0.1, 100, true), step(0.5, 480, true)] };
    const spec = sweepChartSpec(result, 'a sweep') as unknown as { data: { values: { recordsPerSec: number;
      latencyMs: number; percentile: string; kind: string }[] } };
    const points = spec.data.values;
    assert.equal(points.length, 3 * 3 * 2, 'three runs x three percentiles x two kinds');
    assert.deepEqual(points.filter((point) => point.recordsPerSec === 480 && point.kind === 'produce-to-ack')
      .map((point) => [point.percentile, Math.round(point.latencyMs * 10) / 10]), [['p50', 4.8], ['p99', 14.4], ['p99.9', 24]]);
    const rows = sweepTableRows(result);
    assert.deepEqual(rows.map((row) => row[0]), ['10%', '50%', 'peak (flat out)']);
    assert.equal(rows[1]?.[2], '480');
    assert.equal(rows[1][6], '80% / 1.2%', 'each step says how busy the machine was and what steal took');
    assert.equal(rows[1][7], '0.25 / 0.30', 'and how long the brokers\' main threads ran and waited, the bench left out');
    const html = sweepHtml(result, 'a <sweep>', 'cfg', '<svg></svg>');
    assert.ok(html.includes('a &lt;sweep&gt;') && html.includes('<svg></svg>'), 'the title escaped, the chart inline');
  });

  void test('without end-to-end figures only produce-to-ack is drawn', () => {
    const result: SweepResult = { peakRecordsPerSec: 1_000, peak: null, steps: [step(0.1, 100, false)] };
    const spec = sweepChartSpec(result, 'a sweep') as unknown as { data: { values: { kind: string }[] } };
    assert.deepEqual([...new Set(spec.data.values.map((point) => point.kind))], ['produce-to-ack']);
    assert.equal(sweepTableRows(result)[0]?.[4], '-');
    const withoutProcesses: SweepResult = { ...result, steps: [{ ...step(0.1, 100, false), processCpu: null }] };
    assert.equal(sweepTableRows(withoutProcesses)[0]?.[7], '-', 'no brokers measured (off Linux, --bootstrap): a dash');
  });
});
