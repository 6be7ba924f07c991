/**
 * What the latency and throughput plots share: the Vega-Lite spec types they are built from, one
 * colour per outcome, one time axis, so both plots read the same way and line up.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Outcome } from './operations.js';

/** A chart inside a vconcat, and a layer inside a layered chart (derived: vega-lite exports only TopLevelSpec). */
export type ChartSpec = Extract<TopLevelSpec, { vconcat: unknown }>['vconcat'][number];
export type LayerItemSpec = Extract<ChartSpec, { layer: unknown }>['layer'][number];

export const PLOT_WIDTH_PX = 900;
export const PANEL_HEIGHT_PX = 150;

const OUTCOME_COLOURS: Readonly<Record<Outcome, string>> = { ok: '#2ca02c', fail: '#d62728', info: '#ff7f0e' };

export function outcomeColour(): { field: string; type: 'nominal'; title: string;
  scale: { domain: string[]; range: string[] } } {
  const domain = Object.keys(OUTCOME_COLOURS);
  return { field: 'outcome', type: 'nominal', title: 'outcome',
    scale: { domain, range: domain.map((outcome) => OUTCOME_COLOURS[outcome as Outcome]) } };
}

/** Seconds since the run began, over the whole run, so stacked panels align. */
export function timeAxis(field: string, endSeconds: number, title: string | null): {
  field: string; type: 'quantitative'; title: string | null; scale: { domain: number[]; nice: false; zero: true };
} {
  return { field, type: 'quantitative', title, scale: { domain: [0, Math.max(endSeconds, 1)], nice: false, zero: true } };
}
