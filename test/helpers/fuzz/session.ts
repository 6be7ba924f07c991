/**
 * One fuzz session: a three-broker TestCluster, the session's topics (the canary pre-loaded with a
 * real Producer), one FuzzDriver, and runClass(name, limits), which runs one class and then the
 * checks that must hold after it. The test (test/e2e/fuzz.test.ts) and the long-running script
 * (run.ts) both use it. Each class draws from its own PRNG seeded from the session seed, so a class
 * replays alone.
 */
import { TestCluster } from '../cluster.js';
import type { LocalCluster } from '../../../src/cli/local_cluster.js';
import { TestPrng } from '../test_prng.js';
import { BatchFuzzer } from './batches.js';
import type { Canary, MemoryReading } from './checks.js';
import { controllerProblems, createTopic, healthProblems, preloadCanary, reservedTopicProblems,
  storedBatchesProblems } from './checks.js';
import { FuzzContext } from './context.js';
import type { FuzzTopics } from './context.js';
import { FuzzDriver } from './driver.js';
import type { ClassLimits, ClassStats } from './driver.js';
import { FieldFuzzer } from './fields.js';
import { FramingFuzzer } from './framing.js';
import { IdempotenceFuzzer, storedSequenceProblems } from './idempotence.js';
import { SlowReader, WellBehavedSource } from './slow_reader.js';
import { leaderOf, readPartition } from './topic_reader.js';

export const CLASS_NAMES = ['fields', 'batches', 'framing', 'idempotence', 'slow-reader'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

export const DEFAULT_SEED = 20_261_206;
const CANARY_RECORDS = 2_000;
const REPLY_WAIT_MS = 15_000;

export function seedFromEnvironment(): number {
  const text = process.env.TRIBUTARY_FUZZ_SEED;
  const seed = text === undefined || text === '' ? DEFAULT_SEED : Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`TRIBUTARY_FUZZ_SEED must be an integer, got ${text}`);
  return seed;
}

export interface ClassResult {
  readonly stats: ClassStats;
  /** Everything that must not have happened; empty when the class passed. */
  readonly problems: readonly string[];
  readonly memory: readonly MemoryReading[];
  /** Class-specific figures for the report (outcomes per kind, steps, ...). */
  readonly details: Record<string, unknown>;
}

const TOPICS: FuzzTopics = { canary: 'fuzz-canary', fields: 'fuzz-fields', batches: 'fuzz-batches',
  idempotence: 'fuzz-idempotence' };

export class FuzzSession {
  private constructor(readonly seed: number, readonly cluster: LocalCluster, private readonly canary: Canary,
    private readonly driver: FuzzDriver) {}

  static async start(seed: number): Promise<FuzzSession> {
    // A JoinGroup or SyncGroup the brokers accept is held until its group answers it, which the
    // members' session and rebalance timeouts bound: short ones (and no initial rebalance delay)
    // keep any held request well within the driver's reply wait, and keep held requests from
    // filling a socket's in-flight bound and parking its other requests for long.
    const cluster = await TestCluster.start(3, ['--group-min-session-timeout-ms', '1000',
      '--group-max-session-timeout-ms', '2500', '--group-max-rebalance-timeout-ms', '2500',
      '--group-initial-rebalance-delay-ms', '0', '--offsets-topic-partitions', '4']);
    try {
      const canary = await preloadCanary(cluster, TOPICS.canary, CANARY_RECORDS, new TestPrng(seed));
      for (const topic of [TOPICS.fields, TOPICS.batches, TOPICS.idempotence]) await createTopic(cluster, topic, 1);
      const addresses = new Map(cluster.ids().map((id) => [id, cluster.address(id)]));
      return new FuzzSession(seed, cluster, canary, new FuzzDriver({ addresses, replyWaitMs: REPLY_WAIT_MS }));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.driver.close();
    await this.cluster.stop();
  }

  async runClass(name: ClassName, limits: ClassLimits): Promise<ClassResult> {
    const context = await this.context(name);
    const details: Record<string, unknown> = { leaders: context.leaders() };
    let stats: ClassStats;
    const problems: string[] = [];
    let slowReader: SlowReader | null = null;
    switch (name) {
      case 'fields': {
        const fuzzer = new FieldFuzzer(context);
        stats = await this.driver.run(name, limits, fuzzer);
        if (fuzzer.reservedAccepted.size > 0) {
          problems.push(`CreateTopics accepted reserved names: ${[...fuzzer.reservedAccepted].join(', ')}`);
        }
        problems.push(...await reservedTopicProblems(this.cluster),
          ...await controllerProblems(this.cluster, 'fuzz-probe-controller'));
        break;
      }
      case 'batches': {
        const fuzzer = new BatchFuzzer(context);
        stats = await this.driver.run(name, limits, fuzzer);
        Object.assign(details, { acked: fuzzer.acked, ambiguous: fuzzer.ambiguous, outcomes: fuzzer.outcomes });
        const accepted = fuzzer.acceptedMalformed();
        if (accepted.length > 0) problems.push(`malformed batches acknowledged: ${accepted.join(', ')}`);
        problems.push(...await storedBatchesProblems(this.cluster, TOPICS.batches, fuzzer.acked, fuzzer.ambiguous));
        break;
      }
      case 'framing': {
        const fuzzer = new FramingFuzzer(context);
        stats = await this.driver.run(name, limits, fuzzer);
        details.kinds = fuzzer.kinds;
        break;
      }
      case 'idempotence': {
        const fuzzer = new IdempotenceFuzzer(context);
        stats = await this.driver.run(name, limits, fuzzer);
        details.steps = fuzzer.steps;
        const stored = await readPartition(this.cluster, TOPICS.idempotence, 0);
        const sequenceProblems = storedSequenceProblems(stored.batches);
        details.storedBatches = stored.batches.length;
        if (sequenceProblems.length > 0) {
          problems.push(`${sequenceProblems.length} idempotence violations in the stored log, e.g. ` +
            sequenceProblems.slice(0, 3).join('; '));
        }
        break;
      }
      case 'slow-reader': {
        const leader = await leaderOf(this.cluster, TOPICS.canary, 0);
        slowReader = new SlowReader({ address: this.cluster.address(leader ?? 1), topic: TOPICS.canary, sockets: 3,
          requestsPerSocket: 600, fetchBytesMax: 1024 * 1024, wallMs: limits.wallMs });
        const flood = slowReader.flood();
        const wellBehaved = new WellBehavedSource(context);
        stats = await this.driver.run(name, limits, wellBehaved);
        await flood;
        details.leaderMovesSeen = wellBehaved.leaderMoves;
        details.slowRequestsSent = slowReader.sent;
        details.slowSendsRefused = slowReader.refused;
        break;
      }
    }
    problems.unshift(...driverProblems(stats));
    details.leadersAfter = (await this.context(name)).leaders();
    // Health is checked while the slow reader's sockets are still open and unread.
    const health = await healthProblems(this.cluster, this.canary);
    slowReader?.close();
    problems.push(...health.problems);
    return { stats, problems, memory: health.memory, details };
  }

  private async context(name: ClassName): Promise<FuzzContext> {
    const leaders = new Map<string, number>();
    for (const topic of [TOPICS.canary, TOPICS.fields, TOPICS.batches, TOPICS.idempotence]) {
      const leader = await leaderOf(this.cluster, topic, 0);
      if (leader !== null) leaders.set(topic, leader);
    }
    return new FuzzContext(new TestPrng(this.seed * 31 + CLASS_NAMES.indexOf(name) + 1), this.cluster.ids(), TOPICS,
      leaders);
  }
}

function driverProblems(stats: ClassStats): string[] {
  const problems: string[] = [];
  if (stats.unknownServerErrors > 0) problems.push(`${stats.unknownServerErrors} replies carry UNKNOWN_SERVER_ERROR`);
  if (stats.unanswered > 0) problems.push(`${stats.unanswered} requests with a correlation id went unanswered`);
  if (stats.answeredOneWay > 0) problems.push(`${stats.answeredOneWay} one-way requests were answered`);
  if (stats.malformedReplies > 0) problems.push(`${stats.malformedReplies} replies do not decode`);
  if (stats.stray > 0) problems.push(`${stats.stray} replies answer no outstanding request (duplicates or one-way)`);
  if (stats.sendFailures > 0) problems.push(`${stats.sendFailures} requests could not be sent`);
  return problems;
}

/** One line per class for logs and test diagnostics. */
export function summarize(result: ClassResult): string {
  const s = result.stats;
  const rate = Math.round(s.sent / Math.max(1, s.elapsedMs) * 1000);
  const memory = result.memory.map((m) => `${m.brokerId}:${m.rssMiB}/${m.peakRssMiB}`).join(' ');
  return `${s.name}: ${s.sent} requests in ${(s.elapsedMs / 1000).toFixed(1)} s (${rate}/s); answered ${s.answered}, ` +
    `one-way ${s.oneWay}, maybe ${s.maybe}, unanswered ${s.unanswered}, stray ${s.stray}, late ${s.lateReplies}, ` +
    `UNKNOWN_SERVER_ERROR ${s.unknownServerErrors}; RSS/peak MiB ${memory}; codes ${JSON.stringify(s.errorCodes)}; ` +
    JSON.stringify(result.details);
}
