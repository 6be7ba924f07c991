/**
 * The per-process CPU figures `tributary bench produce` prints (bench/process_cpu.ts): parsed from
 * /proc text, and the meter on this process (figures on Linux, none elsewhere).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { ProcessCpuMeter, formatProcessCpu, parseProcessTicks, parseSchedstat, processCpuBetween }
  from '../../../bench/process_cpu.js';

// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
const stat = '4242 (node (a b)) S 1 4242 4242 0 -1 4194560 9000 0 12 0 1234 321 0 0 20 0 13 0 100 0\n';

void describe('process CPU figures', () => {
  void test('utime and stime are read after the command name, however many spaces and parentheses it has', () => {
    assert.equal(parseProcessTicks(stat), 1234 + 321);
    assert.equal(parseProcessTicks('no parenthesis here'), null);
    assert.equal(parseProcessTicks('1 (x) S 1 2'), null, 'a truncated line has no utime');
  });

  void test('a schedstat line is the time on a core and the time waiting for one, in nanoseconds', () => {
    assert.deepEqual(parseSchedstat('2620695600 3131004365 10382\n'), { runNs: 2620695600, waitNs: 3131004365 });
    assert.equal(parseSchedstat(''), null);
  });

  void test('figures are cores over the interval; the text lists each process with its main thread', () => {
    const before = { ticks: 1000, mainRunNs: 5e9, mainWaitNs: 7e9 };
    // 2 s later: 84 ticks (0.84 s of CPU), the main thread ran 0.58 s and waited 0.8 s.
    const after = { ticks: 1084, mainRunNs: 5.58e9, mainWaitNs: 7.8e9 };
    const figures = processCpuBetween(before, after, 2);
    assert.ok(Math.abs(figures.cores - 0.42) < 1e-9 && Math.abs(figures.mainRunning - 0.29) < 1e-9
      && Math.abs(figures.mainWaiting - 0.4) < 1e-9, JSON.stringify(figures));
    assert.equal(formatProcessCpu({ 'broker 1': figures, bench: { cores: 0.333, mainRunning: 0.3, mainWaiting: 0.326 } }),
      'broker 1 0.42 (0.29 / 0.40), bench 0.33 (0.30 / 0.33)');
  });

  void test('the meter reads this process over a busy stretch and leaves out one that is gone', () => {
    const meter = new ProcessCpuMeter(new Map([['self', process.pid], ['gone', 2 ** 22 + 1]]));
    const until = Date.now() + 80;
    let spins = 0;
    while (Date.now() < until) spins += 1;
    const figures = meter.stop();
    assert.ok(spins > 0);
    if (!fs.existsSync(`/proc/${process.pid}/task/${process.pid}/schedstat`)) {
      assert.equal(figures, null, 'off Linux there are no figures, not made-up ones');
      return;
    }
    assert.ok(figures !== null);
    assert.deepEqual(Object.keys(figures), ['self'], 'a pid above the kernel\'s limit has no /proc entry');
    const self = figures.self;
    assert.ok(self !== undefined);
    // 80 ms of spinning on the main thread: it ran for some of it, and every share is a sane number.
    assert.ok(self.mainRunning > 0 && self.mainRunning <= 1.5, `main thread ran ${self.mainRunning}`);
    assert.ok(self.mainWaiting >= 0 && self.cores >= 0, JSON.stringify(self));
  });
});
