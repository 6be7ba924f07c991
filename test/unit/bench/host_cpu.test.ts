/**
 * The machine's CPU figures every bench prints next to its results (bench/host_cpu.ts), from
 * /proc/stat text, and the meter on this machine (figures on Linux, none elsewhere).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { HostCpuMeter, formatHostCpu, hostCpuBetween, parseCpuTimes } from '../../../bench/host_cpu.js';

// user nice system idle iowait irq softirq steal guest guest_nice
const before = 'cpu  1000 10 200 5000 50 0 40 100 0 0\ncpu0 500 5 100 2500 25 0 20 50 0 0\nintr 1\n';
const after = 'cpu  1700 10 400 5200 60 0 90 140 0 0\ncpu0 850 5 200 2600 30 0 45 70 0 0\nintr 2\n';

void describe('host CPU figures', () => {
  void test('busy and steal are shares of all CPU time between two readings of the aggregate line', () => {
    const first = parseCpuTimes(before);
    const second = parseCpuTimes(after);
    assert.deepEqual(first, { busy: 1250, steal: 100, total: 6400 });
    assert.deepEqual(second, { busy: 2200, steal: 140, total: 7600 });
    // 1000 ticks passed: 950 busy (700 user, 200 system, 50 softirq), 200 idle, 10 iowait, 40 steal.
    const figures = hostCpuBetween(first, second, 2);
    assert.deepEqual(figures, { cpus: 2, busy: 950 / 1200, steal: 40 / 1200 });
    assert.equal(formatHostCpu(figures), '2 CPUs 79% busy, steal 3.3%');
  });

  void test('no aggregate line, or no time passed, gives no figures', () => {
    assert.equal(parseCpuTimes('cpu0 1 2 3 4\n'), null);
    const same = parseCpuTimes(before);
    assert.ok(same !== null);
    assert.equal(hostCpuBetween(same, same, 2), null);
  });

  void test('the meter reads this machine over a busy stretch, or says it cannot (no /proc/stat)', () => {
    const meter = new HostCpuMeter();
    const until = Date.now() + 60;
    let spins = 0;
    while (Date.now() < until) spins += 1;
    const figures = meter.stop();
    assert.ok(spins > 0);
    if (!fs.existsSync('/proc/stat')) {
      assert.equal(figures, null, 'off Linux there are no figures, not made-up ones');
      return;
    }
    // A tick is 10 ms: 60 ms of spinning moves the counters, and the shares stay within [0, 1].
    assert.ok(figures !== null, 'figures after 60 ms');
    assert.ok(figures.busy > 0 && figures.busy <= 1, `busy ${figures.busy}`);
    assert.ok(figures.steal >= 0 && figures.steal <= 1, `steal ${figures.steal}`);
    assert.ok(figures.cpus >= 1);
  });
});
