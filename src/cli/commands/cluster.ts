/**
 * `tributary cluster status [--json]`: every registered broker, up or down (fenced), which one leads
 * the controller group, and for
 * every partition its leader, replicas, in-sync replicas, log start and high watermark. Offsets
 * come from each partition's leader (ListOffsets); a partition whose leader cannot answer shows
 * the high watermark from metadata, or `?`.
 */
import type { Argv, CommandModule } from 'yargs';

import { Admin } from '../../client/admin.js';
import type { ClusterDescription } from '../../client/admin.js';
import type { PartitionInfo } from '../../client/metadata_cache.js';
import { cliLogger, runClientCommand, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

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
  const names = await admin.listTopics();
  const topics = await Promise.all(names.map(async (name) => {
    const description = await admin.describeTopic(name);
    const partitions = await Promise.all(description.partitions.map((p) => partitionStatus(offsets, name, p)));
    return { name, partitions };
  }));
  return { ...cluster, topics };
}

export function formatStatus(status: ClusterStatus): string {
  const lines = [`Cluster: ${status.clusterId}\tController: ${status.controllerId ?? 'none (election)'}\t` +
    `Voters: ${status.controllerVoterIds.join(',')}`, 'Brokers:'];
  const brokers = [...status.brokers.map((b) => ({ ...b, up: true })),
    ...status.fencedBrokers.map((b) => ({ ...b, up: false }))].sort((a, b) => a.id - b.id);
  for (const broker of brokers) {
    const role = broker.id === status.controllerId ? '\t(controller leader)' : '';
    lines.push(`\t${broker.id}\t${broker.address}\t${broker.up ? 'up' : 'DOWN (fenced)'}${role}`);
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
    const options = { bootstrap: args.bootstrap, logger: cliLogger(), clientId: 'tributary-cli' };
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

export const clusterCommand: CommandModule = {
  command: 'cluster <action>',
  describe: 'cluster status',
  builder: (yargs: Argv) => yargs.command(statusCommand).demandCommand(1, 'name an action: status'),
  handler: () => undefined,
};
