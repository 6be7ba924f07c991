/**
 * `tributary bench storage`: the storage engine's append throughput against a raw-file baseline;
 * `bench produce` and `bench consume` live in bench_cluster.ts, `bench sweep` in bench_sweep.ts,
 * `bench floor` in bench_floor.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { runStorageBench } from '../../../bench/storage_bench.js';
import type { StorageBenchResult } from '../../../bench/storage_bench.js';
import { benchConsumeCommand, benchProduceCommand } from './bench_cluster.js';
import { benchFloorCommand } from './bench_floor.js';
import { benchSweepCommand } from './bench_sweep.js';

interface StorageBenchArguments {
  sizes: number[];
  'total-mib': number;
  'batch-kib': number;
  rounds: number;
  dir: string | undefined;
  json: boolean;
}

function formatTable(result: StorageBenchResult): string {
  const lines = [
    `storage append, group commit: ${result.totalBytes / 2 ** 20} MiB per run, one fdatasync per ` +
      `${result.batchBytes / 1024} KiB batch, median of ${result.rounds} rounds`,
    'entry      | log MB/s | log entries/s | log batch p50/p99 ms | raw MB/s | raw batch p50/p99 ms | ratio',
  ];
  for (const c of result.cases) {
    const size = c.entrySizeBytes >= 1024 ? `${c.entrySizeBytes / 1024} KiB` : `${c.entrySizeBytes} B`;
    lines.push([
      size.padEnd(10),
      c.log.megabytesPerSecond.toFixed(0).padStart(8),
      c.log.entriesPerSecond.toFixed(0).padStart(13),
      `${c.log.batchLatencyMsP50.toFixed(2)}/${c.log.batchLatencyMsP99.toFixed(2)}`.padStart(20),
      c.baseline.megabytesPerSecond.toFixed(0).padStart(8),
      `${c.baseline.batchLatencyMsP50.toFixed(2)}/${c.baseline.batchLatencyMsP99.toFixed(2)}`.padStart(20),
      c.ratio.toFixed(2).padStart(5),
    ].join(' | '));
  }
  return lines.join('\n');
}

const storageCommand: CommandModule<object, StorageBenchArguments> = {
  command: 'storage',
  describe: 'append throughput of the log (group commit) next to plain fs appends of the same bytes',
  builder: (yargs: Argv): Argv<StorageBenchArguments> => yargs
    .option('sizes', { type: 'number', array: true, default: [1024, 65536], describe: 'entry sizes in bytes' })
    .option('total-mib', { type: 'number', default: 256, describe: 'payload MiB written per run' })
    .option('batch-kib', { type: 'number', default: 1024, describe: 'KiB appended per fdatasync' })
    .option('rounds', { type: 'number', default: 3, describe: 'runs of each side; medians are reported' })
    .option('dir', { type: 'string', describe: 'where to write (default: the OS temp folder)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' }),
  handler: async (args) => {
    const result = await runStorageBench({
      entrySizesBytes: args.sizes,
      totalBytes: Math.round(args['total-mib'] * 2 ** 20),
      batchBytes: Math.round(args['batch-kib'] * 1024),
      rounds: args.rounds,
      ...(args.dir === undefined ? {} : { directory: args.dir }),
      ...(args.json ? {} : { onProgress: (message: string) => { process.stderr.write(`${message}\n`); } }),
    });
    if (args.json) {
      const at64KiB = result.cases.find((c) => c.entrySizeBytes === 65536) ?? result.cases.at(-1);
      process.stdout.write(`${JSON.stringify({ ...result, ratio: at64KiB?.ratio ?? null })}\n`);
    } else {
      process.stdout.write(`${formatTable(result)}\n`);
    }
  },
};

export const benchCommand: CommandModule = {
  command: 'bench <target>',
  describe: 'benchmarks: produce, consume, sweep (a cluster), storage (the log alone) and floor (the machine)',
  builder: (yargs: Argv) => yargs.command(storageCommand).command(benchProduceCommand).command(benchConsumeCommand)
    .command(benchSweepCommand).command(benchFloorCommand).demandCommand(1),
  handler: () => undefined,
};
