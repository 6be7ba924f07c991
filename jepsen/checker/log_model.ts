/**
 * One key's partition as an append-only log object, in the form the linearizability search takes
 * (research/jepsen.md section 5).
 *
 * Values are unique and the ok operations showed where each one sits, so the full log L (offset ->
 * value) is fixed before the search, and the state is only the log's length n. Then:
 * - an ok send that got offset b appends L[b]: legal only when n == b, and it makes n = b + 1;
 * - a failed send definitely did nothing: it is dropped;
 * - an info send (or one that never completed) whose value sits in L at o is the append of L[o]; it
 *   may take effect at any time after its invoke, so its return is the end of the history. If its
 *   value is nowhere in L it either never happened or is indistinguishable from that: dropped;
 * - an ok poll that read offsets up to m is legal whenever n > m. Polls do not report a high
 *   watermark, so a stale read is allowed; reading past the end (a future read) is not;
 * - an offset no operation showed (a hole, reported on its own) may hold a record some info send
 *   wrote unseen. It gets a phantom append that may happen at any time, so the search stays sound
 *   (it can only accept more), and a success that needed such phantoms at or above the log start
 *   proves nothing: 'unknown'. An offset whose value no send can have appended (its send failed,
 *   or nobody sent it) gets nothing: the log can never grow past it.
 * Real time then does the rest: a send acknowledged before another was invoked must take the lower
 * offset, and a poll cannot have read offset o before the send writing o was invoked.
 */
import { assert } from '../../raft/core/assert.js';
import type { PollOperation, SendOperation } from './operations.js';
import type { KeyLog } from './version_order.js';
import type { SearchModel, SearchOperation } from './wgl_search.js';

export interface LogOperation extends SearchOperation {
  readonly kind: 'send' | 'poll' | 'phantom';
  /** The offset a send or phantom appends, or the highest offset a poll read. */
  readonly offset: number;
  readonly invokeIndex: number | null;
  readonly completeIndex: number | null;
}

export interface LogHistory {
  readonly operations: readonly LogOperation[];
  /** Offset -> the operation that appends it. */
  readonly appenderOf: ReadonlyMap<number, number>;
  /** Phantom appends at or above the log start: the search cannot prove linearizability past them. */
  readonly unknownOffsetCount: number;
}

/** A bound on phantom appends; a key needing more (a wild offset) is left 'unknown'. */
export const PHANTOM_OFFSETS_MAX = 100_000;

/** True when L is well defined: one value per offset and one offset per value. */
export function hasSingleLog(log: KeyLog): boolean {
  return [...log.valuesByOffset.values()].every((values) => values.size === 1) &&
    [...log.offsetsByValue.values()].every((offsets) => offsets.size === 1);
}

/** The operations of one key for the search, or null when too many offsets are unknown. */
export function buildLogHistory(log: KeyLog, sends: readonly SendOperation[], polls: readonly PollOperation[],
  logStart: number): LogHistory | null {
  assert(hasSingleLog(log), () => `key ${log.key} has a single log`);
  const highestOffset = log.offsets[log.offsets.length - 1] ?? -1;
  if (highestOffset + 1 - log.offsets.length > PHANTOM_OFFSETS_MAX) return null;
  const operations: LogOperation[] = [];
  const appenderOf = new Map<number, number>();
  const addAppend = (operation: LogOperation): void => {
    assert(!appenderOf.has(operation.offset), () => `key ${log.key} offset ${operation.offset} has one appender`);
    appenderOf.set(operation.offset, operations.length);
    operations.push(operation);
  };
  for (const send of sends) {
    const offsets = log.offsetsByValue.get(send.value);
    const offset = offsets === undefined ? undefined : [...offsets.keys()][0];
    if (send.outcome === 'fail' || offset === undefined) continue;
    assert(send.offset === null || send.offset === offset, () => `send ${send.completeIndex} sits at its offset`);
    addAppend({ kind: 'send', offset, invokeIndex: send.invokeIndex, completeIndex: send.completeIndex,
      callTime: send.invokeTime, returnTime: send.outcome === 'ok' ? send.completeTime ?? Infinity : Infinity,
      stableRead: false });
  }
  let unknownOffsetCount = 0;
  for (let offset = 0; offset < highestOffset; offset++) {
    if (log.valuesByOffset.has(offset)) continue;
    if (offset >= logStart) unknownOffsetCount++;
    addAppend({ kind: 'phantom', offset, invokeIndex: null, completeIndex: null,
      callTime: -Infinity, returnTime: Infinity, stableRead: false });
  }
  for (const poll of polls) {
    const records = poll.records.get(log.key);
    if (records === undefined || poll.outcome !== 'ok') continue;
    addRead(operations, poll, Math.max(...records.map(([offset]) => offset)));
  }
  return { operations, appenderOf, unknownOffsetCount };
}

function addRead(operations: LogOperation[], poll: PollOperation, offset: number): void {
  assert(poll.completeTime !== null, 'an ok poll completed');
  operations.push({ kind: 'poll', offset, invokeIndex: poll.invokeIndex, completeIndex: poll.completeIndex,
    callTime: poll.invokeTime, returnTime: poll.completeTime, stableRead: true });
}

/** The sequential specification: the state is the log's length. */
export function logModel(history: LogHistory): SearchModel {
  return {
    initialState: 0,
    step(length: number, index: number): number | null {
      const operation = history.operations[index];
      assert(operation !== undefined, () => `operation ${index} exists`);
      if (operation.kind === 'poll') return length > operation.offset ? length : null;
      return length === operation.offset ? length + 1 : null;
    },
  };
}
