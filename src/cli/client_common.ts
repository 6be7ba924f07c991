/**
 * What the client commands (topics, produce, consume, cluster) share: the `--bootstrap` option,
 * a quiet client logger, and the error rule of the command line: a failure is one line on stderr,
 * `tributary <command>: <what went wrong>`, no stack trace, and exit code 1.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { Argv } from 'yargs';

import { TributaryError } from '../common/errors.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9091';

export interface BootstrapArguments {
  bootstrap: string;
}

/** Adds `--bootstrap host:port[,host:port]`. */
export function withBootstrap<T>(yargs: Argv<T>): Argv<T & BootstrapArguments> {
  return yargs.option('bootstrap', {
    type: 'string', default: DEFAULT_BOOTSTRAP, describe: 'brokers to start from, host:port[,host:port]',
  });
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
