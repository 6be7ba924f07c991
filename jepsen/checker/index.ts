/**
 * The checkers of the queue and group workloads: pure functions from a history (and, optionally, the replicas'
 * final logs) to a verdict. The anomalies and their definitions are listed in jepsen/README.md.
 */
import type { HistoryEvent, ReplicaLogs } from '../history.js';
import type { Anomaly, AnomalyType, Verdict } from '../verdict.js';
import { commitRegressions, resumeSkips, unprocessed } from './commits.js';
import { drainAnswer } from './drain_answer.js';
import { checkLinearizability } from './linearizable.js';
import { abortedReads, lostWrites, unseen } from './loss.js';
import { duplicates, holes, inconsistentOffsets } from './offsets.js';
import type { Operations, Outcome } from './operations.js';
import { collectOperations } from './operations.js';
import { pollOrderAnomalies } from './polls.js';
import { logStartsOf, replicaDivergence } from './replicas.js';
import { nonmonotonicSends } from './sends.js';
import type { VersionOrders } from './version_order.js';
import { buildVersionOrders } from './version_order.js';

export interface CheckOptions {
  /** Each broker's committed log per key after the run, for the replica checks. */
  readonly replicas?: ReplicaLogs;
  /** The linearizability search's time budget per key; a key that runs out is 'unknown'. */
  readonly linearizabilityTimeMs?: number;
  /** group: the committed-offset checks run too (default queue). */
  readonly workload?: 'queue' | 'group';
  /**
   * false when the final drain gave up on some key: records it did not reach may be lost unseen,
   * so a history with no anomaly is then 'unknown', not valid.
   */
  readonly drainComplete?: boolean;
}

export const LINEARIZABILITY_TIME_MS_DEFAULT = 10_000;

export function checkHistory(history: readonly HistoryEvent[], options: CheckOptions = {}): Verdict {
  const operations = collectOperations(history);
  const orders = buildVersionOrders(operations);
  const logStarts = logStartsOf(options.replicas);
  const linearizability = checkLinearizability(operations, orders, logStarts,
    options.linearizabilityTimeMs ?? LINEARIZABILITY_TIME_MS_DEFAULT);
  const anomalies: Anomaly[] = [
    ...inconsistentOffsets(orders),
    ...duplicates(orders),
    ...onePerValue([...lostWrites(operations.sends, orders),
      ...(options.workload === 'group' ? [] : drainAnswer(operations, logStarts))]),
    ...unseen(operations.sends, orders),
    ...abortedReads(operations.sends, orders),
    ...pollOrderAnomalies(operations, orders),
    ...nonmonotonicSends(operations.sends),
    ...holes(orders, logStarts),
    ...(options.replicas === undefined ? [] : replicaDivergence(options.replicas, orders)),
    ...linearizability.anomalies,
    ...(options.workload === 'group' ? [...commitRegressions(operations.commits), ...resumeSkips(operations),
      ...unprocessed(operations, orders)] : []),
  ];
  const anomalyTypes = [...new Set<AnomalyType>(anomalies.map((anomaly) => anomaly.type))];
  const unknown = Object.values(linearizability.results).includes('unknown') || options.drainComplete === false;
  return {
    valid: anomalies.length > 0 ? false : unknown ? 'unknown' : true,
    anomalyTypes,
    anomalies,
    linearizability: linearizability.results,
    stats: statsOf(operations, orders),
  };
}

/**
 * A record found lost by both the version-order rule and the drain is one anomaly: the first
 * found (evidence names one key and value).
 */
function onePerValue(anomalies: readonly Anomaly[]): Anomaly[] {
  const seen = new Set<string>();
  return anomalies.filter((anomaly) => {
    const { key, value } = anomaly.evidence as { key?: number; value?: number };
    const id = `${anomaly.type}:${String(key)}:${String(value)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function statsOf(operations: Operations, orders: VersionOrders): Verdict['stats'] {
  const outcomes = (items: readonly { readonly outcome: Outcome }[]): Record<Outcome, number> => ({
    ok: items.filter((item) => item.outcome === 'ok').length,
    fail: items.filter((item) => item.outcome === 'fail').length,
    info: items.filter((item) => item.outcome === 'info').length,
  });
  const keys = new Set([...operations.sends.map((send) => send.key), ...orders.keys()]);
  let valuesRead = 0;
  for (const log of orders.values()) valuesRead += log.readers.size;
  const commitOperations = new Map(operations.commits.filter((c) => c.kind === 'commit')
    .map((c) => [c.invokeIndex, { outcome: c.outcome }]));
  return {
    sends: outcomes(operations.sends),
    polls: outcomes(operations.polls),
    commits: outcomes([...commitOperations.values()]),
    keys: keys.size,
    valuesRead,
  };
}
