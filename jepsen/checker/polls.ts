/**
 * Consumer order checks (Jepsen kafka.clj `poll-skip+nonmonotonic-cases` and
 * `int-poll-skip+nonmonotonic-cases`). A consumer with a fixed assignment must read each key as a
 * contiguous, ascending walk of the version order: each record one version-order index after the
 * one before it, within a poll and from one ok poll of a process to its next. An assign or crash
 * by the process, or a group rebalance its poll took part in, starts its walk over, except that an
 * assign continues the walk of each key it keeps, and an assign that rewinds must read each key
 * from the log's first record (version-order index 0). Only ok polls
 * count: our client rolls a failed poll's
 * position back, as Jepsen's does.
 */
import { assert } from '../../raft/core/assert.js';
import type { ProcessId } from '../history.js';
import type { Anomaly, AnomalyType } from '../verdict.js';
import type { ConsumerReset, Operations, PollOperation } from './operations.js';
import type { VersionOrders } from './version_order.js';
import { versionIndexOf } from './version_order.js';

interface ReadPoint {
  readonly offset: number;
  readonly versionIndex: number;
  readonly pollIndex: number;
}

export function pollOrderAnomalies(operations: Operations, orders: VersionOrders): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const steps: { readonly index: number; readonly poll: PollOperation | null; readonly reset: ConsumerReset | null;
    readonly process: ProcessId }[] = [
    ...operations.polls.filter((poll) => poll.outcome === 'ok')
      .map((poll) => ({ index: poll.invokeIndex, poll, reset: null, process: poll.process })),
    ...operations.consumerResets.map((reset) =>
      ({ index: reset.invokeIndex, poll: null, reset, process: reset.process })),
  // A reset sorts before a poll of the same index: a poll's rebalance came before its records.
  ].sort((a, b) => a.index - b.index || (a.poll === null ? -1 : 0) - (b.poll === null ? -1 : 0));
  const lastReads = new Map<ProcessId, Map<number, ReadPoint>>();
  for (const step of steps) {
    if (step.reset !== null) {
      const assign = step.reset.assign;
      const positions = lastReads.get(step.process);
      if (assign === undefined || positions === undefined) {
        lastReads.delete(step.process);
        continue;
      }
      // Kept keys continue where they were; a rewind starts before the log's first record.
      for (const key of [...positions.keys()]) if (!assign.keys.includes(key)) positions.delete(key);
      if (assign.seekToBeginning) {
        for (const key of assign.keys) positions.set(key, { offset: -1, versionIndex: -1, pollIndex: -1 });
      }
      continue;
    }
    if (step.poll === null) continue;
    const positions = lastReads.get(step.process) ?? new Map<number, ReadPoint>();
    lastReads.set(step.process, positions);
    const pollIndex = step.poll.completeIndex;
    assert(pollIndex !== null, 'an ok poll completed');
    for (const [key, records] of step.poll.records) {
      const log = orders.get(key);
      assert(log !== undefined, () => `key ${key}, read by poll ${pollIndex}, has a version order`);
      const points = records.map(([offset]) => ({ offset, versionIndex: versionIndexOf(log, offset), pollIndex }));
      let previous = positions.get(key);
      points.forEach((point, i) => {
        const anomaly = previous === undefined ? null : i === 0 ?
          compare(key, previous, point, 'poll-skip', 'nonmonotonic-poll') :
          compare(key, previous, point, 'int-poll-skip', 'int-nonmonotonic-poll');
        if (anomaly !== null) anomalies.push(anomaly);
        previous = point;
      });
      if (previous !== undefined) positions.set(key, previous);
    }
  }
  return anomalies;
}

/** The next read must be exactly one version-order index after the previous one. */
function compare(key: number, previous: ReadPoint, next: ReadPoint, skip: AnomalyType, nonmonotonic: AnomalyType):
  Anomaly | null {
  const delta = next.versionIndex - previous.versionIndex;
  if (delta === 1) return null;
  const type = delta > 1 ? skip : nonmonotonic;
  const what = delta > 1 ? `skipping ${delta - 1} version(s)` : 'going back';
  const within = previous.pollIndex === next.pollIndex ? `within poll ${next.pollIndex}` :
    `from poll ${previous.pollIndex} to poll ${next.pollIndex}`;
  const rewound = previous.versionIndex === -1;
  return {
    type, key,
    description: rewound ? `key ${key} was rewound, but poll ${next.pollIndex} first read offset ${next.offset}, ` +
      `${what} after the log's first record` : `key ${key} read offset ${previous.offset} then ${next.offset} ${within}, ${what}`,
    evidence: { key, previous, next, delta },
  };
}
