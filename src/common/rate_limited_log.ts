/**
 * Log lines about input a client controls (malformed or refused requests), rate limited so that a
 * hostile or buggy client cannot fill the broker's disk with them: per kind of line, the first
 * `linesPerInterval` lines of each interval are logged in full, the rest are only counted, and one
 * summary line per kind and interval says how many were suppressed.
 *
 * Summaries are written by flush(), which the owner calls from a timer (and on close); intervals
 * also roll over lazily on the next line, so a missed tick loses no count. The clock is injected
 * for tests.
 */
import type { Logger } from 'pino';

import { assert } from '../../raft/core/assert.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

export type RateLimitedLevel = 'info' | 'warn';

export interface RateLimitedLogOptions {
  readonly linesPerInterval: number;
  readonly intervalMs: number;
  readonly now?: () => number;
}

export const RATE_LIMITED_LOG_DEFAULTS = { linesPerInterval: 10, intervalMs: 10_000 } as const;

interface KindWindow {
  startMs: number;
  logged: number;
  suppressed: number;
  level: RateLimitedLevel;
  msg: string;
}

export class RateLimitedLog {
  private readonly windows = new Map<string, KindWindow>();
  private readonly linesPerInterval: number;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly logger: Logger, options: Partial<RateLimitedLogOptions> = {}) {
    this.linesPerInterval = options.linesPerInterval ?? RATE_LIMITED_LOG_DEFAULTS.linesPerInterval;
    this.intervalMs = options.intervalMs ?? RATE_LIMITED_LOG_DEFAULTS.intervalMs;
    this.now = options.now ?? monotonicNowMs;
    assert(Number.isSafeInteger(this.linesPerInterval) && this.linesPerInterval >= 0, 'linesPerInterval');
    assert(this.intervalMs > 0, 'intervalMs must be positive');
  }

  /** Logs `msg` with `fields` at `level`, or counts it when its kind is over its lines this interval. */
  log(level: RateLimitedLevel, kind: string, fields: object, msg: string): void {
    const nowMs = this.now();
    let window = this.windows.get(kind);
    if (window !== undefined && nowMs - window.startMs >= this.intervalMs) {
      this.summarize(kind, window);
      window = undefined;
    }
    if (window === undefined) {
      window = { startMs: nowMs, logged: 0, suppressed: 0, level, msg };
      this.windows.set(kind, window);
    }
    if (window.logged < this.linesPerInterval) {
      window.logged += 1;
      this.logger[level]({ ...fields, kind }, msg);
    } else {
      window.suppressed += 1;
    }
  }

  /** Writes the summary of every interval that has ended and forgets quiet kinds. */
  flush(force = false): void {
    const nowMs = this.now();
    for (const [kind, window] of this.windows) {
      if (force || nowMs - window.startMs >= this.intervalMs) this.summarize(kind, window);
    }
  }

  /** Lines counted but not written in the current intervals (for tests and metrics). */
  suppressedNow(kind: string): number {
    return this.windows.get(kind)?.suppressed ?? 0;
  }

  private summarize(kind: string, window: KindWindow): void {
    this.windows.delete(kind);
    if (window.suppressed === 0) return;
    this.logger[window.level]({ kind, suppressed: window.suppressed, intervalMs: this.intervalMs },
      `${window.suppressed} more "${window.msg}" lines suppressed`);
  }
}
