/**
 * Fault windows: from a nemesis 'start-fault' until the next 'stop-fault' of the same family and
 * nodes. A window the run never closed runs to the end of the history. The nemesis may record a
 * fault as one event or as an invoke/completion pair; repeated events of one window extend it
 * instead of opening a second, and a start that failed removes its window.
 */
import { NEMESIS } from '../history.js';
import type { FaultValue, HistoryEvent } from '../history.js';
import { secondsOf } from './operations.js';

export interface FaultWindow {
  readonly family: string;
  readonly description: string;
  readonly nodes: readonly number[];
  readonly startSeconds: number;
  readonly endSeconds: number;
  /** False when no stop-fault closed it before the history ended. */
  readonly healed: boolean;
}

interface OpenWindow {
  family: string;
  description: string;
  nodes: readonly number[];
  startSeconds: number;
  endSeconds: number;
  healed: boolean;
}

function isFaultValue(value: HistoryEvent['value']): value is FaultValue {
  return value !== null && 'family' in value && 'nodes' in value;
}

function windowKey(fault: FaultValue): string {
  return `${fault.family} ${[...fault.nodes].sort((a, b) => a - b).join(',')}`;
}

export function faultWindows(history: readonly HistoryEvent[]): FaultWindow[] {
  const endSeconds = history.length === 0 ? 0 : secondsOf(history[history.length - 1] as HistoryEvent);
  const windows: OpenWindow[] = [];
  const openByKey = new Map<string, OpenWindow>();
  const lastHealedByKey = new Map<string, OpenWindow>();
  for (const event of history) {
    if (event.process !== NEMESIS || !isFaultValue(event.value)) continue;
    const key = windowKey(event.value);
    const open = openByKey.get(key);
    if (event.f === 'start-fault') {
      if (event.type === 'fail') {
        if (open !== undefined) windows.splice(windows.indexOf(open), 1);
        openByKey.delete(key);
      } else if (open === undefined) {
        const opened: OpenWindow = { family: event.value.family, description: event.value.description,
          nodes: event.value.nodes, startSeconds: secondsOf(event), endSeconds, healed: false };
        windows.push(opened);
        openByKey.set(key, opened);
        lastHealedByKey.delete(key);
      }
    } else if (event.f === 'stop-fault') {
      // The heal is done when its last event is recorded, so a completion moves the end later.
      const healing = open ?? lastHealedByKey.get(key);
      if (healing === undefined) continue;
      healing.endSeconds = secondsOf(event);
      healing.healed = true;
      openByKey.delete(key);
      lastHealedByKey.set(key, healing);
    }
  }
  return windows;
}
