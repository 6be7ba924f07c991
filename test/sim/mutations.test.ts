/**
 * Goal: show that the simulator's checks bite. Method: for each deliberately broken variant of
 * the core (Mutation in raft/core/config.ts, a test-only hook), run seeds until a violation is
 * reported, and require one within seedsMax seeds. A mutation that survives means the simulator
 * or its checkers have a blind spot.
 */
import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { Mutation } from '../../raft/core/index.js';
import { Mutation as Mutations } from '../../raft/core/index.js';
import { defaultSeedOptions, nodeCountForSeed, runSeed } from './run_seed.js';

const seedsMax = 3000;

function firstViolation(mutation: Mutation): { seed: number; message: string } | undefined {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const options = { ...defaultSeedOptions, nodeCount: nodeCountForSeed(seed), mutations: [mutation] };
    const result = runSeed(seed, options);
    if (!result.ok) return { seed, message: result.violation.message };
  }
  return undefined;
}

for (const mutation of Object.values(Mutations)) {
  const name = `mutation ${mutation} is caught by the simulator within ${seedsMax} seeds`;
  test(name, { timeout: 180_000 }, () => {
    const found = firstViolation(mutation);
    ok(found !== undefined, `mutation ${mutation} survived ${seedsMax} seeds`);
    console.log(`mutation ${mutation}: caught at seed ${found.seed}: ${found.message}`);
  });
}
