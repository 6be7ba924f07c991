#!/usr/bin/env node
/** The `tributary` command line. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { aclCommand } from './commands/acl.js';
import { quotasCommand } from './commands/quotas.js';
import { benchCommand } from './commands/bench.js';
import { clusterCommand } from './commands/cluster.js';
import { consumeCommand } from './commands/consume.js';
import { groupsCommand } from './commands/groups.js';
import { partitionsCommand } from './commands/partitions.js';
import { produceCommand } from './commands/produce.js';
import { topicsCommand } from './commands/topics.js';
import { devCommand } from './commands/dev.js';
import { startCommand } from './commands/start.js';
import { consoleCommand } from './commands/console.js';
import { topCommand } from './commands/top.js';
import { keysCommand } from './commands/keys.js';
import { usersCommand } from './commands/users.js';

const COMMANDS = ['start', 'dev', 'topics', 'produce', 'consume', 'groups', 'cluster', 'bench', 'console',
  'top', 'acl', 'quotas', 'keys', 'users'];

/** The command words before the first option ('topics list '), when the first is a command. */
function helpPath(): string {
  const words: string[] = [];
  for (const word of hideBin(process.argv)) {
    if (word.startsWith('-') || words.length === 2) break;
    words.push(word);
  }
  return words[0] !== undefined && COMMANDS.includes(words[0]) ? `${words.join(' ')} ` : '';
}

await yargs(hideBin(process.argv))
  .scriptName('tributary')
  .command(startCommand)
  .command(devCommand)
  .command(topicsCommand)
  .command(produceCommand)
  .command(consumeCommand)
  .command(groupsCommand)
  .command(partitionsCommand)
  .command(clusterCommand)
  .command(benchCommand)
  .command(consoleCommand)
  .command(topCommand)
  .command(aclCommand)
  .command(quotasCommand)
  .command(keysCommand)
  .command(usersCommand)
  .demandCommand(1)
  .strict()
  // A usage error is one line and a hint, not the whole help (which --help prints).
  .fail((message: string | undefined, error: Error | undefined) => {
    if (error !== undefined) throw error;
    process.stderr.write(`tributary: ${message ?? 'bad usage'} (see: tributary ${helpPath()}--help)\n`);
    process.exit(1);
  })
  .help()
  .parseAsync();
