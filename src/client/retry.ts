/**
 * Retries with exponential back-off and jitter (Kafka retry.backoff.ms / retry.backoff.max.ms,
 * kafkajs retry/index.js). Every retry loop here is bounded twice: by a number of attempts and by
 * a total time. Only errors that say so are retried: a TributaryError whose code the error table
 * marks retriable (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, REQUEST_TIMED_OUT, ...).
 *
 * The jitter comes from an injected Prng (STYLE.md §7), seeded from crypto by default.
 */
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { SeededPrng } from '../../raft/core/prng.js';
import { TributaryError } from '../common/errors.js';

export interface BackoffOptions {
  /** The first wait (Kafka retry.backoff.ms). */
  readonly backoffInitialMs?: number;
  /** The longest wait (Kafka retry.backoff.max.ms). */
  readonly backoffMaxMs?: number;
  /** Each wait is this many times the one before, before jitter. */
  readonly backoffMultiplier?: number;
  /** Each wait is scaled by a factor drawn from [1 - jitter, 1 + jitter]. */
  readonly jitter?: number;
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt; 0 means try once. */
  readonly retriesMax?: number;
  /** No retry starts after this many ms from the first attempt. */
  readonly totalTimeMaxMs?: number;
  /** Which errors to retry; defaults to isRetriable. */
  readonly retriable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to refresh metadata. */
  readonly onRetry?: (error: unknown, attempt: number) => void | Promise<void>;
  readonly prng?: Prng;
}

export const RETRY_DEFAULTS = {
  retriesMax: 5,
  totalTimeMaxMs: 30_000,
  backoffInitialMs: 100,
  backoffMaxMs: 1_000,
  backoffMultiplier: 2,
  jitter: 0.2,
} as const;

/** A Prng seeded from the operating system, for client-side chance (jitter, sticky partitions). */
export function cryptoSeededPrng(): SeededPrng {
  return new SeededPrng(randomInt(0, 2 ** 48 - 1));
}

/** Whether an error is worth retrying: a TributaryError whose code is retriable. */
export function isRetriable(error: unknown): boolean {
  return error instanceof TributaryError && error.retriable;
}

/** The wait before retry number `attempt` (1 for the first retry), jittered and capped. */
export function backoffMs(attempt: number, options: BackoffOptions, prng: Prng): number {
  assert(Number.isSafeInteger(attempt) && attempt >= 1, () => `bad attempt ${attempt}`);
  const initial = options.backoffInitialMs ?? RETRY_DEFAULTS.backoffInitialMs;
  const max = Math.max(initial, options.backoffMaxMs ?? RETRY_DEFAULTS.backoffMaxMs);
  const multiplier = options.backoffMultiplier ?? RETRY_DEFAULTS.backoffMultiplier;
  const jitter = options.jitter ?? RETRY_DEFAULTS.jitter;
  assert(initial >= 0 && multiplier >= 1 && jitter >= 0 && jitter < 1, 'bad back-off options');
  const exponential = Math.min(max, initial * multiplier ** Math.min(attempt - 1, 64));
  const factor = 1 - jitter + 2 * jitter * prng.nextFloat();
  return Math.round(Math.min(max, exponential * factor));
}

let sharedPrng: Prng | null = null;

function defaultPrng(): Prng {
  sharedPrng ??= cryptoSeededPrng();
  return sharedPrng;
}

/**
 * Runs operation until it succeeds, fails with an error that is not retriable, runs out of
 * retries, or would start a retry after totalTimeMaxMs. Rethrows the last error.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retriesMax = options.retriesMax ?? RETRY_DEFAULTS.retriesMax;
  const totalTimeMaxMs = options.totalTimeMaxMs ?? RETRY_DEFAULTS.totalTimeMaxMs;
  const retriable = options.retriable ?? isRetriable;
  const prng = options.prng ?? defaultPrng();
  const startMs = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= retriesMax || !retriable(error)) throw error;
      const waitMs = backoffMs(attempt + 1, options, prng);
      if (Date.now() + waitMs - startMs > totalTimeMaxMs) throw error;
      await options.onRetry?.(error, attempt + 1);
      await sleep(waitMs);
    }
  }
}
