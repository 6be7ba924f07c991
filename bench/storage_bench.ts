/**
 * Storage benchmark: the Log's append throughput with group commit, next to a raw baseline measured
 * in the same run: plain `fs` appends of the same payload bytes (one write of a pre-built batch
 * buffer) with the same fsync cadence (one fdatasync per batch). The ratio log/baseline is the
 * figure to watch; absolute numbers swing with the shared machine.
 *
 * Method: a warm-up write first (fresh VMs are slow to touch new page cache), then for each entry
 * size several rounds alternating baseline and log, each writing `totalBytes` of payload in batches
 * of `batchBytes` and awaiting durability after every batch; medians are reported. Nothing is
 * deleted until the end, so no run pays for the previous run's file deletion.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EntryType, LogManager } from '../storage/index.js';
import type { EntryInput } from '../storage/index.js';

export interface StorageBenchOptions {
  readonly entrySizesBytes: readonly number[];
  readonly totalBytes: number;
  readonly batchBytes: number;
  readonly rounds: number;
  readonly directory?: string;
  readonly onProgress?: (message: string) => void;
}

export interface ThroughputFigures {
  readonly megabytesPerSecond: number;
  readonly entriesPerSecond: number;
  readonly batchLatencyMsP50: number;
  readonly batchLatencyMsP99: number;
}

export interface StorageBenchCase {
  readonly entrySizeBytes: number;
  readonly entriesPerBatch: number;
  readonly log: ThroughputFigures;
  readonly baseline: ThroughputFigures;
  /** log MB/s divided by baseline MB/s. */
  readonly ratio: number;
}

export interface StorageBenchResult {
  readonly totalBytes: number;
  readonly batchBytes: number;
  readonly rounds: number;
  readonly cases: readonly StorageBenchCase[];
}

interface RoundMeasure { seconds: number; batchLatenciesMs: number[] }

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
};
const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
};

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => { if (error) reject(error); else resolve(); });
  });
}

function makeEntries(entrySizeBytes: number, entriesPerBatch: number): Buffer[] {
  return Array.from({ length: entriesPerBatch }, (_, i) => Buffer.alloc(entrySizeBytes, (i * 31 + 7) & 0xff));
}

async function runBaseline(file: string, batch: Buffer, batches: number): Promise<RoundMeasure> {
  const fd = fs.openSync(file, 'w');
  const batchLatenciesMs: number[] = [];
  const started = process.hrtime.bigint();
  let position = 0;
  for (let i = 0; i < batches; i += 1) {
    const batchStart = process.hrtime.bigint();
    fs.writeSync(fd, batch, 0, batch.length, position);
    position += batch.length;
    await datasync(fd);
    batchLatenciesMs.push(Number(process.hrtime.bigint() - batchStart) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.closeSync(fd);
  return { seconds, batchLatenciesMs };
}

async function runLog(directory: string, payloads: readonly Buffer[], batches: number): Promise<RoundMeasure> {
  const manager = LogManager.open({ dataDirectory: directory });
  const log = await manager.openLog('bench-0');
  const batchLatenciesMs: number[] = [];
  let index = log.lastIndex + 1;
  const started = process.hrtime.bigint();
  for (let i = 0; i < batches; i += 1) {
    const batchStart = process.hrtime.bigint();
    const entries: EntryInput[] = payloads.map((payload) => ({
      term: 1, index: index++, type: EntryType.data, recordCount: 1, maxTimestampMs: i, payload,
    }));
    log.append(entries);
    await log.sync();
    batchLatenciesMs.push(Number(process.hrtime.bigint() - batchStart) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await manager.close();
  return { seconds, batchLatenciesMs };
}

function figures(rounds: readonly RoundMeasure[], bytes: number, entries: number): ThroughputFigures {
  const seconds = median(rounds.map((round) => round.seconds));
  const latencies = rounds.flatMap((round) => round.batchLatenciesMs);
  return {
    megabytesPerSecond: bytes / seconds / 1e6,
    entriesPerSecond: entries / seconds,
    batchLatencyMsP50: percentile(latencies, 0.5),
    batchLatencyMsP99: percentile(latencies, 0.99),
  };
}

export async function runStorageBench(options: StorageBenchOptions): Promise<StorageBenchResult> {
  const root = fs.mkdtempSync(path.join(options.directory ?? os.tmpdir(), 'tributary-bench-'));
  const progress = options.onProgress ?? ((): void => undefined);
  try {
    progress('warming up the page cache');
    const warmup = Buffer.alloc(options.batchBytes, 1);
    await runBaseline(path.join(root, 'warmup'), warmup, Math.ceil(options.totalBytes / options.batchBytes));
    const cases: StorageBenchCase[] = [];
    for (const entrySizeBytes of options.entrySizesBytes) {
      const entriesPerBatch = Math.max(1, Math.floor(options.batchBytes / entrySizeBytes));
      const payloads = makeEntries(entrySizeBytes, entriesPerBatch);
      const batch = Buffer.concat(payloads);
      const batches = Math.max(1, Math.floor(options.totalBytes / batch.length));
      const baselineRounds: RoundMeasure[] = [];
      const logRounds: RoundMeasure[] = [];
      for (let round = 0; round < options.rounds; round += 1) {
        progress(`${entrySizeBytes} B entries: round ${round + 1}/${options.rounds}`);
        // Alternate the order so neither side always runs on a warmer machine.
        // Files stay until the end: deleting hundreds of MiB makes the filesystem busy for the next run.
        const baselineFile = path.join(root, `baseline-${entrySizeBytes}-${round}`);
        const logDirectory = path.join(root, `log-${entrySizeBytes}-${round}`);
        if (round % 2 === 0) baselineRounds.push(await runBaseline(baselineFile, batch, batches));
        logRounds.push(await runLog(logDirectory, payloads, batches));
        if (round % 2 === 1) baselineRounds.push(await runBaseline(baselineFile, batch, batches));
      }
      const bytes = batch.length * batches;
      const entries = entriesPerBatch * batches;
      const log = figures(logRounds, bytes, entries);
      const baseline = figures(baselineRounds, bytes, entries);
      cases.push({ entrySizeBytes, entriesPerBatch, log, baseline,
        ratio: log.megabytesPerSecond / baseline.megabytesPerSecond });
    }
    return { totalBytes: options.totalBytes, batchBytes: options.batchBytes, rounds: options.rounds, cases };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
