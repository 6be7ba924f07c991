/**
 * The history of a Jepsen run: one JSON object per line (JSON Lines), documented in
 * jepsen/README.md so any tool can check it. Every module of the harness (workload, nemeses,
 * checkers, report) speaks these types and nothing else.
 *
 * An operation is an `invoke` event followed by one completion from the same process: `ok` (took
 * effect), `fail` (definitely did not) or `info` (unknown: it may take effect at any later time).
 * After an `info` the process id is retired; the client goes on under a fresh id.
 */
import fs from 'node:fs';

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/**
 * Client operations; nemesis events use NemesisFunction. commit and committed: the group workload.
 * log-ends: the final drain's reading of each key's end of log, after it read everything.
 */
export type ClientFunction = 'send' | 'poll' | 'assign' | 'crash' | 'commit' | 'committed' | 'log-ends';
export type NemesisFunction = 'start-fault' | 'stop-fault';

/** The process id of the nemesis; clients are non-negative integers. */
export const NEMESIS = 'nemesis';
export type ProcessId = number | typeof NEMESIS;

/** send: one record with a unique value to one key. `offset` is set on ok (and absent otherwise). */
export interface SendValue {
  readonly key: number;
  readonly value: number;
  readonly offset?: number;
}

/** [offset, value] of one record read. */
export type ReadRecord = readonly [number, number];

/**
 * poll: on invoke `{}`; on ok, what one consumer poll returned, by key (as a decimal string, JSON
 * object keys being strings), each key's records in the order the poll returned them.
 */
export interface PollValue {
  readonly records?: Readonly<Record<string, readonly ReadRecord[]>>;
  /**
   * Group workload, on ok and info: the keys of a rebalance the poll took part in, before its
   * records. `revoked` were dropped (their positions with them); `assigned` is the member's whole
   * new assignment, each key starting at the group's committed offset.
   */
  readonly revoked?: readonly number[];
  readonly assigned?: readonly number[];
}

/** Offsets per key (as a decimal string): the offset of the next record to read. */
export type KeyOffsetMap = Readonly<Record<string, number>>;

/**
 * commit (group workload): a group member commits offsets; `member` is the process id of the
 * member, `reason` why: after it processed records, in onPartitionsRevoked, or (the positive
 * control) before processing them.
 */
export interface CommitValue {
  readonly member: number;
  readonly reason: 'processed' | 'revoked' | 'before-processing';
  readonly offsets: KeyOffsetMap;
}

/** committed (group workload): a read of the group's committed offsets; on ok, what it read. */
export interface CommittedValue {
  readonly offsets?: KeyOffsetMap;
}

/**
 * log-ends (final drain): on ok, each key's high watermark as its leader reported it once the drain
 * had read what it could: the end of the committed log, which no acknowledged or read record may
 * lie beyond. Keys whose leader did not answer are absent.
 */
export interface LogEndsValue {
  readonly ends?: KeyOffsetMap;
}

/** assign: replaces the consumer's keys; seekToBeginning rewinds every one of them. */
export interface AssignValue {
  readonly keys: readonly number[];
  readonly seekToBeginning: boolean;
}

/** A nemesis event: a fault begins (start-fault) or is healed (stop-fault). */
export interface FaultValue {
  /** The nemesis family: kill, pause, partition, power-loss, corrupt, ... */
  readonly family: string;
  /** What exactly: 'kill one', 'isolate 2', 'one-way 1->3', ... */
  readonly description: string;
  /** Broker ids affected. */
  readonly nodes: readonly number[];
}

export interface HistoryEvent {
  /** 0, 1, 2, ... in the order the events were recorded. */
  readonly index: number;
  /** Monotonic nanoseconds since the run began (process.hrtime.bigint based). */
  readonly time: number;
  readonly process: ProcessId;
  readonly type: EventType;
  readonly f: ClientFunction | NemesisFunction;
  readonly value: SendValue | PollValue | AssignValue | CommitValue | CommittedValue | LogEndsValue | FaultValue | null;
  /** Why a fail or info happened: the client error code or message. */
  readonly error?: string;
  /** The broker a client operation went to, when known. */
  readonly node?: number;
  /** True for the final drain's operations (after every fault was healed). */
  readonly final?: boolean;
}

/**
 * What each broker's committed log held after the run, read from its data folder once the
 * cluster was stopped: key -> broker id -> values by offset (index i is offset logStart + i).
 */
export interface ReplicaLogs {
  readonly [key: string]: Readonly<Record<string, { readonly logStart: number; readonly values: readonly number[] }>>;
}

/** Appends events to a JSON Lines file and keeps them in memory for the checkers. */
export class HistoryRecorder {
  private readonly started = process.hrtime.bigint();
  private readonly events: HistoryEvent[] = [];
  private readonly fd: number | null;

  constructor(path: string | null) {
    this.fd = path === null ? null : fs.openSync(path, 'w');
  }

  record(event: Omit<HistoryEvent, 'index' | 'time'>): HistoryEvent {
    const full: HistoryEvent = { index: this.events.length, time: Number(process.hrtime.bigint() - this.started),
      ...event };
    this.events.push(full);
    if (this.fd !== null) fs.writeSync(this.fd, `${JSON.stringify(full)}\n`);
    return full;
  }

  /** Nanoseconds since the run began, on the history's clock. */
  now(): number {
    return Number(process.hrtime.bigint() - this.started);
  }

  history(): readonly HistoryEvent[] {
    return this.events;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
  }
}

export function readHistory(path: string): HistoryEvent[] {
  return fs.readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HistoryEvent);
}

/** Keys map bijectively to partitions: key k is partition k mod 2 of topic `jepsen-<k div 2>`. */
export const PARTITIONS_PER_TOPIC = 2;

export function topicOfKey(key: number): { topic: string; partition: number } {
  return { topic: `jepsen-${Math.floor(key / PARTITIONS_PER_TOPIC)}`, partition: key % PARTITIONS_PER_TOPIC };
}

export function keyOf(topic: string, partition: number): number | null {
  const match = /^jepsen-(\d+)$/.exec(topic);
  return match === null ? null : Number(match[1]) * PARTITIONS_PER_TOPIC + partition;
}
