/**
 * Goal: partition moves as the brokers make them (reassignment_steps.ts: learner, promote, hand
 * over, remove) keep Raft's safety and liveness while clients keep proposing and every fault kind
 * strikes. Method: the deterministic simulator with its membership changes chosen by the step
 * function towards a new target of nodeCount nodes each time one is reached, over consecutive
 * seeds of 3- and 5-node groups, time-boxed; moves must actually complete.
 */
import { ok } from 'node:assert/strict';
import { test } from 'node:test';
import { Violation } from './checkers.js';
import { defaultSeedOptions, nodeCountForSeed } from './run_seed.js';
import { SimCluster } from './sim_cluster.js';

const seedsMin = 200;
const seedsTarget = 1000;
const timeBoxMs = 40_000;

test('simulator: partition moves under load and faults keep safety and liveness', { timeout: 120_000 }, () => {
  const startedMs = performance.now();
  let ran = 0;
  let movesDone = 0;
  let transfers = 0;
  let acked = 0;
  for (let seed = 1; seed <= seedsTarget && performance.now() - startedMs < timeBoxMs; seed++) {
    const options = { ...defaultSeedOptions, nodeCount: nodeCountForSeed(seed), seed, traceEventsMax: 0,
      membership: 'reassignment' as const, planOverrides: { confChangeProbability: 0.05 } };
    try {
      const cluster = new SimCluster(options);
      cluster.run();
      movesDone += cluster.stats.movesDone;
      transfers += cluster.stats.transfers;
      acked += cluster.stats.acked;
    } catch (error) {
      if (!(error instanceof Violation)) throw error;
      const replay = new SimCluster({ ...options, traceEventsMax: 60 });
      try { replay.run(); } catch { /* the same violation, now traced */ }
      ok(false, `seed ${seed}: ${error.message}\n${replay.trace.lines().join('\n')}`);
    }
    ran += 1;
  }
  console.log(`simulator (moves): ${ran} seeds, ${movesDone} moves done, ${transfers} transfers, ${acked} acked`);
  ok(ran >= seedsMin, `only ${ran} seeds ran inside the time box`);
  ok(movesDone >= ran, 'moves complete, about one per seed at least');
  ok(transfers > 0 && acked > 0, 'leaders handed over and clients were served');
});
