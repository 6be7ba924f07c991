/**
 * latency.svg: the latency of every client operation against the time it was invoked, one panel
 * per function, coloured and shaped by outcome, log-scale milliseconds, fault windows shaded.
 * Past latencyPointsMax operations the points are sampled evenly; failed and indeterminate
 * operations are kept first because they are the ones a reader looks for.
 */
import type { TopLevelSpec } from 'vega-lite';
import { faultShadeLayers, faultTimeline } from './fault_layers.js';
import type { FaultWindow } from './fault_windows.js';
import { functionsPresent } from './operations.js';
import type { CompletedOperation } from './operations.js';
import { PANEL_HEIGHT_PX, PLOT_WIDTH_PX, outcomeColour, timeAxis } from './plot_style.js';
import type { ChartSpec } from './plot_style.js';
import { sampleEvenly } from './sample.js';

export const LATENCY_POINTS_MAX = 6_000;
/** A log scale cannot show 0 ms; anything faster is drawn at this floor. */
const LATENCY_FLOOR_MS = 0.01;
const TIME_TITLE = 'seconds since start (invoke time)';

export interface LatencyPlot {
  readonly spec: TopLevelSpec;
  readonly shownCount: number;
  readonly totalCount: number;
}

function samplePoints(completed: readonly CompletedOperation[], limit: number): CompletedOperation[] {
  const unsuccessful = completed.filter((operation) => operation.outcome !== 'ok');
  const successful = completed.filter((operation) => operation.outcome === 'ok');
  const keptUnsuccessful = sampleEvenly(unsuccessful, Math.max(limit - successful.length, Math.floor(limit / 2)));
  return [...keptUnsuccessful, ...sampleEvenly(successful, limit - keptUnsuccessful.length)];
}

export function latencyPlot(
  completed: readonly CompletedOperation[], windows: readonly FaultWindow[], endSeconds: number,
  limit = LATENCY_POINTS_MAX,
): LatencyPlot {
  const points = samplePoints(completed, limit);
  const panels: ChartSpec[] = functionsPresent(completed).map((f) => ({
    title: { text: f, anchor: 'start', fontSize: 12 },
    width: PLOT_WIDTH_PX,
    height: PANEL_HEIGHT_PX,
    layer: [
      ...faultShadeLayers(windows, endSeconds, TIME_TITLE),
      {
        data: { values: points.filter((operation) => operation.f === f).map((operation) => ({
          invokeSeconds: operation.invokeSeconds,
          latencyMs: Math.max(operation.latencyMs, LATENCY_FLOOR_MS),
          outcome: operation.outcome,
        })) },
        mark: { type: 'point', filled: true, size: 14, opacity: 0.6, clip: true },
        encoding: {
          x: timeAxis('invokeSeconds', endSeconds, TIME_TITLE),
          y: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms, log)', scale: { type: 'log' } },
          color: outcomeColour(),
          shape: { field: 'outcome', type: 'nominal', scale: { domain: ['ok', 'fail', 'info'] } },
        },
      },
    ],
  }));
  const timeline = faultTimeline(windows, endSeconds);
  const sampledNote = points.length < completed.length
    ? ` (${points.length} of ${completed.length} operations, evenly sampled)` : '';
  return {
    spec: {
      title: `Latency of client operations${sampledNote}`,
      vconcat: timeline === null ? panels : [timeline, ...panels],
      resolve: { scale: { color: 'shared', shape: 'shared' } },
    },
    shownCount: points.length,
    totalCount: completed.length,
  };
}
