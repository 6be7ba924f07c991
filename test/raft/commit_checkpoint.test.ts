/**
 * Goal: the host checkpoints commit-only hard states at most once per interval, on the interval's
 * boundaries (shared by every group, so their saves join one transaction), newest winning, in
 * order, with the last one saved by a timer; a state saved another way (a new term or vote) drops
 * the waiting one; a clean close saves what waits; a failed save is reported once. Method: a
 * CommitCheckpoint over a manual clock and a save whose promises the test settles by hand.
 */
import { deepEqual, equal } from 'node:assert/strict';
import { test } from 'node:test';
import type { HardState } from '../../raft/core/index.js';
import { CommitCheckpoint } from '../../raft/host/commit_checkpoint.js';
import type { CommitCheckpointClock } from '../../raft/host/commit_checkpoint.js';

const state = (commit: number, term = 1): HardState => ({ term, vote: 1, commit });

class ManualClock implements CommitCheckpointClock {
  nowMs = 0;
  private timers: { atMs: number; callback: () => void }[] = [];
  now(): number { return this.nowMs; }
  setTimer(callback: () => void, ms: number): unknown {
    const timer = { atMs: this.nowMs + ms, callback };
    this.timers.push(timer);
    return timer;
  }
  clearTimer(timer: unknown): void { this.timers = this.timers.filter((t) => t !== timer); }
  get pendingTimers(): number { return this.timers.length; }
  advance(ms: number): void {
    this.nowMs += ms;
    const due = this.timers.filter((t) => t.atMs <= this.nowMs);
    this.timers = this.timers.filter((t) => t.atMs > this.nowMs);
    for (const timer of due) timer.callback();
  }
}

function manualSaves(): { saved: HardState[]; finish: (error?: Error) => Promise<void>;
  save: (s: HardState) => Promise<void> } {
  const saved: HardState[] = [];
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    saved,
    save: (s) => {
      saved.push(s);
      return new Promise<void>((resolve, reject) => { pending.push({ resolve, reject }); });
    },
    finish: async (error) => {
      const next = pending.shift();
      if (error === undefined) next?.resolve(); else next?.reject(error);
      await new Promise((resolve) => { setImmediate(resolve); });
    },
  };
}

const commits = (saved: readonly HardState[]): number[] => saved.map((s) => s.commit);

void test('at most one save per interval, on its boundaries; the newest state waiting is saved by the timer', async () => {
  const clock = new ManualClock();
  const saves = manualSaves();
  const checkpoint = new CommitCheckpoint(saves.save, () => { throw new Error('no failure expected'); }, 100, clock);
  clock.advance(30);
  checkpoint.offer(state(1));
  deepEqual(commits(saves.saved), [], 'the first waits for the next boundary');
  clock.advance(69);
  deepEqual(commits(saves.saved), []);
  clock.advance(1);
  deepEqual(commits(saves.saved), [1], 'saved at 100');
  await saves.finish();
  clock.advance(10);
  checkpoint.offer(state(2));
  checkpoint.offer(state(3));
  deepEqual(commits(saves.saved), [1], 'within the interval nothing more is saved');
  equal(clock.pendingTimers, 1, 'one timer for the end of the interval');
  clock.advance(89);
  deepEqual(commits(saves.saved), [1]);
  clock.advance(1);
  deepEqual(commits(saves.saved), [1, 3], 'at the end of the interval (200) the newest, 3, is saved; 2 never');
  clock.advance(500);
  checkpoint.offer(state(4));
  deepEqual(commits(saves.saved), [1, 3], 'a save still runs: 4 waits for it');
  await saves.finish();
  deepEqual(commits(saves.saved), [1, 3, 4], 'and goes once it ends, at 700, a boundary after the interval');
  await saves.finish();
  equal(clock.pendingTimers, 0);
});

void test('checkpoints of several groups offered at different times save on the same boundary', async () => {
  const clock = new ManualClock();
  const saved: [string, number, number][] = [];
  const checkpoints = ['a', 'b', 'c'].map((group) => ({
    group,
    checkpoint: new CommitCheckpoint((s) => {
      saved.push([group, s.commit, clock.now()]);
      return Promise.resolve();
    }, () => undefined, 100, clock),
  }));
  for (const [i, { checkpoint }] of checkpoints.entries()) {
    clock.advance(i === 0 ? 20 : 30);
    checkpoint.offer(state(i + 1));
  }
  deepEqual(saved, [], 'offered at 20, 50 and 80: all wait for 100');
  clock.advance(20);
  deepEqual(saved, [['a', 1, 100], ['b', 2, 100], ['c', 3, 100]]);
  await new Promise((resolve) => { setImmediate(resolve); });
  clock.advance(30);
  checkpoints[2]?.checkpoint.offer(state(4));
  clock.advance(40);
  checkpoints[0]?.checkpoint.offer(state(5));
  clock.advance(30);
  deepEqual(saved.slice(3), [['c', 4, 200], ['a', 5, 200]], 'the next boundary, 200, for both');
  await new Promise((resolve) => { setImmediate(resolve); });
  clock.advance(0.4);
  checkpoints[1]?.checkpoint.offer(state(6));
  checkpoints[1]?.checkpoint.offer(state(7));
  checkpoints[0]?.checkpoint.offer(state(8));
  deepEqual(saved.slice(5), [], 'offered just past a boundary: they wait for the next one');
  clock.advance(100.3); // the timers of 300 fire late, at 300.7
  deepEqual(saved.slice(5), [['b', 7, 300.7], ['a', 8, 300.7]], 'the newest of each, at the late timer');
  await new Promise((resolve) => { setImmediate(resolve); });
  clock.advance(10);
  checkpoints[0]?.checkpoint.offer(state(9));
  clock.advance(89.3);
  deepEqual(saved.slice(7), [['a', 9, 400]], 'a late save still counts for its boundary: the next is at 400');
});

void test('a state saved another way drops the waiting one and restarts the interval', async () => {
  const clock = new ManualClock();
  const saves = manualSaves();
  const checkpoint = new CommitCheckpoint(saves.save, () => undefined, 100, clock);
  checkpoint.offer(state(5, 1));
  await saves.finish();
  checkpoint.offer(state(6, 1));
  checkpoint.supersede(); // the host saves term 2 itself now
  equal(clock.pendingTimers, 0);
  clock.advance(1_000);
  deepEqual(saves.saved.map((s) => [s.term, s.commit]), [[1, 5]], 'no older term is saved after the new one');
  checkpoint.offer(state(7, 2));
  deepEqual(commits(saves.saved), [5, 7]);
  await saves.finish();
});

void test('flush saves what waits at once and resolves when no save runs', async () => {
  const clock = new ManualClock();
  const saves = manualSaves();
  const checkpoint = new CommitCheckpoint(saves.save, () => undefined, 100, clock);
  checkpoint.offer(state(1));
  checkpoint.offer(state(2));
  let flushed = false;
  const flushing = checkpoint.flush().then(() => { flushed = true; });
  await saves.finish();
  deepEqual(commits(saves.saved), [1, 2], 'the waiting state is saved without waiting for the interval');
  equal(flushed, false);
  await saves.finish();
  await flushing;
  equal(flushed, true);
  equal(clock.pendingTimers, 0);
});

void test('a failed save is reported once and nothing more is saved', async () => {
  const clock = new ManualClock();
  const saves = manualSaves();
  const errors: unknown[] = [];
  const checkpoint = new CommitCheckpoint(saves.save, (error) => { errors.push(error); }, 100, clock);
  checkpoint.offer(state(1));
  checkpoint.offer(state(2));
  await saves.finish(new Error('disk full'));
  await checkpoint.flush();
  equal(errors.length, 1);
  clock.advance(1_000);
  checkpoint.offer(state(3));
  deepEqual(commits(saves.saved), [1], 'a stopped checkpoint saves nothing');
});
