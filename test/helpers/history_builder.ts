/**
 * Builds small histories by hand for checker tests. Each call records one event at the next tick of
 * a virtual clock (1 µs apart), so the order of calls is the order in time; `begin*` and `end*`
 * interleave operations to make them concurrent, the one-call helpers run an operation alone.
 */
import type { EventType, HistoryEvent, ProcessId, ReadRecord } from '../../jepsen/history.js';

export class HistoryBuilder {
  private readonly events: HistoryEvent[] = [];

  private record(process: ProcessId, type: EventType, f: HistoryEvent['f'], value: HistoryEvent['value'],
    final = false): number {
    const index = this.events.length;
    this.events.push({ index, time: (index + 1) * 1000, process, type, f, value, ...(final ? { final } : {}) });
    return index;
  }

  /**
   * The final drain of `keys` by one process: a rewinding assign, one ok poll per element of
   * `polls`, then the log ends it read (omit a key to leave its end unknown).
   */
  drain(process: number, keys: readonly number[], polls: readonly Readonly<Record<number, readonly ReadRecord[]>>[],
    ends: Readonly<Record<number, number>>): this {
    this.record(process, 'invoke', 'assign', { keys, seekToBeginning: true }, true);
    this.record(process, 'ok', 'assign', { keys, seekToBeginning: true }, true);
    for (const records of polls) {
      this.record(process, 'invoke', 'poll', {}, true);
      this.record(process, 'ok', 'poll', { records }, true);
    }
    this.record(process + 1, 'invoke', 'log-ends', {}, true);
    this.record(process + 1, 'ok', 'log-ends', { ends }, true);
    return this;
  }

  beginSend(process: number, key: number, value: number): this {
    this.record(process, 'invoke', 'send', { key, value });
    return this;
  }

  /** Completes a send: ok with the offset it got, or fail / info without one. */
  endSend(process: number, key: number, value: number, outcome: number | 'fail' | 'info'): this {
    if (typeof outcome === 'number') this.record(process, 'ok', 'send', { key, value, offset: outcome });
    else this.record(process, outcome, 'send', { key, value });
    return this;
  }

  send(process: number, key: number, value: number, outcome: number | 'fail' | 'info'): this {
    return this.beginSend(process, key, value).endSend(process, key, value, outcome);
  }

  beginPoll(process: number): this {
    this.record(process, 'invoke', 'poll', {});
    return this;
  }

  /** Completes a poll: ok with the records it returned per key, or fail / info. */
  endPoll(process: number, records: Readonly<Record<number, readonly ReadRecord[]>> | 'fail' | 'info'): this {
    if (typeof records === 'string') this.record(process, records, 'poll', {});
    else this.record(process, 'ok', 'poll', { records });
    return this;
  }

  poll(process: number, records: Readonly<Record<number, readonly ReadRecord[]>> | 'fail' | 'info'): this {
    return this.beginPoll(process).endPoll(process, records);
  }

  /** An assign with the given rewind choice (assign() always rewinds). */
  assignWith(process: number, keys: readonly number[], seekToBeginning: boolean): this {
    this.record(process, 'invoke', 'assign', { keys, seekToBeginning });
    this.record(process, 'ok', 'assign', { keys, seekToBeginning });
    return this;
  }

  assign(process: number, keys: readonly number[]): this {
    this.record(process, 'invoke', 'assign', { keys, seekToBeginning: true });
    this.record(process, 'ok', 'assign', { keys, seekToBeginning: true });
    return this;
  }

  /** A group member's ok poll that took part in a rebalance (assigned: its whole new assignment). */
  groupPoll(process: number, records: Readonly<Record<number, readonly ReadRecord[]>>,
    rebalance: { readonly assigned?: readonly number[]; readonly revoked?: readonly number[] } = {}): this {
    this.record(process, 'invoke', 'poll', {});
    this.record(process, 'ok', 'poll', { records, ...rebalance });
    return this;
  }

  beginCommit(process: number, member: number, offsets: Readonly<Record<number, number>>): this {
    this.record(process, 'invoke', 'commit', { member, reason: 'processed', offsets });
    return this;
  }

  endCommit(process: number, outcome: 'ok' | 'fail' | 'info'): this {
    this.record(process, outcome, 'commit', null);
    return this;
  }

  /** A commit by `member` under its own (fresh) process id. */
  commit(process: number, member: number, offsets: Readonly<Record<number, number>>,
    outcome: 'ok' | 'fail' | 'info' = 'ok'): this {
    return this.beginCommit(process, member, offsets).endCommit(process, outcome);
  }

  /** An ok read of the group's committed offsets. */
  committed(process: number, offsets: Readonly<Record<number, number>>): this {
    this.record(process, 'invoke', 'committed', {});
    this.record(process, 'ok', 'committed', { offsets });
    return this;
  }

  history(): readonly HistoryEvent[] {
    return this.events;
  }
}
