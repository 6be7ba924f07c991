/**
 * What `tributary bench produce|consume` print: a few lines for people, or one JSON object
 * (--json) whose top level always has recordsPerSec, mbPerSec and latencyMs {p50, p99, p999, max}, and
 * hostCpu {cpus, busy, steal}: how busy the machine was and what the hypervisor took, which on a shared
 * VM says which runs compare; and for produce, processCpu {name: {cores, mainRunning, mainWaiting}}:
 * each local broker's and the bench's CPU, and how long its main thread waited for a core.
 * A live progress line (cli-progress, on stderr) runs while the bench does.
 */
import cliProgress from 'cli-progress';
import type { Baseline } from '../../bench/baseline.js';
import { formatHostCpu } from '../../bench/host_cpu.js';
import type { HostCpuFigures } from '../../bench/host_cpu.js';
import type { LatencySummaryMs } from '../../bench/latency.js';
import { formatProcessCpu } from '../../bench/process_cpu.js';
import type { ProcessCpuFigures } from '../../bench/process_cpu.js';
import type { BenchProgress, ThroughputFigures } from '../../bench/produce_bench.js';

export interface BenchReport {
  readonly command: 'produce' | 'consume';
  readonly config: Readonly<Record<string, string | number | boolean | null>>;
  readonly figures: ThroughputFigures;
  readonly latencyName: string;
  readonly latencyMs: LatencySummaryMs;
  readonly endToEndLatencyMs: LatencySummaryMs | null;
  readonly baseline: Baseline | null;
  readonly brokerRssMiBMax: Record<string, number>;
  /** The machine's CPU over the measured part (null where /proc/stat is not). */
  readonly hostCpu: HostCpuFigures | null;
  /** Per process (the local brokers and the bench): cores, and the main thread's run and wait; produce only. */
  readonly processCpu: Readonly<Record<string, ProcessCpuFigures>> | null;
  readonly notes: readonly string[];
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);
const grouped = (value: number): string => Math.round(value).toLocaleString('en-US');

/** "  produce-to-ack     ms: p50 ...": one latency summary as every bench result prints it. */
export function latencyLine(name: string, latency: LatencySummaryMs): string {
  return `  ${name.padEnd(18)} ms: p50 ${fixed(latency.p50, 2)}  p99 ${fixed(latency.p99, 2)}  ` +
    `p99.9 ${fixed(latency.p999, 2)}  max ${fixed(latency.max, 2)}  (${latency.count} samples)`;
}

export function formatBenchReport(report: BenchReport): string {
  const f = report.figures;
  const config = Object.entries(report.config).map(([key, value]) => `${key}=${String(value)}`).join(' ');
  const lines = [
    `${report.command}: ${grouped(f.records)} records in ${fixed(f.seconds, 2)} s: ${grouped(f.recordsPerSec)} records/s, ` +
      `${fixed(f.mbPerSec, 1)} MB/s`,
    `  (${config})`,
    latencyLine(report.latencyName, report.latencyMs),
  ];
  if (report.endToEndLatencyMs !== null) lines.push(latencyLine('produce-to-consume', report.endToEndLatencyMs));
  if (report.baseline !== null) {
    const { file, zeromq } = report.baseline;
    const fileName = report.command === 'produce' ? 'file append + fdatasync/batch' : 'file read';
    lines.push(`  baseline, same bytes, this machine, this run:`,
      `    ${fileName.padEnd(30)} ${fixed(file.mbPerSec, 1).padStart(8)} MB/s   cluster at ` +
        `${fixed(f.mbPerSec / file.mbPerSec, 3)}x`,
      `    ${'one zeromq socket pair'.padEnd(30)} ${fixed(zeromq.mbPerSec, 1).padStart(8)} MB/s   cluster at ` +
        `${fixed(f.mbPerSec / zeromq.mbPerSec, 3)}x`);
  }
  const rss = Object.entries(report.brokerRssMiBMax);
  if (rss.length > 0) {
    lines.push(`  broker resident set, max MiB: ${rss.map(([id, mib]) => `${id}: ${fixed(mib, 0)}`).join(', ')}`);
  }
  if (report.hostCpu !== null) lines.push(`  machine while measured: ${formatHostCpu(report.hostCpu)}`);
  if (report.processCpu !== null) {
    lines.push(`  cores per process (main thread running / waiting for a core): ${formatProcessCpu(report.processCpu)}`);
  }
  for (const note of report.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}

export function benchReportJson(report: BenchReport): string {
  const f = report.figures;
  const baseline = report.baseline === null ? null : {
    file: { ...report.baseline.file, ratio: f.mbPerSec / report.baseline.file.mbPerSec },
    zeromq: { ...report.baseline.zeromq, ratio: f.mbPerSec / report.baseline.zeromq.mbPerSec },
  };
  return JSON.stringify({ command: report.command, config: report.config, records: f.records, bytes: f.bytes,
    seconds: f.seconds, recordsPerSec: f.recordsPerSec, mbPerSec: f.mbPerSec, latencyMs: report.latencyMs,
    latencyName: report.latencyName, endToEndLatencyMs: report.endToEndLatencyMs, baseline,
    brokerRssMiBMax: report.brokerRssMiBMax, hostCpu: report.hostCpu, processCpu: report.processCpu,
    notes: report.notes });
}

/** A live line on stderr: records done, rate, MB/s. Silent when stderr is not a terminal. */
export class BenchProgressLine {
  private readonly bar: cliProgress.SingleBar;

  constructor(label: string, total: number, private readonly recordBytes: number) {
    this.bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {percentage}% | {value}/{total} records | {rate} records/s | {mbps} MB/s`,
      stream: process.stderr, hideCursor: true, fps: 4,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(Number.isFinite(total) ? total : 0, 0, { rate: '0', mbps: '0.0' });
  }

  update(progress: BenchProgress): void {
    const seconds = Math.max(1e-3, progress.elapsedMs / 1_000);
    const rate = progress.records / seconds;
    if (this.bar.getTotal() < progress.records) this.bar.setTotal(progress.records);
    this.bar.update(progress.records, { rate: grouped(rate), mbps: fixed(rate * this.recordBytes / 1e6, 1) });
  }

  stop(): void {
    this.bar.stop();
  }
}
