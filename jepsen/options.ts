/** The command line of `npm run jepsen`, parsed and checked into RunOptions. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

export const NEMESIS_FAMILIES = ['kill', 'pause', 'partition', 'silent', 'slow', 'power-loss', 'corrupt', 'membership',
  'clock'] as const;
export type NemesisFamilyName = typeof NEMESIS_FAMILIES[number];

export const WORKLOADS = ['queue', 'group'] as const;
export type WorkloadName = typeof WORKLOADS[number];

export interface RunOptions {
  /** queue: Jepsen's queue workload; group: consumer groups committing offsets. */
  readonly workload: WorkloadName;
  /** Group workload: member processes at a time. */
  readonly groupMembers: number;
  /** Group workload: 'before' is the positive control, committing before processing. */
  readonly groupCommit: 'after' | 'before';
  readonly nodes: 3 | 5;
  readonly timeSeconds: number;
  readonly nemeses: readonly NemesisFamilyName[];
  readonly nemesisIntervalSeconds: number;
  /** A second fault, of the other kind (network vs. process or clock), halfway through each faulty period. */
  readonly nemesisOverlap?: boolean;
  readonly seed: number;
  readonly acks: 'all' | 1;
  readonly fsync: 'on' | 'off';
  readonly rate: number;
  readonly concurrency: number;
  /** Most records a worker's send step has in flight at once. */
  readonly inFlight: number;
  readonly keyCount: number;
  readonly maxWritesPerKey: number;
  /** How long the final drain may take before it gives up. */
  readonly drainSeconds: number;
  /** How long to wait after healing (and every broker registered again) before the drain; Jepsen's recovery sleep. */
  readonly recoverySeconds?: number;
  readonly out: string;
  /** Runs back to back, seeds seed, seed + 1, ... (each in its own folder under out), then a table. */
  readonly soak: number;
  /** native (the default): the tributary client over ZeroMQ; kafkajs: kafkajs through the Kafka listeners. */
  readonly client?: 'native' | 'kafkajs';
  /** CURVE on every broker socket; the harness's clients are User:jepsen, a super user. */
  readonly secure?: boolean;
}

/** 'all', 'none' or a comma list of families. */
export function parseNemeses(text: string): NemesisFamilyName[] {
  const trimmed = text.trim();
  if (trimmed === 'all') return [...NEMESIS_FAMILIES];
  if (trimmed === 'none' || trimmed === '') return [];
  const names = trimmed.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(NEMESIS_FAMILIES as readonly string[]).includes(name)) {
      throw new Error(`--nemesis: unknown family '${name}' (known: ${NEMESIS_FAMILIES.join(', ')}, all, none)`);
    }
  }
  return [...new Set(names)] as NemesisFamilyName[];
}

function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number >= 0, got ${value}`);
  return value;
}

export function parseRunOptions(argv: readonly string[] = hideBin(process.argv)): RunOptions {
  const args = yargs([...argv])
    .scriptName('npm run jepsen --')
    .usage('$0 [options]: a fault-injection run against real brokers; exit 0 valid, 1 anomaly, 2 unknown or error')
    .option('workload', { type: 'string', default: 'queue', choices: [...WORKLOADS],
      describe: 'queue: producers and assigned consumers; group: producers and a consumer group committing offsets' })
    .option('group-members', { type: 'number', default: 3, describe: 'group workload: member processes at a time' })
    .option('group-commit', { type: 'string', default: 'after', choices: ['after', 'before'],
      describe: 'group workload: members commit after processing; before: the positive control' })
    .option('nodes', { type: 'number', default: 3, choices: [3, 5], describe: 'brokers in the cluster' })
    .option('time', { type: 'number', default: 120, describe: 'seconds of workload under faults (before the drain)' })
    .option('nemesis', { type: 'string', default: 'all',
      describe: `faults: a comma list of ${NEMESIS_FAMILIES.join(', ')}, or all, or none` })
    .option('nemesis-interval', { type: 'number', default: 6,
      describe: 'seconds of each quiet and each faulty period (the default run has a faulty period per family)' })
    .option('nemesis-overlap', { type: 'boolean', default: false,
      describe: 'a second fault of the other kind (network vs. process or clock) in each faulty period' })
    .option('seed', { type: 'number', describe: 'seed of the workload and fault schedule (default: random)' })
    .option('acks', { type: 'string', default: 'all', choices: ['all', '1'], describe: 'producer acks' })
    .option('fsync', { type: 'string', default: 'on', choices: ['on', 'off'],
      describe: 'off: brokers skip fsync (TRIBUTARY_TEST_FSYNC=off)' })
    .option('rate', { type: 'number', default: 50, describe: 'client operations per second, all workers together' })
    .option('concurrency', { type: 'number', default: 10, describe: 'concurrent client workers' })
    .option('in-flight', { type: 'number', default: 4,
      describe: 'a worker\'s send step hands the producer 1 to this many records at once (each its own process)' })
    .option('key-count', { type: 'number', default: 10, describe: 'active keys (partitions) at a time' })
    .option('max-writes-per-key', { type: 'number', default: 256, describe: 'a key is retired after at most this many sends' })
    .option('drain-time', { type: 'number', default: 60, describe: 'seconds the final drain may take' })
    .option('recovery-time', { type: 'number', default: 10,
      describe: 'seconds to wait after healing, once every broker is registered again, before the drain' })
    .option('client', { type: 'string', default: 'native', choices: ['native', 'kafkajs'],
      describe: 'queue workload client: native, or kafkajs through the brokers\' Kafka listeners' })
    .option('secure', { type: 'boolean', default: false,
      describe: 'brokers with CURVE keys (docs/security.md); the harness\'s clients authenticate as User:jepsen' })
    .option('out', { type: 'string', describe: 'run folder (default jepsen/runs/<time>)' })
    .option('soak', { type: 'number', default: 1,
      describe: 'this many runs back to back on seeds seed, seed+1, ...; prints a table of verdicts' })
    .strict()
    .help()
    .parseSync();
  if (args.client === 'kafkajs' && args.secure) {
    throw new Error('--client kafkajs cannot run --secure: the Kafka listener has no authentication yet');
  }
  if (args.client === 'kafkajs' && args.workload !== 'queue') {
    throw new Error('--client kafkajs runs the queue workload only (the group workload\'s members are native)');
  }
  const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be an integer >= 0, got ${seed}`);
  return {
    workload: args.workload === 'group' ? 'group' : 'queue',
    groupMembers: positive('group-members', args['group-members'], true),
    groupCommit: args['group-commit'] === 'before' ? 'before' : 'after',
    nodes: args.nodes === 5 ? 5 : 3,
    timeSeconds: positive('time', args.time),
    nemeses: parseNemeses(args.nemesis),
    nemesisIntervalSeconds: positive('nemesis-interval', args['nemesis-interval']),
    nemesisOverlap: args['nemesis-overlap'],
    seed,
    acks: args.acks === '1' ? 1 : 'all',
    fsync: args.fsync === 'off' ? 'off' : 'on',
    rate: positive('rate', args.rate),
    concurrency: positive('concurrency', args.concurrency, true),
    inFlight: positive('in-flight', args['in-flight'], true),
    keyCount: positive('key-count', args['key-count'], true),
    maxWritesPerKey: positive('max-writes-per-key', args['max-writes-per-key'], true),
    drainSeconds: positive('drain-time', args['drain-time']),
    recoverySeconds: nonNegative('recovery-time', args['recovery-time']),
    client: args.client === 'kafkajs' ? 'kafkajs' : 'native',
    secure: args.secure,
    out: args.out ?? `jepsen/runs/${new Date().toISOString().replace(/[:.]/g, '-')}`,
    soak: positive('soak', args.soak, true),
  };
}
