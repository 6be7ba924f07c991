/**
 * The `tributary start` command line parsed by the real yargs command, without running a broker:
 * for the tests of its settings (flags, TRIBUTARY_* variables, config files). The required
 * settings are filled in, so that only the ones under test vary.
 */
import assert from 'node:assert/strict';
import yargs from 'yargs';

import { startCommand } from '../../src/cli/commands/start.js';

const REQUIRED = ['--id', '1', '--data', '/tmp/unused', '--listen', '127.0.0.1:9092', '--raft-listen',
  '127.0.0.1:19092'];

/** The arguments the start command's handler would get for `argv` (e.g. ['start', '--log-level', 'warn']). */
export async function parsedStartArguments(argv: readonly string[]): Promise<Record<string, unknown>> {
  let captured: Record<string, unknown> | undefined;
  await yargs([...argv, ...REQUIRED]).command({ ...startCommand, handler: (args) => { captured = args; } }).strict()
    .exitProcess(false)
    .fail((message) => { throw new Error(message); }).parseAsync();
  assert.ok(captured !== undefined, 'the start command ran');
  return captured;
}
