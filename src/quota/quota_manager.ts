/**
 * The broker's byte-rate quotas (Kafka's ClientQuotaManager): one produce and one fetch rate per
 * principal that has a quota, fed with the bytes of each request or reply, answering how long to
 * hold that reply so the principal's rate falls back to its quota. The rates are this broker's
 * alone (as Kafka's: a client spreading its traffic over three brokers may reach three times its
 * quota). Quota entries come from the metadata, read on every call, so a change applies at once.
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

export class QuotaManager {
  private readonly rates = new Map<string, ByteRate>();

  constructor(private readonly options: QuotaManagerOptions) {}

  /**
   * Counts `bytes` against principal's `kind` quota and answers the milliseconds its reply should
   * be held (0 when within its quota, or when it has none).
   */
  record(kind: QuotaKind, principal: string, bytes: number, nowMs: number): number {
    const quota = quotaFor(this.options.entries(), principal, kind);
    if (quota === null) return 0;
    const key = `${kind} ${principal}`;
    let rate = this.rates.get(key);
    if (rate === undefined) {
      if (this.rates.size >= RATES_SWEEP_AT) this.sweep(nowMs);
      rate = new ByteRate(this.options.samples ?? QUOTA_SAMPLES, this.options.sampleMs ?? QUOTA_SAMPLE_MS);
      this.rates.set(key, rate);
    }
    rate.record(bytes, nowMs);
    return throttleMs(rate.rate(nowMs), quota, rate.windowMs);
  }

  /** Principals with a rate being measured (for tests and metrics). */
  get measured(): number {
    return this.rates.size;
  }

  private sweep(nowMs: number): void {
    for (const [key, rate] of this.rates) if (rate.idle(nowMs)) this.rates.delete(key);
  }
}
