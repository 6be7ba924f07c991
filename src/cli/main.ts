#!/usr/bin/env node
/** The `tributary` command line. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchCommand } from './commands/bench.js';
import { clusterCommand } from './commands/cluster.js';
import { consumeCommand } from './commands/consume.js';
import { groupsCommand } from './commands/groups.js';
import { partitionsCommand } from './commands/partitions.js';
import { produceCommand } from './commands/produce.js';
import { topicsCommand } from './commands/topics.js';
import { devCommand } from './commands/dev.js';
import { startCommand } from './commands/start.js';

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
  .demandCommand(1)
  .strict()
  .help()
  .parseAsync();
