/**
 * The sweep's picture: latency percentiles (p50, p99, p99.9; log milliseconds) against the
 * throughput each step (and the flat-out peak) reached, one line per percentile and, with
 * end-to-end figures, dashed lines for produce-to-consume. Rendered with Vega-Lite like the
 * harness's plots (jepsen/report), as an SVG and an HTML page that carries the SVG and the table
 * of figures.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml } from '../../jepsen/report/escape_html.js';
import type { LatencySummaryMs } from '../latency.js';
import type { SweepResult, SweepStep } from './sweep.js';

/** A log scale cannot show 0 ms. */
const LATENCY_FLOOR_MS = 0.001;

interface ChartPoint {
  readonly recordsPerSec: number;
  readonly latencyMs: number;
  readonly percentile: string;
  readonly kind: string;
}

const PERCENTILES: readonly [keyof LatencySummaryMs, string][] = [['p50', 'p50'], ['p99', 'p99'], ['p999', 'p99.9']];

function pointsOf(step: SweepStep): ChartPoint[] {
  const points: ChartPoint[] = [];
  const add = (latency: LatencySummaryMs | null, kind: string): void => {
    if (latency === null || latency.count === 0) return;
    for (const [key, label] of PERCENTILES) {
      points.push({ recordsPerSec: step.recordsPerSec, latencyMs: Math.max(latency[key], LATENCY_FLOOR_MS),
        percentile: label, kind });
    }
  };
  add(step.ackLatencyMs, 'produce-to-ack');
  add(step.endToEndLatencyMs, 'produce-to-consume');
  return points;
}

export function sweepChartSpec(result: SweepResult, title: string): TopLevelSpec {
  const points = [...result.steps, ...(result.peak === null ? [] : [result.peak])].flatMap(pointsOf);
  return {
    title: { text: title, anchor: 'start' },
    width: 720,
    height: 360,
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'recordsPerSec', type: 'quantitative', title: 'throughput reached (records/s)' },
      y: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
      color: { field: 'percentile', type: 'nominal', title: 'percentile', sort: ['p50', 'p99', 'p99.9'] },
      strokeDash: { field: 'kind', type: 'nominal', title: 'latency', legend: { symbolType: 'stroke' } },
      detail: [{ field: 'kind', type: 'nominal' }, { field: 'percentile', type: 'nominal' }],
    },
  };
}

const ms = (value: number): string => value.toFixed(2);

/**
 * The local brokers' main threads during a step, averaged over the brokers (named "broker <id>" by
 * brokerCpuProcesses): cores' worth of time running, and waiting for a core.
 */
function brokerMainThreads(step: SweepStep): string {
  const brokers = Object.entries(step.processCpu ?? {}).filter(([name]) => name.startsWith('broker '))
    .map(([, figures]) => figures);
  if (brokers.length === 0) return '-';
  const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
  return `${mean(brokers.map((b) => b.mainRunning)).toFixed(2)} / ${mean(brokers.map((b) => b.mainWaiting)).toFixed(2)}`;
}

/** The figures as rows: target, reached, and each latency summary. */
export function sweepTableRows(result: SweepResult): string[][] {
  const steps = result.peak === null ? result.steps : [...result.steps, result.peak];
  return steps.map((step) => [
    step.fraction === null ? 'peak (flat out)' : `${(step.fraction * 100).toFixed(0)}%`,
    step.targetRecordsPerSec === null ? '-' : Math.round(step.targetRecordsPerSec).toLocaleString('en-US'),
    Math.round(step.recordsPerSec).toLocaleString('en-US'),
    `${ms(step.ackLatencyMs.p50)} / ${ms(step.ackLatencyMs.p99)} / ${ms(step.ackLatencyMs.p999)}`,
    step.endToEndLatencyMs === null ? '-'
      : `${ms(step.endToEndLatencyMs.p50)} / ${ms(step.endToEndLatencyMs.p99)} / ${ms(step.endToEndLatencyMs.p999)}`,
    String(step.failed),
    step.hostCpu === null ? '-'
      : `${(step.hostCpu.busy * 100).toFixed(0)}% / ${(step.hostCpu.steal * 100).toFixed(1)}%`,
    brokerMainThreads(step),
  ]);
}

export const SWEEP_TABLE_HEADER: readonly string[] = ['step', 'target rec/s', 'reached rec/s',
  'ack p50 / p99 / p99.9 ms', 'end-to-end p50 / p99 / p99.9 ms', 'failed', 'machine busy / steal',
  'broker main thread running / waiting (cores)'];

export function sweepHtml(result: SweepResult, title: string, config: string, svg: string): string {
  const cells = (row: readonly string[], tag: string): string =>
    `<tr>${row.map((cell) => `<${tag}>${escapeHtml(cell)}</${tag}>`).join('')}</tr>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}code{background:#f4f4f4}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p><code>${escapeHtml(config)}</code></p>
${svg}
<table>${cells(SWEEP_TABLE_HEADER, 'th')}${sweepTableRows(result).map((row) => cells(row, 'td')).join('')}</table>
<p>A step whose reached rate falls short of its target is past the knee: the cluster could not keep up.</p>
</body></html>
`;
}
