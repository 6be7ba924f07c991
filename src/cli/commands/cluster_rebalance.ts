/**
 * `tributary cluster rebalance [--throttle 50MB] [--dry-run] [--wait-timeout 600] [--json]`: spreads
 * the replicas of every topic (internal ones excepted) evenly over the live brokers, moving as few
 * as it can (the plan `partitions reassign --generate` proposes, for all topics and brokers), waits
 * for the moves, then hands leaderships back to the preferred replicas so leaders are spread too.
 * Balance is by replica and leader counts; bytes are not weighed yet.
 */
import type { Argv, CommandModule } from 'yargs';

import { Admin } from '../../client/admin.js';
import { generatePlan, parseThrottle } from '../../client/reassignment_plan.js';
import { TributaryError } from '../../common/errors.js';
import { cliLogger, runClientCommand, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';
import { clusterShape, statuses } from './partitions.js';

const ADMIN_TIMEOUT_MS = 30_000;
const WAIT_POLL_MS = 500;

interface RebalanceArguments extends BootstrapArguments {
  throttle: string | undefined;
  'dry-run': boolean;
  'wait-timeout': number;
  json: boolean;
}

/** Replicas and preferred leaderships per broker, for the summary lines. */
function spread(moves: readonly { readonly replicas: readonly number[] }[], brokers: readonly number[]): string {
  return brokers.map((id) => {
    const replicas = moves.filter((m) => m.replicas.includes(id)).length;
    const leaders = moves.filter((m) => m.replicas[0] === id).length;
    return `${id}: ${replicas} replicas, ${leaders} preferred leaders`;
  }).join('; ');
}

export const rebalanceCommand: CommandModule<object, RebalanceArguments> = {
  command: 'rebalance',
  describe: 'spread replicas and leaders evenly over the live brokers, moving as little as possible',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('throttle', { type: 'string', describe: 'catch-up bytes/s to new replicas, e.g. 50MB (binary units)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan, move nothing' })
    .option('wait-timeout', { type: 'number', default: 600, describe: 'give up waiting for the moves after this many seconds' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: (args) => runClientCommand('cluster rebalance', async () => {
    const throttleBytesPerSec = args.throttle === undefined ? 0 : parseThrottle(args.throttle);
    const admin = new Admin({ bootstrap: args.bootstrap, requestTimeoutMs: ADMIN_TIMEOUT_MS, logger: cliLogger(),
      clientId: 'tributary-cli' });
    try {
      const topics = (await admin.listTopics()).filter((topic) => !topic.startsWith('__'));
      const shape = await clusterShape(admin, topics);
      const brokers = [...shape.brokerIds].sort((a, b) => a - b);
      const plan = generatePlan(shape.current, brokers);
      const before = spread(shape.current, brokers);
      if (args['dry-run'] || plan.partitions.length === 0) {
        process.stdout.write(args.json ? `${JSON.stringify({ moves: plan.partitions, before })}\n`
          : `${plan.partitions.length === 0 ? 'Balanced already' : `Would move ${plan.partitions.length} partitions`} ` +
            `(${before}).\n`);
        return;
      }
      const results = await admin.reassignPartitions(plan.partitions, { throttleBytesPerSec });
      const refused = results.find((result) => result.error !== null);
      if (refused?.error != null) throw refused.error;
      const deadline = Date.now() + args['wait-timeout'] * 1000;
      let current = await statuses(admin, plan);
      while (current.some((s) => !s.done) && Date.now() < deadline) {
        if (!args.json) process.stderr.write(`${current.filter((s) => s.done).length}/${current.length} partitions moved\n`);
        await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
        current = await statuses(admin, plan);
      }
      if (current.some((s) => !s.done)) {
        throw new TributaryError('REQUEST_TIMED_OUT', `moves not done within ${args['wait-timeout']} s`);
      }
      const elections = await admin.electPreferredLeaders({ topics });
      const after = spread((await clusterShape(admin, topics)).current, brokers);
      const notMoved = elections.filter((e) => e.outcome === 'failed').length;
      process.stdout.write(args.json ? `${JSON.stringify({ moved: plan.partitions.length, before, after,
        leadersNotMoved: notMoved })}\n`
        : `Moved ${plan.partitions.length} partitions. Before: ${before}. After: ${after}.` +
          `${notMoved > 0 ? ` ${notMoved} leaderships could not go to their preferred replica yet.` : ''}\n`);
    } finally {
      await admin.close();
    }
  }),
};
