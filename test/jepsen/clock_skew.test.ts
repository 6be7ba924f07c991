/**
 * The clock nemesis's parts: the skew preload in a real child node process (Date.now and new Date()
 * follow the control file's offset as it changes; performance.now, hrtime and the brokers' duration
 * clock, monotonicNowMs, do not; dated constructors are untouched; without the control file's
 * variable nothing is skewed), and the seeded planning of clock faults (shapes, offsets within
 * +/- 5..60 s, the brokers named).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { SeededPrng } from '../../raft/core/prng.js';
import { CLOCK_FILE_ENVIRONMENT, clockFile, skewPreloadArguments, writeClockOffset } from '../../jepsen/clock/clock_control.js';
import { CLOCK_SHAPES, describeClock, drawStepMs, planClock } from '../../jepsen/nemesis/clock.js';

interface Sample {
  /** Date.now() minus the monotonic clock's idea of wall time. */
  readonly nowSkewMs: number;
  /** new Date() (no arguments) minus the same. */
  readonly dateSkewMs: number;
  /** new Date(0): a dated constructor. */
  readonly epochMs: number;
  readonly performanceMs: number;
  readonly hrtimeMs: number;
  /** The brokers' duration clock (raft/host/monotonic_clock.ts) minus the same. */
  readonly durationClockSkewMs: number;
}

const MONOTONIC_CLOCK_URL = new URL('../../raft/host/monotonic_clock.js', import.meta.url).href;

/** Prints a Sample every 20 ms until stdin closes. */
const SAMPLER = `
const { monotonicNowMs } = await import('${MONOTONIC_CLOCK_URL}');
const monoWall = () => performance.timeOrigin + performance.now();
const timer = setInterval(() => {
  process.stdout.write(JSON.stringify({ nowSkewMs: Date.now() - monoWall(), dateSkewMs: new Date().getTime() - monoWall(),
    epochMs: new Date(0).getTime(), performanceMs: performance.now(),
    hrtimeMs: Number(process.hrtime.bigint()) / 1e6, durationClockSkewMs: monotonicNowMs() - monoWall() }) + '\\n');
}, 20);
process.stdin.on('end', () => { clearInterval(timer); });
process.stdin.resume();
`;

const STEP_WAIT_MS = 3_000;

/** A child node process with the preload, and a way to wait for a sample that satisfies a test. */
function startSampler(environment: Record<string, string>): {
  next: (accept: (sample: Sample) => boolean) => Promise<Sample[]>; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [...skewPreloadArguments(), '--input-type=module', '-e', SAMPLER],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...environment } });
  const lines = createInterface({ input: child.stdout });
  let seen: Sample[] = [];
  let waiter: { accept: (s: Sample) => boolean; resolve: (s: Sample[]) => void } | null = null;
  lines.on('line', (line) => {
    const sample = JSON.parse(line) as Sample;
    seen.push(sample);
    if (waiter?.accept(sample) === true) {
      const done = waiter;
      waiter = null;
      done.resolve(seen);
      seen = [];
    }
  });
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve(); }); });
  return {
    next: (accept) => new Promise<Sample[]>((resolve, reject) => {
      seen = [];
      const timer = setTimeout(() => { waiter = null; reject(new Error(`no sample within ${STEP_WAIT_MS} ms`)); },
        STEP_WAIT_MS);
      waiter = { accept, resolve: (samples) => { clearTimeout(timer); resolve(samples); } };
    }),
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** Within 25 ms of the expected offset (two clocks read a few microseconds apart, rounding). */
const near = (value: number, expected: number): boolean => Math.abs(value - expected) < 25;

void describe('the clock skew preload', () => {
  void it('moves Date.now and new Date() by the control file\'s offset, never the monotonic clocks', { timeout: 20_000 },
    async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-clock-'));
      const file = clockFile(folder, 1);
      const sampler = startSampler({ [CLOCK_FILE_ENVIRONMENT]: file });
      try {
        // No control file yet: real time.
        await sampler.next((s) => near(s.nowSkewMs, 0));
        for (const offsetMs of [40_000, -7_000, 0, 59_999]) {
          writeClockOffset(file, offsetMs);
          const samples = await sampler.next((s) => near(s.nowSkewMs, offsetMs));
          const last = samples[samples.length - 1]!;
          assert.ok(near(last.dateSkewMs, offsetMs), `new Date() follows the offset ${offsetMs}: ${last.dateSkewMs}`);
          assert.equal(last.epochMs, 0, 'a dated constructor is not skewed');
          assert.ok(samples.every((s) => near(s.durationClockSkewMs, 0)), 'the brokers\' duration clock never steps');
          // The monotonic clocks advanced by the sampling period only, across the step.
          for (let i = 1; i < samples.length; i += 1) {
            const perf = samples[i]!.performanceMs - samples[i - 1]!.performanceMs;
            const hr = samples[i]!.hrtimeMs - samples[i - 1]!.hrtimeMs;
            assert.ok(perf >= 0 && perf < 1_000, `performance.now stepped by ${perf} ms`);
            assert.ok(hr >= 0 && hr < 1_000, `hrtime stepped by ${hr} ms`);
          }
        }
        // A file that holds no number is no offset.
        fs.writeFileSync(file, 'garbage\n');
        await sampler.next((s) => near(s.nowSkewMs, 0));
      } finally {
        await sampler.stop();
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

  void it('skews nothing without its environment variable', { timeout: 20_000 }, async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-clock-'));
    writeClockOffset(clockFile(folder, 1), 30_000);
    const sampler = startSampler({});
    try {
      const samples = await sampler.next(() => true);
      assert.ok(near(samples[0]!.nowSkewMs, 0), `real time: ${samples[0]!.nowSkewMs}`);
    } finally {
      await sampler.stop();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

void describe('planClock', () => {
  void it('draws steps of 5 to 60 s either way', () => {
    const prng = new SeededPrng(7);
    let negative = 0;
    for (let i = 0; i < 1_000; i += 1) {
      const step = drawStepMs(prng);
      assert.ok(Number.isSafeInteger(step) && Math.abs(step) >= 5_000 && Math.abs(step) <= 60_000, String(step));
      if (step < 0) negative += 1;
    }
    assert.ok(negative > 400 && negative < 600, `both directions: ${negative} of 1000 negative`);
  });

  void it('offsets exactly the targets (skew: every broker, each differently), and names each', () => {
    const ids = [1, 2, 3, 4, 5];
    for (const shape of CLOCK_SHAPES) {
      for (let seed = 1; seed <= 50; seed += 1) {
        const targets = shape === 'skew' ? ids : [1 + (seed % 5), 1 + ((seed + 2) % 5)];
        const plan = planClock(new SeededPrng(seed), shape, targets, ids);
        assert.deepEqual([...plan.offsets.keys()], [...targets].sort((a, b) => a - b));
        if (shape === 'skew') assert.equal(new Set(plan.offsets.values()).size, ids.length, 'distinct offsets');
        assert.equal(plan.periodMs > 0, shape === 'strobe', `${shape}: a period only when strobing`);
        if (shape === 'strobe') assert.ok(plan.periodMs >= 100 && plan.periodMs <= 200, String(plan.periodMs));
        const description = describeClock(plan, shape === 'skew' ? null : 'controller leader');
        for (const [id, offset] of plan.offsets) {
          const text = `${id} ${offset >= 0 ? '+' : '-'}${(Math.abs(offset) / 1000).toFixed(1)} s`;
          assert.ok(description.includes(text), `${description} names ${text}`);
        }
        assert.ok(description.startsWith(shape), description);
      }
    }
  });

  void it('replays a seed', () => {
    const a = planClock(new SeededPrng(42), 'strobe', [2, 3], [1, 2, 3]);
    const b = planClock(new SeededPrng(42), 'strobe', [2, 3], [1, 2, 3]);
    assert.deepEqual([...a.offsets], [...b.offsets]);
    assert.equal(a.periodMs, b.periodMs);
  });
});
