/**
 * `tributary groups list | describe G | reset-offsets G --topic T --to-earliest|--to-latest|
 * --to-offset N|--to-datetime ISO [--execute] | delete G` (Kafka's kafka-consumer-groups.sh)
 * through the Admin client. describe prints one line per partition: its member, committed offset,
 * log end offset and lag. reset-offsets prints the plan and commits it only with --execute, and
 * only while the group has no members. `--json` prints one JSON document instead of text.
 */
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import type { GroupDescription, OffsetResetPlanEntry, OffsetResetSpec } from '../../client/admin.js';
import { runAdminCommand, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

/** Admin calls from the command line give up after this long (retries included). */
const ADMIN_TIMEOUT_MS = 10_000;

interface GroupArguments extends BootstrapArguments {
  group: string;
  json: boolean;
}

interface ResetArguments extends GroupArguments {
  topic: string;
  'to-earliest': boolean | undefined;
  'to-latest': boolean | undefined;
  'to-offset': number | undefined;
  'to-datetime': string | undefined;
  execute: boolean;
}

function withAdmin(command: string, args: BootstrapArguments, body: (admin: Admin) => Promise<void>):
  Promise<void> {
  return runAdminCommand(command, args, ADMIN_TIMEOUT_MS, body);
}

/** The one reset target the options name. */
export function resetSpecOf(args: Pick<ResetArguments, 'to-earliest' | 'to-latest' | 'to-offset' | 'to-datetime'>):
  OffsetResetSpec {
  const given = [args['to-earliest'] === true, args['to-latest'] === true, args['to-offset'] !== undefined,
    args['to-datetime'] !== undefined].filter(Boolean).length;
  if (given !== 1) throw new UsageError('name one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO');
  if (args['to-earliest'] === true) return { to: 'earliest' };
  if (args['to-latest'] === true) return { to: 'latest' };
  if (args['to-offset'] !== undefined) {
    if (!Number.isSafeInteger(args['to-offset']) || args['to-offset'] < 0) {
      throw new UsageError('--to-offset must be an offset >= 0');
    }
    return { to: 'offset', offset: args['to-offset'] };
  }
  const timestampMs = Date.parse(args['to-datetime'] ?? '');
  if (Number.isNaN(timestampMs)) throw new UsageError(`--to-datetime ${args['to-datetime']}: not an ISO 8601 time`);
  return { to: 'datetime', timestampMs };
}

const dash = (value: number | string | null): string => (value === null || value === '' ? '-' : String(value));

export function formatGroup(group: GroupDescription): string {
  const lines = [`Group: ${group.groupId}\tState: ${group.state}\tProtocol: ${dash(group.protocolName)}\t` +
    `Generation: ${group.generationId}\tMembers: ${group.members.length}`,
  ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'MEMBER-ID', 'CLIENT-ID', 'HOST'].join('\t')];
  const members = new Map(group.members.map((m) => [m.memberId, m]));
  for (const p of group.partitions) {
    const member = p.memberId === null ? undefined : members.get(p.memberId);
    lines.push([p.topic, p.partition, dash(p.committedOffset), p.logEndOffset >= 0 ? p.logEndOffset : '-', dash(p.lag),
      dash(p.memberId), dash(member?.clientId ?? null), dash(member?.clientHost ?? null)].join('\t'));
  }
  return lines.join('\n');
}

export function formatPlan(plan: readonly OffsetResetPlanEntry[], executed: boolean): string {
  const lines = [['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'].join('\t'),
    ...plan.map((p) => [p.topic, p.partition, dash(p.currentOffset), p.newOffset].join('\t'))];
  lines.push(executed ? 'Offsets committed.' : 'Dry run: nothing committed (pass --execute to commit these offsets).');
  return lines.join('\n');
}

const groupArgument = <T>(yargs: Argv<T>): Argv<T & { group: string }> =>
  yargs.positional('group', { type: 'string', demandOption: true, describe: 'group id' });
const jsonOption = <T>(yargs: Argv<T>): Argv<T & { json: boolean }> =>
  yargs.option('json', { type: 'boolean', default: false, describe: 'print JSON' });

const listCommand: CommandModule<object, BootstrapArguments & { json: boolean }> = {
  command: 'list',
  describe: 'list consumer groups',
  builder: (yargs) => jsonOption(withBootstrap(yargs)),
  handler: (args) => withAdmin('groups list', args, async (admin) => {
    const groups = await admin.listGroups();
    process.stdout.write(args.json ? `${JSON.stringify(groups)}\n`
      : groups.map((g) => `${g.groupId}\t${g.state}\n`).join(''));
  }),
};

const describeCommand: CommandModule<object, GroupArguments> = {
  command: 'describe <group>',
  describe: 'members, committed offsets, log end offsets and lag of a group',
  builder: (yargs) => jsonOption(groupArgument(withBootstrap(yargs))),
  handler: (args) => withAdmin('groups describe', args, async (admin) => {
    const group = await admin.describeGroup(args.group);
    process.stdout.write(args.json ? `${JSON.stringify(group)}\n` : `${formatGroup(group)}\n`);
  }),
};

const resetCommand: CommandModule<object, ResetArguments> = {
  command: 'reset-offsets <group>',
  describe: 'plan (or, with --execute, commit) new offsets for a group with no members',
  builder: (yargs) => jsonOption(groupArgument(withBootstrap(yargs)))
    .option('topic', { type: 'string', demandOption: true, describe: 'the topic whose offsets to reset' })
    .option('to-earliest', { type: 'boolean', describe: 'to the log start' })
    .option('to-latest', { type: 'boolean', describe: 'to the log end' })
    .option('to-offset', { type: 'number', describe: 'to this offset (kept within the log)' })
    .option('to-datetime', { type: 'string', describe: 'to the first record at or after this ISO time' })
    .option('execute', { type: 'boolean', default: false, describe: 'commit the plan (else only print it)' }),
  handler: (args) => withAdmin('groups reset-offsets', args, async (admin) => {
    const spec = resetSpecOf(args);
    const plan = await admin.resetGroupOffsets(args.group, args.topic, spec, { execute: args.execute });
    process.stdout.write(args.json ? `${JSON.stringify({ executed: args.execute, plan })}\n`
      : `${formatPlan(plan, args.execute)}\n`);
  }),
};

const deleteCommand: CommandModule<object, GroupArguments> = {
  command: 'delete <group>',
  describe: 'delete a group with no members',
  builder: (yargs) => jsonOption(groupArgument(withBootstrap(yargs))),
  handler: (args) => withAdmin('groups delete', args, async (admin) => {
    await admin.deleteGroup(args.group);
    process.stdout.write(args.json ? `${JSON.stringify({ deleted: args.group })}\n` : `Deleted group ${args.group}.\n`);
  }),
};

export const groupsCommand: CommandModule = {
  command: 'groups <action>',
  describe: 'list, describe, reset the offsets of, or delete consumer groups',
  builder: (yargs: Argv) => yargs
    .command(listCommand)
    .command(describeCommand)
    .command(resetCommand)
    .command(deleteCommand)
    .demandCommand(1, 'name an action: list, describe, reset-offsets or delete'),
  handler: () => undefined,
};
