/**
 * Goal: each checker reports its anomaly exactly when the history shows it, and nothing else
 * does. Method: small handmade histories, one per anomaly, compared against the full set of
 * anomaly types they must produce (several anomalies imply a violation of the log model, so
 * 'nonlinearizable' comes with them); then histories of a simulated correct system, which must be
 * valid, and the same with one injected fault, which must not be.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { checkHistory } from '../../jepsen/checker/index.js';
import type { HistoryEvent, PollValue, ReadRecord, ReplicaLogs, SendValue } from '../../jepsen/history.js';
import type { AnomalyType, Verdict } from '../../jepsen/verdict.js';
import { HistoryBuilder } from '../helpers/history_builder.js';
import { simulateLinearizableLogs } from '../helpers/log_simulation.js';

const K = 0;

function expectTypes(verdict: Verdict, expected: readonly AnomalyType[]): void {
  assert.deepEqual([...verdict.anomalyTypes].sort(), [...expected].sort(), JSON.stringify(verdict.anomalies, null, 1));
  if (expected.length > 0) assert.equal(verdict.valid, false);
}

/** Three values acknowledged at offsets 0..2 of key K by process 1. */
function threeSends(): HistoryBuilder {
  return new HistoryBuilder().send(1, K, 10, 0).send(1, K, 11, 1).send(1, K, 12, 2);
}

const ALL: readonly ReadRecord[] = [[0, 10], [1, 11], [2, 12]];

void describe('checkHistory on handmade histories', () => {
  void test('a clean history is valid, linearizable, and counted', () => {
    const history = threeSends().assign(9, [K]).poll(9, { [K]: [[0, 10], [1, 11]] }).poll(9, { [K]: [[2, 12]] })
      .send(2, K + 1, 20, 'fail').poll(8, 'fail').history();
    const verdict = checkHistory(history);
    expectTypes(verdict, []);
    assert.equal(verdict.valid, true);
    assert.deepEqual(verdict.linearizability, { [K]: 'linearizable', [K + 1]: 'linearizable' });
    assert.deepEqual(verdict.stats, { sends: { ok: 3, fail: 1, info: 0 }, polls: { ok: 2, fail: 1, info: 0 },
      commits: { ok: 0, fail: 0, info: 0 }, keys: 2, valuesRead: 3 });
  });

  void test('inconsistent-offsets: two values at one offset', () => {
    const history = new HistoryBuilder().send(1, K, 10, 0).send(2, K, 11, 0)
      .poll(8, { [K]: [[0, 10]] }).poll(9, { [K]: [[0, 11]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['inconsistent-offsets', 'nonlinearizable']);
    const anomaly = verdict.anomalies.find((a) => a.type === 'inconsistent-offsets');
    assert.deepEqual(anomaly?.evidence, { key: K, offset: 0,
      values: [{ value: 10, indexes: [1, 5] }, { value: 11, indexes: [3, 7] }] });
  });

  void test('duplicate: one value at two offsets', () => {
    const history = new HistoryBuilder().send(1, K, 10, 0).poll(9, { [K]: [[0, 10], [1, 10]] }).history();
    expectTypes(checkHistory(history), ['duplicate', 'nonlinearizable']);
  });

  void test('lost-write: an acknowledged value below a read one is never read', () => {
    const history = threeSends().poll(8, { [K]: [[0, 10]] }).poll(9, { [K]: [[2, 12]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['lost-write', 'unseen']);
    const lost = verdict.anomalies.filter((a) => a.type === 'lost-write');
    assert.equal(lost.length, 1);
    assert.match(lost[0]!.description, /value 11 \(offset 1/);
  });

  void test('unseen: an acknowledged value after the last read one is never read', () => {
    const history = new HistoryBuilder().send(1, K, 10, 0).send(1, K, 11, 1).poll(9, { [K]: [[0, 10]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['unseen']);
    assert.deepEqual((verdict.anomalies[0]?.evidence as { values: unknown }).values,
      [{ value: 11, offset: 1, completeIndex: 3 }]);
  });

  void test('G1a: a value whose send failed is read', () => {
    const history = new HistoryBuilder().send(1, K, 10, 'fail').poll(9, { [K]: [[0, 10]] }).history();
    expectTypes(checkHistory(history), ['G1a', 'nonlinearizable']);
  });

  void test('poll-skip: the next poll of a process jumps over a value', () => {
    const history = threeSends().poll(8, { [K]: ALL })
      .poll(9, { [K]: [[0, 10]] }).poll(9, { [K]: [[2, 12]] }).history();
    expectTypes(checkHistory(history), ['poll-skip']);
  });

  void test('nonmonotonic-poll: a read regresses, unless an assign rewound the consumer', () => {
    const regress = threeSends().poll(9, { [K]: [[0, 10], [1, 11]] }).poll(9, { [K]: [[1, 11], [2, 12]] }).history();
    const verdict = checkHistory(regress);
    expectTypes(verdict, ['nonmonotonic-poll']);
    assert.equal((verdict.anomalies[0]?.evidence as { delta: number }).delta, 0);
    const rewound = threeSends().poll(9, { [K]: [[0, 10], [1, 11]] }).assign(9, [K]).poll(9, { [K]: ALL }).history();
    expectTypes(checkHistory(rewound), []);
  });

  void test('int-poll-skip: one poll jumps over a value', () => {
    const history = threeSends().poll(8, { [K]: ALL }).poll(9, { [K]: [[0, 10], [2, 12]] }).history();
    expectTypes(checkHistory(history), ['int-poll-skip']);
  });

  void test('int-nonmonotonic-poll: one poll goes backwards', () => {
    const history = threeSends().poll(9, { [K]: [[1, 11], [0, 10]] }).poll(8, { [K]: ALL }).history();
    expectTypes(checkHistory(history), ['int-nonmonotonic-poll']);
  });

  void test('nonmonotonic-send: a later send of a process lands lower', () => {
    const history = new HistoryBuilder().send(1, K, 10, 1).send(1, K, 11, 0)
      .poll(9, { [K]: [[0, 11], [1, 10]] }).history();
    expectTypes(checkHistory(history), ['nonmonotonic-send', 'nonlinearizable']);
  });

  void test('hole: an offset below the highest seen is never seen; retention excuses it', () => {
    const history = new HistoryBuilder().send(1, K, 10, 0).send(2, K, 12, 2)
      .poll(8, { [K]: [[0, 10]] }).poll(9, { [K]: [[2, 12]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['hole']);
    assert.deepEqual(verdict.anomalies[0]?.evidence, { key: K, from: 1, to: 1, logStart: 0, highestOffset: 2 });
    // The search can only say 'unknown' when an unseen record may have filled the hole.
    assert.equal(verdict.linearizability[K], 'unknown');
    const replicas: ReplicaLogs = { [K]: { 1: { logStart: 2, values: [12] }, 2: { logStart: 2, values: [12] } } };
    const retained = checkHistory(history, { replicas });
    expectTypes(retained, []);
    assert.equal(retained.valid, true);
  });

  void test('replica-divergence: logs that are not prefixes of each other, or of the history', () => {
    const history = threeSends().poll(9, { [K]: ALL }).history();
    const prefixes: ReplicaLogs = { [K]: {
      1: { logStart: 0, values: [10, 11, 12] }, 2: { logStart: 1, values: [11] } } };
    expectTypes(checkHistory(history, { replicas: prefixes }), []);
    const diverging: ReplicaLogs = { [K]: {
      1: { logStart: 0, values: [10, 11, 12] }, 2: { logStart: 0, values: [10, 13] } } };
    const verdict = checkHistory(history, { replicas: diverging });
    expectTypes(verdict, ['replica-divergence']);
    assert.equal(verdict.anomalies.length, 2, 'broker 2 differs from broker 1 and from the history');
    assert.deepEqual((verdict.anomalies[0]?.evidence as { mismatches: unknown }).mismatches,
      [{ offset: 1, values: [11, 13] }]);
  });

  void test('nonlinearizable: a send acknowledged before another began gets the higher offset', () => {
    const history = new HistoryBuilder().send(1, K, 10, 1).send(2, K, 11, 0)
      .poll(9, { [K]: [[0, 11], [1, 10]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['nonlinearizable']);
    assert.equal(verdict.linearizability[K], 'nonlinearizable');
    assert.match(verdict.anomalies[0]!.description, /the send of offset 1 \(invoked at 0\) returned before the send/);
  });

  void test('nonlinearizable: a poll reads a value before its send began (a future read)', () => {
    const history = new HistoryBuilder().poll(9, { [K]: [[0, 10]] }).send(1, K, 10, 0).history();
    expectTypes(checkHistory(history), ['nonlinearizable']);
  });

  void test('a stale read and concurrent sends in either order are linearizable', () => {
    const history = new HistoryBuilder().beginSend(1, K, 10).beginSend(2, K, 11).endSend(2, K, 11, 0)
      .endSend(1, K, 10, 1).poll(9, { [K]: [[0, 11]] }).poll(8, { [K]: [[0, 11], [1, 10]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, []);
    assert.equal(verdict.valid, true);
  });

  void test('info sends that later appear are neither lost nor a violation; unseen ones are dropped', () => {
    const history = new HistoryBuilder().send(1, K, 10, 'info').send(2, K, 11, 'info').send(3, K, 12, 1)
      .beginSend(4, K, 13).poll(9, { [K]: [[0, 10], [1, 12], [2, 13]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, []);
    assert.equal(verdict.valid, true);
    assert.deepEqual(verdict.stats.sends, { ok: 1, fail: 0, info: 3 });
  });

  void test('an info send read at an offset taken before it began is a violation', () => {
    const history = new HistoryBuilder().send(3, K, 12, 1).send(1, K, 10, 'info')
      .poll(9, { [K]: [[0, 10], [1, 12]] }).history();
    expectTypes(checkHistory(history), ['nonlinearizable']);
  });

  void test('the time bound makes the search answer unknown instead of running on', () => {
    const builder = new HistoryBuilder();
    const infoSends = 300;
    for (let i = 0; i < infoSends; i++) builder.beginSend(i, K, 1000 + i);
    for (let i = 0; i < infoSends; i++) builder.endSend(i, K, 1000 + i, 'info');
    const records: ReadRecord[] = Array.from({ length: infoSends }, (_, i) => [i, 1000 + infoSends - 1 - i]);
    const history = builder.poll(9999, { [K]: records }).history();
    assert.equal(checkHistory(history).valid, true);
    const bounded = checkHistory(history, { linearizabilityTimeMs: 0 });
    assert.equal(bounded.valid, 'unknown');
    assert.deepEqual(bounded.linearizability, { [K]: 'unknown' });
  });
});

void describe('checkHistory on simulated histories of a correct system', () => {
  const options = { clients: 8, keys: 4, operationsPerClient: 3000, failProbability: 0.05, infoProbability: 0.05 };

  void test('random linearizable histories are valid', () => {
    for (const seed of [1, 2]) {
      const history = simulateLinearizableLogs({ seed, ...options });
      const verdict = checkHistory(history);
      assert.equal(verdict.valid, true, `seed ${seed}: ${JSON.stringify(verdict.anomalies.slice(0, 3))}`);
      assert.ok(history.length > 40_000, `seed ${seed} makes a history of realistic length`);
      assert.ok(Object.values(verdict.linearizability).every((result) => result === 'linearizable'));
      assert.ok(verdict.stats.sends.info > 0 && verdict.stats.sends.fail > 0, 'the history has uncertain sends');
    }
  });

  void test('one acknowledged record missing from the final drain makes it invalid', () => {
    const history = simulateLinearizableLogs({ seed: 4, ...options });
    const faulty = withoutRecord(history, firstAcknowledgedAbove(history, 10));
    const verdict = checkHistory(faulty);
    assert.equal(verdict.valid, false);
    assert.ok(verdict.anomalyTypes.includes('lost-write'), verdict.anomalyTypes.join(', '));
  });


  void test('one send taking effect after a later offset was acknowledged makes it nonlinearizable', () => {
    const history = simulateLinearizableLogs({ seed: 5, ...options });
    const verdict = checkHistory(withDelayedSend(history, 0, 100));
    assert.deepEqual(verdict.anomalyTypes, ['nonlinearizable']);
    assert.equal(verdict.linearizability[0], 'nonlinearizable');
  });
});

/**
 * The history with the send of key's offset moved, invoke and completion, to just after the send of
 * offset + 1 was acknowledged: every read stays, but offset + 1 was now taken before offset began.
 */
function withDelayedSend(history: readonly HistoryEvent[], key: number, offset: number): HistoryEvent[] {
  const completionAt = (at: number): HistoryEvent | undefined => history.find((event) => event.f === 'send' &&
    event.type === 'ok' && (event.value as SendValue).key === key && (event.value as SendValue).offset === at);
  const delayed = completionAt(offset);
  const later = completionAt(offset + 1);
  assert.ok(delayed !== undefined && later !== undefined, 'both sends were acknowledged');
  const delayedInvoke = history.findLast((event) => event.index < delayed.index && event.process === delayed.process);
  assert.ok(delayedInvoke?.type === 'invoke');
  const shift = Math.max(0, later.time + 1 - delayedInvoke.time);
  return history.map((event) =>
    event === delayed || event === delayedInvoke ? { ...event, time: event.time + shift } : event);
}

/** The first ok send that got an offset above the given one, so later values of its key are read. */
function firstAcknowledgedAbove(history: readonly HistoryEvent[], offset: number): { key: number; value: number } {
  const send = history.find((event) => event.f === 'send' && event.type === 'ok' &&
    ((event.value as { offset: number }).offset > offset));
  assert.ok(send !== undefined);
  return send.value as { key: number; value: number };
}

/** The history with one record removed from every poll that read it, as if the log had lost it. */
function withoutRecord(history: readonly HistoryEvent[], target: { key: number; value: number }): HistoryEvent[] {
  return history.map((event) => {
    const records = event.f === 'poll' && event.type === 'ok' ? (event.value as PollValue).records : undefined;
    const keyRecords = records?.[String(target.key)];
    if (records === undefined || keyRecords === undefined) return event;
    const kept = keyRecords.filter(([, value]) => value !== target.value);
    return { ...event, value: { records: { ...records, [String(target.key)]: kept } } };
  });
}

void describe('an incomplete drain', () => {
  void test('makes a history without anomalies unknown, and leaves one with anomalies invalid', () => {
    const clean = threeSends().assign(9, [K]).poll(9, { [K]: ALL }).history();
    assert.equal(checkHistory(clean, { drainComplete: false }).valid, 'unknown');
    assert.equal(checkHistory(clean, { drainComplete: true }).valid, true);
    const lost = threeSends().poll(8, { [K]: [[0, 10]] }).poll(9, { [K]: [[2, 12]] }).history();
    assert.equal(checkHistory(lost, { drainComplete: false }).valid, false);
  });
});

void describe('the drain as the final answer', () => {
  /** Three values acknowledged at 0..2 and all three read by a poll of the run. */
  const readAll = (): HistoryBuilder => threeSends().assign(9, [K]).poll(9, { [K]: ALL });

  void test('a drain holding every record at its offset, up to the log end, is valid', () => {
    const verdict = checkHistory(readAll().drain(20, [K], [{ [K]: ALL }], { [K]: 3 }).history());
    expectTypes(verdict, []);
    assert.equal(verdict.valid, true);
  });

  void test('a record read once and missing at the tail (the log ends before it) is lost-write and lost-read', () => {
    const verdict = checkHistory(readAll().drain(20, [K], [{ [K]: [[0, 10], [1, 11]] }], { [K]: 2 }).history());
    expectTypes(verdict, ['lost-read', 'lost-write']);
    const read = verdict.anomalies.find((a) => a.type === 'lost-read');
    assert.match(read!.description, /^key 0 value 12 was read by poll \d+ at offset 2, but the log ends at 2/);
    assert.deepEqual((verdict.anomalies.find((a) => a.type === 'lost-write')?.evidence as { value: number }).value, 12);
  });

  void test('a record missing at the head is lost; retention (a later replica log start) excuses it', () => {
    const history = readAll().drain(20, [K], [{ [K]: [[1, 11], [2, 12]] }], { [K]: 3 }).history();
    const verdict = checkHistory(history);
    // Without this rule the history is valid: the drain is a fresh process, so no walk is broken.
    expectTypes(verdict, ['lost-read', 'lost-write']);
    assert.ok(verdict.anomalies.every((a) => (a.evidence as { offset: number }).offset === 0));
    const replicas: ReplicaLogs = {
      [K]: { 1: { logStart: 1, values: [11, 12] }, 2: { logStart: 1, values: [11, 12] } },
    };
    expectTypes(checkHistory(history, { replicas }), []);
  });

  void test('a record missing in the middle is lost (and the drain\'s own poll skipped it)', () => {
    const verdict = checkHistory(readAll().drain(20, [K], [{ [K]: [[0, 10], [2, 12]] }], { [K]: 3 }).history());
    expectTypes(verdict, ['int-poll-skip', 'lost-read', 'lost-write']);
  });

  void test('an acknowledged record nobody read, at or past the log end, is lost-write', () => {
    const history = threeSends().assign(9, [K]).poll(9, { [K]: [[0, 10]] })
      .drain(20, [K], [{ [K]: [[0, 10], [1, 11]] }], { [K]: 2 }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['lost-write', 'unseen']);
    assert.equal((verdict.anomalies.find((a) => a.type === 'lost-write')?.evidence as { offset: number }).offset, 2);
  });

  void test('offsets the drain did not reach, below the log end, are left to the incomplete-drain verdict', () => {
    const history = readAll().drain(20, [K], [{ [K]: [[0, 10]] }], { [K]: 3 }).history();
    expectTypes(checkHistory(history), []);
    assert.equal(checkHistory(history, { drainComplete: false }).valid, 'unknown');
    // Without a log end, nothing past the drain's last read is judged either.
    expectTypes(checkHistory(readAll().drain(20, [K], [{ [K]: [[0, 10]] }], {}).history()), []);
  });

  void test('the group workload\'s drain resumes at committed offsets: not judged as a full read', () => {
    const history = readAll().drain(20, [K], [{ [K]: [[2, 12]] }], { [K]: 3 }).history();
    assert.ok(!checkHistory(history, { workload: 'group' }).anomalyTypes.includes('lost-read'));
  });
});

void describe('poll order across assigns', () => {
  void test('an assign that keeps a key continues its walk: a skip across it is poll-skip', () => {
    const history = threeSends().assign(9, [K]).poll(9, { [K]: [[0, 10]] }).assignWith(9, [K, K + 2], false)
      .poll(9, { [K]: [[2, 12]] }).poll(8, { [K]: ALL }).history();
    expectTypes(checkHistory(history), ['poll-skip']);
    const continued = threeSends().assign(9, [K]).poll(9, { [K]: [[0, 10]] }).assignWith(9, [K, K + 2], false)
      .poll(9, { [K]: [[1, 11], [2, 12]] }).history();
    expectTypes(checkHistory(continued), []);
  });

  void test('a rewind starts at the log start: a first read past it is poll-skip', () => {
    const history = threeSends().assign(9, [K]).poll(9, { [K]: ALL }).assignWith(9, [K], true)
      .poll(9, { [K]: [[1, 11], [2, 12]] }).history();
    const verdict = checkHistory(history);
    expectTypes(verdict, ['poll-skip']);
    assert.match(verdict.anomalies[0]!.description, /was rewound, but poll \d+ first read offset 1/);
    const fromStart = threeSends().assign(9, [K]).poll(9, { [K]: ALL }).assignWith(9, [K], true)
      .poll(9, { [K]: ALL }).history();
    expectTypes(checkHistory(fromStart), []);
  });
});

void describe('checkHistory on handmade group histories', () => {
  const group = { workload: 'group' } as const;
  // Member 1 processes offsets 0..1 and commits 2; member 2 takes the key over.
  const handedOver = (): HistoryBuilder => threeSends().groupPoll(1, { [K]: [[0, 10], [1, 11]] }, { assigned: [K] })
    .commit(50, 1, { [K]: 2 });

  void test('a hand-over at the committed offset, and a duplicate delivery, are valid', () => {
    const resumed = handedOver().groupPoll(2, { [K]: [[2, 12]] }, { assigned: [K] }).commit(51, 2, { [K]: 3 })
      .committed(52, { [K]: 3 }).history();
    const verdict = checkHistory(resumed, group);
    expectTypes(verdict, []);
    assert.deepEqual(verdict.stats.commits, { ok: 2, fail: 0, info: 0 });
    // Member 2 starting below the committed offset reads records again: at least once allows it.
    const again = handedOver().groupPoll(2, { [K]: [[1, 11], [2, 12]] }, { assigned: [K] }).commit(51, 2, { [K]: 3 })
      .history();
    expectTypes(checkHistory(again, group), []);
  });

  void test('resume-skip: a member resumes above every commit begun by then', () => {
    const skipped = threeSends().groupPoll(1, { [K]: [[0, 10]] }, { assigned: [K] }).commit(50, 1, { [K]: 1 })
      .groupPoll(2, { [K]: [[2, 12]] }, { assigned: [K] }).groupPoll(1, { [K]: [[1, 11]] }).history();
    const verdict = checkHistory(skipped, group);
    expectTypes(verdict, ['resume-skip']);
    assert.match(verdict.anomalies[0]!.description, /resumed at offset 2 .*\(1\): 1 record/);
    // An unknown commit of 2 begun before may have been written: no anomaly.
    const maybe = threeSends().groupPoll(1, { [K]: [[0, 10], [1, 11]] }, { assigned: [K] })
      .commit(50, 1, { [K]: 2 }, 'info').groupPoll(2, { [K]: [[2, 12]] }, { assigned: [K] }).history();
    expectTypes(checkHistory(maybe, group), []);
    // A rebalance resets the walk: the first read after it is judged against the commits, not the last read.
    const rewound = threeSends().groupPoll(1, { [K]: ALL }, { assigned: [K] })
      .groupPoll(1, { [K]: [[0, 10]] }, { revoked: [K], assigned: [K] }).history();
    expectTypes(checkHistory(rewound, group), []);
  });

  void test('commit-regression: an ok commit or read below one that ended before it began', () => {
    const regressed = handedOver().groupPoll(2, { [K]: [[2, 12]] }).commit(51, 2, { [K]: 1 }).history();
    const verdict = checkHistory(regressed, group);
    expectTypes(verdict, ['commit-regression']);
    assert.deepEqual((verdict.anomalies[0]?.evidence as { earlier: { offset: number } }).earlier.offset, 2);
    expectTypes(checkHistory(handedOver().groupPoll(2, { [K]: [[2, 12]] }).committed(52, { [K]: 1 }).history(), group),
      ['commit-regression']);
    // Concurrent commits may land in either order; a refused or unknown one proves nothing.
    const concurrent = threeSends().groupPoll(1, { [K]: ALL }).beginCommit(50, 1, { [K]: 2 })
      .beginCommit(51, 2, { [K]: 1 }).endCommit(50, 'ok').endCommit(51, 'ok').commit(52, 3, { [K]: 0 }, 'info')
      .history();
    expectTypes(checkHistory(concurrent, group), []);
  });

  void test('unprocessed: the group committed past acknowledged records nobody processed', () => {
    const control = threeSends().groupPoll(1, { [K]: [[0, 10]] }, { assigned: [K] }).commit(50, 1, { [K]: 2 })
      .groupPoll(2, { [K]: [[2, 12]] }, { assigned: [K] }).commit(51, 2, { [K]: 3 }).committed(52, { [K]: 3 })
      .history();
    const verdict = checkHistory(control, group);
    expectTypes(verdict, ['unprocessed', 'lost-write', 'unseen']);
    assert.deepEqual((verdict.anomalies.find((a) => a.type === 'unprocessed')?.evidence as { offsets: number[] })
      .offsets, [1]);
    // The queue workload has no commits: the group checks do not run.
    expectTypes(checkHistory(control), ['lost-write', 'unseen']);
  });
});
