/**
 * What the client commands (topics, produce, consume, cluster) share: the `--bootstrap` option and
 * the CURVE flags (--key-file, --server-key),
 * a quiet client logger, and the error rule of the command line: a failure is one line on stderr,
 * `tributary <command>: <what went wrong>`, no stack trace, and exit code 1.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { Argv } from 'yargs';

import { Admin } from '../client/admin.js';
import { TributaryError } from '../common/errors.js';
import type { ClientSecurityOptions } from '../security/client_security.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9091';

export interface BootstrapArguments {
  bootstrap: string;
  'key-file'?: string | undefined;
  'server-key'?: string | undefined;
}

/** Adds `--bootstrap host:port[,host:port]` and the CURVE flags `--key-file`, `--server-key` (docs/security.md). */
export function withBootstrap<T>(yargs: Argv<T>): Argv<T & BootstrapArguments> {
  return yargs.option('bootstrap', {
    type: 'string', default: DEFAULT_BOOTSTRAP, describe: 'brokers to start from, host:port[,host:port]',
  }).option('key-file', {
    type: 'string', describe: 'this client\'s PREFIX.key (tributary keys generate), for brokers with CURVE',
  }).option('server-key', {
    type: 'string', describe: 'the brokers\' public key: a .pub file, or a file of "brokerId publicKey" lines',
  });
}

/** The client option `security` from --key-file and --server-key: both or neither. */
export function securityOf(args: BootstrapArguments): { security?: ClientSecurityOptions } {
  const keyFile = args['key-file'];
  const serverKey = args['server-key'];
  if (keyFile === undefined && serverKey === undefined) return {};
  if (keyFile === undefined || serverKey === undefined) {
    throw new UsageError(keyFile === undefined ? '--server-key needs --key-file' : '--key-file needs --server-key');
  }
  return { security: { keyFile, serverKey } };
}

/** The Admin client of a command: its --bootstrap and keys, the CLI's logger, `timeoutMs` per request. */
export function cliAdmin(args: BootstrapArguments, timeoutMs: number): Admin {
  return new Admin({ bootstrap: args.bootstrap, ...securityOf(args), requestTimeoutMs: timeoutMs, logger: cliLogger(),
    clientId: 'tributary-cli' });
}

/** Client logs stay off the terminal unless TRIBUTARY_LOG_LEVEL asks for them (on stderr). */
export function cliLogger(): Logger {
  return pino({ name: 'tributary-cli', level: process.env.TRIBUTARY_LOG_LEVEL ?? 'silent' }, pino.destination(2));
}

/** A usage error of a client command, reported like any other failure. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One line saying what went wrong; typed errors keep their code for scripts to match. */
export function describeError(error: unknown): string {
  if (error instanceof TributaryError) {
    const typed = error as TributaryError;
    return `${typed.message} (${typed.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a command body; on failure prints one line and sets exit code 1. Either way, once the body
 * and its cleanup are done the process may exit: a timer (unref'd, so it never keeps the process
 * alive itself) makes sure a lingering socket cannot hold it open.
 */
export async function runClientCommand(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    process.stderr.write(`tributary ${name}: ${describeError(error)}\n`);
    process.exitCode = 1;
  }
  setTimeout(() => { process.exit(); }, 2_000).unref();
}

/** runClientCommand with an Admin client (cliAdmin) made for the body and closed after it. */
export async function runAdminCommand(name: string, args: BootstrapArguments, timeoutMs: number,
  body: (admin: Admin) => Promise<void>): Promise<void> {
  await runClientCommand(name, async () => {
    const admin = cliAdmin(args, timeoutMs);
    try {
      await body(admin);
    } finally {
      await admin.close();
    }
  });
}
