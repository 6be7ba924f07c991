/**
 * `tributary users add --file FILE --name alice [--password-stdin] [--iterations N]`: writes or
 * updates alice's SCRAM-SHA-256 credential in a Kafka listener's users file (--kafka-sasl-users;
 * security/sasl_users.ts), mode 0600. The password is read from standard input (its first line)
 * with --password-stdin; without it one is generated and printed once. Only the salted keys are
 * stored. A running broker picks the change up within a second. Failures are one line, exit 1.
 */
import crypto from 'node:crypto';
import type { Argv, CommandModule } from 'yargs';

import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, scramCredential } from '../../security/scram.js';
import { UsersFileError, isValidUserName, upsertSaslUser } from '../../security/sasl_users.js';

interface AddArguments {
  file: string;
  name: string;
  'password-stdin': boolean;
  iterations: number;
}

async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function addUser(args: AddArguments): Promise<string> {
  if (!isValidUserName(args.name)) {
    throw new UsersFileError(`--name ${JSON.stringify(args.name)}: no whitespace, ':', ',' or '=' (it becomes User:name)`);
  }
  const iterations = args.iterations;
  if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN || iterations > SCRAM_ITERATIONS_MAX) {
    throw new UsersFileError(`--iterations must be an integer from ${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX}`);
  }
  let password: string;
  let generated = false;
  if (args['password-stdin']) {
    password = (await readStandardInput()).split(/\r?\n/)[0] ?? '';
    if (password === '') throw new UsersFileError('--password-stdin: standard input holds no password');
  } else {
    password = crypto.randomBytes(18).toString('base64url');
    generated = true;
  }
  const outcome = upsertSaslUser(args.file, args.name, await scramCredential(password, iterations));
  return `${outcome} User:${args.name} in ${args.file} (SCRAM-SHA-256, ${iterations} iterations)\n` +
    (generated ? `password: ${password}\n` : '');
}

const addCommand: CommandModule<object, AddArguments> = {
  command: 'add',
  describe: 'write or update a user\'s SCRAM-SHA-256 credential in a users file (mode 0600; no password is stored)',
  builder: (yargs: Argv) => yargs
    .option('file', { type: 'string', demandOption: true, describe: 'the users file (--kafka-sasl-users of the brokers)' })
    .option('name', { type: 'string', demandOption: true, describe: 'the user name; its principal is User:name' })
    .option('password-stdin', { type: 'boolean', default: false,
      describe: 'read the password from standard input (its first line); else one is generated and printed' })
    .option('iterations', { type: 'number', default: SCRAM_ITERATIONS_MIN,
      describe: `PBKDF2 iterations (${SCRAM_ITERATIONS_MIN} to ${SCRAM_ITERATIONS_MAX})` }),
  handler: async (args) => {
    try {
      process.stdout.write(await addUser(args));
    } catch (error) {
      process.stderr.write(`tributary users add: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
};

export const usersCommand: CommandModule = {
  command: 'users <action>',
  describe: 'SASL users of the Kafka listener (--kafka-sasl-users)',
  builder: (yargs: Argv) => yargs.command(addCommand).demandCommand(1, 'name an action: add'),
  handler: () => undefined,
};
