/**
 * What the jepsen harness tests share: short runs against three real brokers, and what counts as
 * real work in them. A failed run keeps its folder (history, verdict, broker logs) and names it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NemesisFamilyName, RunOptions } from '../../jepsen/options.js';

export const SENDS_OK_MIN = 25;
export const POLLS_OK_MIN = 25;
export const RUN_TIMEOUT_MS = 150_000;

/**
 * Shorter than the harness's 10 s: the drain retries until every key is read to its target (30 s at
 * most), so the wait only spares it failed polls; eleven runs in the suite wait 77 s less.
 */
const RECOVERY_SECONDS = 3;

/**
 * Two faults per run, each followed by a healthy period as long as itself: 3 s each in 15 s, but
 * 4 s in 20 s for membership, whose first step starts a broker that must register and catch up.
 */
function scheduleFor(family: NemesisFamilyName): { timeSeconds: number; nemesisIntervalSeconds: number } {
  return family === 'membership' ? { timeSeconds: 20, nemesisIntervalSeconds: 4 } : { timeSeconds: 15, nemesisIntervalSeconds: 3 };
}

export function optionsFor(family: NemesisFamilyName, out: string): RunOptions {
  return {
    workload: 'queue', groupMembers: 3, groupCommit: 'after', nodes: 3, ...scheduleFor(family), nemeses: [family], seed: 20_261_125, acks: 'all',
    fsync: 'on', rate: 40, concurrency: 4, inFlight: 4, keyCount: 6, maxWritesPerKey: 64, drainSeconds: 30,
    recoverySeconds: RECOVERY_SECONDS, out, soak: 1,
  };
}

export function groupOptions(out: string, overrides: Partial<RunOptions>): RunOptions {
  return { ...optionsFor('kill', out), workload: 'group', groupMembers: 3, keyCount: 6, concurrency: 3, ...overrides };
}

export function readHistory(out: string): string[] {
  return fs.readFileSync(path.join(out, 'history.jsonl'), 'utf8').split('\n').filter((line) => line !== '');
}

