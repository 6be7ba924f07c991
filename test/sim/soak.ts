/**
 * Long soak of the simulator: `npm run sim -- --seeds N [--nodes 3|5] [--start S] [--seed S]
 * [--mutations a,b] [--fault-ticks T]`. Shows a progress bar and seeds per second; on the first
 * violation prints the failing seed, how to replay it alone, and its trace, and exits 1.
 */
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { Mutation } from '../../raft/core/index.js';
import { Mutation as Mutations } from '../../raft/core/index.js';
import type { SeedOptions } from './run_seed.js';
import { defaultSeedOptions, explainSeed, nodeCountForSeed, runSeed } from './run_seed.js';

interface SoakArgs {
  readonly seeds: number;
  readonly start: number;
  readonly nodeCounts: readonly number[];
  readonly single: number | undefined;
  readonly options: Omit<SeedOptions, 'nodeCount'>;
}

function parseMutations(text: string | undefined): readonly Mutation[] | undefined {
  if (text === undefined || text === '') return undefined;
  const known = Object.values(Mutations) as readonly string[];
  return text.split(',').map((name) => {
    if (!known.includes(name)) throw new Error(`unknown mutation ${name}; known: ${known.join(', ')}`);
    return name as Mutation;
  });
}

function parseSoakArgs(argv: readonly string[]): SoakArgs {
  const { values } = parseArgs({ args: argv.slice(), options: {
    seeds: { type: 'string', default: '1000' },
    start: { type: 'string', default: '1' },
    nodes: { type: 'string' },
    seed: { type: 'string' },
    mutations: { type: 'string' },
    'fault-ticks': { type: 'string', default: String(defaultSeedOptions.faultTicks) },
  } });
  const nodes = values.nodes === undefined ? [3, 5] : [Number(values.nodes)];
  for (const count of nodes) {
    if (count !== 3 && count !== 5) throw new Error(`--nodes must be 3 or 5, got ${count}`);
  }
  const mutations = parseMutations(values.mutations);
  return {
    seeds: Number(values.seeds),
    start: Number(values.start),
    nodeCounts: nodes,
    single: values.seed === undefined ? undefined : Number(values.seed),
    options: { ...defaultSeedOptions, faultTicks: Number(values['fault-ticks']),
      ...(mutations === undefined ? {} : { mutations }) },
  };
}

function nodeCountFor(args: SoakArgs, seed: number): number {
  return args.nodeCounts.length === 1 ? args.nodeCounts[0]! : nodeCountForSeed(seed);
}

function main(): number {
  const args = parseSoakArgs(process.argv.slice(2));
  if (args.single !== undefined) {
    const options = { ...args.options, nodeCount: nodeCountFor(args, args.single) };
    const result = runSeed(args.single, options);
    const report = result.ok ? `seed ${args.single}: ok ${JSON.stringify(result.stats)}` :
      explainSeed(args.single, options);
    console.log(report);
    return result.ok ? 0 : 1;
  }
  const bar = new cliProgress.SingleBar({
    format: 'sim [{bar}] {value}/{total} seeds | {rate} seeds/s | eta {eta}s',
    noTTYOutput: true,
    notTTYSchedule: 10_000,
  }, cliProgress.Presets.shades_classic);
  const startedMs = performance.now();
  bar.start(args.seeds, 0, { rate: '0.0' });
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.start + i;
    const options = { ...args.options, nodeCount: nodeCountFor(args, seed) };
    const result = runSeed(seed, options);
    const rate = ((i + 1) / ((performance.now() - startedMs) / 1000)).toFixed(1);
    bar.update(i + 1, { rate });
    if (!result.ok) {
      bar.stop();
      console.error(`\nVIOLATION at seed ${seed}: ${result.violation.message}`);
      console.error(explainSeed(seed, options));
      return 1;
    }
  }
  bar.stop();
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = (args.seeds / seconds).toFixed(1);
  console.log(`${args.seeds} seeds passed in ${seconds.toFixed(1)} s: ${rate} seeds/s`);
  return 0;
}

process.exitCode = main();
