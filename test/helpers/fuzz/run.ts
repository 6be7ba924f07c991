/**
 * The fuzz by hand, for longer runs than the test's: `npm run fuzz -- --seconds 600 --seed 7`.
 * Starts a three-broker cluster, then runs rounds of every class, each class for an equal share of
 * the seconds (at most ROUND_CLASS_MS at a time), until the seconds are spent; a round always
 * finishes (checks and drains add to the time), so every class runs at least once. Prints one line
 * per class and every problem found; exits 1 when any check failed.
 */
import { parseArgs } from 'node:util';

import { CLASS_NAMES, FuzzSession, seedFromEnvironment, summarize } from './session.js';

const ROUND_CLASS_MS = 20_000;
const REQUESTS_PER_SECOND_MAX = 50_000;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '120' }, seed: { type: 'string' } } });
  const seconds = Number(values.seconds);
  const seed = values.seed === undefined ? seedFromEnvironment() : Number(values.seed);
  if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isSafeInteger(seed)) {
    throw new Error('usage: run.js --seconds <positive number> [--seed <integer>]');
  }
  process.stdout.write(`fuzz: seed ${seed}, ${seconds} s\n`);
  const deadline = Date.now() + seconds * 1000;
  const session = await FuzzSession.start(seed);
  let failed = 0;
  try {
    for (let round = 0; Date.now() < deadline; round++) {
      for (const name of CLASS_NAMES) {
        const wallMs = Math.max(1_000, Math.min(ROUND_CLASS_MS, seconds * 1000 / CLASS_NAMES.length));
        const result = await session.runClass(name, { requestsMax: REQUESTS_PER_SECOND_MAX * wallMs / 1000, wallMs });
        process.stdout.write(`round ${round} ${summarize(result)}\n`);
        for (const problem of result.problems) process.stdout.write(`  PROBLEM ${problem}\n`);
        if (result.problems.length > 0) failed += 1;
      }
    }
  } finally {
    await session.stop();
  }
  process.stdout.write(`fuzz: seed ${seed}: ${failed === 0 ? 'no problems' : `${failed} class runs with problems`}\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
