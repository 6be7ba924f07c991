/**
 * Pairs a history's invoke events with their completions into operations, the unit every checker
 * reasons about. A process runs one operation at a time, so its next event after an invoke is that
 * invoke's completion. An invoke the history never completed is treated as `info`: it may have taken
 * effect at any time after it began.
 */
import { assert } from '../../raft/core/assert.js';
import { NEMESIS } from '../history.js';
import type { AssignValue, CommittedValue, CommitValue, HistoryEvent, LogEndsValue, PollValue, ProcessId, ReadRecord,
  SendValue } from '../history.js';

export type Outcome = 'ok' | 'fail' | 'info';

interface OperationTimes {
  readonly process: ProcessId;
  readonly outcome: Outcome;
  readonly invokeIndex: number;
  /** The completion event's index; null when the history ended first. */
  readonly completeIndex: number | null;
  readonly invokeTime: number;
  readonly completeTime: number | null;
}

export interface SendOperation extends OperationTimes {
  readonly key: number;
  readonly value: number;
  /** Set exactly when the outcome is ok. */
  readonly offset: number | null;
}

export interface PollOperation extends OperationTimes {
  /** Per key, the records in the order the poll returned them; empty unless the outcome is ok. */
  readonly records: ReadonlyMap<number, readonly ReadRecord[]>;
  /** A poll of the final drain. */
  readonly final: boolean;
}

/**
 * A process replaced or rebuilt its consumer (assign or crash), or a group rebalance it took part
 * in changed its partitions (a poll with `revoked` or `assigned`, before that poll's records): its
 * poll positions start over.
 */
export interface ConsumerReset {
  readonly process: ProcessId;
  readonly invokeIndex: number;
  /**
   * An assign's keys and whether it rewound them: a key it keeps without a rewind continues where
   * the process last read it, a rewound one starts at the log start. Absent for a crash or a
   * rebalance (every key starts over).
   */
  readonly assign?: { readonly keys: readonly number[]; readonly seekToBeginning: boolean };
}

/**
 * Group workload: one committed-offset observation per key, from an ok or unknown commit (which
 * wrote it) or an ok `committed` read (which read it). completeTime is null when it never
 * completed; outcome info means it may have been written at any time after its invoke.
 */
export interface CommitObservation extends OperationTimes {
  readonly kind: 'commit' | 'read';
  readonly key: number;
  readonly offset: number;
  /** The member that committed (commits only). */
  readonly member: number | null;
}

export interface Operations {
  readonly sends: readonly SendOperation[];
  readonly polls: readonly PollOperation[];
  readonly consumerResets: readonly ConsumerReset[];
  /** Group workload: commits (ok and info; failed ones wrote nothing) and committed reads (ok). */
  readonly commits: readonly CommitObservation[];
  /**
   * The final drain's end of each key's log (its high watermark after the drain), the highest when
   * read more than once; empty when the history has no drain or the drain did not read them.
   */
  readonly logEnds: ReadonlyMap<number, number>;
}

export function collectOperations(history: readonly HistoryEvent[]): Operations {
  const sends: SendOperation[] = [];
  const polls: PollOperation[] = [];
  const consumerResets: ConsumerReset[] = [];
  const commits: CommitObservation[] = [];
  const logEnds = new Map<number, number>();
  const pending = new Map<ProcessId, HistoryEvent>();
  const finish = (invoke: HistoryEvent, completion: HistoryEvent | null): void => {
    if (invoke.f === 'send') sends.push(sendOperation(invoke, completion));
    else if (invoke.f === 'poll') {
      polls.push(pollOperation(invoke, completion));
      const value = completion?.value as PollValue | null | undefined;
      if (value?.assigned !== undefined || (value?.revoked?.length ?? 0) > 0) {
        consumerResets.push({ process: invoke.process, invokeIndex: invoke.index });
      }
    } else if (invoke.f === 'commit' || invoke.f === 'committed') {
      commits.push(...commitObservations(invoke, completion));
    } else if (invoke.f === 'log-ends' && completion?.type === 'ok') {
      const ends = (completion.value as LogEndsValue | null)?.ends ?? {};
      for (const [key, end] of offsetEntries(ends, completion.index)) {
        logEnds.set(key, Math.max(end, logEnds.get(key) ?? 0));
      }
    }
  };
  history.forEach((event, position) => {
    assert(event.index === position, () => `history event at position ${position} has index ${event.index}`);
    if (event.process === NEMESIS) return;
    const invoke = pending.get(event.process);
    if (event.type === 'invoke') {
      assert(invoke === undefined, () => `process ${event.process} invoked at ${event.index} while busy`);
      pending.set(event.process, event);
      if (event.f === 'crash') consumerResets.push({ process: event.process, invokeIndex: event.index });
      if (event.f === 'assign') {
        const { keys, seekToBeginning } = event.value as AssignValue;
        consumerResets.push({ process: event.process, invokeIndex: event.index, assign: { keys, seekToBeginning } });
      }
      return;
    }
    assert(invoke !== undefined, () => `event ${event.index} completes nothing for process ${event.process}`);
    assert(invoke.f === event.f, () => `event ${event.index} completes a ${invoke.f} with a ${event.f}`);
    pending.delete(event.process);
    finish(invoke, event);
  });
  for (const invoke of pending.values()) finish(invoke, null);
  // Every check identifies a record by its key and value, so the workload must never repeat a pair.
  const sentValues = new Set(sends.map((send) => `${send.key}:${send.value}`));
  assert(sentValues.size === sends.length, 'every send carries a value unique within its key');
  return { sends, polls, consumerResets, commits, logEnds };
}

function times(invoke: HistoryEvent, completion: HistoryEvent | null): OperationTimes {
  if (completion !== null) {
    assert(completion.time >= invoke.time, () => `event ${completion.index} completes before its invoke`);
  }
  return {
    process: invoke.process,
    outcome: completion === null ? 'info' : outcomeOf(completion),
    invokeIndex: invoke.index,
    completeIndex: completion?.index ?? null,
    invokeTime: invoke.time,
    completeTime: completion?.time ?? null,
  };
}

function outcomeOf(completion: HistoryEvent): Outcome {
  const type = completion.type;
  assert(type !== 'invoke', () => `event ${completion.index} is an invoke, not a completion`);
  return type;
}

function sendOperation(invoke: HistoryEvent, completion: HistoryEvent | null): SendOperation {
  const base = times(invoke, completion);
  const sent = invoke.value as SendValue;
  assert(Number.isSafeInteger(sent.key) && Number.isSafeInteger(sent.value), () => `bad send at ${invoke.index}`);
  const result = completion?.value as SendValue | null | undefined;
  const offset = base.outcome === 'ok' ? result?.offset : undefined;
  assert(base.outcome !== 'ok' || (offset !== undefined && Number.isSafeInteger(offset) && offset >= 0),
    () => `ok send ${completion?.index} carries no offset`);
  assert(result === null || result === undefined || (result.key === sent.key && result.value === sent.value),
    () => `send completion ${completion?.index} names another key or value than its invoke`);
  return { ...base, key: sent.key, value: sent.value, offset: offset ?? null };
}

function pollOperation(invoke: HistoryEvent, completion: HistoryEvent | null): PollOperation {
  const base = times(invoke, completion);
  const records = new Map<number, readonly ReadRecord[]>();
  if (base.outcome === 'ok') {
    const polled = (completion?.value as PollValue | null | undefined)?.records ?? {};
    for (const [name, keyRecords] of Object.entries(polled)) {
      const key = Number(name);
      assert(Number.isSafeInteger(key) && key >= 0, () => `poll ${completion?.index} reads bad key ${name}`);
      for (const [offset, value] of keyRecords) {
        assert(Number.isSafeInteger(offset) && offset >= 0 && Number.isSafeInteger(value),
          () => `poll ${completion?.index} reads a bad record of key ${key}`);
      }
      if (keyRecords.length > 0) records.set(key, keyRecords);
    }
  }
  return { ...base, records, final: invoke.final === true };
}

function commitObservations(invoke: HistoryEvent, completion: HistoryEvent | null): CommitObservation[] {
  const base = times(invoke, completion);
  if (invoke.f === 'commit') {
    // A commit refused for sure wrote nothing; our harness records every uncertain one as info.
    if (base.outcome === 'fail') return [];
    const value = invoke.value as CommitValue;
    return offsetEntries(value.offsets, invoke.index).map(([key, offset]) =>
      ({ ...base, kind: 'commit', key, offset, member: value.member }));
  }
  if (base.outcome !== 'ok') return [];
  const read = (completion?.value as CommittedValue | null | undefined)?.offsets ?? {};
  return offsetEntries(read, invoke.index).map(([key, offset]) => ({ ...base, kind: 'read', key, offset, member: null }));
}

function offsetEntries(offsets: Readonly<Record<string, number>>, index: number): [number, number][] {
  return Object.entries(offsets).map(([name, offset]) => {
    const key = Number(name);
    assert(Number.isSafeInteger(key) && key >= 0 && Number.isSafeInteger(offset) && offset >= 0,
      () => `event ${index} carries a bad offset ${name}: ${offset}`);
    return [key, offset];
  });
}
