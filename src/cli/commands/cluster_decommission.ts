/**
 * `tributary cluster decommission --id N [--throttle 50MB] [--wait-timeout 600] [--json]`: takes
 * broker N out of the cluster for good (Kafka's broker removal, done as reassignments).
 *
 * 1. Start: the controller marks N decommissioning, so no new replica goes to it; refused with a
 *    typed error, nothing changed, when N is unknown, a controller voter, would leave too few
 *    brokers for a topic it holds, or is down holding a partition's only copy.
 * 2. Move: a plan over the live brokers other than N and other decommissioning ones, for every
 *    topic (internal ones too: N must end with no replica), submitted as reassignments and waited
 *    for; moves already under way (an interrupted earlier run) are waited for, then planned again.
 * 3. Leaders go back to the preferred replicas; then N is unregistered, and its process exits.
 *
 * Every step is idempotent, so running the command again after an interruption continues.
 */
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import type { OngoingMove, PartitionMove } from '../../client/admin.js';
import { generatePlan, parseThrottle } from '../../client/reassignment_plan.js';
import { TributaryError } from '../../common/errors.js';
import { cliAdmin, runClientCommand, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';
import { clusterShape, statuses } from './partitions.js';

const ADMIN_TIMEOUT_MS = 30_000;
const WAIT_POLL_MS = 500;
/**
 * Plan-and-move rounds: one usually empties the broker; another follows when moves from an
 * earlier run (or someone else's move to N started before the decommission) had to finish first.
 */
const ROUNDS_MAX = 5;

interface DecommissionArguments extends BootstrapArguments {
  id: number;
  throttle: string | undefined;
  'wait-timeout': number;
  json: boolean;
}

function key(move: { topic: string; partition: number }): string {
  return `${move.topic}\u0000${move.partition}`;
}

/** The partitions with a replica on brokerId, and the moves under way, over every topic. */
async function survey(admin: Admin, brokerId: number): Promise<{ topics: string[]; current: PartitionMove[];
  brokerIds: number[]; holding: PartitionMove[]; ongoing: OngoingMove[] }> {
  const topics = await admin.listTopics();
  const shape = await clusterShape(admin, topics);
  const ongoing = await admin.listPartitionReassignments();
  return { topics, current: shape.current, brokerIds: shape.brokerIds,
    holding: shape.current.filter((move) => move.replicas.includes(brokerId)), ongoing };
}

/** Waits until every move of partitions is done, printing progress every WAIT_POLL_MS; false on the deadline. */
async function waitForMoves(admin: Admin, partitions: readonly PartitionMove[], brokerId: number, deadlineMs: number,
  quiet: boolean): Promise<boolean> {
  const plan = { version: 1 as const, partitions };
  for (let current = await statuses(admin, plan); ; current = await statuses(admin, plan)) {
    const done = current.filter((s) => s.done).length;
    if (done === current.length) return true;
    if (Date.now() >= deadlineMs) return false;
    if (!quiet) {
      const left = current.filter((s) => s.replicas.includes(brokerId)).length;
      process.stderr.write(`${done}/${current.length} partitions moved; ${left} of them still on broker ${brokerId}\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}

export const decommissionCommand: CommandModule<object, DecommissionArguments> = {
  command: 'decommission',
  describe: 'move every replica off a broker, then unregister it (its process exits)',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('id', { type: 'number', demandOption: true, describe: 'the broker to decommission' })
    .option('throttle', { type: 'string', describe: 'catch-up bytes/s to new replicas, e.g. 50MB (binary units)' })
    .option('wait-timeout', { type: 'number', default: 600, describe: 'give up waiting for the moves after this many seconds' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: (args) => runClientCommand('cluster decommission', async () => {
    const brokerId = args.id;
    if (!Number.isSafeInteger(brokerId) || brokerId < 0) throw new UsageError(`--id ${brokerId}: expected a broker id`);
    const waitTimeout = args['wait-timeout'];
    if (!Number.isFinite(waitTimeout) || waitTimeout <= 0) {
      throw new UsageError(`--wait-timeout ${waitTimeout}: expected a positive number of seconds`);
    }
    const throttleBytesPerSec = args.throttle === undefined ? 0 : parseThrottle(args.throttle);
    const admin = cliAdmin(args, ADMIN_TIMEOUT_MS);
    const startedMs = Date.now();
    try {
      const started = await admin.decommissionBroker(brokerId, 'start');
      if (started.unregistered) {
        process.stdout.write(args.json ? `${JSON.stringify({ brokerId, moved: 0, alreadyDone: true })}\n`
          : `Broker ${brokerId} is decommissioned already.\n`);
        return;
      }
      const deadlineMs = startedMs + waitTimeout * 1000;
      let moved = 0;
      let topics: string[] = [];
      for (let round = 0; ; round++) {
        const now = await survey(admin, brokerId);
        topics = now.topics;
        const toN = now.ongoing.filter((move) => move.target.includes(brokerId));
        if (now.holding.length === 0 && toN.length === 0) break;
        if (round >= ROUNDS_MAX) {
          throw new TributaryError('REQUEST_TIMED_OUT', `broker ${brokerId} still holds ${now.holding.length} ` +
            `replicas after ${ROUNDS_MAX} rounds of moves`);
        }
        // Partitions moving already are left to finish; the next round plans them if they still need it.
        const moving = new Set(now.ongoing.map(key));
        const plan = generatePlan(now.current.filter((move) => !moving.has(key(move))), now.brokerIds);
        if (plan.partitions.length > 0) {
          const results = await admin.reassignPartitions(plan.partitions, { throttleBytesPerSec });
          const refused = results.find((result) => result.error !== null);
          if (refused?.error != null) throw refused.error;
          moved += plan.partitions.length;
        }
        const waited = [...plan.partitions, ...now.ongoing.map((move) => ({ topic: move.topic,
          partition: move.partition, replicas: move.target }))];
        if (!await waitForMoves(admin, waited, brokerId, deadlineMs, args.json)) {
          throw new TributaryError('REQUEST_TIMED_OUT', `moves not done within ${waitTimeout} s; run the command ` +
            'again to continue');
        }
      }
      const elections = await admin.electPreferredLeaders({ topics });
      const notMoved = elections.filter((e) => e.outcome === 'failed').length;
      await admin.decommissionBroker(brokerId, 'unregister');
      const seconds = Math.round((Date.now() - startedMs) / 100) / 10;
      process.stdout.write(args.json ? `${JSON.stringify({ brokerId, moved, leadersNotMoved: notMoved, seconds })}\n`
        : `Decommissioned broker ${brokerId}: moved ${moved} partitions in ${seconds} s; it holds no replica and is ` +
          `unregistered, and its process stops by itself.` +
          `${notMoved > 0 ? ` ${notMoved} leaderships could not go to their preferred replica yet.` : ''}\n`);
    } finally {
      await admin.close();
    }
  }),
};
