/**
 * `tributary partitions reassign`: move partitions to other brokers (Kafka's
 * kafka-reassign-partitions.sh), carried out by each partition's Raft leader as membership changes.
 *   --plan plan.json [--throttle 50MB]       start the moves of a plan (checked whole first)
 *   --plan plan.json --verify [--wait]       per partition: done, or in progress with learner lag
 *   --generate --topics t1,t2 --brokers 1,2  propose an even plan (replicas, then preferred leaders,
 *                                            then bytes) that moves as little as it can
 */
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import type { OngoingMove, PartitionMove } from '../../client/admin.js';
import { formatPlan, generatePlan, parsePlan, parseThrottle, partitionKey, planProblem }
  from '../../client/reassignment_plan.js';
import type { ReassignmentPlan } from '../../client/reassignment_plan.js';
import { TributaryError } from '../../common/errors.js';
import { cliAdmin, runClientCommand, UsageError, withBootstrap } from '../client_common.js';
import { moveProgress } from '../move_progress.js';
import type { BootstrapArguments } from '../client_common.js';

const ADMIN_TIMEOUT_MS = 15_000;
/** How often `--verify --wait` looks again, and how long it waits at most. */
const WAIT_POLL_MS = 1_000;

interface ReassignArguments extends BootstrapArguments {
  plan: string | undefined;
  throttle: string | undefined;
  verify: boolean;
  wait: boolean;
  'wait-timeout': number;
  generate: boolean;
  topics: string | undefined;
  brokers: string | undefined;
  json: boolean;
}

/** One partition's state against its plan entry. */
export interface MoveStatus {
  readonly topic: string;
  readonly partition: number;
  readonly done: boolean;
  readonly replicas: readonly number[];
  readonly target: readonly number[];
  readonly learners: readonly number[];
  /** Broker id to entries behind, for learners whose leader answered. */
  readonly lags: Readonly<Record<string, number>>;
}

function readPlan(file: string): ReassignmentPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--plan ${file}: ${(error as Error).message}`);
  }
  return parsePlan(text);
}

function idList(text: string, option: string): number[] {
  const ids = text.split(',').map((part) => part.trim()).filter((part) => part !== '').map(Number);
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 0)) {
    throw new UsageError(`${option} ${text}: expected broker ids such as 1,2,3`);
  }
  return ids;
}

/**
 * The live brokers that may take replicas (decommissioning ones left out, so no plan puts a
 * replica there), those being decommissioned, and the topics' partition counts and replicas.
 */
export async function clusterShape(admin: Admin, topics: readonly string[]): Promise<{ brokerIds: number[];
  decommissioningIds: number[]; partitionCounts: Map<string, number>; current: PartitionMove[] }> {
  const cluster = await admin.describeCluster();
  const decommissioningIds = [...cluster.decommissioningBrokerIds];
  const brokerIds = cluster.brokers.map((broker) => broker.id).filter((id) => !decommissioningIds.includes(id));
  const known = new Set(await admin.listTopics());
  const partitionCounts = new Map<string, number>();
  const current: PartitionMove[] = [];
  for (const topic of new Set(topics)) {
    if (!known.has(topic)) continue;
    const description = await admin.describeTopic(topic);
    partitionCounts.set(topic, description.partitions.length);
    for (const p of description.partitions) {
      current.push({ topic, partition: p.partition, replicas: [...p.replicaIds] });
    }
  }
  return { brokerIds, decommissioningIds, partitionCounts, current };
}

async function execute(admin: Admin, args: ReassignArguments, plan: ReassignmentPlan): Promise<void> {
  const throttleBytesPerSec = args.throttle === undefined ? 0 : parseThrottle(args.throttle);
  const shape = await clusterShape(admin, plan.partitions.map((move) => move.topic));
  // Brokers are checked by the brokers (below): they know the fenced ones too.
  const problem = planProblem(plan, { partitionCounts: shape.partitionCounts });
  if (problem !== null) throw problem;
  // The brokers check every move before any is made (a partition already moving, a broker gone).
  const checked = await admin.reassignPartitions(plan.partitions, { throttleBytesPerSec, validateOnly: true });
  const refused = checked.find((result) => result.error !== null);
  if (refused?.error != null) throw refused.error;
  const results = await admin.reassignPartitions(plan.partitions, { throttleBytesPerSec });
  const failed = results.filter((result) => result.error !== null);
  const current = formatPlan(shape.current.filter((move) => plan.partitions.some((planned) =>
    planned.topic === move.topic && planned.partition === move.partition)));
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ started: results.filter((r) => r.error === null).length,
      failed: failed.map((r) => ({ topic: r.topic, partition: r.partition, error: r.error?.code })),
      previous: JSON.parse(current) as unknown })}\n`);
  } else {
    process.stdout.write(`Current partition replica assignment (save it to move back):\n${current}\n\n` +
      `Started moving ${results.length - failed.length} partitions` +
      `${throttleBytesPerSec > 0 ? `, catch-up throttled to ${throttleBytesPerSec} bytes/s` : ''}.\n`);
  }
  const first = failed[0]?.error;
  if (first != null) throw first;
}

export async function statuses(admin: Admin, plan: ReassignmentPlan): Promise<MoveStatus[]> {
  const ongoing = await admin.listPartitionReassignments();
  const byPartition = new Map<string, OngoingMove>(ongoing.map((move) => [`${move.topic}/${move.partition}`, move]));
  const described = new Map<string, Awaited<ReturnType<Admin['describeTopic']>>>();
  const result: MoveStatus[] = [];
  for (const move of plan.partitions) {
    const topic = described.get(move.topic) ?? await admin.describeTopic(move.topic);
    described.set(move.topic, topic);
    const replicas = topic.partitions.find((p) => p.partition === move.partition)?.replicaIds ?? [];
    const under = byPartition.get(`${move.topic}/${move.partition}`);
    const done = under === undefined && sameList(replicas, move.replicas);
    result.push({ topic: move.topic, partition: move.partition, done, replicas: [...replicas],
      target: [...move.replicas], learners: [...under?.learners ?? []],
      lags: Object.fromEntries([...under?.lags ?? []].map(([id, lag]) => [String(id), lag])) });
  }
  return result;
}

export function formatStatus(status: MoveStatus): string {
  const where = `${status.topic}-${status.partition}`;
  if (status.done) return `Reassignment of partition ${where} is complete.`;
  const learners = status.learners.map((id) => {
    const lag = status.lags[String(id)];
    return lag === undefined ? `${id}` : `${id} (${lag} entries behind)`;
  });
  if (status.learners.length === 0 && status.replicas.length === status.target.length &&
    status.replicas.every((id) => status.target.includes(id))) {
    // The voters are the target; the leader's last report has not been applied everywhere yet.
    return `Reassignment of partition ${where} is finishing: replicas ${status.replicas.join(',')}.`;
  }
  return `Reassignment of partition ${where} is still in progress: replicas ${status.replicas.join(',')}, ` +
    `target ${status.target.join(',')}${learners.length > 0 ? `, catching up ${learners.join(', ')}` : ''}.`;
}

async function verify(admin: Admin, args: ReassignArguments, plan: ReassignmentPlan): Promise<void> {
  const deadline = Date.now() + args['wait-timeout'] * 1_000;
  let current = await statuses(admin, plan);
  if (args.wait) {
    const progress = moveProgress(current.length, current.filter((s) => s.done).length, { quiet: false });
    while (current.some((s) => !s.done) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
      current = await statuses(admin, plan);
      progress.update(current.filter((s) => s.done).length);
    }
    progress.stop();
  }
  process.stdout.write(args.json ? `${JSON.stringify({ done: current.every((s) => s.done), partitions: current })}\n`
    : `${current.map(formatStatus).join('\n')}\n`);
  if (args.wait && current.some((s) => !s.done)) {
    throw new TributaryError('REQUEST_TIMED_OUT', `moves not done within ${args['wait-timeout']} s`);
  }
}

async function generate(admin: Admin, args: ReassignArguments): Promise<void> {
  if (args.topics === undefined || args.brokers === undefined) {
    throw new UsageError('--generate needs --topics t1,t2 and --brokers 1,2,3');
  }
  const topics = args.topics.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const brokers = idList(args.brokers, '--brokers');
  const shape = await clusterShape(admin, topics);
  const missing = topics.find((topic) => !shape.partitionCounts.has(topic));
  if (missing !== undefined) throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic ${missing}`);
  const leaving = brokers.filter((id) => shape.decommissioningIds.includes(id));
  if (leaving.length > 0) {
    throw new TributaryError('INVALID_REPLICA_ASSIGNMENT', `brokers ${leaving.join(',')} are being decommissioned`);
  }
  const unknown = brokers.filter((id) => !shape.brokerIds.includes(id));
  if (unknown.length > 0) {
    throw new TributaryError('INVALID_REPLICA_ASSIGNMENT', `brokers ${unknown.join(',')} are not registered`);
  }
  const sizes = new Map((await admin.partitionSizes(topics)).map((s) => [partitionKey(s.topic, s.partition), s.bytes]));
  const plan = generatePlan(shape.current, brokers, sizes);
  const moved = plan.partitions.map((move) => `${move.topic}-${move.partition}`);
  const current = formatPlan(shape.current.filter((move) => moved.includes(`${move.topic}-${move.partition}`)));
  process.stdout.write(args.json ? `${formatPlan(plan.partitions)}\n`
    : `Current partition replica assignment\n${current}\n\nProposed partition reassignment configuration\n` +
      `${formatPlan(plan.partitions)}\n`);
}

function sameList(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, i) => right[i] === id);
}

const reassignCommand: CommandModule<object, ReassignArguments> = {
  command: 'reassign',
  describe: 'move partitions to other brokers (a plan in Kafka\'s JSON), verify the moves, or propose a plan',
  builder: (yargs) => withBootstrap(yargs)
    .option('plan', { type: 'string', describe: 'plan file: {"version":1,"partitions":[{topic,partition,replicas}]}' })
    .option('throttle', { type: 'string', describe: 'catch-up bytes/s to new replicas, e.g. 50MB (binary units)' })
    .option('verify', { type: 'boolean', default: false, describe: 'report each planned partition: done or in progress' })
    .option('wait', { type: 'boolean', default: false, describe: 'with --verify: wait until every move is done' })
    .option('wait-timeout', { type: 'number', default: 600, describe: 'with --wait: give up after this many seconds' })
    .option('generate', { type: 'boolean', default: false, describe: 'propose a plan for --topics over --brokers' })
    .option('topics', { type: 'string', describe: 'with --generate: topic names, comma separated' })
    .option('brokers', { type: 'string', describe: 'with --generate: broker ids, comma separated' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: (args) => runClientCommand('partitions reassign', async () => {
    const modes = [args.generate, args.verify, !args.generate && !args.verify].filter(Boolean).length;
    if (modes !== 1) throw new UsageError('choose one of --generate and --verify, or neither to execute --plan');
    if (!args.generate && args.plan === undefined) throw new UsageError('--plan is required');
    const admin = cliAdmin(args, ADMIN_TIMEOUT_MS);
    try {
      if (args.generate) await generate(admin, args);
      else if (args.verify) await verify(admin, args, readPlan(args.plan ?? ''));
      else await execute(admin, args, readPlan(args.plan ?? ''));
    } finally {
      await admin.close();
    }
  }),
};

export const partitionsCommand: CommandModule = {
  command: 'partitions <action>',
  describe: 'move partitions between brokers',
  builder: (yargs: Argv) => yargs.command(reassignCommand).demandCommand(1, 'name an action: reassign'),
  handler: () => undefined,
};
