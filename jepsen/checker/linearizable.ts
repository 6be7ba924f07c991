/**
 * Linearizability of each key's partition as an append-only log (the model is in log_model.ts).
 * Keys are independent objects, so the history is linearizable iff every key's part is
 * (P-compositionality), and each key gets its own search and time budget.
 */
import type { Anomaly, LinearizabilityResult } from '../verdict.js';
import type { LogHistory, LogOperation } from './log_model.js';
import { buildLogHistory, hasSingleLog, logModel } from './log_model.js';
import type { Operations, PollOperation, SendOperation } from './operations.js';
import type { VersionOrders } from './version_order.js';
import { searchLinearization } from './wgl_search.js';
import type { DeadEnd } from './wgl_search.js';

export interface LinearizabilityReport {
  readonly results: Record<string, LinearizabilityResult>;
  readonly anomalies: Anomaly[];
}

export function checkLinearizability(operations: Operations, orders: VersionOrders,
  logStarts: ReadonlyMap<number, number>, budgetMsPerKey: number): LinearizabilityReport {
  const sendsByKey = groupBy(operations.sends, (send) => [send.key]);
  const pollsByKey = groupBy(operations.polls, (poll) => [...poll.records.keys()]);
  const results: Record<string, LinearizabilityResult> = {};
  const anomalies: Anomaly[] = [];
  const keys = [...new Set([...sendsByKey.keys(), ...orders.keys()])].sort((a, b) => a - b);
  for (const key of keys) {
    const log = orders.get(key);
    if (log === undefined) {
      // Nothing was observed: every send failed or is unknown, and all of them may be dropped.
      results[key] = 'linearizable';
      continue;
    }
    if (!hasSingleLog(log)) {
      results[key] = 'nonlinearizable';
      anomalies.push({ type: 'nonlinearizable', key,
        description: `key ${key} is no single log: an offset holds two values or a value two offsets`,
        evidence: { key, reason: 'no single log (see inconsistent-offsets and duplicate)' } });
      continue;
    }
    const history = buildLogHistory(log, sendsByKey.get(key) ?? [], pollsByKey.get(key) ?? [], logStarts.get(key) ?? 0);
    if (history === null) {
      results[key] = 'unknown';
      continue;
    }
    const result = searchLinearization(history.operations, logModel(history), budgetMsPerKey);
    if (result.outcome === 'nonlinearizable') anomalies.push(deadEndAnomaly(key, history, result.deadEnd));
    results[key] = result.outcome === 'linearizable' && history.unknownOffsetCount > 0 ? 'unknown' : result.outcome;
  }
  return { results, anomalies };
}

function deadEndAnomaly(key: number, history: LogHistory, deadEnd: DeadEnd): Anomaly {
  const blocked = history.operations[deadEnd.blockedOperation];
  const appenderIndex = history.appenderOf.get(deadEnd.state);
  const appender = appenderIndex === undefined ? undefined : history.operations[appenderIndex];
  const next = appender === undefined ? `nothing that can append offset ${deadEnd.state}` : describe(appender);
  return {
    type: 'nonlinearizable', key,
    description: `key ${key}: the log reached length ${deadEnd.state}, but ${describe(blocked)} returned ` +
      `before ${next} could take effect`,
    evidence: { key, logLength: deadEnd.state, linearizedCount: deadEnd.linearizedCount, blocked,
      nextAppend: appender ?? null },
  };
}

function describe(operation: LogOperation | undefined): string {
  if (operation === undefined) return 'an unknown operation';
  switch (operation.kind) {
    case 'send': return `the send of offset ${operation.offset} (invoked at ${operation.invokeIndex})`;
    case 'poll': return `the poll reading offset ${operation.offset} (at ${operation.completeIndex})`;
    case 'phantom': return `an unseen append of offset ${operation.offset}`;
  }
}

function groupBy<T extends SendOperation | PollOperation>(items: readonly T[], keysOf: (item: T) => number[]):
  Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    for (const key of keysOf(item)) {
      const group = groups.get(key) ?? [];
      group.push(item);
      groups.set(key, group);
    }
  }
  return groups;
}
