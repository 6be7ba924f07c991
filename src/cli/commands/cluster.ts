/**
 * `tributary cluster status [--json]`: every registered broker, up or down (fenced), which one leads
 * the controller group, its voters and learners (cluster_controllers.ts changes them), and for
 * every partition its leader, replicas, in-sync replicas, log start and high watermark. Offsets
 * come from each partition's leader (ListOffsets); a partition whose leader cannot answer shows
 * the high watermark from metadata, or `?`.
 *
 * `tributary cluster elect-leaders [--topic T] [--json]` (Kafka's kafka-leader-election.sh
 * --election-type preferred): partitions whose preferred replica is in sync and not leading get
 * their leadership handed to it now; one line per partition, exit code 1 if any could not move.
 */
import type { Argv, CommandModule } from 'yargs';

import { Admin } from '../../client/admin.js';
import type { ClusterDescription, PreferredLeaderElection } from '../../client/admin.js';
import type { PartitionInfo } from '../../client/metadata_cache.js';
import { cliAdmin, cliLogger, describeError, runClientCommand, securityOf, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';
import { decommissionCommand } from './cluster_decommission.js';
import { rebalanceCommand } from './cluster_rebalance.js';
import { controllersCommand } from './cluster_controllers.js';

const STATUS_TIMEOUT_MS = 10_000;
/** ListOffsets for one partition: a leader that does not answer quickly is shown as unknown. */
const OFFSET_TIMEOUT_MS = 2_000;

interface StatusArguments extends BootstrapArguments {
  json: boolean;
}

export interface PartitionStatus {
  readonly partition: number;
  readonly leaderId: number | null;
  readonly replicaIds: readonly number[];
  readonly isrIds: readonly number[];
  readonly logStartOffset: number | null;
  readonly highWatermark: number | null;
}

export interface ClusterStatus extends ClusterDescription {
  /** Brokers following the metadata without a vote; null when the controller leader did not answer. */
  readonly controllerLearnerIds: readonly number[] | null;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly PartitionStatus[] }[];
}

async function partitionStatus(offsets: Admin, topic: string, p: PartitionInfo): Promise<PartitionStatus> {
  const offset = async (spec: 'earliest' | 'latest'): Promise<number | null> => {
    if (p.leaderId === null) return null;
    try {
      return await offsets.listOffset(topic, p.partition, spec);
    } catch {
      return null;
    }
  };
  const [logStartOffset, latest] = await Promise.all([offset('earliest'), offset('latest')]);
  return {
    partition: p.partition, leaderId: p.leaderId, replicaIds: p.replicaIds, isrIds: p.isrIds, logStartOffset,
    highWatermark: latest ?? (p.highWatermark >= 0 ? p.highWatermark : null),
  };
}

export async function clusterStatus(admin: Admin, offsets: Admin): Promise<ClusterStatus> {
  const cluster = await admin.describeCluster();
  // The short-timeout client: during a controller election the status must not wait for one.
  const quorum = await offsets.describeQuorum().catch(() => null);
  const names = await admin.listTopics();
  const topics = await Promise.all(names.map(async (name) => {
    const description = await admin.describeTopic(name);
    const partitions = await Promise.all(description.partitions.map((p) => partitionStatus(offsets, name, p)));
    return { name, partitions };
  }));
  return { ...cluster, ...(quorum === null ? {} : { controllerVoterIds: quorum.voters.map((v) => v.id) }),
    controllerLearnerIds: quorum === null ? null : quorum.learners.map((l) => l.id), topics };
}

export function formatStatus(status: ClusterStatus): string {
  const lines = [`Cluster: ${status.clusterId}\tController: ${status.controllerId ?? 'none (election)'}\t` +
    `Voters: ${status.controllerVoterIds.join(',')}\t` +
    `Learners: ${status.controllerLearnerIds === null ? '?' : status.controllerLearnerIds.join(',') || 'none'}`, 'Brokers:'];
  const brokers = [...status.brokers.map((b) => ({ ...b, up: true })),
    ...status.fencedBrokers.map((b) => ({ ...b, up: false }))].sort((a, b) => a.id - b.id);
  for (const broker of brokers) {
    const role = broker.id === status.controllerId ? '\t(controller leader)' : '';
    const leaving = status.decommissioningBrokerIds.includes(broker.id) ? '\t(decommissioning)' : '';
    lines.push(`\t${broker.id}\t${broker.address}\t${broker.up ? 'up' : 'DOWN (fenced)'}${role}${leaving}`);
  }
  lines.push('Partitions:');
  if (status.topics.length === 0) lines.push('\t(no topics)');
  for (const topic of status.topics) {
    for (const p of topic.partitions) {
      const lagging = p.replicaIds.filter((id) => !p.isrIds.includes(id));
      lines.push(`\t${topic.name}/${p.partition}\tLeader: ${p.leaderId ?? 'none'}\tReplicas: ${p.replicaIds.join(',')}` +
        `\tIsr: ${p.isrIds.join(',')}${lagging.length > 0 ? `\tBehind: ${lagging.join(',')}` : ''}` +
        `\tLogStart: ${p.logStartOffset ?? '?'}\tHighWatermark: ${p.highWatermark ?? '?'}`);
    }
  }
  return lines.join('\n');
}

const statusCommand: CommandModule<object, StatusArguments> = {
  command: 'status',
  describe: 'brokers, controller leader, partition leaders and high watermarks',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: (args) => runClientCommand('cluster status', async () => {
    const options = { bootstrap: args.bootstrap, ...securityOf(args), logger: cliLogger(), clientId: 'tributary-cli' };
    const admin = new Admin({ ...options, requestTimeoutMs: STATUS_TIMEOUT_MS });
    const offsets = new Admin({ ...options, requestTimeoutMs: OFFSET_TIMEOUT_MS });
    try {
      const status = await clusterStatus(admin, offsets);
      process.stdout.write(args.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    } finally {
      await Promise.all([admin.close(), offsets.close()]);
    }
  }),
};

interface ElectArguments extends BootstrapArguments {
  topic: string | undefined;
  json: boolean;
  'timeout-ms': number;
}

/** One line per partition and a count of each outcome. */
export function formatElections(elections: readonly PreferredLeaderElection[]): string {
  const lines = elections.map((e) => {
    const what = e.outcome === 'elected' ? 'moved to the preferred leader'
      : e.outcome === 'already' ? 'preferred leader already leads' : `not moved: ${describeError(e.error)}`;
    return `${e.topic}/${e.partition}\tPreferred: ${e.preferredLeaderId ?? '?'}\tLeader: ${e.leaderId ?? '?'}\t${what}`;
  });
  const count = (outcome: PreferredLeaderElection['outcome']): number =>
    elections.filter((e) => e.outcome === outcome).length;
  lines.push(`${count('elected')} moved, ${count('already')} already on their preferred leader, ${count('failed')} not moved`);
  return lines.join('\n');
}

const electLeadersCommand: CommandModule<object, ElectArguments> = {
  command: 'elect-leaders',
  describe: 'move leaderships back to preferred replicas that are in sync (Kafka preferred leader election)',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .option('topic', { type: 'string', describe: 'only this topic\'s partitions (default: every topic)' })
    .option('timeout-ms', { type: 'number', default: 30_000, describe: 'how long to wait for the moves' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
  handler: (args) => runClientCommand('cluster elect-leaders', async () => {
    const admin = cliAdmin(args, args['timeout-ms']);
    try {
      const elections = await admin.electPreferredLeaders(args.topic === undefined ? {} : { topics: [args.topic] });
      const printable = elections.map((e) => ({ ...e, error: e.error === null ? null
        : { code: e.error.code, message: e.error.message } }));
      process.stdout.write(args.json ? `${JSON.stringify(printable)}\n` : `${formatElections(elections)}\n`);
      if (elections.some((e) => e.outcome === 'failed')) process.exitCode = 1;
    } finally {
      await admin.close();
    }
  }),
};

export const clusterCommand: CommandModule = {
  command: 'cluster <action>',
  describe: 'cluster status, preferred leader election, rebalance, controller quorum, broker decommission',
  builder: (yargs: Argv) => yargs.command(statusCommand).command(electLeadersCommand).command(rebalanceCommand)
    .command(controllersCommand).command(decommissionCommand)
    .demandCommand(1, 'name an action: status, elect-leaders, rebalance, controllers, decommission'),
  handler: () => undefined,
};
