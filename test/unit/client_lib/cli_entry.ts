/**
 * A `tributary` command line holding only the client commands, so their tests can run them as
 * child processes against a FakeCluster before src/cli/main.ts registers them.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { clusterCommand } from '../../../src/cli/commands/cluster.js';
import { consumeCommand } from '../../../src/cli/commands/consume.js';
import { groupsCommand } from '../../../src/cli/commands/groups.js';
import { produceCommand } from '../../../src/cli/commands/produce.js';
import { topicsCommand } from '../../../src/cli/commands/topics.js';

await yargs(hideBin(process.argv))
  .scriptName('tributary')
  .command(topicsCommand)
  .command(produceCommand)
  .command(consumeCommand)
  .command(groupsCommand)
  .command(clusterCommand)
  .demandCommand(1)
  .strict()
  .help()
  .parseAsync();
