/**
 * The Charts section: live throughput (records in and out per second over the whole cluster) and
 * produce latency (p50 and p99 over each scrape interval), drawn with uPlot from the history the
 * console keeps of the brokers' /metrics; polled every second.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

import type { MetricsAnswer, ThroughputPoint } from '../api_types.js';
import { usePoll } from './api.js';

interface ChartProps {
  readonly title: string;
  readonly unit: string;
  readonly labels: readonly string[];
  readonly points: readonly ThroughputPoint[];
  readonly pick: (point: ThroughputPoint) => readonly (number | null)[];
  readonly test: string;
}

const COLOURS = ['#1f6feb', '#e36209', '#2e7d32'];

function Chart({ title, unit, labels, points, pick, test }: ChartProps): VNode {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [points.map((p) => p.timeMs / 1_000),
    ...labels.map((_, i) => points.map((p) => pick(p)[i] ?? null))];
  useEffect(() => {
    const element = holder.current;
    if (element === null) return undefined;
    plot.current = new uPlot({ title, width: 560, height: 260,
      scales: { y: { range: (_self, min, max) => [0, Math.max(1, max, min)] } },
      axes: [{}, { label: unit, size: 70 }],
      series: [{}, ...labels.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length] ?? '#000', width: 2,
        spanGaps: false }))] }, data(), element);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => { plot.current?.setData(data()); }, [points]);
  return html`<div class="chart" data-test=${test} ref=${holder}></div>`;
}

export function Charts(): VNode {
  const metrics = usePoll<MetricsAnswer>('api/metrics', 1_000);
  const answer = metrics.data;
  if (answer === null) return html`<section><h2>Charts</h2><p class="muted">Loading…</p></section>`;
  if (answer.endpoints.length === 0) {
    return html`<section><h2>Charts</h2><div class="notice">No metrics endpoints: start the console with
      <code>--metrics host:port,...</code> (the brokers' <code>--metrics-listen</code> addresses);
      <code>tributary dev</code> does this itself.</div></section>`;
  }
  return html`<section>
    <h2>Charts</h2>
    <p class="muted">Scraping ${answer.endpoints.map((e) => html`<span class=${e.up ? 'up' : 'down'}>
      ${e.address}${e.brokerId === null ? '' : ` (broker ${e.brokerId})`} ${e.up ? 'up' : 'no answer'}</span> `)}
      every second; the last ${answer.series.length} intervals.</p>
    <div class="charts">
      <${Chart} title="Throughput (records/s, cluster)" unit="records/s" labels=${['in', 'out']} test="chart-throughput"
        points=${answer.series} pick=${(p: ThroughputPoint) => [p.recordsInPerSec, p.recordsOutPerSec]} />
      <${Chart} title="Produce latency (ms)" unit="ms" labels=${['p50', 'p99']} test="chart-latency"
        points=${answer.series} pick=${(p: ThroughputPoint) => [p.produceP50Ms, p.produceP99Ms]} />
    </div>
  </section>`;
}
