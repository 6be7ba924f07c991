/**
 * Hostile and buggy clients against a real three-broker cluster: a seeded, time-bounded fuzz of
 * the client protocol, one class of requests at a time (test/helpers/fuzz/). After each class:
 * every broker alive, `cluster status` answering, RSS below the bound, the pre-loaded canary
 * unchanged, no UNKNOWN_SERVER_ERROR, every request with a correlation id answered, plus the
 * class's own checks (see session.ts). Replay with TRIBUTARY_FUZZ_SEED=<seed>; run longer with
 * `npm run fuzz -- --seconds 600 --seed <seed>`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { ClassLimits } from '../helpers/fuzz/driver.js';
import { FuzzSession, seedFromEnvironment, summarize } from '../helpers/fuzz/session.js';
import type { ClassName } from '../helpers/fuzz/session.js';

/** Tuned for about 60 s on a 2-core machine, cluster start included; `npm run fuzz` runs longer. */
const LIMITS: Readonly<Record<ClassName, ClassLimits>> = {
  'fields': { requestsMax: 50_000, wallMs: 10_000 },
  'batches': { requestsMax: 35_000, wallMs: 7_000 },
  'framing': { requestsMax: 75_000, wallMs: 9_000 },
  'idempotence': { requestsMax: 60_000, wallMs: 6_000 },
  'slow-reader': { requestsMax: 24_000, wallMs: 4_000 },
};

describe('the brokers facing a fuzzing client', { timeout: 300_000 }, () => {
  const seed = seedFromEnvironment();
  let session: FuzzSession;

  before(async () => {
    session = await FuzzSession.start(seed);
  }, { timeout: 120_000 });
  after(async () => {
    await session.stop();
  });

  for (const name of Object.keys(LIMITS) as ClassName[]) {
    it(`survives the ${name} class (seed ${seed})`, { timeout: 120_000 }, async (t) => {
      const result = await session.runClass(name, LIMITS[name]);
      t.diagnostic(summarize(result));
      assert.ok(result.stats.sent > 0, 'the class sent requests');
      assert.deepEqual(result.problems, [], `seed ${seed}, class ${name}`);
    });
  }
});
