/**
 * `tributary bench produce` and `tributary bench consume` (Kafka's kafka-producer-perf-test and
 * kafka-consumer-perf-test) against a cluster of their own (`--cluster local`, the default: three
 * brokers started here and stopped by PID at the end) or an existing one (`--bootstrap`). Each
 * creates its own topic. `--baseline` measures the machine's ceiling for the same bytes in the
 * same run; `--json` prints one object. `--protocol kafka` measures the same through the brokers'
 * Kafka listeners with kafkajs (../bench_kafka.ts); the topic is still created natively.
 */
import type { Argv, CommandModule } from 'yargs';
import { measureReadBaseline, measureWriteBaseline } from '../../../bench/baseline.js';
import type { Baseline } from '../../../bench/baseline.js';
import { brokerCpuProcesses, ensureBenchTopic, openBenchTarget } from '../../../bench/bench_target.js';
import type { BenchTarget } from '../../../bench/bench_target.js';
import { runConsumeBench } from '../../../bench/consume_bench.js';
import { runGroupConsumeBench } from '../../../bench/group_consume_bench.js';
import { runProduceBench } from '../../../bench/produce_bench.js';
import type { BenchProgress, ProduceBenchOptions } from '../../../bench/produce_bench.js';
import { ResidentSetSampler } from '../../../bench/resident_set.js';
import { runKafkaConsumeBench, runKafkaProduceBench } from '../bench_kafka.js';
import { BenchProgressLine, benchReportJson, formatBenchReport } from '../bench_report.js';
import type { BenchReport } from '../bench_report.js';
import { tuneHeap } from '../process_heap.js';
import type { ClientSecurityOptions } from '../../security/client_security.js';
import { parseAcks } from './produce.js';

const DEFAULT_RECORDS = 300_000;

interface CommonArguments {
  records: number | undefined;
  'duration-s': number | undefined;
  'record-size': number;
  topic: string | undefined;
  partitions: number;
  'replication-factor': number;
  cluster: string;
  bootstrap: string | undefined;
  brokers: number;
  'broker-cpu-prof-dir': string | undefined;
  baseline: boolean;
  json: boolean;
  protocol: string;
  'kafka-bootstrap': string | undefined;
}

interface ProduceArguments extends CommonArguments {
  acks: string;
  producers: number;
  'batch-bytes': number;
  'linger-ms': number;
  throughput: number;
  window: number;
  inflight: number;
  idempotent: boolean | undefined;
  'send-many': boolean;
  'end-to-end': boolean;
  'warmup-s': number;
  'unsafe-skip-record-validation': boolean;
  secure: boolean;
}

interface ConsumeArguments extends CommonArguments {
  'fetch-bytes': number;
  'max-poll-records': number;
  group: string | undefined;
  consumers: number;
}

/** The records, topic and cluster options every cluster bench shares (produce, consume, sweep). */
export type ClusterBenchArguments = Pick<CommonArguments, 'record-size' | 'topic' | 'partitions' | 'replication-factor' |
  'cluster' | 'bootstrap' | 'brokers' | 'broker-cpu-prof-dir'>;

export function clusterBenchOptions<T>(yargs: Argv<T>): Argv<T & ClusterBenchArguments> {
  return yargs
    .option('record-size', { type: 'number', default: 100, describe: 'bytes per record value (at least 8)' })
    .option('topic', { type: 'string', describe: 'topic (default: a new bench-<time> topic)' })
    .option('partitions', { type: 'number', default: 6, describe: 'partitions of the created topic' })
    .option('replication-factor', { type: 'number', default: 3, describe: 'replicas of the created topic' })
    .option('cluster', { type: 'string', default: 'local', choices: ['local', 'none'],
      describe: 'local: start brokers here; none: use --bootstrap' })
    .option('bootstrap', { type: 'string', describe: 'host:port,... of an existing cluster (implies --cluster none)' })
    .option('brokers', { type: 'number', default: 3, describe: 'brokers of a local cluster' })
    .option('broker-cpu-prof-dir', { type: 'string', describe: 'run local brokers with node --cpu-prof into this folder' });
}

function commonOptions<T>(yargs: Argv<T>): Argv<T & CommonArguments> {
  return clusterBenchOptions(yargs)
    .option('records', { type: 'number', describe: `records to send or read (default ${DEFAULT_RECORDS}, or ` +
      'unbounded with --duration-s)' })
    .option('duration-s', { type: 'number', describe: 'stop after this many seconds' })
    .option('baseline', { type: 'boolean', default: false, describe: 'also measure file and zeromq ceilings' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
    .option('protocol', { type: 'string', default: 'native', choices: ['native', 'kafka'],
      describe: 'native: the tributary client over ZeroMQ; kafka: kafkajs through the Kafka listeners' })
    .option('kafka-bootstrap', { type: 'string',
      describe: 'host:port,... of an existing cluster\'s Kafka listeners (--protocol kafka with --bootstrap)' });
}

/** What picks and starts a bench's cluster. */
export type TargetArguments = Pick<CommonArguments, 'topic' | 'cluster' | 'bootstrap' | 'brokers' |
  'broker-cpu-prof-dir' | 'protocol' | 'kafka-bootstrap'>;

function isKafka(args: Pick<CommonArguments, 'protocol'>): boolean {
  return args.protocol === 'kafka';
}

/** The Kafka listeners of the target: local brokers open them when --protocol kafka asks. */
function kafkaBootstrapOf(target: BenchTarget): string {
  if (target.kafkaBootstrap === null) throw new Error('--protocol kafka with --bootstrap needs --kafka-bootstrap');
  return target.kafkaBootstrap;
}

function limits(args: CommonArguments): { records: number; durationMs: number } {
  const durationMs = args['duration-s'] === undefined ? Infinity : args['duration-s'] * 1_000;
  const records = args.records ?? (args['duration-s'] === undefined ? DEFAULT_RECORDS : Infinity);
  if (!(records > 0) || !(durationMs > 0)) throw new Error('--records and --duration-s must be positive');
  return { records, durationMs };
}

export async function withTarget<T>(args: TargetArguments,
  work: (target: BenchTarget, topic: string) => Promise<T>, brokerArguments: readonly string[] = [],
  secure = false): Promise<T> {
  const local = args.bootstrap === undefined && args.cluster === 'local';
  if (!local && args.bootstrap === undefined) throw new Error('--cluster none needs --bootstrap');
  // The bench's clients run in this process; their full collections would stall every write in flight.
  tuneHeap();
  const profileDir = args['broker-cpu-prof-dir'];
  const kafkaBootstrap = args['kafka-bootstrap'];
  const target = await openBenchTarget({ bootstrap: local ? null : args.bootstrap ?? null, localBrokers: args.brokers,
    brokerArguments, kafkaListeners: isKafka(args), secure, ...(kafkaBootstrap === undefined ? {} : { kafkaBootstrap }), ...(profileDir === undefined ? {} : { brokerNodeArguments: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] }) });
  // Ctrl-C (or a test's SIGTERM) still stops the brokers this bench started.
  const interrupted = (): void => { void target.close().finally(() => process.exit(130)); };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await work(target, args.topic ?? `bench-${Date.now()}`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await target.close();
  }
}

function progressLine(args: CommonArguments, label: string, records: number): BenchProgressLine | null {
  return args.json ? null : new BenchProgressLine(label, records, args['record-size']);
}

function produceOptions(args: ProduceArguments, bootstrap: string, topic: string, partitions: number,
  cpuProcesses: ReadonlyMap<string, number>, onProgress: ((progress: BenchProgress) => void) | undefined,
  security?: ClientSecurityOptions): ProduceBenchOptions {
  return { bootstrap, topic, partitions, ...limits(args), recordBytes: args['record-size'], acks: parseAcks(args.acks),
    ...(security === undefined ? {} : { security }),
    producers: args.producers, batchBytes: args['batch-bytes'], lingerMs: args['linger-ms'],
    recordsPerSecondMax: args.throughput > 0 ? args.throughput : Infinity, windowRecords: args.window,
    inflightRequests: args.inflight, ...(args.idempotent === undefined ? {} : { idempotent: args.idempotent }),
    sendMany: args['send-many'], endToEnd: args['end-to-end'], warmupMs: args['warmup-s'] * 1_000,
    ...(onProgress === undefined ? {} : { onProgress }), cpuProcesses };
}

function print(report: BenchReport, json: boolean): void {
  process.stdout.write(`${json ? benchReportJson(report) : formatBenchReport(report)}\n`);
}

async function baselineFor(args: CommonArguments, bytes: number, chunkBytes: number,
  kind: 'write' | 'read'): Promise<Baseline | null> {
  if (!args.baseline || bytes === 0) return null;
  const options = { totalBytes: bytes, chunkBytes };
  return kind === 'write' ? measureWriteBaseline(options) : measureReadBaseline(options);
}

const produceCommand: CommandModule<object, ProduceArguments> = {
  command: 'produce',
  describe: 'producer throughput and latency (kafka-producer-perf-test)',
  builder: (yargs: Argv): Argv<ProduceArguments> => commonOptions(yargs)
    .option('acks', { type: 'string', default: 'all', describe: 'all, 1 or 0' })
    .option('producers', { type: 'number', default: 1, describe: 'producer instances in this process' })
    .option('batch-bytes', { type: 'number', default: 256 * 1024, describe: 'producer batch size (batch.size)' })
    .option('linger-ms', { type: 'number', default: 5, describe: 'producer linger (linger.ms)' })
    .option('throughput', { type: 'number', default: -1, describe: 'records/s cap over all producers; -1: none' })
    .option('window', { type: 'number', default: 50_000, describe: 'unacknowledged records per producer' })
    .option('inflight', { type: 'number', default: 5, describe: 'Produce requests in flight per broker' })
    .option('idempotent', { type: 'boolean',
      describe: 'idempotent producers (default: the client\'s, on with acks all; --no-idempotent turns it off)' })
    .option('send-many', { type: 'boolean', default: true,
      describe: 'hand records to the producer in sendMany calls (up to 1,000 records each); --no-send-many: one '
        + 'send() and promise per record' })
    .option('end-to-end', { type: 'boolean', default: false,
      describe: 'also consume here and report produce-to-consume latency' })
    .option('warmup-s', { type: 'number', default: 0,
      describe: 'send this long first, same rate and window, and leave it out of every figure (Kafka\'s --warmup-records)' })
    .option('unsafe-skip-record-validation', { type: 'boolean', default: false,
      describe: 'local brokers store batches without checking their records: only to measure what the check costs' })
    .option('secure', { type: 'boolean', default: false,
      describe: 'run twice, on a plaintext and on a CURVE cluster, and report the ratio (docs/security.md)' }),
  handler: async (args) => {
    if (isKafka(args) && args['end-to-end']) throw new Error('--end-to-end is not measured with --protocol kafka');
    if (!(args['warmup-s'] >= 0)) throw new Error('--warmup-s must be 0 or more seconds');
    if (isKafka(args) && args['warmup-s'] > 0) throw new Error('--warmup-s is not built for --protocol kafka');
    if (!args.secure) {
      const report = await measureProduce(args, false);
      print(report, args.json);
      if (report.figures.failed > 0) process.exitCode = 1;
      return;
    }
    // CURVE's cost as a ratio: the same bench on a plaintext and on a secure cluster, one after the other.
    if (isKafka(args) || args.bootstrap !== undefined || args.cluster !== 'local') {
      throw new Error('--secure compares two local clusters of its own: not with --bootstrap or --protocol kafka');
    }
    const plaintext = await measureProduce(args, false);
    const curve = await measureProduce(args, true);
    const ratio = curve.figures.recordsPerSec / plaintext.figures.recordsPerSec;
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ command: 'produce --secure', plaintext: JSON.parse(benchReportJson(plaintext)) as unknown,
        curve: JSON.parse(benchReportJson(curve)) as unknown, curveToPlaintext: ratio })}\n`);
    } else {
      process.stdout.write(`plaintext:\n${formatBenchReport(plaintext)}\nCURVE (every client and Raft socket):\n`
        + `${formatBenchReport(curve)}\nCURVE / plaintext: ${ratio.toFixed(2)} (records/s, the same bench in one run)\n`);
    }
    if (plaintext.figures.failed > 0 || curve.figures.failed > 0) process.exitCode = 1;
  },
};

/** One produce bench on its target (a local cluster of its own, secure or not, or --bootstrap). */
function measureProduce(args: ProduceArguments, secure: boolean): Promise<BenchReport & {
  readonly figures: { readonly failed: number } }> {
  return withTarget(args, async (target, topic) => {
    const partitions = await ensureBenchTopic(target.bootstrap, { name: topic, partitions: args.partitions,
      replicationFactor: args['replication-factor'] }, target.security);
    const line = progressLine(args, secure ? 'produce (CURVE)' : 'produce', limits(args).records);
    const rss = new ResidentSetSampler(target.brokerPids);
    const onProgress = line === null ? undefined : (progress: BenchProgress): void => { line.update(progress); };
    const result = await (isKafka(args)
      ? runKafkaProduceBench({ kafkaBootstrap: kafkaBootstrapOf(target), topic, partitions, ...limits(args),
        recordBytes: args['record-size'], acks: parseAcks(args.acks), producers: args.producers,
        batchBytes: args['batch-bytes'], windowRecords: args.window, inflightRequests: args.inflight,
        idempotent: args.idempotent ?? false, ...(onProgress === undefined ? {} : { onProgress }) })
      : runProduceBench(produceOptions(args, target.bootstrap, topic, partitions, brokerCpuProcesses(target),
        onProgress, target.security)))
      .finally(() => { line?.stop(); });
    const brokerRssMiBMax = rss.stop();
    const baseline = await baselineFor(args, result.bytes, args['batch-bytes'], 'write');
    const notes = result.failed === 0 ? [] : [`${result.failed} records failed, first: ${result.firstError}`];
    if (isKafka(args)) {
      notes.push('kafkajs (no linger): the bench sends --batch-bytes of records per send() to one partition in turn');
    }
    return { command: 'produce', config: { protocol: args.protocol, topic, partitions,
      replicationFactor: args['replication-factor'], acks: args.acks, recordBytes: args['record-size'],
      producers: args.producers, batchBytes: args['batch-bytes'], lingerMs: args['linger-ms'],
      throughputCap: args.throughput, window: args.window, inflight: args.inflight, warmupS: args['warmup-s'],
      idempotent: args.idempotent ?? (!isKafka(args) && parseAcks(args.acks) === 'all'), sendMany: args['send-many'],
      recordValidation: !args['unsafe-skip-record-validation'], secure }, figures: result,
    latencyName: 'produce-to-ack', latencyMs: result.latencyMs, endToEndLatencyMs: result.endToEndLatencyMs,
    baseline, brokerRssMiBMax, hostCpu: result.hostCpu, processCpu: result.processCpu, notes };
  }, args['unsafe-skip-record-validation'] ? ['--unsafe-skip-record-validation'] : [], secure);
}

const consumeCommand: CommandModule<object, ConsumeArguments> = {
  command: 'consume',
  describe: 'consumer throughput from the beginning of a topic (kafka-consumer-perf-test); fills a new topic first',
  builder: (yargs: Argv): Argv<ConsumeArguments> => commonOptions(yargs)
    .option('fetch-bytes', { type: 'number', default: 4 * 2 ** 20, describe: 'bytes per partition per fetch' })
    .option('max-poll-records', { type: 'number', default: 500,
      describe: 'records per poll at most (max.poll.records; 500 is the Kafka consumer default the perf test runs with)' })
    .option('group', { type: 'string', describe: 'read as members of this consumer group (subscribe) instead of one '
      + 'consumer assigned every partition' })
    .option('consumers', { type: 'number', default: 1, describe: 'members of --group, in this process' }),
  handler: async (args) => {
    await withTarget(args, async (target, topic) => {
      const created = args.topic === undefined;
      const partitions = await ensureBenchTopic(target.bootstrap, { name: topic, partitions: args.partitions,
        replicationFactor: args['replication-factor'] });
      const { records, durationMs } = limits(args);
      const notes: string[] = [];
      if (created) {
        const fill = Number.isFinite(records) ? records : DEFAULT_RECORDS;
        const filled = await runProduceBench({ bootstrap: target.bootstrap, topic, partitions, records: fill,
          durationMs: Infinity, recordBytes: args['record-size'], acks: 'all', producers: 1, batchBytes: 256 * 1024,
          lingerMs: 5, recordsPerSecondMax: Infinity, windowRecords: 50_000, inflightRequests: 5, idempotent: false,
          sendMany: true, endToEnd: false });
        notes.push(`filled ${filled.records} records first (untimed, acks=all)`);
      }
      const line = progressLine(args, 'consume', records);
      const rss = new ResidentSetSampler(target.brokerPids);
      const onProgress = line === null ? {} : { onProgress: (p: BenchProgress) => { line.update(p); } };
      const common = { bootstrap: target.bootstrap, topic, records, durationMs, fetchBytes: args['fetch-bytes'],
        maxPollRecords: args['max-poll-records'], ...onProgress };
      const kafkaGroup = args.group ?? `${topic}-kafkajs`;
      const result = await (isKafka(args)
        ? runKafkaConsumeBench({ kafkaBootstrap: kafkaBootstrapOf(target), topic, records, durationMs,
          fetchBytes: args['fetch-bytes'], groupId: kafkaGroup, consumers: args.consumers, ...onProgress })
          .then((kafka) => {
            notes.push(`kafkajs group ${kafkaGroup}: ${args.consumers} members; the join took ` +
              `${Math.round(kafka.joinMs)} ms (untimed); latency is the wait for each non-empty batch ` +
              '(kafkajs hands over whole fetched batches: --max-poll-records does not apply)');
            return kafka;
          })
        : args.group === undefined ? runConsumeBench({ ...common, partitions })
        : runGroupConsumeBench({ ...common, groupId: args.group, consumers: args.consumers }).then((group) => {
          notes.push(`group ${args.group ?? ''}: ${args.consumers} members in this process, records per member ` +
            `${group.recordsPerMember.join('/')}; the join took ${Math.round(group.joinMs)} ms (untimed)`);
          return group;
        })).finally(() => { line?.stop(); });
      const brokerRssMiBMax = rss.stop();
      const baseline = await baselineFor(args, result.bytes, args['fetch-bytes'], 'read');
      print({ command: 'consume', config: { protocol: args.protocol, topic, partitions, recordBytes: args['record-size'],
        fetchBytes: args['fetch-bytes'], maxPollRecords: args['max-poll-records'],
        ...(args.group === undefined ? {} : { group: args.group, consumers: args.consumers }) }, figures: result,
      latencyName: isKafka(args) ? 'batch wait (non-empty)' : 'poll (non-empty)', latencyMs: result.latencyMs,
      endToEndLatencyMs: null, baseline, brokerRssMiBMax, hostCpu: result.hostCpu, processCpu: null, notes },
      args.json);
    });
  },
};

export { consumeCommand as benchConsumeCommand, produceCommand as benchProduceCommand };
