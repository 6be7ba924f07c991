/**
 * The console's view of the brokers' Prometheus endpoints: scrapes every `/metrics` address on an
 * interval and keeps a bounded history of cluster-wide figures for the live charts: records and
 * bytes in and out per second (deltas of the `_total` counters summed over brokers) and produce
 * latency quantiles over each interval (deltas of the latency histogram's buckets). The latest
 * samples of each endpoint also give per-broker disk use and per-replica log sizes.
 *
 * A counter that went down belongs to a restarted broker: its delta is its new value, as
 * Prometheus's rate() counts it.
 */
import { assert } from '../../raft/core/assert.js';
import { histogramBuckets, parseSamples, quantile, sumOf } from './prometheus_text.js';
import type { Sample } from './prometheus_text.js';
import type { EndpointStatus, ThroughputPoint } from './api_types.js';

export interface EndpointState extends EndpointStatus {
  /** The last answer's samples (kept after a failure, so the last known disk use stays visible). */
  readonly samples: readonly Sample[];
}

export interface MetricsScraperOptions {
  readonly addresses: readonly string[];
  readonly intervalMs?: number;
  /** Points kept for the charts (the oldest go first). */
  readonly historyLength?: number;
}

const LATENCY = 'tributary_produce_latency_seconds';
const COUNTERS = ['tributary_records_in_total', 'tributary_records_out_total', 'tributary_bytes_in_total',
  'tributary_bytes_out_total'] as const;

/** A counter's increase between two readings; a reading that went down restarted from 0. */
function increase(previous: number, current: number): number {
  return current >= previous ? current - previous : current;
}

interface Endpoint {
  address: string;
  brokerId: number | null;
  up: boolean;
  error: string | null;
  lastAnswerMs: number | null;
  samples: readonly Sample[];
}

export class MetricsScraper {
  private readonly endpointStates: Endpoint[];
  private readonly history: ThroughputPoint[] = [];
  private readonly intervalMs: number;
  private readonly historyLength: number;
  private timer: NodeJS.Timeout | null = null;
  private previousRoundMs: number | null = null;
  private stopped = false;

  constructor(options: MetricsScraperOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.historyLength = options.historyLength ?? 300;
    assert(this.intervalMs > 0 && this.historyLength > 0, 'the interval and history length are positive');
    this.endpointStates = options.addresses.map((address) => ({ address, brokerId: null, up: false, error: null,
      lastAnswerMs: null, samples: [] }));
  }

  /** Scrapes now and then every interval until stop(). */
  start(): void {
    const round = (): void => {
      void this.scrapeOnce().finally(() => {
        if (!this.stopped) this.timer = setTimeout(round, this.intervalMs).unref();
      });
    };
    round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  get addresses(): string[] {
    return this.endpointStates.map((e) => e.address);
  }

  endpoints(): EndpointState[] {
    return this.endpointStates.map((e) => ({ ...e }));
  }

  series(): ThroughputPoint[] {
    return [...this.history];
  }

  /** The latest samples of the endpoint that reports broker `brokerId`, or null. */
  samplesOf(brokerId: number): readonly Sample[] | null {
    return this.endpointStates.find((e) => e.brokerId === brokerId)?.samples ?? null;
  }

  /** One round: every endpoint at once; a point is added from the second round on (rates need two). */
  async scrapeOnce(): Promise<void> {
    const before = this.endpointStates.map((e) => ({ up: e.up, samples: e.samples }));
    await Promise.all(this.endpointStates.map((endpoint) => this.scrape(endpoint)));
    const nowMs = Date.now();
    const previousRoundMs = this.previousRoundMs;
    this.previousRoundMs = nowMs;
    if (previousRoundMs === null) return;
    const seconds = Math.max(0.001, (nowMs - previousRoundMs) / 1_000);
    const increases = new Map<string, number>(COUNTERS.map((name) => [name, 0]));
    const latencyDelta = new Map<number, number>();
    this.endpointStates.forEach((endpoint, index) => {
      const previous = before[index];
      // Rates need two answers in a row from the same endpoint.
      if (previous === undefined || !previous.up || !endpoint.up) return;
      for (const name of COUNTERS) {
        const delta = increase(sumOf(previous.samples, name), sumOf(endpoint.samples, name));
        increases.set(name, (increases.get(name) ?? 0) + delta);
      }
      const old = new Map(histogramBuckets(previous.samples, LATENCY).map((b) => [b.le, b.count]));
      for (const { le, count } of histogramBuckets(endpoint.samples, LATENCY)) {
        latencyDelta.set(le, (latencyDelta.get(le) ?? 0) + increase(old.get(le) ?? 0, count));
      }
    });
    const buckets = [...latencyDelta].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    const ms = (q: number): number | null => {
      const seconds = quantile(buckets, q);
      return seconds === null ? null : seconds * 1_000;
    };
    const rate = (name: string): number => (increases.get(name) ?? 0) / seconds;
    this.history.push({ timeMs: nowMs, recordsInPerSec: rate('tributary_records_in_total'),
      recordsOutPerSec: rate('tributary_records_out_total'), bytesInPerSec: rate('tributary_bytes_in_total'),
      bytesOutPerSec: rate('tributary_bytes_out_total'), produceP50Ms: ms(0.5), produceP99Ms: ms(0.99),
      endpointsUp: this.endpointStates.filter((e) => e.up).length });
    if (this.history.length > this.historyLength) this.history.splice(0, this.history.length - this.historyLength);
  }

  private async scrape(endpoint: Endpoint): Promise<void> {
    try {
      const response = await fetch(`http://${endpoint.address}/metrics`,
        { signal: AbortSignal.timeout(Math.max(500, this.intervalMs)) });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const samples = parseSamples(await response.text());
      const broker = Number(samples.find((s) => s.labels.broker !== undefined)?.labels.broker);
      if (Number.isInteger(broker)) endpoint.brokerId = broker;
      endpoint.samples = samples;
      endpoint.up = true;
      endpoint.error = null;
      endpoint.lastAnswerMs = Date.now();
    } catch (error) {
      endpoint.up = false;
      endpoint.error = error instanceof Error ? error.message : String(error);
    }
  }
}
