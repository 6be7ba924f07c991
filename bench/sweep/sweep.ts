/**
 * The latency-versus-throughput sweep (`tributary bench sweep`): what users of Kafka and Redpanda
 * benchmarks look at first. One cluster, one topic; first the peak (the produce bench flat out for
 * `peakMs`, unless given), then the produce bench capped at rising fractions of that peak, each for
 * `stepMs`, recording the throughput reached and produce-to-ack (and, asked, produce-to-consume)
 * percentiles. With `windowRecords` 1 every step is one record in flight: the sequential round trip.
 *
 * The cap paces sends (produce_bench.ts), and a record's latency runs from its actual send, so a
 * step the cluster cannot keep up with shows as a throughput below its target rather than as
 * queueing delay (no coordinated-omission correction): read a step whose reached rate falls short
 * of its target as past the knee.
 */
import { assert } from '../../raft/core/assert.js';
import type { HostCpuFigures } from '../host_cpu.js';
import type { ProcessCpuFigures } from '../process_cpu.js';
import type { LatencySummaryMs } from '../latency.js';
import { runProduceBench } from '../produce_bench.js';
import type { ProduceBenchOptions } from '../produce_bench.js';

export const DEFAULT_SWEEP_FRACTIONS: readonly number[] = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9];

/** The produce bench's settings, minus what the sweep sets per step. */
export type SweepProduceOptions = Omit<ProduceBenchOptions, 'records' | 'durationMs' | 'recordsPerSecondMax' |
  'onProgress'>;

export interface SweepOptions {
  readonly produce: SweepProduceOptions;
  /** Records/s taken as the peak; measured first (flat out for peakMs) when undefined. */
  readonly peakRecordsPerSec?: number;
  readonly peakMs: number;
  readonly stepMs: number;
  /** Fractions of the peak, each in (0, 1]; run in rising order. */
  readonly fractions: readonly number[];
  readonly onStep?: (step: SweepStep) => void;
}

export interface SweepStep {
  /** The fraction of the peak asked for; null for the peak measurement itself. */
  readonly fraction: number | null;
  /** records/s asked for; null when flat out. */
  readonly targetRecordsPerSec: number | null;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly records: number;
  readonly failed: number;
  readonly ackLatencyMs: LatencySummaryMs;
  readonly endToEndLatencyMs: LatencySummaryMs | null;
  /** The machine's CPU during the step (null off Linux). */
  readonly hostCpu: HostCpuFigures | null;
  /** Each local broker's and the bench's cores and main thread's run and wait during the step (null off Linux). */
  readonly processCpu: Readonly<Record<string, ProcessCpuFigures>> | null;
}

export interface SweepResult {
  readonly peakRecordsPerSec: number;
  /** The flat-out run, when the peak was measured here. */
  readonly peak: SweepStep | null;
  readonly steps: readonly SweepStep[];
}

export function parseFractions(text: string): number[] {
  const fractions = text.split(',').map((part) => Number(part.trim()));
  for (const fraction of fractions) {
    if (!(fraction > 0 && fraction <= 1)) throw new Error(`--steps: each step is a fraction of the peak in (0, 1], got ${text}`);
  }
  return [...new Set(fractions)].sort((a, b) => a - b);
}

async function runStep(options: SweepOptions, fraction: number | null, rate: number): Promise<SweepStep> {
  const durationMs = fraction === null ? options.peakMs : options.stepMs;
  const result = await runProduceBench({ ...options.produce, records: Infinity, durationMs,
    recordsPerSecondMax: rate });
  return { fraction, targetRecordsPerSec: Number.isFinite(rate) ? rate : null, recordsPerSec: result.recordsPerSec,
    mbPerSec: result.mbPerSec, records: result.records, failed: result.failed, ackLatencyMs: result.latencyMs,
    endToEndLatencyMs: result.endToEndLatencyMs, hostCpu: result.hostCpu, processCpu: result.processCpu };
}

export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  assert(options.fractions.length > 0, 'a sweep has at least one step');
  assert(options.stepMs > 0 && options.peakMs > 0, 'steps and the peak run last a positive time');
  let peak: SweepStep | null = null;
  let peakRecordsPerSec = options.peakRecordsPerSec;
  if (peakRecordsPerSec === undefined) {
    peak = await runStep(options, null, Infinity);
    options.onStep?.(peak);
    peakRecordsPerSec = peak.recordsPerSec;
  }
  assert(peakRecordsPerSec > 0, () => `the peak must be positive, got ${String(peakRecordsPerSec)}`);
  const steps: SweepStep[] = [];
  for (const fraction of [...options.fractions].sort((a, b) => a - b)) {
    // At least one record a second: a step has something to measure.
    const step = await runStep(options, fraction, Math.max(1, Math.round(fraction * peakRecordsPerSec)));
    options.onStep?.(step);
    steps.push(step);
  }
  return { peakRecordsPerSec, peak, steps };
}
