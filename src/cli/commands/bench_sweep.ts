/**
 * `tributary bench sweep`: produce latency against throughput, from a light load up to the peak
 * (bench/sweep/), on a local cluster of its own or --bootstrap. Prints a table and writes
 * sweep.json, sweep.svg and sweep.html into --out.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { brokerCpuProcesses, ensureBenchTopic } from '../../../bench/bench_target.js';
import { formatHostCpu } from '../../../bench/host_cpu.js';
import { DEFAULT_SWEEP_FRACTIONS, parseFractions, runSweep } from '../../../bench/sweep/sweep.js';
import type { SweepStep } from '../../../bench/sweep/sweep.js';
import { SWEEP_TABLE_HEADER, sweepChartSpec, sweepHtml, sweepTableRows } from '../../../bench/sweep/sweep_chart.js';
import { renderSvg } from '../../../jepsen/report/render_svg.js';
import { clusterBenchOptions, withTarget } from './bench_cluster.js';
import type { ClusterBenchArguments } from './bench_cluster.js';
import { parseAcks } from './produce.js';

interface SweepArguments extends ClusterBenchArguments {
  peak: number | undefined;
  'peak-s': number;
  'step-s': number;
  steps: string;
  out: string | undefined;
  acks: string;
  'batch-bytes': number;
  'linger-ms': number;
  window: number;
  inflight: number;
  idempotent: boolean | undefined;
  'send-many': boolean;
  'end-to-end': boolean;
  json: boolean;
}

function stepLine(step: SweepStep): string {
  const what = step.fraction === null ? 'peak (flat out)' : `${(step.fraction * 100).toFixed(0)}% of the peak`;
  const latency = step.ackLatencyMs;
  return `${what}: ${Math.round(step.recordsPerSec).toLocaleString('en-US')} records/s, ack p50 ` +
    `${latency.p50.toFixed(2)} p99 ${latency.p99.toFixed(2)} p99.9 ${latency.p999.toFixed(2)} ms` +
    (step.failed > 0 ? `, ${step.failed} failed` : '') + (step.hostCpu === null ? '' : `; ${formatHostCpu(step.hostCpu)}`);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = SWEEP_TABLE_HEADER.map((_, i) => Math.max(...[SWEEP_TABLE_HEADER, ...rows].map((row) => (row[i] ?? '').length)));
  return [SWEEP_TABLE_HEADER, ...rows].map((row) => row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join(' | '))
    .join('\n');
}

export const benchSweepCommand: CommandModule<object, SweepArguments> = {
  command: 'sweep',
  describe: 'produce latency against throughput at rising fixed rates up to the peak; writes an SVG chart and a page',
  builder: (yargs: Argv): Argv<SweepArguments> => clusterBenchOptions(yargs)
    .option('peak', { type: 'number', describe: 'records/s taken as the peak (default: measured first, flat out)' })
    .option('peak-s', { type: 'number', default: 10, describe: 'seconds of the flat-out run that measures the peak' })
    .option('step-s', { type: 'number', default: 10, describe: 'seconds of each step' })
    .option('steps', { type: 'string', default: DEFAULT_SWEEP_FRACTIONS.join(','),
      describe: 'fractions of the peak to run at, comma separated' })
    .option('out', { type: 'string', describe: 'folder for sweep.json, sweep.svg and sweep.html (default: bench-sweep-<time>)' })
    .option('acks', { type: 'string', default: 'all', describe: 'all, 1 or 0' })
    .option('batch-bytes', { type: 'number', default: 256 * 1024, describe: 'producer batch size (batch.size)' })
    .option('linger-ms', { type: 'number', default: 0, describe: 'producer linger (linger.ms)' })
    .option('window', { type: 'number', default: 50_000,
      describe: 'unacknowledged records per producer (1: one record in flight, the sequential round trip)' })
    .option('inflight', { type: 'number', default: 5, describe: 'Produce requests in flight per broker' })
    .option('idempotent', { type: 'boolean',
      describe: 'an idempotent producer (default: the client\'s, on with acks all; --no-idempotent turns it off)' })
    .option('send-many', { type: 'boolean', default: true,
      describe: 'hand records to the producer in sendMany calls; --no-send-many: one send() per record' })
    .option('end-to-end', { type: 'boolean', default: false, describe: 'also consume and chart produce-to-consume latency' })
    .option('json', { type: 'boolean', default: false, describe: 'print sweep.json\'s object instead of the table' }),
  handler: async (args) => {
    const fractions = parseFractions(args.steps);
    if (!(args['step-s'] > 0 && args['peak-s'] > 0)) throw new Error('--step-s and --peak-s must be positive');
    if (args.peak !== undefined && !(args.peak > 0)) throw new Error('--peak must be a positive records/s');
    const out = path.resolve(args.out ?? `bench-sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const target = { ...args, protocol: 'native', 'kafka-bootstrap': undefined };
    const config = `tributary bench sweep --acks ${args.acks} --linger-ms ${args['linger-ms']} --window ${args.window} ` +
      `--record-size ${args['record-size']} --partitions ${args.partitions} --replication-factor ` +
      `${args['replication-factor']}${args.idempotent === undefined ? '' : args.idempotent ? ' --idempotent'
        : ' --no-idempotent'}${args['send-many'] ? '' : ' --no-send-many'}${args['end-to-end'] ? ' --end-to-end' : ''}`;
    const result = await withTarget(target, async (bench, topic) => {
      const partitions = await ensureBenchTopic(bench.bootstrap, { name: topic, partitions: args.partitions,
        replicationFactor: args['replication-factor'] }, bench.security);
      return runSweep({
        produce: { bootstrap: bench.bootstrap, topic, partitions, recordBytes: args['record-size'],
          acks: parseAcks(args.acks), producers: 1, batchBytes: args['batch-bytes'], lingerMs: args['linger-ms'],
          windowRecords: args.window, inflightRequests: args.inflight,
          ...(args.idempotent === undefined ? {} : { idempotent: args.idempotent }), sendMany: args['send-many'],
          endToEnd: args['end-to-end'], ...(bench.security === undefined ? {} : { security: bench.security }),
          cpuProcesses: brokerCpuProcesses(bench) },
        ...(args.peak === undefined ? {} : { peakRecordsPerSec: args.peak }),
        peakMs: args['peak-s'] * 1_000, stepMs: args['step-s'] * 1_000, fractions,
        ...(args.json ? {} : { onStep: (step: SweepStep) => { process.stderr.write(`${stepLine(step)}\n`); } }),
      });
    });
    const title = `Produce latency against throughput (acks=${args.acks}, ${args['record-size']}-byte records, ` +
      `${args.partitions} partitions, RF ${args['replication-factor']})`;
    fs.mkdirSync(out, { recursive: true });
    const svg = await renderSvg(sweepChartSpec(result, title));
    const json = { command: 'sweep', config, ...result };
    fs.writeFileSync(path.join(out, 'sweep.json'), `${JSON.stringify(json, null, 2)}\n`);
    fs.writeFileSync(path.join(out, 'sweep.svg'), svg);
    fs.writeFileSync(path.join(out, 'sweep.html'), sweepHtml(result, title, config, svg));
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ...json, out })}\n`);
    } else {
      process.stdout.write(`${table(sweepTableRows(result))}\nwrote ${path.join(out, 'sweep.html')} (and sweep.svg, sweep.json)\n`);
    }
    const failed = [...result.steps, ...(result.peak === null ? [] : [result.peak])].some((step) => step.failed > 0);
    if (failed) process.exitCode = 1;
  },
};
