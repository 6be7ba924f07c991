/** Runs one seed; on a violation re-runs it with tracing on (same seed, same run) for the report. */
import type { Mutation } from '../../raft/core/index.js';
import { Violation } from './checkers.js';
import { describeFaultPlan } from './fault_plan.js';
import type { SimStats } from './sim_cluster.js';
import { SimCluster } from './sim_cluster.js';

export interface SeedOptions {
  readonly nodeCount: number;
  readonly faultTicks: number;
  readonly livenessTicksMax: number;
  readonly mutations?: readonly Mutation[];
}

export const defaultSeedOptions: Omit<SeedOptions, 'nodeCount'> = { faultTicks: 1000, livenessTicksMax: 400 };

export type SeedResult =
  | { readonly ok: true; readonly seed: number; readonly stats: SimStats }
  | { readonly ok: false; readonly seed: number; readonly violation: Violation };

export function runSeed(seed: number, options: SeedOptions): SeedResult {
  const cluster = new SimCluster({ ...options, seed, traceEventsMax: 0 });
  try {
    cluster.run();
    return { ok: true, seed, stats: cluster.stats };
  } catch (error) {
    if (error instanceof Violation) return { ok: false, seed, violation: error };
    throw error;
  }
}

/** A readable failure report: the seed, the replay command, the fault mix and the last events. */
export function explainSeed(seed: number, options: SeedOptions, traceEventsMax = 60): string {
  const cluster = new SimCluster({ ...options, seed, traceEventsMax });
  let outcome = 'no violation on replay';
  try {
    cluster.run();
  } catch (error) {
    outcome = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  const mutations = options.mutations === undefined ? '' : ` --mutations ${options.mutations.join(',')}`;
  return [
    `seed ${seed} (${options.nodeCount} nodes) at tick ${cluster.tick}: ${outcome}`,
    `replay: npm run sim -- --seed ${seed} --nodes ${options.nodeCount}${mutations}`,
    `fault plan: ${describeFaultPlan(cluster.plan)}`,
    `last ${traceEventsMax} events:`,
    ...cluster.trace.lines().map((line) => `  ${line}`),
  ].join('\n');
}

/** Seeds alternate between cluster sizes so that a seed number alone names a run. */
export function nodeCountForSeed(seed: number): number {
  return seed % 2 === 0 ? 3 : 5;
}
