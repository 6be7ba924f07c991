/**
 * Goal: the Raft core keeps every safety invariant and recovers liveness under every fault kind.
 * Method: run the deterministic simulator over consecutive seeds, alternating 3- and 5-node
 * clusters, each seed drawing its own fault mix; stop at the seed target or the time box, and
 * require at least seedsMin seeds. A failure prints the seed, its replay command and a trace.
 */
import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { SimStats } from './sim_cluster.js';
import { defaultSeedOptions, explainSeed, nodeCountForSeed, runSeed } from './run_seed.js';

const seedsMin = 2000;
const seedsTarget = 6000;
/** Keeps the whole suite under 15 minutes on 2 cores even on a slow machine. */
const timeBoxMs = 150_000;

test('simulator: >= 2000 seeds of 3- and 5-node clusters keep safety and ' +
  'liveness', { timeout: 300_000 }, () => {
  const startedMs = performance.now();
  const totals: SimStats = { ticks: 0, messagesSent: 0, crashes: 0, leaderChanges: 0, acked: 0,
    confChanges: 0, movesDone: 0,
    transfers: 0, reads: 0, snapshotsSent: 0, diskLosses: 0, diskLossesBelowCommit: 0 };
  let ran = 0;
  for (let seed = 1; seed <= seedsTarget; seed++) {
    if (performance.now() - startedMs > timeBoxMs) break;
    const options = { ...defaultSeedOptions, nodeCount: nodeCountForSeed(seed) };
    const result = runSeed(seed, options);
    ran += 1;
    ok(result.ok, result.ok ? '' : `${result.violation.message}\n${explainSeed(seed, options)}`);
    for (const key of Object.keys(totals) as (keyof SimStats)[]) totals[key] += result.stats[key];
  }
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(`simulator: ${ran} seeds in ${seconds.toFixed(1)} s (${(ran / seconds).toFixed(1)} seeds/s); ` +
    `totals ${JSON.stringify(totals)}`);
  ok(ran >= seedsMin, `only ${ran} seeds ran inside the ${timeBoxMs / 1000} s time box`);
  // Every fault and feature kind must actually have happened, or the run proves little.
  const kinds = ['crashes', 'leaderChanges', 'confChanges', 'transfers', 'reads', 'snapshotsSent',
    'diskLosses', 'diskLossesBelowCommit'] as const;
  for (const key of kinds) {
    ok(totals[key] > 0, `no ${key} across all seeds`);
  }
});
