/**
 * `tributary quotas set|remove|list` (Kafka's `kafka-configs --entity-type users`): byte-rate
 * quotas per principal through the Admin client (docs/quotas.md). set gives a principal (or
 * `User:*`, the default) a produce and/or fetch rate, keeping the one not named; remove drops the
 * rates named (both when none is); list shows every entry, or one principal's. Every broker holds
 * each principal to its rates on its own traffic, by holding replies (throttling, as Kafka).
 */
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import { parseThrottle } from '../../client/reassignment_plan.js';
import { TributaryError } from '../../common/errors.js';
import type { QuotaEntry, QuotaOp } from '../../quota/client_quotas.js';
import { runAdminCommand, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

const ADMIN_TIMEOUT_MS = 15_000;

interface QuotaArguments extends BootstrapArguments {
  principal: string | undefined;
  'produce-rate': string | undefined;
  'fetch-rate': string | undefined;
  produce: boolean;
  fetch: boolean;
  json: boolean;
}

function withQuotaOptions<T>(yargs: Argv<T>): Argv<T & QuotaArguments> {
  return withBootstrap(yargs)
    .option('principal', { type: 'string', describe: 'User:name, or User:* for the default of every user' })
    .option('produce-rate', { type: 'string', describe: 'set: produce bytes/s, e.g. 5MB (binary units)' })
    .option('fetch-rate', { type: 'string', describe: 'set: fetch bytes/s, e.g. 20MB (binary units)' })
    .option('produce', { type: 'boolean', default: false, describe: 'remove: the produce rate' })
    .option('fetch', { type: 'boolean', default: false, describe: 'remove: the fetch rate' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

function usage(message: string): TributaryError {
  return new TributaryError('INVALID_REQUEST', message);
}

function principalOf(args: QuotaArguments): string {
  if (args.principal === undefined) throw usage('--principal User:name (or User:*) is required');
  return args.principal;
}

/** The ops `set` names: at least one rate. */
export function setOps(args: QuotaArguments): QuotaOp[] {
  const ops: QuotaOp[] = [];
  if (args['produce-rate'] !== undefined) {
    ops.push({ key: 'producer_byte_rate', value: parseThrottle(args['produce-rate'], '--produce-rate'), remove: false });
  }
  if (args['fetch-rate'] !== undefined) {
    ops.push({ key: 'consumer_byte_rate', value: parseThrottle(args['fetch-rate'], '--fetch-rate'), remove: false });
  }
  if (ops.length === 0) throw usage('name a rate: --produce-rate BYTES and/or --fetch-rate BYTES');
  return ops;
}

/** The ops `remove` names: the rates flagged, both when none is. */
export function removeOps(args: QuotaArguments): QuotaOp[] {
  const both = !args.produce && !args.fetch;
  return [
    ...(args.produce || both ? [{ key: 'producer_byte_rate', value: 0, remove: true }] : []),
    ...(args.fetch || both ? [{ key: 'consumer_byte_rate', value: 0, remove: true }] : []),
  ];
}

function rate(bytesPerSec: number | undefined): string {
  return bytesPerSec === undefined ? '-' : `${bytesPerSec} B/s`;
}

export function formatQuotas(entries: readonly QuotaEntry[]): string {
  if (entries.length === 0) return 'No quotas.';
  const lines = entries.map((entry) => `${entry.principal}\t${rate(entry.producerByteRate)}\t` +
    rate(entry.consumerByteRate));
  return ['PRINCIPAL\tPRODUCE\tFETCH', ...lines].join('\n');
}

function withAdmin(command: string, args: BootstrapArguments, body: (admin: Admin) => Promise<void>):
  Promise<void> {
  return runAdminCommand(command, args, ADMIN_TIMEOUT_MS, body);
}

async function showPrincipal(admin: Admin, principal: string, json: boolean): Promise<void> {
  const entries = await admin.describeClientQuotas(principal);
  const entry = entries[0] ?? { principal };
  process.stdout.write(json ? `${JSON.stringify(entry)}\n` : `${formatQuotas(entries)}\n`);
}

const setCommand: CommandModule<object, QuotaArguments> = {
  command: 'set',
  describe: 'set rates: --principal User:alice --produce-rate 5MB --fetch-rate 20MB',
  builder: (yargs: Argv) => withQuotaOptions(yargs),
  handler: (args) => withAdmin('quotas set', args, async (admin) => {
    const principal = principalOf(args);
    await admin.alterClientQuotas([{ principal, ops: setOps(args) }]);
    await showPrincipal(admin, principal, args.json);
  }),
};

const removeCommand: CommandModule<object, QuotaArguments> = {
  command: 'remove',
  describe: 'remove rates: --principal User:alice [--produce] [--fetch] (both when neither)',
  builder: (yargs: Argv) => withQuotaOptions(yargs),
  handler: (args) => withAdmin('quotas remove', args, async (admin) => {
    const principal = principalOf(args);
    await admin.alterClientQuotas([{ principal, ops: removeOps(args) }]);
    await showPrincipal(admin, principal, args.json);
  }),
};

const listCommand: CommandModule<object, QuotaArguments> = {
  command: 'list',
  describe: 'list the quota entries (every one, or --principal\'s)',
  builder: (yargs: Argv) => withQuotaOptions(yargs),
  handler: (args) => withAdmin('quotas list', args, async (admin) => {
    const entries = await admin.describeClientQuotas(args.principal);
    process.stdout.write(args.json ? `${JSON.stringify(entries)}\n` : `${formatQuotas(entries)}\n`);
  }),
};

export const quotasCommand: CommandModule = {
  command: 'quotas <action>',
  describe: 'set, remove or list byte-rate quotas per principal (produce and fetch, throttled per broker)',
  builder: (yargs: Argv) => yargs.command(setCommand).command(removeCommand).command(listCommand)
    .demandCommand(1, 'name an action: set, remove, list'),
  handler: () => undefined,
};
