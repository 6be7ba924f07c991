/**
 * The version order of each key (Jepsen kafka.clj `version-orders`): everything the ok sends and
 * ok polls showed about which value sits at which offset. A value's version-order index is the
 * rank of its offset among all offsets ever seen for the key, so the order stays meaningful even
 * where offsets are missing (holes are reported on their own).
 */
import { assert } from '../../raft/core/assert.js';
import type { Operations } from './operations.js';

export interface HighestRead {
  readonly versionIndex: number;
  readonly offset: number;
  /** The completion event of the poll that read it. */
  readonly pollIndex: number;
}

export interface KeyLog {
  readonly key: number;
  /** offset -> value -> indexes of the completion events that showed that value there. */
  readonly valuesByOffset: Map<number, Map<number, number[]>>;
  /** value -> offset -> indexes of the completion events that showed it there. */
  readonly offsetsByValue: Map<number, Map<number, number[]>>;
  /** Every offset seen, ascending; an offset's position in it is its version-order index. */
  readonly offsets: number[];
  readonly versionIndexOfOffset: Map<number, number>;
  /** value -> completion indexes of the ok polls that read it. */
  readonly readers: Map<number, number[]>;
  highestRead: HighestRead | null;
}

export type VersionOrders = ReadonlyMap<number, KeyLog>;

export function buildVersionOrders(operations: Operations): VersionOrders {
  const logs = new Map<number, KeyLog>();
  const logOf = (key: number): KeyLog => {
    let log = logs.get(key);
    if (log === undefined) {
      log = { key, valuesByOffset: new Map(), offsetsByValue: new Map(), offsets: [],
        versionIndexOfOffset: new Map(), readers: new Map(), highestRead: null };
      logs.set(key, log);
    }
    return log;
  };
  for (const send of operations.sends) {
    if (send.offset === null) continue;
    assert(send.completeIndex !== null, 'a send with an offset completed');
    observe(logOf(send.key), send.offset, send.value, send.completeIndex);
  }
  for (const poll of operations.polls) {
    for (const [key, records] of poll.records) {
      assert(poll.completeIndex !== null, 'a poll with records completed');
      const log = logOf(key);
      for (const [offset, value] of records) {
        observe(log, offset, value, poll.completeIndex);
        pushTo(log.readers, value, poll.completeIndex);
      }
    }
  }
  for (const log of logs.values()) rankOffsets(log);
  for (const poll of operations.polls) {
    for (const [key, records] of poll.records) noteHighestRead(logOf(key), records, poll.completeIndex ?? -1);
  }
  return logs;
}

/** The version-order index of an offset some operation showed; asserting it was seen. */
export function versionIndexOf(log: KeyLog, offset: number): number {
  const versionIndex = log.versionIndexOfOffset.get(offset);
  assert(versionIndex !== undefined, () => `offset ${offset} of key ${log.key} is in the version order`);
  return versionIndex;
}

function observe(log: KeyLog, offset: number, value: number, eventIndex: number): void {
  let values = log.valuesByOffset.get(offset);
  if (values === undefined) {
    values = new Map();
    log.valuesByOffset.set(offset, values);
  }
  pushTo(values, value, eventIndex);
  let offsets = log.offsetsByValue.get(value);
  if (offsets === undefined) {
    offsets = new Map();
    log.offsetsByValue.set(value, offsets);
  }
  pushTo(offsets, offset, eventIndex);
}

function rankOffsets(log: KeyLog): void {
  log.offsets.push(...[...log.valuesByOffset.keys()].sort((a, b) => a - b));
  log.offsets.forEach((offset, versionIndex) => log.versionIndexOfOffset.set(offset, versionIndex));
}

function noteHighestRead(log: KeyLog, records: readonly (readonly [number, number])[], pollIndex: number): void {
  for (const [offset] of records) {
    const versionIndex = versionIndexOf(log, offset);
    if (log.highestRead === null || versionIndex > log.highestRead.versionIndex) {
      log.highestRead = { versionIndex, offset, pollIndex };
    }
  }
}

export function pushTo<K, V>(map: Map<K, V[]>, key: K, item: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else if (list[list.length - 1] !== item) list.push(item);
}
