/**
 * `tributary topics create|list|describe|alter|delete NAME`: topic administration through the Admin
 * client (Kafka's kafka-topics.sh). `--json` prints one JSON document instead of text.
 */
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import type { TopicDescription } from '../../client/admin.js';
import { runAdminCommand, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

/** Admin calls from the command line give up after this long (retries included). */
const ADMIN_TIMEOUT_MS = 10_000;

interface TopicArguments extends BootstrapArguments {
  name: string;
  json: boolean;
}

interface CreateArguments extends TopicArguments {
  partitions: number;
  'replication-factor': number | undefined;
  config: string[];
}

interface AlterArguments extends TopicArguments {
  partitions: number;
}

type ListArguments = BootstrapArguments & { json: boolean };

function withAdmin(command: string, args: BootstrapArguments, body: (admin: Admin) => Promise<void>):
  Promise<void> {
  return runAdminCommand(command, args, ADMIN_TIMEOUT_MS, body);
}

/** `k=v` strings to a config map; a string without `=` is a usage error. */
export function parseConfigs(pairs: readonly string[]): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--config ${pair}: expected key=value`);
    configs[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return configs;
}

function checkCount(value: number, option: string): number {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${option} must be a positive integer`);
  return value;
}

export function formatDescription(topic: TopicDescription): string {
  const configs = Object.entries(topic.configs).map(([k, v]) => `${k}=${v}`).join(',');
  const replicationFactor = topic.partitions[0]?.replicaIds.length ?? 0;
  const lines = [`Topic: ${topic.name}\tPartitions: ${topic.partitions.length}\t` +
    `ReplicationFactor: ${replicationFactor}\tConfigs: ${configs}`];
  for (const p of topic.partitions) {
    lines.push(`\tPartition: ${p.partition}\tLeader: ${p.leaderId ?? 'none'}\tReplicas: ${p.replicaIds.join(',')}\t` +
      `Isr: ${p.isrIds.join(',')}\tHighWatermark: ${p.highWatermark >= 0 ? p.highWatermark : '?'}\t` +
      `Size: ${p.logSizeBytes >= 0 ? p.logSizeBytes : '?'}`);
  }
  return lines.join('\n');
}

const nameArgument = <T>(yargs: Argv<T>): Argv<T & { name: string }> =>
  yargs.positional('name', { type: 'string', demandOption: true, describe: 'topic name' });
const jsonOption = <T>(yargs: Argv<T>): Argv<T & { json: boolean }> =>
  yargs.option('json', { type: 'boolean', default: false, describe: 'print JSON' });

const createCommand: CommandModule<object, CreateArguments> = {
  command: 'create <name>',
  describe: 'create a topic',
  builder: (yargs) => jsonOption(nameArgument(withBootstrap(yargs)))
    .option('partitions', { type: 'number', default: 6, describe: 'number of partitions' })
    .option('replication-factor', { type: 'number',
      describe: 'replicas per partition (default: 3, or the number of brokers when fewer)' })
    .option('config', { type: 'string', array: true, default: [] as string[], describe: 'topic config key=value' }),
  handler: (args) => withAdmin('topics create', args, async (admin) => {
    const partitions = checkCount(args.partitions, '--partitions');
    const configs = parseConfigs(args.config);
    const given = args['replication-factor'];
    const replicationFactor = given === undefined
      ? Math.max(1, Math.min(3, (await admin.describeCluster()).brokers.length))
      : checkCount(given, '--replication-factor');
    await admin.createTopic({ name: args.name, partitions, replicationFactor, configs });
    // So that a describe or produce right after finds every partition led.
    if (!await leadersElected(admin, args.name)) {
      process.stderr.write(`tributary topics create: ${args.name} was created; some partitions have no leader yet\n`);
    }
    process.stdout.write(args.json
      ? `${JSON.stringify({ created: args.name, partitions, replicationFactor, configs })}\n`
      : `Created topic ${args.name}.\n`);
  }),
};

const listCommand: CommandModule<object, ListArguments> = {
  command: 'list',
  describe: 'list topic names',
  builder: (yargs) => jsonOption(withBootstrap(yargs)),
  handler: (args) => withAdmin('topics list', args, async (admin) => {
    const names = await admin.listTopics();
    process.stdout.write(args.json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(''));
  }),
};

const LEADER_WAIT_MS = 10_000;

/** Waits (bounded) until every partition of the topic has a leader; false when time ran out. */
async function leadersElected(admin: Admin, name: string): Promise<boolean> {
  const deadlineMs = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    const topic = await admin.describeTopic(name).catch(() => null);
    if (topic !== null && topic.partitions.every((p) => p.leaderId !== null && p.leaderId > 0)) return true;
    if (Date.now() >= deadlineMs) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Metadata carries a partition's high watermark and log size only from the broker that leads it;
 * the others' rows are filled by asking each leader (ListOffsets latest; Metadata for sizes). A
 * leader that cannot answer keeps -1.
 */
async function withLeaderHighWatermarks(admin: Admin, topic: TopicDescription): Promise<TopicDescription> {
  const sizes = await admin.partitionSizes([topic.name]).catch(() => []);
  const partitions = await Promise.all(topic.partitions.map(async (p) => {
    const logSizeBytes = sizes.find((size) => size.partition === p.partition)?.bytes ?? p.logSizeBytes;
    if (p.highWatermark >= 0 || p.leaderId === null || p.leaderId <= 0) return { ...p, logSizeBytes };
    const highWatermark = await admin.listOffset(topic.name, p.partition, 'latest').catch(() => -1);
    return { ...p, highWatermark, logSizeBytes };
  }));
  return { ...topic, partitions };
}

const describeCommand: CommandModule<object, TopicArguments> = {
  command: 'describe <name>',
  describe: 'partitions, leaders, replicas and configs of a topic',
  builder: (yargs) => jsonOption(nameArgument(withBootstrap(yargs))),
  handler: (args) => withAdmin('topics describe', args, async (admin) => {
    const topic = await withLeaderHighWatermarks(admin, await admin.describeTopic(args.name));
    process.stdout.write(args.json ? `${JSON.stringify(topic)}\n` : `${formatDescription(topic)}\n`);
  }),
};

const alterCommand: CommandModule<object, AlterArguments> = {
  command: 'alter <name>',
  describe: 'add partitions to a topic (only up; keyed records may then go to other partitions)',
  builder: (yargs) => jsonOption(nameArgument(withBootstrap(yargs)))
    .option('partitions', { type: 'number', demandOption: true, describe: 'the new number of partitions' }),
  handler: (args) => withAdmin('topics alter', args, async (admin) => {
    const partitions = checkCount(args.partitions, '--partitions');
    await admin.createPartitions(args.name, partitions);
    process.stdout.write(args.json ? `${JSON.stringify({ altered: args.name, partitions })}\n`
      : `Topic ${args.name} has ${partitions} partitions.\n`);
  }),
};

const deleteCommand: CommandModule<object, TopicArguments> = {
  command: 'delete <name>',
  describe: 'delete a topic',
  builder: (yargs) => jsonOption(nameArgument(withBootstrap(yargs))),
  handler: (args) => withAdmin('topics delete', args, async (admin) => {
    await admin.deleteTopic(args.name);
    process.stdout.write(args.json ? `${JSON.stringify({ deleted: args.name })}\n` : `Deleted topic ${args.name}.\n`);
  }),
};

export const topicsCommand: CommandModule = {
  command: 'topics <action>',
  describe: 'create, list, describe, alter or delete topics',
  builder: (yargs: Argv) => yargs
    .command(createCommand)
    .command(listCommand)
    .command(describeCommand)
    .command(alterCommand)
    .command(deleteCommand)
    .demandCommand(1, 'name an action: create, list, describe, alter or delete'),
  handler: () => undefined,
};
