/**
 * The final drain is the final answer (queue workload). After every fault is healed, the drain reads
 * every key from its log start and then records where each key's log ends (its high watermark, a
 * `log-ends` operation). What the drain returned is the log; what the run acknowledged and read must
 * be in it, at the same offset with the same value:
 * - lost-write: an acknowledged send the drain did not return at its offset, though it read that
 *   offset or a later one, or though the log now ends at or below that offset;
 * - lost-read: the same for a record an ok poll of the run returned (a record read once and gone
 *   since, at the head, in the middle or at the tail of the log).
 * Offsets below the key's log start (retention) are excused. An offset the drain did not reach
 * while the log end says it exists is judged by nobody here: the drain was incomplete, which makes
 * the verdict unknown unless something else is wrong.
 */
import type { Anomaly, AnomalyType } from '../verdict.js';
import type { Operations } from './operations.js';

/** What the drain showed of one key: its records by offset, and how far that settles the log. */
interface DrainedKey {
  readonly valueAt: ReadonlyMap<number, number>;
  /** The highest offset the drain read, -1 when none. */
  readonly highestRead: number;
  /** The key's high watermark after the drain; undefined when its leader did not say. */
  readonly end: number | undefined;
}

export function drainAnswer(operations: Operations, logStarts: ReadonlyMap<number, number>): Anomaly[] {
  const drained = drainedKeys(operations);
  if (drained.size === 0) return [];
  const anomalies: Anomaly[] = [];
  const judge = (type: AnomalyType, key: number, value: number, offset: number, what: string,
    evidence: object): void => {
    const log = drained.get(key);
    if (log === undefined || offset < (logStarts.get(key) ?? 0)) return;
    const beyondEnd = log.end !== undefined && offset >= log.end;
    const reached = offset <= log.highestRead;
    if (!beyondEnd && !reached) return;
    const found = log.valueAt.get(offset);
    if (!beyondEnd && found === value) return;
    const why = beyondEnd ? `the log ends at ${String(log.end)} after the drain`
      : found === undefined ? `the drain read past it (to offset ${log.highestRead}) without it`
        : `the drain read value ${found} there`;
    anomalies.push({ type, key, description: `key ${key} value ${value} ${what} offset ${offset}, but ${why}`,
      evidence: { key, value, offset, drained: found ?? null, highestDrained: log.highestRead, logEnd: log.end ?? null,
        ...evidence } });
  };
  for (const send of operations.sends) {
    if (send.outcome !== 'ok' || send.offset === null) continue;
    judge('lost-write', send.key, send.value, send.offset, 'was acknowledged at',
      { invokeIndex: send.invokeIndex, completeIndex: send.completeIndex });
  }
  // One anomaly per record read, however many polls read it.
  const judged = new Set<string>();
  for (const poll of operations.polls) {
    if (poll.final || poll.outcome !== 'ok') continue;
    for (const [key, records] of poll.records) {
      for (const [offset, value] of records) {
        const id = `${key}:${offset}:${value}`;
        if (judged.has(id)) continue;
        judged.add(id);
        judge('lost-read', key, value, offset, `was read by poll ${poll.completeIndex ?? poll.invokeIndex} at`,
          { pollIndex: poll.completeIndex });
      }
    }
  }
  return anomalies;
}

/** Per key the drain assigned, what its ok polls returned and the log end it recorded. */
function drainedKeys(operations: Operations): Map<number, DrainedKey> {
  const valueAt = new Map<number, Map<number, number>>();
  for (const poll of operations.polls) {
    if (!poll.final || poll.outcome !== 'ok') continue;
    for (const [key, records] of poll.records) {
      const values = valueAt.get(key) ?? new Map<number, number>();
      for (const [offset, value] of records) values.set(offset, value);
      valueAt.set(key, values);
    }
  }
  const keys = new Set([...valueAt.keys(), ...operations.logEnds.keys()]);
  return new Map([...keys].map((key) => {
    const values = valueAt.get(key) ?? new Map<number, number>();
    return [key, { valueAt: values, highestRead: Math.max(-1, ...values.keys()), end: operations.logEnds.get(key) }];
  }));
}
