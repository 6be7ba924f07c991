/**
 * Generates histories of a correct system for checker tests: concurrent clients send to and poll
 * from a set of append-only logs, every operation taking effect at one instant between its invoke
 * and its completion (so the history is linearizable by construction). Sends fail (no effect) or
 * end in info (taking effect or not, the process then retiring as Jepsen's do); a client's last
 * info may never complete at all. Consumers read contiguously from their own positions, which an
 * assign rewinds.
 * A final drain process reads every log from the beginning, so every acknowledged value is seen.
 */
import type { HistoryEvent, ReadRecord } from '../../jepsen/history.js';
import { TestPrng } from './test_prng.js';

export interface SimulationOptions {
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  readonly operationsPerClient: number;
  readonly failProbability: number;
  readonly infoProbability: number;
}

interface PlannedOperation {
  readonly process: number;
  readonly f: 'send' | 'poll' | 'assign';
  readonly start: number;
  readonly end: number;
  /** The instant it takes effect, in [start, end]. */
  readonly point: number;
  readonly outcome: 'ok' | 'fail' | 'info';
  readonly applied: boolean;
  readonly completes: boolean;
  readonly key: number;
  readonly value: number;
  /** Filled in when applied: the offset a send got, or the records a poll read. */
  offset?: number;
  records?: Record<number, ReadRecord[]>;
}

/** The records a drain poll takes per key at most. */
const DRAIN_RECORDS_MAX = 50;

export function simulateLinearizableLogs(options: SimulationOptions): HistoryEvent[] {
  const prng = new TestPrng(options.seed);
  const planned: PlannedOperation[] = [];
  let nextProcess = options.clients;
  let nextValue = 1;
  let lastEnd = 0;
  for (let client = 0; client < options.clients; client++) {
    let process = client;
    let time = prng.int(0, 50);
    let assigned = false;
    for (let i = 0; i < options.operationsPerClient; i++) {
      const start = time + prng.int(1, 20);
      const end = start + prng.int(1, 100);
      const point = prng.int(start, end);
      time = end;
      if (!assigned) {
        planned.push(plan(process, 'assign', start, end, point, 'ok', true, true, 0, 0));
        assigned = true;
        continue;
      }
      const draw = prng.next();
      const outcome = draw < options.failProbability ? 'fail' :
        draw < options.failProbability + options.infoProbability ? 'info' : 'ok';
      const isSend = prng.chance(0.5);
      const applied = outcome === 'ok' || (outcome === 'info' && isSend && prng.chance(0.5));
      // Only a client's last operation may be left hanging: the history ends while it is in flight.
      const completes = outcome !== 'info' || i < options.operationsPerClient - 1 || prng.chance(0.5);
      planned.push(plan(process, isSend ? 'send' : 'poll', start, end, point, outcome, applied, completes,
        prng.int(0, options.keys - 1), nextValue++));
      if (outcome === 'info') {
        process = nextProcess++;
        assigned = false;
      }
    }
    lastEnd = Math.max(lastEnd, time);
  }
  const logs = applyInLinearizationOrder(planned, options.keys, prng);
  return toHistory([...planned, ...drain(nextProcess, lastEnd + 10, logs)]);
}

function plan(process: number, f: PlannedOperation['f'], start: number, end: number, point: number,
  outcome: PlannedOperation['outcome'], applied: boolean, completes: boolean, key: number, value: number):
  PlannedOperation {
  return { process, f, start, end, point, outcome, applied, completes, key, value };
}

function applyInLinearizationOrder(planned: PlannedOperation[], keyCount: number, prng: TestPrng): number[][] {
  const logs: number[][] = Array.from({ length: keyCount }, () => []);
  const positions = new Map<number, number[]>();
  for (const operation of [...planned].sort((a, b) => a.point - b.point)) {
    if (!operation.applied) continue;
    if (operation.f === 'assign') positions.set(operation.process, new Array<number>(keyCount).fill(0));
    if (operation.f === 'send') {
      const log = logs[operation.key]!;
      log.push(operation.value);
      operation.offset = log.length - 1;
    }
    if (operation.f === 'poll') {
      const position = positions.get(operation.process)!;
      operation.records = {};
      logs.forEach((log, key) => {
        const from = position[key]!;
        const to = Math.min(log.length, from + prng.int(0, 4));
        if (to > from) operation.records![key] = log.slice(from, to).map((value, i) => [from + i, value]);
        position[key] = to;
      });
    }
  }
  return logs;
}

/** One fresh process reads every log from the beginning, one poll after another. */
function drain(process: number, start: number, logs: number[][]): PlannedOperation[] {
  const operations: PlannedOperation[] = [plan(process, 'assign', start, start + 1, start, 'ok', true, true, 0, 0)];
  let time = start + 2;
  for (let from = 0; logs.some((log) => log.length > from); from += DRAIN_RECORDS_MAX) {
    const operation = plan(process, 'poll', time, time + 1, time, 'ok', true, true, 0, 0);
    operation.records = {};
    logs.forEach((log, key) => {
      const records = log.slice(from, from + DRAIN_RECORDS_MAX).map((value, i): ReadRecord => [from + i, value]);
      if (records.length > 0) operation.records![key] = records;
    });
    operations.push(operation);
    time += 2;
  }
  return operations;
}

function toHistory(planned: readonly PlannedOperation[]): HistoryEvent[] {
  const events: Omit<HistoryEvent, 'index'>[] = [];
  for (const operation of planned) {
    const { process, f } = operation;
    const invokeValue: HistoryEvent['value'] = f === 'send' ? { key: operation.key, value: operation.value } :
      f === 'poll' ? {} : { keys: [], seekToBeginning: true };
    events.push({ time: operation.start, process, type: 'invoke', f, value: invokeValue });
    if (!operation.completes) continue;
    const ok = operation.outcome === 'ok';
    const completeValue: HistoryEvent['value'] =
      f === 'send' ? { key: operation.key, value: operation.value, ...(ok ? { offset: operation.offset! } : {}) } :
      f === 'poll' ? (ok ? { records: operation.records! } : {}) : invokeValue;
    events.push({ time: operation.end, process, type: operation.outcome, f, value: completeValue });
  }
  // A client's next invoke comes strictly after its last completion, so sorting by time keeps each process in order.
  return events.sort((a, b) => a.time - b.time).map((event, index) => ({ index, ...event }));
}
