/**
 * Checks on the shape of each key's log as the history showed it: one value per offset
 * (inconsistent-offsets), one offset per value (duplicate), and no missing offsets (hole; ours,
 * because Tributary's offsets are dense: an entry's base offset counts every earlier record).
 */
import type { Anomaly } from '../verdict.js';
import type { KeyLog, VersionOrders } from './version_order.js';

export function inconsistentOffsets(orders: VersionOrders): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const log of orders.values()) {
    for (const offset of log.offsets) {
      const values = log.valuesByOffset.get(offset);
      if (values === undefined || values.size < 2) continue;
      anomalies.push({
        type: 'inconsistent-offsets', key: log.key,
        description: `key ${log.key} offset ${offset} holds ${values.size} values: ${[...values.keys()].join(', ')}`,
        evidence: { key: log.key, offset, values: [...values].map(([value, indexes]) => ({ value, indexes })) },
      });
    }
  }
  return anomalies;
}

export function duplicates(orders: VersionOrders): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const log of orders.values()) {
    for (const [value, offsets] of log.offsetsByValue) {
      if (offsets.size < 2) continue;
      anomalies.push({
        type: 'duplicate', key: log.key,
        description: `key ${log.key} value ${value} sits at ${offsets.size} offsets: ${[...offsets.keys()].join(', ')}`,
        evidence: { key: log.key, value, offsets: [...offsets].map(([offset, indexes]) => ({ offset, indexes })) },
      });
    }
  }
  return anomalies;
}

/**
 * Offsets from the log start up to the highest offset seen that no ok send or ok poll ever showed,
 * one anomaly per missing range. The log start is 0 unless the replicas report a later one (records
 * removed by retention were never required to be read).
 */
export function holes(orders: VersionOrders, logStarts: ReadonlyMap<number, number>): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const log of orders.values()) {
    const logStart = logStarts.get(log.key) ?? 0;
    for (const range of missingRanges(log, logStart)) {
      const highestOffset = log.offsets[log.offsets.length - 1];
      anomalies.push({
        type: 'hole', key: log.key,
        description: `key ${log.key} offsets ${range.from}..${range.to} were never seen, below offset ${highestOffset}`,
        evidence: { key: log.key, from: range.from, to: range.to, logStart, highestOffset },
      });
    }
  }
  return anomalies;
}

/** Inclusive ranges of offsets at or above logStart, below the highest seen, that nothing showed. */
export function missingRanges(log: KeyLog, logStart: number): { from: number; to: number }[] {
  const ranges: { from: number; to: number }[] = [];
  let expected = logStart;
  for (const offset of log.offsets) {
    if (offset < logStart) continue;
    if (offset > expected) ranges.push({ from: expected, to: offset - 1 });
    expected = offset + 1;
  }
  return ranges;
}
