/**
 * A byte rate measured over a sliding window of samples (Kafka's SampledStat Rate): `samples`
 * windows of `sampleMs` each; the oldest is dropped as a new one starts. The rate divides the
 * bytes of the live samples by the time they span, but never by less than (samples - 1) whole
 * windows, so a first burst after a quiet spell is not read as an enormous rate.
 */
import { assert } from '../../raft/core/assert.js';

interface Sample {
  startMs: number;
  bytes: number;
}

export class ByteRate {
  private readonly live: Sample[] = [];

  constructor(readonly samples: number, readonly sampleMs: number) {
    assert(Number.isInteger(samples) && samples >= 2, 'a rate needs at least two samples');
    assert(sampleMs > 0, 'a sample lasts a positive time');
  }

  /** The whole window: what a throttle is measured against. */
  get windowMs(): number {
    return this.samples * this.sampleMs;
  }

  record(bytes: number, nowMs: number): void {
    assert(Number.isFinite(bytes) && bytes >= 0, () => `bytes recorded must be >= 0, got ${bytes}`);
    this.expire(nowMs);
    const current = this.live[this.live.length - 1];
    if (current !== undefined && nowMs < current.startMs + this.sampleMs) current.bytes += bytes;
    else this.live.push({ startMs: nowMs, bytes });
  }

  /** Bytes per second over the live samples. */
  rate(nowMs: number): number {
    const spanMs = this.spanMs(nowMs);
    return this.live.reduce((sum, sample) => sum + sample.bytes, 0) * 1000 / spanMs;
  }

  /** The time the rate is measured over: the live samples' span, at least (samples - 1) windows. */
  spanMs(nowMs: number): number {
    this.expire(nowMs);
    const oldest = this.live[0];
    const minimumMs = (this.samples - 1) * this.sampleMs;
    return oldest === undefined ? minimumMs : Math.max(nowMs - oldest.startMs, minimumMs);
  }

  /** Nothing recorded within the window: the rate can be forgotten. */
  idle(nowMs: number): boolean {
    this.expire(nowMs);
    return this.live.length === 0;
  }

  private expire(nowMs: number): void {
    while (this.live.length > 0) {
      const oldest = this.live[0];
      if (oldest === undefined || nowMs - oldest.startMs < this.windowMs) break;
      this.live.shift();
    }
    while (this.live.length > this.samples) this.live.shift();
  }
}

/**
 * How long to hold a reply so the rate falls back to `quotaBytesPerSec` (Kafka's
 * ClientQuotaManager.throttleTime): the excess over the quota as a fraction of it, times the span
 * the rate was measured over (ByteRate.spanMs), so that sending nothing for that long brings the
 * rate down to the quota; at most `maxMs` (one whole window). 0 when within the quota.
 */
export function throttleMs(rateBytesPerSec: number, quotaBytesPerSec: number, spanMs: number, maxMs: number): number {
  assert(quotaBytesPerSec > 0, 'a quota is a positive rate');
  if (rateBytesPerSec <= quotaBytesPerSec) return 0;
  const ms = (rateBytesPerSec - quotaBytesPerSec) / quotaBytesPerSec * spanMs;
  return Math.min(Math.round(ms), maxMs);
}
