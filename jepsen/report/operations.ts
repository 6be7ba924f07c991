/**
 * Client operations as the plots see them: each invoke paired with its completion from the same
 * process, with its latency and the time it completed. Nemesis events are not operations here.
 */
import { NEMESIS } from '../history.js';
import type { ClientFunction, HistoryEvent } from '../history.js';

export type Outcome = 'ok' | 'fail' | 'info';
export const OUTCOMES: readonly Outcome[] = ['ok', 'fail', 'info'];

/** The order the panels and tables list client functions in. */
export const CLIENT_FUNCTIONS: readonly ClientFunction[] = ['send', 'poll', 'assign', 'crash'];

const NANOSECONDS_PER_SECOND = 1e9;
const NANOSECONDS_PER_MILLISECOND = 1e6;

export interface CompletedOperation {
  readonly f: ClientFunction;
  readonly outcome: Outcome;
  /** History index of the invoke, to find the operation in history.jsonl. */
  readonly invokeIndex: number;
  readonly invokeSeconds: number;
  readonly completeSeconds: number;
  readonly latencyMs: number;
  /** Part of the final drain, after every fault was healed. */
  readonly final: boolean;
  /** The completion's error code or message, for fail and info. */
  readonly error: string | null;
}

export interface PairedOperations {
  readonly completed: readonly CompletedOperation[];
  /** Invokes the history never completed (the run ended first). */
  readonly unfinishedCount: number;
}

export function secondsOf(event: HistoryEvent): number {
  return event.time / NANOSECONDS_PER_SECOND;
}

export function pairOperations(history: readonly HistoryEvent[]): PairedOperations {
  const invokesByProcess = new Map<number, HistoryEvent>();
  const completed: CompletedOperation[] = [];
  for (const event of history) {
    if (event.process === NEMESIS || event.f === 'start-fault' || event.f === 'stop-fault') continue;
    if (event.type === 'invoke') {
      invokesByProcess.set(event.process, event);
      continue;
    }
    const invoke = invokesByProcess.get(event.process);
    // A completion without its invoke is malformed history; the checkers report that, the plots skip it.
    if (invoke === undefined) continue;
    invokesByProcess.delete(event.process);
    completed.push({
      f: event.f,
      outcome: event.type,
      invokeIndex: invoke.index,
      invokeSeconds: secondsOf(invoke),
      completeSeconds: secondsOf(event),
      latencyMs: (event.time - invoke.time) / NANOSECONDS_PER_MILLISECOND,
      final: invoke.final === true,
      error: event.error ?? null,
    });
  }
  return { completed, unfinishedCount: invokesByProcess.size };
}

/** Operation counts by function and outcome, for the page's counts table. */
export function countOperations(
  completed: readonly CompletedOperation[],
): ReadonlyMap<ClientFunction, Readonly<Record<Outcome, number>>> {
  const counts = new Map<ClientFunction, Record<Outcome, number>>();
  for (const operation of completed) {
    let row = counts.get(operation.f);
    if (row === undefined) {
      row = { ok: 0, fail: 0, info: 0 };
      counts.set(operation.f, row);
    }
    row[operation.outcome] += 1;
  }
  return counts;
}

/** The client functions present, in the fixed panel order. */
export function functionsPresent(completed: readonly CompletedOperation[]): ClientFunction[] {
  const present = new Set(completed.map((operation) => operation.f));
  return CLIENT_FUNCTIONS.filter((f) => present.has(f));
}

export interface ErrorCount {
  readonly f: ClientFunction;
  readonly outcome: Outcome;
  readonly error: string;
  readonly count: number;
}

/** Why operations failed or went indeterminate: each distinct (function, outcome, error), most frequent first. */
export function countErrors(completed: readonly CompletedOperation[]): ErrorCount[] {
  const counts = new Map<string, ErrorCount>();
  for (const operation of completed) {
    if (operation.outcome === 'ok') continue;
    const error = operation.error ?? '(no error given)';
    const id = JSON.stringify([operation.f, operation.outcome, error]);
    const previous = counts.get(id);
    counts.set(id, { f: operation.f, outcome: operation.outcome, error, count: (previous?.count ?? 0) + 1 });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count);
}
