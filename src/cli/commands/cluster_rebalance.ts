/**
 * `tributary cluster rebalance [--throttle 50MB] [--dry-run] [--wait-timeout 600] [--json]`: spreads
 * the replicas and preferred leaders of every topic (internal ones excepted) evenly over the live
 * brokers, moving as few replicas as it can (the plan `partitions reassign --generate` proposes,
 * for all topics and brokers, weighing each partition's bytes to break ties), waits for the moves
 * with a progress bar, then hands leaderships to the preferred replicas and says where replicas and
 * leaders are per broker, before and after.
 */
import type { Argv, CommandModule } from 'yargs';

import type { PartitionMove, PreferredLeaderElection } from '../../client/admin.js';
import { generatePlan, parseThrottle, partitionKey } from '../../client/reassignment_plan.js';
import { TributaryError } from '../../common/errors.js';
import { cliAdmin, runClientCommand, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';
import { moveProgress } from '../move_progress.js';
import { clusterShape, statuses } from './partitions.js';

const ADMIN_TIMEOUT_MS = 30_000;
const WAIT_POLL_MS = 500;

interface RebalanceArguments extends BootstrapArguments {
  throttle: string | undefined;
  'dry-run': boolean;
  'wait-timeout': number;
  json: boolean;
}

/** One broker's share: replicas, preferred leaderships and (when known) the leaderships it holds. */
export interface BrokerShare {
  readonly brokerId: number;
  readonly replicas: number;
  readonly preferredLeaders: number;
  /** Null when the leaders were not asked (a dry run). */
  readonly leaders: number | null;
}

/** Each broker's share of the partitions; `leaders` are the partitions' actual leaders, when known. */
export function brokerShares(moves: readonly PartitionMove[], brokers: readonly number[],
  leaders: readonly (number | null)[] | null): BrokerShare[] {
  return brokers.map((id) => ({ brokerId: id,
    replicas: moves.filter((m) => m.replicas.includes(id)).length,
    preferredLeaders: moves.filter((m) => m.replicas[0] === id).length,
    leaders: leaders === null ? null : leaders.filter((leader) => leader === id).length }));
}

export function formatShares(shares: readonly BrokerShare[]): string {
  return shares.map((s) => `broker ${s.brokerId}: ${s.replicas} replicas, ` +
    `${s.leaders === null ? '' : `${s.leaders} leading, `}${s.preferredLeaders} preferred`).join('; ');
}

/** The leader of each of `moves` as the elections left it (null: unknown). */
function leadersOf(moves: readonly PartitionMove[], elections: readonly PreferredLeaderElection[]): (number | null)[] {
  const byPartition = new Map(elections.map((e) => [partitionKey(e.topic, e.partition), e.leaderId]));
  return moves.map((move) => byPartition.get(partitionKey(move.topic, move.partition)) ?? null);
}

export const rebalanceCommand: CommandModule<object, RebalanceArguments> = {
  command: 'rebalance',
  describe: 'spread replicas and leaders evenly over the live brokers (then bytes), moving as little as possible',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('throttle', { type: 'string', describe: 'catch-up bytes/s to new replicas, e.g. 50MB (binary units)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan, move nothing' })
    .option('wait-timeout', { type: 'number', default: 600, describe: 'give up waiting for the moves after this many seconds' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: (args) => runClientCommand('cluster rebalance', async () => {
    const throttleBytesPerSec = args.throttle === undefined ? 0 : parseThrottle(args.throttle);
    const admin = cliAdmin(args, ADMIN_TIMEOUT_MS);
    try {
      const topics = (await admin.listTopics()).filter((topic) => !topic.startsWith('__'));
      const shape = await clusterShape(admin, topics);
      const brokers = [...shape.brokerIds].sort((a, b) => a - b);
      const sizes = new Map((await admin.partitionSizes(topics)).map((s) => [partitionKey(s.topic, s.partition),
        s.bytes]));
      const plan = generatePlan(shape.current, brokers, sizes);
      const copies = plan.partitions.map((move) => move.replicas.filter((id) => !(shape.current
        .find((c) => c.topic === move.topic && c.partition === move.partition)?.replicas.includes(id) ?? false))
        .length);
      const copied = copies.reduce((sum, n) => sum + n, 0);
      const reordered = copies.filter((n) => n === 0).length;
      const what = `${plan.partitions.length} partitions (${copied} replicas copied` +
        `${reordered > 0 ? `, ${reordered} partitions only reordered` : ''})`;
      const before = brokerShares(shape.current, brokers, null);
      if (args['dry-run'] || plan.partitions.length === 0) {
        process.stdout.write(args.json ? `${JSON.stringify({ moves: plan.partitions, replicasCopied: copied, before })}\n`
          : `${plan.partitions.length === 0 ? 'Balanced already' : `Would change ${what}`} (${formatShares(before)}).\n`);
        if (plan.partitions.length === 0 && !args['dry-run']) {
          // Replicas are even, but leaders may have drifted from the preferred ones.
          await admin.electPreferredLeaders({ topics });
        }
        return;
      }
      const results = await admin.reassignPartitions(plan.partitions, { throttleBytesPerSec });
      const refused = results.find((result) => result.error !== null);
      if (refused?.error != null) throw refused.error;
      const deadline = Date.now() + args['wait-timeout'] * 1000;
      let current = await statuses(admin, plan);
      const progress = moveProgress(current.length, current.filter((s) => s.done).length, { quiet: args.json });
      while (current.some((s) => !s.done) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
        current = await statuses(admin, plan);
        progress.update(current.filter((s) => s.done).length);
      }
      progress.stop();
      if (current.some((s) => !s.done)) {
        throw new TributaryError('REQUEST_TIMED_OUT', `moves not done within ${args['wait-timeout']} s`);
      }
      const elections = await admin.electPreferredLeaders({ topics });
      const now = (await clusterShape(admin, topics)).current;
      const after = brokerShares(now, brokers, leadersOf(now, elections));
      const notMoved = elections.filter((e) => e.outcome === 'failed').length;
      process.stdout.write(args.json ? `${JSON.stringify({ moved: plan.partitions.length, replicasCopied: copied,
        before, after, leadersNotMoved: notMoved })}\n`
        : `Changed ${what}.\n` +
          `Before: ${formatShares(before)}.\nAfter: ${formatShares(after)}.\n` +
          (notMoved > 0 ? `${notMoved} leaderships could not go to their preferred replica yet.\n` : ''));
    } finally {
      await admin.close();
    }
  }),
};
