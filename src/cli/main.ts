#!/usr/bin/env node
/** The `tributary` command line. */
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';

/**
 * Each command's module, loaded only when its command runs: together they take about 0.6 s of CPU
 * to load, a broker's `start` alone 0.35 s, and every broker is a `tributary start` process. The
 * top-level help, and an unknown command's error, load them all.
 */
const COMMAND_LOADERS: Readonly<Record<string, (parser: Argv) => Promise<Argv>>> = {
  start: async (parser) => parser.command((await import('./commands/start.js')).startCommand),
  dev: async (parser) => parser.command((await import('./commands/dev.js')).devCommand),
  topics: async (parser) => parser.command((await import('./commands/topics.js')).topicsCommand),
  produce: async (parser) => parser.command((await import('./commands/produce.js')).produceCommand),
  consume: async (parser) => parser.command((await import('./commands/consume.js')).consumeCommand),
  groups: async (parser) => parser.command((await import('./commands/groups.js')).groupsCommand),
  partitions: async (parser) => parser.command((await import('./commands/partitions.js')).partitionsCommand),
  cluster: async (parser) => parser.command((await import('./commands/cluster.js')).clusterCommand),
  bench: async (parser) => parser.command((await import('./commands/bench.js')).benchCommand),
  console: async (parser) => parser.command((await import('./commands/console.js')).consoleCommand),
  top: async (parser) => parser.command((await import('./commands/top.js')).topCommand),
  acl: async (parser) => parser.command((await import('./commands/acl.js')).aclCommand),
  quotas: async (parser) => parser.command((await import('./commands/quotas.js')).quotasCommand),
  keys: async (parser) => parser.command((await import('./commands/keys.js')).keysCommand),
  users: async (parser) => parser.command((await import('./commands/users.js')).usersCommand),
};
const COMMANDS = Object.keys(COMMAND_LOADERS);

/** The command words before the first option ('topics list '), when the first is a command. */
function helpPath(): string {
  const words: string[] = [];
  for (const word of hideBin(process.argv)) {
    if (word.startsWith('-') || words.length === 2) break;
    words.push(word);
  }
  return words[0] !== undefined && COMMANDS.includes(words[0]) ? `${words.join(' ')} ` : '';
}

const named = hideBin(process.argv).find((word) => !word.startsWith('-'));
const loaders = named !== undefined && Object.hasOwn(COMMAND_LOADERS, named) ? [COMMAND_LOADERS[named]]
  : Object.values(COMMAND_LOADERS);
let parser = yargs(hideBin(process.argv)).scriptName('tributary');
for (const load of loaders) if (load !== undefined) parser = await load(parser);

await parser
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
