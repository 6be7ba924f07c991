/**
 * The group workload's checks of committed offsets (ours; Jepsen's Kafka suite has none):
 *
 * - commit-regression: a key's committed offset went back. Observations are ok commits (they wrote
 *   an offset) and ok `committed` reads (they read one); one that begins after another has ended
 *   must not hold a lower offset. Members only ever commit the offset after records they
 *   processed, resuming where the group's committed offset was, so in a correct system every
 *   later observation is at or above every earlier one.
 * - resume-skip: a member that is given a key (a new member, or a rebalance its poll took part
 *   in) must resume at the group's committed offset; its first record of the key must then be at
 *   or below the highest offset any commit of the key that had begun by then (ok, unknown or never
 *   completed) could have written, or at 0 (earliest) when none had. A higher first offset means
 *   records below the committed offset were skipped.
 * - unprocessed: below.
 */
import type { Anomaly } from '../verdict.js';
import type { CommitObservation, Operations, SendOperation } from './operations.js';
import type { VersionOrders } from './version_order.js';

export function commitRegressions(commits: readonly CommitObservation[]): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const byKey = groupByKey(commits.filter((c) => c.outcome === 'ok'));
  for (const [key, observations] of byKey) {
    const byEnd = observations.filter((o) => o.completeTime !== null)
      .sort((a, b) => (a.completeTime ?? 0) - (b.completeTime ?? 0));
    const byStart = [...observations].sort((a, b) => a.invokeTime - b.invokeTime);
    let highest: CommitObservation | null = null;
    let next = 0;
    for (const later of byStart) {
      for (; next < byEnd.length && (byEnd[next]?.completeTime ?? Infinity) < later.invokeTime; next += 1) {
        const earlier = byEnd[next];
        if (earlier !== undefined && (highest === null || earlier.offset > highest.offset)) highest = earlier;
      }
      if (highest === null || later.offset >= highest.offset) continue;
      anomalies.push({
        type: 'commit-regression', key,
        description: `key ${key}: ${describe(later)} holds offset ${later.offset}, after ${describe(highest)} ` +
          `had ${highest.kind === 'read' ? 'read' : 'committed'} ${highest.offset}`,
        evidence: { key, earlier: evidenceOf(highest), later: evidenceOf(later) },
      });
    }
  }
  return anomalies;
}

export function resumeSkips(operations: Operations): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const commitsByKey = groupByKey(operations.commits.filter((c) => c.kind === 'commit'));
  const steps = [
    ...operations.polls.filter((poll) => poll.outcome === 'ok').map((poll) => ({ index: poll.invokeIndex, poll })),
    ...operations.consumerResets.map((reset) => ({ index: reset.invokeIndex, poll: null, process: reset.process })),
  ].sort((a, b) => a.index - b.index || (a.poll === null ? -1 : 0) - (b.poll === null ? -1 : 0));
  /** Per process, the keys it has read since its last reset. */
  const resumed = new Map<number | string, Set<number>>();
  for (const step of steps) {
    if (step.poll === null) {
      resumed.delete(step.process);
      continue;
    }
    const { poll } = step;
    const seen = resumed.get(poll.process) ?? new Set<number>();
    resumed.set(poll.process, seen);
    for (const [key, records] of poll.records) {
      const first = records[0];
      if (seen.has(key) || first === undefined) continue;
      seen.add(key);
      // Commits begun before this poll ended: the committed offset it resumed at is at most their highest.
      const begun = (commitsByKey.get(key) ?? []).filter((c) => c.invokeTime < (poll.completeTime ?? Infinity));
      const bound = begun.reduce<CommitObservation | null>(
        (best, c) => (best === null || c.offset > best.offset ? c : best), null);
      const highest = bound?.offset ?? 0;
      if (first[0] <= highest) continue;
      anomalies.push({
        type: 'resume-skip', key,
        description: `key ${key}: process ${poll.process} resumed at offset ${first[0]} in poll ${poll.completeIndex}, ` +
          `above the highest offset any commit begun by then could have written (${highest}): ` +
          `${first[0] - highest} record(s) skipped`,
        evidence: { key, process: poll.process, pollIndex: poll.completeIndex, firstOffset: first[0],
          highestCommit: bound === null ? null : evidenceOf(bound) },
      });
    }
  }
  return anomalies;
}

function groupByKey(observations: readonly CommitObservation[]): Map<number, CommitObservation[]> {
  const byKey = new Map<number, CommitObservation[]>();
  for (const o of observations) {
    const list = byKey.get(o.key) ?? [];
    list.push(o);
    byKey.set(o.key, list);
  }
  return byKey;
}

function describe(o: CommitObservation): string {
  return o.kind === 'read' ? `the committed read ${o.invokeIndex}`
    : `the commit ${o.invokeIndex} (member ${o.member ?? '?'})`;
}

function evidenceOf(o: CommitObservation): Record<string, unknown> {
  return { kind: o.kind, offset: o.offset, member: o.member, outcome: o.outcome, invokeIndex: o.invokeIndex,
    completeIndex: o.completeIndex };
}

/**
 * unprocessed: at-least-once, judged against the group's own word. Every ok-sent record below its
 * key's final committed offset (the last ok `committed` read, else the highest ok commit) must have
 * been processed: read by some ok poll of a member. One anomaly per key.
 */
export function unprocessed(operations: Operations, orders: VersionOrders): Anomaly[] {
  const finalCommitted = new Map<number, CommitObservation>();
  const reads = operations.commits.filter((c) => c.outcome === 'ok' && c.kind === 'read');
  const source = reads.length > 0 ? reads : operations.commits.filter((c) => c.outcome === 'ok');
  for (const o of source) {
    const held = finalCommitted.get(o.key);
    const later = held === undefined || (reads.length > 0 ? (o.completeTime ?? 0) > (held.completeTime ?? 0)
      : o.offset > held.offset);
    if (later) finalCommitted.set(o.key, o);
  }
  const missed = new Map<number, SendOperation[]>();
  for (const send of operations.sends) {
    const committed = finalCommitted.get(send.key);
    if (send.outcome !== 'ok' || send.offset === null || committed === undefined || send.offset >= committed.offset
      || orders.get(send.key)?.readers.has(send.value) === true) continue;
    const list = missed.get(send.key) ?? [];
    list.push(send);
    missed.set(send.key, list);
  }
  return [...missed].map(([key, sends]) => {
    const committed = finalCommitted.get(key);
    const offsets = sends.map((send) => send.offset ?? -1).sort((a, b) => a - b);
    return {
      type: 'unprocessed', key,
      description: `key ${key}: ${sends.length} acknowledged record(s) below the committed offset ${committed?.offset} ` +
        `were never processed by a member (first offset ${offsets[0]})`,
      evidence: { key, committed: committed === undefined ? null : evidenceOf(committed), offsets,
        values: sends.map((send) => send.value) },
    };
  });
}
