/**
 * `tributary acl add|remove|list` (Kafka's kafka-acls.sh): ACL bindings through the Admin client.
 * add and remove name one binding: `--principal User:alice --operation read --topic NAME
 * [--prefixed] [--deny] [--host IP]`, or `--group NAME`, or `--cluster`. list shows every binding,
 * or those the same flags select (each one given narrows the list); `--json` prints one JSON
 * document. The brokers enforce bindings only when started with `--authorize` (docs/acls.md).
 */
import type { Argv, CommandModule } from 'yargs';

import type { Admin } from '../../client/admin.js';
import { TributaryError } from '../../common/errors.js';
import { ACL_OPERATIONS, CLUSTER_RESOURCE_NAME, describeBinding } from '../../security/acl.js';
import type { AclBinding, AclBindingFilter, AclOperation, ResourceType } from '../../security/acl.js';
import { runAdminCommand, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

const ADMIN_TIMEOUT_MS = 15_000;

interface AclArguments extends BootstrapArguments {
  principal: string | undefined;
  operation: string | undefined;
  topic: string | undefined;
  group: string | undefined;
  cluster: boolean;
  prefixed: boolean;
  deny: boolean;
  host: string | undefined;
  json: boolean;
}

function withAclOptions<T>(yargs: Argv<T>): Argv<T & AclArguments> {
  return withBootstrap(yargs)
    .option('principal', { type: 'string', describe: 'User:name, or User:* for every user' })
    .option('operation', { type: 'string', describe: ACL_OPERATIONS.map((op) => op.toLowerCase()
      .replace(/_/g, '-')).join('|') })
    .option('topic', { type: 'string', describe: 'a topic (with --prefixed: every topic starting so; * every topic)' })
    .option('group', { type: 'string', describe: 'a consumer group (with --prefixed: a prefix; * every group)' })
    .option('cluster', { type: 'boolean', default: false, describe: 'the cluster (admin operations)' })
    .option('prefixed', { type: 'boolean', default: false, describe: 'the name is a prefix (PREFIXED pattern)' })
    .option('deny', { type: 'boolean', default: false, describe: 'a DENY binding (default: ALLOW)' })
    .option('host', { type: 'string', describe: 'the client IP address it applies to (default: * any)' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

function usage(message: string): TributaryError {
  return new TributaryError('INVALID_REQUEST', message);
}

/** `read`, `cluster-action`, `IDEMPOTENT_WRITE` ... as the model's name. */
export function parseOperation(text: string): AclOperation {
  const name = text.trim().toUpperCase().replace(/-/g, '_');
  const operation = ACL_OPERATIONS.find((candidate) => candidate === name);
  if (operation === undefined) {
    const names = ACL_OPERATIONS.map((op) => op.toLowerCase().replace(/_/g, '-'));
    throw usage(`--operation ${text} is not one of ${names.join(', ')}`);
  }
  return operation;
}

/** The resource the flags name: at most one of --topic, --group, --cluster; required unless listing. */
function resourceOf(args: AclArguments, required: boolean): { type: ResourceType; name: string } | undefined {
  const named = [args.topic === undefined ? null : { type: 'TOPIC' as const, name: args.topic },
    args.group === undefined ? null : { type: 'GROUP' as const, name: args.group },
    args.cluster ? { type: 'CLUSTER' as const, name: CLUSTER_RESOURCE_NAME } : null].filter((r) => r !== null);
  if (named.length > 1) throw usage('name one resource: --topic, --group or --cluster');
  const resource = named[0];
  if (resource === undefined && required) throw usage('name the resource: --topic NAME, --group NAME or --cluster');
  if (resource?.type === 'CLUSTER' && args.prefixed) throw usage('--prefixed does not apply to --cluster');
  return resource;
}

/** The one binding add and remove name. */
export function bindingOf(args: AclArguments): AclBinding {
  if (args.principal === undefined) throw usage('--principal User:name is required');
  if (args.operation === undefined) throw usage('--operation is required');
  const resource = resourceOf(args, true);
  if (resource === undefined) throw usage('name the resource: --topic NAME, --group NAME or --cluster');
  return { principal: args.principal, host: args.host ?? '*', operation: parseOperation(args.operation),
    permission: args.deny ? 'DENY' : 'ALLOW', resourceType: resource.type,
    patternType: args.prefixed ? 'PREFIXED' : 'LITERAL', resourceName: resource.name };
}

/** The filter list uses: only what the flags name. */
export function filterOf(args: AclArguments): AclBindingFilter {
  const resource = resourceOf(args, false);
  return {
    ...(args.principal === undefined ? {} : { principal: args.principal }),
    ...(args.host === undefined ? {} : { host: args.host }),
    ...(args.operation === undefined ? {} : { operation: parseOperation(args.operation) }),
    ...(args.deny ? { permission: 'DENY' as const } : {}),
    ...(resource === undefined ? {} : { resourceType: resource.type, resourceName: resource.name }),
    ...(args.prefixed ? { patternType: 'PREFIXED' as const } : {}),
  };
}

/** One line per binding, resource first, as kafka-acls --list groups them. */
export function formatBindings(bindings: readonly AclBinding[]): string {
  if (bindings.length === 0) return 'No ACL bindings.';
  return bindings.map((b) => `${b.resourceType.toLowerCase()}\t${b.resourceName}\t${b.patternType}\t` +
    `${b.principal}\t${b.host}\t${b.operation}\t${b.permission}`).join('\n');
}

function withAdmin(command: string, args: BootstrapArguments, body: (admin: Admin) => Promise<void>):
  Promise<void> {
  return runAdminCommand(command, args, ADMIN_TIMEOUT_MS, body);
}

const addCommand: CommandModule<object, AclArguments> = {
  command: 'add',
  describe: 'add a binding: --principal User:alice --operation read --topic T [--prefixed] [--deny] [--host IP]',
  builder: (yargs: Argv) => withAclOptions(yargs),
  handler: (args) => withAdmin('acl add', args, async (admin) => {
    const binding = bindingOf(args);
    await admin.createAcls([binding]);
    process.stdout.write(args.json ? `${JSON.stringify({ added: binding })}\n` : `Added: ${describeBinding(binding)}\n`);
  }),
};

const removeCommand: CommandModule<object, AclArguments> = {
  command: 'remove',
  describe: 'remove the binding the same flags as add name',
  builder: (yargs: Argv) => withAclOptions(yargs),
  handler: (args) => withAdmin('acl remove', args, async (admin) => {
    const binding = bindingOf(args);
    const removed = await admin.deleteAcls([binding]);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ removed })}\n`);
    } else {
      process.stdout.write(removed.length === 0 ? `No such binding: ${describeBinding(binding)}\n`
        : `Removed: ${removed.map(describeBinding).join('\n')}\n`);
    }
  }),
};

const listCommand: CommandModule<object, AclArguments> = {
  command: 'list',
  describe: 'list the bindings (every one, or those the flags select)',
  builder: (yargs: Argv) => withAclOptions(yargs),
  handler: (args) => withAdmin('acl list', args, async (admin) => {
    const bindings = await admin.describeAcls(filterOf(args));
    process.stdout.write(args.json ? `${JSON.stringify(bindings)}\n` : `${formatBindings(bindings)}\n`);
  }),
};

export const aclCommand: CommandModule = {
  command: 'acl <action>',
  describe: 'add, remove or list ACL bindings (enforced by brokers started with --authorize)',
  builder: (yargs: Argv) => yargs.command(addCommand).command(removeCommand).command(listCommand)
    .demandCommand(1, 'name an action: add, remove, list'),
  handler: () => undefined,
};
