/**
 * Latency percentiles with bounded memory: Node's built-in HDR histogram (perf_hooks), fed in
 * microseconds, so a long duration run keeps a fixed-size table instead of every sample.
 */
import { createHistogram } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';
import { assert } from '../raft/core/assert.js';

export interface LatencySummaryMs {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

const MICROSECONDS_PER_MS = 1_000;

export class LatencyRecorder {
  private readonly histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: 3_600_000_000, figures: 3 });

  /** One sample in milliseconds (sub-millisecond resolution kept as microseconds). */
  recordMs(latencyMs: number): void {
    assert(Number.isFinite(latencyMs), () => `latency must be finite, got ${latencyMs}`);
    this.histogram.record(Math.max(1, Math.round(latencyMs * MICROSECONDS_PER_MS)));
  }

  get count(): number {
    return this.histogram.count;
  }

  summary(): LatencySummaryMs {
    const h = this.histogram;
    if (h.count === 0) return { count: 0, mean: 0, p50: 0, p99: 0, p999: 0, max: 0 };
    const ms = (microseconds: number): number => microseconds / MICROSECONDS_PER_MS;
    return { count: h.count, mean: ms(h.mean), p50: ms(h.percentile(50)), p99: ms(h.percentile(99)),
      p999: ms(h.percentile(99.9)), max: ms(h.max) };
  }
}
