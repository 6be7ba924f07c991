/**
 * The broker's byte-rate quotas (Kafka's ClientQuotaManager): one produce and one fetch rate per
 * principal that has a quota, fed with the bytes of each request or reply, answering how long to
 * hold that reply so the principal's rate falls back to its quota. The rates are this broker's
 * alone (as Kafka's: a client spreading its traffic over three brokers may reach three times its
 * quota). Quota entries come from the metadata, read on every call, so a change applies at once.
 *
 * A held reply also mutes the principal (Kafka mutes the connection whose reply it holds): a request
 * of that kind arriving before the hold ends waits for it before it runs. Without the mute, a client
 * with five requests in flight had the other four appended while one reply was held, and each
 * throttle, computed as if nothing more came during it, was overrun: a greedy producer ran at 1.3 to
 * 1.6 times its quota (bench/quota.ts).
 */
import type { QuotaEntry, QuotaKind } from './client_quotas.js';
import { quotaFor } from './client_quotas.js';
import { ByteRate, throttleMs } from './byte_rate.js';

/** Kafka's quota.window.num and quota.window.size.seconds. */
export const QUOTA_SAMPLES = 11;
export const QUOTA_SAMPLE_MS = 1_000;
/** Rates kept before idle ones are swept. */
const RATES_SWEEP_AT = 1_024;

export interface QuotaManagerOptions {
  /** The quota entries of the applied metadata, by principal. */
  readonly entries: () => ReadonlyMap<string, QuotaEntry>;
  readonly samples?: number;
  readonly sampleMs?: number;
}

interface PrincipalRate {
  readonly rate: ByteRate;
  /** Until when (monotonic ms) the principal's requests of this kind wait before they run. */
  mutedUntilMs: number;
}

export class QuotaManager {
  private readonly rates = new Map<string, PrincipalRate>();

  constructor(private readonly options: QuotaManagerOptions) {}

  /**
   * Counts `bytes` against principal's `kind` quota and answers the milliseconds its reply should
   * be held (0 when within its quota, or when it has none); the principal is muted until then.
   */
  record(kind: QuotaKind, principal: string, bytes: number, nowMs: number): number {
    const quota = quotaFor(this.options.entries(), principal, kind);
    if (quota === null) return 0;
    const key = `${kind} ${principal}`;
    let measured = this.rates.get(key);
    if (measured === undefined) {
      if (this.rates.size >= RATES_SWEEP_AT) this.sweep(nowMs);
      measured = { rate: new ByteRate(this.options.samples ?? QUOTA_SAMPLES, this.options.sampleMs ?? QUOTA_SAMPLE_MS),
        mutedUntilMs: 0 };
      this.rates.set(key, measured);
    }
    measured.rate.record(bytes, nowMs);
    const { rate } = measured;
    const heldMs = throttleMs(rate.rate(nowMs), quota, rate.spanMs(nowMs), rate.windowMs);
    measured.mutedUntilMs = Math.max(measured.mutedUntilMs, nowMs + heldMs);
    return heldMs;
  }

  /**
   * How long a request of principal's `kind` arriving now waits before it runs: until the latest
   * hold ends (0 when none is running, or when the principal has no quota any more).
   */
  mutedForMs(kind: QuotaKind, principal: string, nowMs: number): number {
    const measured = this.rates.get(`${kind} ${principal}`);
    if (measured === undefined || measured.mutedUntilMs <= nowMs) return 0;
    if (quotaFor(this.options.entries(), principal, kind) === null) return 0;
    return measured.mutedUntilMs - nowMs;
  }

  /** The window a rate is measured over, and the longest a hold lasts. */
  get windowMs(): number {
    return (this.options.samples ?? QUOTA_SAMPLES) * (this.options.sampleMs ?? QUOTA_SAMPLE_MS);
  }

  /** Principals with a rate being measured (for tests and metrics). */
  get measured(): number {
    return this.rates.size;
  }

  private sweep(nowMs: number): void {
    for (const [key, measured] of this.rates) {
      if (measured.rate.idle(nowMs) && measured.mutedUntilMs <= nowMs) this.rates.delete(key);
    }
  }
}
