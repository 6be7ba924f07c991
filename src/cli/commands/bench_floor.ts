/**
 * `tributary bench floor`: what one acks=all write costs on this machine with nothing but the hops
 * and the syncs it needs (bench/floor/), to hold `bench produce --window 1 --linger-ms 0` against;
 * with `--throughput N`, the same path under a steady load (bench/floor/loaded_floor.ts), to hold
 * `bench produce --throughput N --linger-ms 0 --end-to-end` against.
 */
import type { Argv, CommandModule } from 'yargs';
import { runFloorBench } from '../../../bench/floor/floor_bench.js';
import type { FloorBenchResult } from '../../../bench/floor/floor_bench.js';
import { HostCpuMeter, formatHostCpu } from '../../../bench/host_cpu.js';
import type { HostCpuFigures } from '../../../bench/host_cpu.js';
import type { LatencySummaryMs } from '../../../bench/latency.js';
import { runLoadedFloor } from '../../../bench/floor/loaded_floor.js';
import type { LoadedFloorResult } from '../../../bench/floor/loaded_floor.js';
import { latencyLine } from '../bench_report.js';

interface FloorArguments {
  'duration-s': number;
  'warmup-s': number;
  throughput: number | undefined;
  'record-size': number;
  dir: string | undefined;
  json: boolean;
}

function row(name: string, latency: LatencySummaryMs): string {
  return `${name.padEnd(52)} ${latency.p50.toFixed(2).padStart(6)} ${latency.p99.toFixed(2).padStart(6)} ` +
    `${latency.p999.toFixed(2).padStart(6)}   (${latency.count.toLocaleString('en-US')})`;
}

function formatTable(result: FloorBenchResult, hostCpu: HostCpuFigures | null): string {
  return [
    `the machine's floor for one acks=all write, one ${result.recordBytes}-byte record in flight ` +
      '(ms; samples in brackets)',
    `${''.padEnd(52)} ${'p50'.padStart(6)} ${'p99'.padStart(6)} ${'p99.9'.padStart(6)}`,
    row('two hops: client -> leader -> client', result.roundTrip),
    row('the same two hops over plain TCP (node:net)', result.roundTripPlainTcp),
    row('a write and fdatasync alone', result.sync),
    row('replicated write, without fdatasync', result.replicatedWriteWithoutFsync),
    row('replicated write: four hops, a majority synced', result.replicatedWrite),
    ...(hostCpu === null ? [] : [`machine while measured: ${formatHostCpu(hostCpu)}`]),
  ].join('\n');
}

function formatLoaded(result: LoadedFloorResult): string {
  const count = (n: number): string => Math.round(n).toLocaleString('en-US');
  return [
    `the machine's floor at ${count(result.recordsPerSecCap)} records/s (three replicas each leading a share, ` +
      `one write in flight per leader, ${result.recordBytes}-byte records): ${count(result.recordsPerSec)} records/s ` +
      `in ${count(result.writesPerSec)} writes/s of ${result.recordsPerWrite.toFixed(1)} records`,
    latencyLine('produce-to-ack', result.ackLatencyMs),
    latencyLine('produce-to-consume', result.endToEndLatencyMs),
    ...(result.hostCpu === null ? [] : [`  machine while measured: ${formatHostCpu(result.hostCpu)}`]),
  ].join('\n');
}

export const benchFloorCommand: CommandModule<object, FloorArguments> = {
  command: 'floor',
  describe: 'the machine\'s floor for one acks=all write: the same hops and fdatasyncs with no log behind them',
  builder: (yargs: Argv): Argv<FloorArguments> => yargs
    .option('duration-s', { type: 'number', default: 10, describe: 'seconds of each part' })
    .option('throughput', { type: 'number', describe: 'records/s: measure the floor under this steady load instead '
      + '(produce-to-ack and produce-to-consume, as bench produce --linger-ms 0 --end-to-end)' })
    .option('warmup-s', { type: 'number', default: 5, describe: 'with --throughput: seconds sent before measuring' })
    .option('record-size', { type: 'number', default: 100, describe: 'bytes per record' })
    .option('dir', { type: 'string', describe: 'where the replicas write (default: the OS temp folder)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
  handler: async (args) => {
    if (!(args['duration-s'] > 0)) throw new Error('--duration-s must be positive');
    if (!(Number.isSafeInteger(args['record-size']) && args['record-size'] >= 8)) {
      throw new Error('--record-size must be a whole number of bytes, at least 8');
    }
    if (args.throughput !== undefined) {
      if (!(args.throughput > 0 && Number.isFinite(args.throughput))) throw new Error('--throughput must be positive');
      if (!(args['warmup-s'] >= 0)) throw new Error('--warmup-s must be 0 or more');
      const loaded = await runLoadedFloor({ recordsPerSec: args.throughput, durationMs: args['duration-s'] * 1_000,
        warmupMs: args['warmup-s'] * 1_000, recordBytes: args['record-size'],
        ...(args.dir === undefined ? {} : { directory: args.dir }) });
      process.stdout.write(args.json ? `${JSON.stringify({ command: 'floor', loaded })}\n` : `${formatLoaded(loaded)}\n`);
      return;
    }
    const meter = new HostCpuMeter();
    const result = await runFloorBench({ durationMs: args['duration-s'] * 1_000, recordBytes: args['record-size'],
      ...(args.dir === undefined ? {} : { directory: args.dir }) });
    const hostCpu = meter.stop();
    process.stdout.write(args.json ? `${JSON.stringify({ command: 'floor', ...result, hostCpu })}\n`
      : `${formatTable(result, hostCpu)}\n`);
  },
};
