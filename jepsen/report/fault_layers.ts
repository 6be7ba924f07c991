/**
 * The fault windows drawn on the plots: a shaded band behind every panel, and a timeline strip
 * above the panels that names each fault, one lane per family and node set so overlapping
 * faults stay readable.
 */
import type { FaultWindow } from './fault_windows.js';
import { PLOT_WIDTH_PX, timeAxis } from './plot_style.js';
import type { ChartSpec, LayerItemSpec } from './plot_style.js';

const LANE_HEIGHT_PX = 18;
/** The timeline's label font (10 px) averages under this width per character. */
const LABEL_CHAR_PX = 6;
/** The label's offset from its bar's start (the text mark's dx) and a gap before the next one. */
const LABEL_PAD_PX = 8;
const SHADE_COLOUR = '#7f7f7f';

export interface FaultRow {
  readonly lane: string;
  readonly label: string;
  readonly startSeconds: number;
  readonly endSeconds: number;
}

function faultRows(windows: readonly FaultWindow[]): FaultRow[] {
  return windows.map((window) => ({
    lane: `${window.family} [${window.nodes.join(',')}]`,
    label: window.healed ? window.description : `${window.description} (not healed)`,
    startSeconds: window.startSeconds,
    endSeconds: window.endSeconds,
  }));
}

/**
 * Shaded bands for a panel; no layer at all when the run had no faults. The band layer comes first,
 * so its axis title is the one the panel shows: the caller passes the title of its time axis.
 */
export function faultShadeLayers(
  windows: readonly FaultWindow[], endSeconds: number, timeTitle: string,
): LayerItemSpec[] {
  if (windows.length === 0) return [];
  return [{
    data: { values: faultRows(windows) },
    mark: { type: 'rect', color: SHADE_COLOUR, opacity: 0.15, clip: true },
    encoding: {
      x: timeAxis('startSeconds', endSeconds, timeTitle),
      x2: { field: 'endSeconds' },
    },
  }];
}

/**
 * The rows with lanes split where a label would run into the next fault of its lane: with short
 * fault intervals a long description ("flapping silent bridge 3 between [1] and [2]") reaches past
 * the next fault's start, so that fault goes to a lane of its own ("silent [1] #2").
 */
export function laneRows(rows: readonly FaultRow[], endSeconds: number): FaultRow[] {
  const secondsPerPx = Math.max(endSeconds, 1) / PLOT_WIDTH_PX;
  /** Per lane name, where each of its sub-lanes is free again (seconds). */
  const freeFrom = new Map<string, number[]>();
  return [...rows].sort((a, b) => a.startSeconds - b.startSeconds).map((row) => {
    const labelEnd = row.startSeconds + (row.label.length * LABEL_CHAR_PX + LABEL_PAD_PX) * secondsPerPx;
    const subLanes = freeFrom.get(row.lane) ?? [];
    freeFrom.set(row.lane, subLanes);
    let index = subLanes.findIndex((free) => free <= row.startSeconds);
    if (index < 0) index = subLanes.push(0) - 1;
    subLanes[index] = Math.max(labelEnd, row.endSeconds);
    return index === 0 ? row : { ...row, lane: `${row.lane} #${index + 1}` };
  });
}

/** A strip naming each fault over the time it lasted; null when the run had no faults. */
export function faultTimeline(windows: readonly FaultWindow[], endSeconds: number): ChartSpec | null {
  if (windows.length === 0) return null;
  const rows = laneRows(faultRows(windows), endSeconds);
  const laneCount = new Set(rows.map((row) => row.lane)).size;
  const lane = { field: 'lane', type: 'nominal', title: null, sort: null } as const;
  return {
    title: { text: 'faults', anchor: 'start', fontSize: 12 },
    width: PLOT_WIDTH_PX,
    height: laneCount * LANE_HEIGHT_PX,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar', color: SHADE_COLOUR, opacity: 0.35, clip: true },
        encoding: { x: timeAxis('startSeconds', endSeconds, null), x2: { field: 'endSeconds' }, y: lane },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 10, clip: true },
        encoding: { x: timeAxis('startSeconds', endSeconds, null), y: lane, text: { field: 'label' } },
      },
    ],
  };
}
