#!/usr/bin/env node
/** The `tributary` command line. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchCommand } from './commands/bench.js';
import { devCommand } from './commands/dev.js';
import { startCommand } from './commands/start.js';

await yargs(hideBin(process.argv))
  .scriptName('tributary')
  .command(startCommand)
  .command(devCommand)
  .command(benchCommand)
  .demandCommand(1)
  .strict()
  .help()
  .parseAsync();
