/**
 * Goal: catch-up traffic to learners leaves at the configured bytes per second, in order, while
 * messages to voters and non-catch-up messages pass at once; held-back bytes stay bounded; lifting
 * the limit releases what waits. Method: LearnerThrottle in front of a transport that records what
 * it is given and when (the network itself is not the subject here).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MessageType } from '../../../raft/core/index.js';
import type { Message } from '../../../raft/core/index.js';
import { LearnerThrottle } from '../../../raft/host/learner_throttle.js';
import type { RaftTransport } from '../../../raft/host/transport.js';

class RecordingTransport implements RaftTransport {
  readonly sent: { message: Message; atMs: number }[] = [];
  start(): Promise<void> { return Promise.resolve(); }
  forward(): void { /* not used here */ }
  send(messages: readonly Message[]): void {
    for (const message of messages) this.sent.push({ message, atMs: Date.now() });
  }
  setPeer(): void { /* not used here */ }
  removePeer(): void { /* not used here */ }
  close(): Promise<void> { return Promise.resolve(); }
}

function append(to: number, index: number, bytes: number): Message {
  return { type: MessageType.appendRequest, groupId: 7, from: 1, to, term: 2, prevLogIndex: index - 1,
    prevLogTerm: 2, commitIndex: 0, entries: [{ term: 2, index, type: 'normal', data: new Uint8Array(bytes) }] };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

void describe('learner throttle', () => {
  void test('learner appends leave at the rate, in order; voters and heartbeats do not wait', async () => {
    const inner = new RecordingTransport();
    let rate = 100_000;
    const throttle = new LearnerThrottle(inner, { isLearner: (groupId, to) => groupId === 7 && to === 4,
      bytesPerSec: () => rate });
    const startMs = Date.now();
    const learnerAppends = Array.from({ length: 30 }, (_, i) => append(4, i + 1, 10_000));
    throttle.send([...learnerAppends, append(2, 1, 10_000),
      { type: MessageType.heartbeatRequest, groupId: 7, from: 1, to: 4, term: 2, commitIndex: 0, readSeq: 0 }]);
    assert.ok(inner.sent.some((s) => s.message.to === 2), 'the voter\'s append goes at once');
    assert.ok(inner.sent.some((s) => s.message.type === MessageType.heartbeatRequest), 'so does the heartbeat');
    assert.ok(inner.sent.filter((s) => s.message.to === 4).length <= 3, 'the learner\'s appends wait but a burst');
    await sleep(1_000);
    const learnerSent = inner.sent.filter((s) => s.message.type === MessageType.appendRequest && s.message.to === 4);
    // 300 KB at 100 KB/s: about a second; the first tenth of a second's burst goes at once.
    assert.ok(learnerSent.length >= 8 && learnerSent.length <= 13, `${learnerSent.length} of 30 sent within 1 s`);
    const indexes = learnerSent.map((s) =>
      (s.message.type === MessageType.appendRequest ? s.message.prevLogIndex : -1));
    assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b), 'in order');
    rate = 0;
    throttle.send([]);
    const all = inner.sent.filter((s) => s.message.to === 4 && s.message.type === MessageType.appendRequest);
    assert.equal(all.length, 30, 'lifting the limit releases everything held back');
    assert.ok(Date.now() - startMs < 2_000);
    await throttle.close();
  });

  void test('held-back bytes are bounded: beyond them new catch-up messages are dropped', async () => {
    const inner = new RecordingTransport();
    const throttle = new LearnerThrottle(inner, { isLearner: () => true, bytesPerSec: () => 1_000,
      queueBytesMin: 50_000 });
    throttle.send(Array.from({ length: 20 }, (_, i) => append(4, i + 1, 10_000)));
    assert.ok(throttle.dropped >= 14, `${throttle.dropped} dropped`);
    await throttle.close();
    assert.equal(inner.sent.length <= 6, true);
  });
});
