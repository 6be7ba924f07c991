/**
 * TEST ONLY: the clock nemesis's wall-clock skew, preloaded into a broker the jepsen harness starts
 * (`node --import <this file>`, only when a run enables the `clock` family). Date.now() and
 * `new Date()` (no arguments) return real time plus an offset in milliseconds read from the file
 * named by TRIBUTARY_TEST_CLOCK_FILE (polled every 50 ms; 0 while it is absent or unreadable), as
 * `date -s` on a Jepsen node steps its wall clock. Monotonic clocks (performance.now,
 * process.hrtime, timers) are not touched: a wall-clock step does not move them on a real machine
 * either. Never loaded by the harness itself or by anything outside a jepsen run.
 */
import fs from 'node:fs';
import { CLOCK_FILE_ENVIRONMENT } from './clock_control.js';

const POLL_MS = 50;

const file = process.env[CLOCK_FILE_ENVIRONMENT];
if (file !== undefined && file !== '') installSkew(file);

/** The offset the control file holds: a finite number of milliseconds, else 0. */
function readOffsetMs(path: string): number {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return 0;
  }
  const offset = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(offset) ? offset : 0;
}

function installSkew(path: string): void {
  const RealDate = Date;
  const realNow = Date.now.bind(Date);
  let offsetMs = readOffsetMs(path);
  const skewedNow = (): number => realNow() + offsetMs;
  RealDate.now = skewedNow;
  // Only the no-argument constructor reads the clock; Date() called as a function does too.
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args, newTarget) =>
      Reflect.construct(target, args.length === 0 ? [skewedNow()] : args, newTarget) as object,
    apply: () => new RealDate(skewedNow()).toString(),
  });
  // unref: the poll never keeps a broker alive.
  setInterval(() => { offsetMs = readOffsetMs(path); }, POLL_MS).unref();
}
