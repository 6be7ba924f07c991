/**
 * Replica checks (ours; compare etcd's LogInv and the NATS harness's per-node loss view): after the
 * run, every broker's committed log of a key must be a prefix of every other's once aligned by
 * offset, and must hold, at each offset the history showed, a value the history showed there.
 *
 * Under membership changes the replicas checked are those the cluster assigns at the end
 * (splitByAssignment): what is left of a replica moved away, or on a decommissioned broker, is no
 * longer maintained (its deletion may be half done), so it is kept aside and not checked.
 */
import { assert } from '../../raft/core/assert.js';
import type { ReplicaLogs } from '../history.js';
import type { Anomaly } from '../verdict.js';
import type { VersionOrders } from './version_order.js';

interface ReplicaLog {
  readonly broker: string;
  readonly logStart: number;
  readonly values: readonly number[];
}

/** A bound on how many mismatching offsets one anomaly lists; the count is always complete. */
const MISMATCHES_LISTED_MAX = 10;

export function replicaDivergence(replicas: ReplicaLogs, orders: VersionOrders): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const [name, byBroker] of Object.entries(replicas)) {
    const key = Number(name);
    assert(Number.isSafeInteger(key) && key >= 0, () => `replica logs name a bad key ${name}`);
    const logs = Object.entries(byBroker).map(([broker, log]) => ({ broker, ...log }));
    for (const log of logs) {
      assert(Number.isSafeInteger(log.logStart) && log.logStart >= 0, () => `bad log start of key ${key}`);
    }
    logs.forEach((first, i) => {
      for (const second of logs.slice(i + 1)) {
        const anomaly = pairDivergence(key, first, second);
        if (anomaly !== null) anomalies.push(anomaly);
      }
    });
    for (const log of logs) {
      const anomaly = historyDivergence(key, log, orders);
      if (anomaly !== null) anomalies.push(anomaly);
    }
  }
  return anomalies;
}

export interface ReplicaSplit {
  /** The replicas assigned at the end (and every replica of a key whose assignment is unknown): checked. */
  readonly current: ReplicaLogs;
  /** Left behind by a move or a decommission: not checked. */
  readonly departed: ReplicaLogs;
  /** Assigned replicas no broker's data folder held a log for. */
  readonly missing: readonly { readonly key: number; readonly broker: number }[];
}

/** assignment: key -> the brokers that hold its partition at the end (replicas and learners of a move under way). */
export function splitByAssignment(replicas: ReplicaLogs, assignment: ReadonlyMap<number, readonly number[]>):
  ReplicaSplit {
  const current: Record<string, ReplicaLogs[string]> = {};
  const departed: Record<string, ReplicaLogs[string]> = {};
  const missing: { key: number; broker: number }[] = [];
  for (const [name, byBroker] of Object.entries(replicas)) {
    const assigned = assignment.get(Number(name));
    for (const [broker, log] of Object.entries(byBroker)) {
      const into = assigned === undefined || assigned.includes(Number(broker)) ? current : departed;
      into[name] = { ...into[name], [broker]: log };
    }
  }
  for (const [key, brokers] of assignment) {
    for (const broker of brokers) {
      if (replicas[String(key)]?.[String(broker)] === undefined) missing.push({ key, broker });
    }
  }
  return { current, departed, missing };
}

/** The latest log start any broker reports per key: below it, records may be gone by retention. */
export function logStartsOf(replicas: ReplicaLogs | undefined): Map<number, number> {
  const logStarts = new Map<number, number>();
  for (const [name, byBroker] of Object.entries(replicas ?? {})) {
    for (const log of Object.values(byBroker)) {
      logStarts.set(Number(name), Math.max(logStarts.get(Number(name)) ?? 0, log.logStart));
    }
  }
  return logStarts;
}

function pairDivergence(key: number, first: ReplicaLog, second: ReplicaLog): Anomaly | null {
  const from = Math.max(first.logStart, second.logStart);
  const to = Math.min(first.logStart + first.values.length, second.logStart + second.values.length);
  const mismatches: { offset: number; values: [number | undefined, number | undefined] }[] = [];
  let count = 0;
  for (let offset = from; offset < to; offset++) {
    const values: [number | undefined, number | undefined] =
      [first.values[offset - first.logStart], second.values[offset - second.logStart]];
    if (values[0] === values[1]) continue;
    count++;
    if (mismatches.length < MISMATCHES_LISTED_MAX) mismatches.push({ offset, values });
  }
  if (count === 0) return null;
  return {
    type: 'replica-divergence', key,
    description: `key ${key}: brokers ${first.broker} and ${second.broker} differ at ${count} offset(s), ` +
      `first at ${mismatches[0]?.offset}`,
    evidence: { key, brokers: [first.broker, second.broker], count, mismatches },
  };
}

function historyDivergence(key: number, log: ReplicaLog, orders: VersionOrders): Anomaly | null {
  const shown = orders.get(key)?.valuesByOffset;
  if (shown === undefined) return null;
  const mismatches: { offset: number; replicaValue: number; historyValues: number[] }[] = [];
  let count = 0;
  log.values.forEach((replicaValue, i) => {
    const historyValues = shown.get(log.logStart + i);
    if (historyValues === undefined || historyValues.has(replicaValue)) return;
    count++;
    if (mismatches.length < MISMATCHES_LISTED_MAX) {
      mismatches.push({ offset: log.logStart + i, replicaValue, historyValues: [...historyValues.keys()] });
    }
  });
  if (count === 0) return null;
  return {
    type: 'replica-divergence', key,
    description: `key ${key}: broker ${log.broker} holds ${count} value(s) the history shows elsewhere, ` +
      `first at offset ${mismatches[0]?.offset}`,
    evidence: { key, broker: log.broker, count, mismatches },
  };
}
