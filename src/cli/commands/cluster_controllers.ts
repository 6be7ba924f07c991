/**
 * `tributary cluster controllers list|add --id N|remove --id N [--json]`: the controller quorum, the
 * Raft group that holds the cluster metadata. `list` shows its leader, voters and learners with how
 * far each is behind; `add` makes a broker (registered, caught-up learner) a voter; `remove` takes a
 * voter out (it keeps following the metadata as a learner while it is registered). One change at a
 * time, each answered once applied: to replace a voter, add the new one first, then remove the old.
 */
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import type { QuorumDescription, QuorumMemberState } from '../../client/admin.js';
import { TributaryError } from '../../common/errors.js';
import { cliAdmin, runClientCommand, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

const ADMIN_TIMEOUT_MS = 30_000;

interface ListArguments extends BootstrapArguments {
  json: boolean;
}

interface ChangeArguments extends ListArguments {
  id: number;
}

function memberLine(member: QuorumMemberState, role: string, leaderId: number): string {
  const leads = member.id === leaderId ? ' (leader)' : '';
  const lag = member.entriesBehind === 0 ? 'caught up' : `${member.entriesBehind} entries behind`;
  return `\t${member.id}\t${role}${leads}\t${member.live ? 'live' : 'NOT LIVE'}\t${lag}`;
}

/** A few lines a newcomer can read: who leads, who votes, who only follows. */
export function formatQuorum(quorum: QuorumDescription): string {
  const majority = Math.floor(quorum.voters.length / 2) + 1;
  const lines = [`Controller leader: ${quorum.leaderId}\tTerm: ${quorum.term}\tLast index: ${quorum.lastIndex}\t` +
    `Committed: ${quorum.commitIndex}`,
  `Voters: ${quorum.voters.length} (a change commits with ${majority} of them)`];
  for (const voter of quorum.voters) lines.push(memberLine(voter, 'voter', quorum.leaderId));
  lines.push(`Learners: ${quorum.learners.length} (follow the metadata, do not vote)`);
  for (const learner of quorum.learners) lines.push(memberLine(learner, 'learner', quorum.leaderId));
  return lines.join('\n');
}

function withJson<T>(yargs: Argv<T>): Argv<T & BootstrapArguments & { json: boolean }> {
  return withBootstrap(yargs).option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

function withId<T>(yargs: Argv<T>): Argv<T & BootstrapArguments & { json: boolean; id: number }> {
  return withJson(yargs).option('id', { type: 'number', demandOption: true, describe: 'the broker id' });
}

async function withAdmin(args: BootstrapArguments, body: (admin: Admin) => Promise<void>): Promise<void> {
  const admin = cliAdmin(args, ADMIN_TIMEOUT_MS);
  try {
    await body(admin);
  } finally {
    await admin.close();
  }
}

function checkedId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new TributaryError('INVALID_REQUEST', `--id ${id} is not a positive integer broker id`);
  }
  return id;
}

const listCommand: CommandModule<object, ListArguments> = {
  command: 'list',
  describe: 'the controller leader, voters and learners, with how far each is behind',
  builder: (yargs: Argv) => withJson(yargs),
  handler: (args) => runClientCommand('cluster controllers list', async () => {
    await withAdmin(args, async (admin) => {
      const quorum = await admin.describeQuorum();
      process.stdout.write(args.json ? `${JSON.stringify(quorum)}\n` : `${formatQuorum(quorum)}\n`);
    });
  }),
};

const addCommand: CommandModule<object, ChangeArguments> = {
  command: 'add',
  describe: 'make a registered, caught-up broker a controller voter',
  builder: (yargs: Argv) => withId(yargs),
  handler: (args) => runClientCommand('cluster controllers add', async () => {
    const id = checkedId(args.id);
    await withAdmin(args, async (admin) => {
      await admin.addRaftVoter(id);
      const quorum = await admin.describeQuorum();
      process.stdout.write(args.json ? `${JSON.stringify({ added: id, quorum })}\n`
        : `Broker ${id} is now a controller voter.\n${formatQuorum(quorum)}\n`);
    });
  }),
};

const removeCommand: CommandModule<object, ChangeArguments> = {
  command: 'remove',
  describe: 'take a voter out of the controller quorum (it stays a learner while registered)',
  builder: (yargs: Argv) => withId(yargs),
  handler: (args) => runClientCommand('cluster controllers remove', async () => {
    const id = checkedId(args.id);
    await withAdmin(args, async (admin) => {
      await admin.removeRaftVoter(id);
      const quorum = await admin.describeQuorum();
      process.stdout.write(args.json ? `${JSON.stringify({ removed: id, quorum })}\n`
        : `Broker ${id} is no longer a controller voter; it may be stopped now.\n${formatQuorum(quorum)}\n`);
    });
  }),
};

export const controllersCommand: CommandModule = {
  command: 'controllers <action>',
  describe: 'the controller quorum: list, add or remove voters (one at a time)',
  builder: (yargs: Argv) => yargs.command(listCommand).command(addCommand).command(removeCommand)
    .demandCommand(1, 'name an action: list, add, remove'),
  handler: () => undefined,
};
