/**
 * throughput.svg: operations completed per second over time, one panel per function, one line
 * per outcome, fault windows shaded and named in a strip above. Long runs use wider buckets so
 * the plot never has more than THROUGHPUT_BUCKETS_MAX points per line.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ClientFunction } from '../history.js';
import { faultShadeLayers, faultTimeline } from './fault_layers.js';
import type { FaultWindow } from './fault_windows.js';
import { OUTCOMES, functionsPresent } from './operations.js';
import type { CompletedOperation, Outcome } from './operations.js';
import { PANEL_HEIGHT_PX, PLOT_WIDTH_PX, outcomeColour, timeAxis } from './plot_style.js';
import type { ChartSpec } from './plot_style.js';

export const THROUGHPUT_BUCKETS_MAX = 400;
const TIME_TITLE = 'seconds since start (completion time)';

export interface ThroughputPlot {
  readonly spec: TopLevelSpec;
  readonly bucketSeconds: number;
}

interface RateRow {
  readonly f: ClientFunction;
  readonly outcome: Outcome;
  readonly bucketStartSeconds: number;
  readonly operationsPerSecond: number;
}

/** Every bucket of every (function, outcome) series that occurs, zeros included, so lines drop to 0. */
export function rateRows(
  completed: readonly CompletedOperation[], endSeconds: number, bucketSeconds: number,
): RateRow[] {
  const bucketCount = Math.max(1, Math.ceil(endSeconds / bucketSeconds));
  const countsBySeries = new Map<string, number[]>();
  for (const operation of completed) {
    const series = `${operation.f} ${operation.outcome}`;
    let counts = countsBySeries.get(series);
    if (counts === undefined) {
      counts = new Array<number>(bucketCount).fill(0);
      countsBySeries.set(series, counts);
    }
    const bucket = Math.min(bucketCount - 1, Math.floor(operation.completeSeconds / bucketSeconds));
    counts[bucket] = (counts[bucket] ?? 0) + 1;
  }
  const rows: RateRow[] = [];
  for (const f of functionsPresent(completed)) {
    for (const outcome of OUTCOMES) {
      const counts = countsBySeries.get(`${f} ${outcome}`);
      if (counts === undefined) continue;
      counts.forEach((count, bucket) => rows.push({ f, outcome, bucketStartSeconds: bucket * bucketSeconds,
        operationsPerSecond: count / bucketSeconds }));
    }
  }
  return rows;
}

export function throughputPlot(
  completed: readonly CompletedOperation[], windows: readonly FaultWindow[], endSeconds: number,
): ThroughputPlot {
  const bucketSeconds = Math.max(1, Math.ceil(endSeconds / THROUGHPUT_BUCKETS_MAX));
  const rows = rateRows(completed, endSeconds, bucketSeconds);
  const panels: ChartSpec[] = functionsPresent(completed).map((f) => ({
    title: { text: f, anchor: 'start', fontSize: 12 },
    width: PLOT_WIDTH_PX,
    height: PANEL_HEIGHT_PX,
    layer: [
      ...faultShadeLayers(windows, endSeconds, TIME_TITLE),
      {
        data: { values: rows.filter((row) => row.f === f) },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5, clip: true },
        encoding: {
          x: timeAxis('bucketStartSeconds', endSeconds, TIME_TITLE),
          y: { field: 'operationsPerSecond', type: 'quantitative', title: 'operations / s' },
          color: outcomeColour(),
        },
      },
    ],
  }));
  const timeline = faultTimeline(windows, endSeconds);
  return {
    spec: {
      title: `Completed operations per second (${bucketSeconds} s buckets)`,
      vconcat: timeline === null ? panels : [timeline, ...panels],
      resolve: { scale: { color: 'shared' } },
    },
    bucketSeconds,
  };
}
