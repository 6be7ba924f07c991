/**
 * The ACL model, Kafka's (AclAuthorizer / StandardAuthorizer): a binding allows or denies one
 * principal, from one host or any, one operation on the resources a pattern names. Pure: no I/O,
 * no clock; the controller's state machine, the broker's authorizer, the admin client and the CLI
 * all validate and match with these functions, so they cannot disagree.
 *
 * Rules, as Kafka's:
 * - a DENY that matches wins over any ALLOW;
 * - no matching ALLOW means denied (Kafka's allow.everyone.if.no.acl.found=false);
 * - super users and `Broker:N` principals (the brokers themselves) are allowed everything;
 * - ALL matches any operation; an ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, and of
 *   ALTER_CONFIGS implies DESCRIBE_CONFIGS (a DENY implies nothing: denying READ leaves DESCRIBE);
 * - principal `User:*` matches every `User:` principal; host `*` matches every host; a LITERAL
 *   name `*` matches every resource of its type; a PREFIXED name matches names starting with it.
 */
import { isIP } from 'node:net';

export const ACL_OPERATIONS = ['READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION',
  'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALL'] as const;
export type AclOperation = (typeof ACL_OPERATIONS)[number];

export const ACL_PERMISSIONS = ['ALLOW', 'DENY'] as const;
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

export const RESOURCE_TYPES = ['TOPIC', 'GROUP', 'CLUSTER'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const PATTERN_TYPES = ['LITERAL', 'PREFIXED'] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];

/** The one cluster resource's name, Kafka's (kafka-acls --cluster binds to it). */
export const CLUSTER_RESOURCE_NAME = 'kafka-cluster';
/** Any host, any resource name (LITERAL), any `User:` principal (as `User:*`). */
export const WILDCARD = '*';
export { ANONYMOUS_PRINCIPAL } from './principals.js';

export const PRINCIPAL_LENGTH_MAX = 256;
export const RESOURCE_NAME_LENGTH_MAX = 1024;

/** The operations a binding may name per resource type (Kafka's AclEntry.supportedOperations). */
const OPERATIONS_BY_TYPE: Readonly<Record<ResourceType, readonly AclOperation[]>> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'ALL'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE', 'ALL'],
  CLUSTER: ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER',
    'DESCRIBE', 'ALL'],
};

export interface AclBinding {
  /** `User:name` or `User:*`. */
  readonly principal: string;
  /** `*` or an IP address. */
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: AclPermission;
  readonly resourceType: ResourceType;
  readonly patternType: PatternType;
  /** A name, a prefix (PREFIXED), `*` (LITERAL: every name), or `kafka-cluster` for CLUSTER. */
  readonly resourceName: string;
}

/** Which bindings a delete or a describe means: each absent field matches anything. */
export interface AclBindingFilter {
  readonly principal?: string;
  readonly host?: string;
  readonly operation?: AclOperation;
  readonly permission?: AclPermission;
  readonly resourceType?: ResourceType;
  readonly patternType?: PatternType;
  readonly resourceName?: string;
}

/** A binding or filter as strings off the wire; '' in a filter means any. */
export type RawAcl = { readonly [K in keyof AclBinding]: string };

/** One resource a request touches. */
export interface AclResource {
  readonly type: ResourceType;
  readonly name: string;
}

/** Who asks: the connection's principal and, where the listener sees it, the client's address. */
export interface AclRequester {
  readonly principal: string;
  /** Undefined where the listener cannot see the source address: only host `*` bindings match. */
  readonly host?: string | undefined;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function oneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

function principalProblem(principal: string): string | null {
  if (principal.length > PRINCIPAL_LENGTH_MAX) return `principal is over ${PRINCIPAL_LENGTH_MAX} characters`;
  return /^User:(\*|[^\s*]+)$/.test(principal) ? null
    : `principal "${principal}" is not User:name or User:* (no spaces, no * inside a name)`;
}

function hostProblem(host: string): string | null {
  return host === WILDCARD || isIP(host) !== 0 ? null : `host "${host}" is not * or an IP address`;
}

function nameProblem(name: string): string | null {
  if (name.length === 0) return 'the resource name is empty';
  if (name.length > RESOURCE_NAME_LENGTH_MAX) return `the resource name is over ${RESOURCE_NAME_LENGTH_MAX} characters`;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(name) ? 'the resource name has a control character' : null;
}

/** A binding checked field by field: the first problem, in words, or the typed binding. */
export function checkAclBinding(raw: RawAcl): Checked<AclBinding> {
  const { principal, host, operation, permission, resourceType, patternType, resourceName } = raw;
  const problem = principalProblem(principal) ?? hostProblem(host)
    ?? (oneOf(ACL_OPERATIONS, operation) ? null : `operation "${operation}" is not one of ${ACL_OPERATIONS.join(', ')}`)
    ?? (oneOf(ACL_PERMISSIONS, permission) ? null : `permission "${permission}" is not ALLOW or DENY`)
    ?? (oneOf(RESOURCE_TYPES, resourceType) ? null : `resource type "${resourceType}" is not TOPIC, GROUP or CLUSTER`)
    ?? (oneOf(PATTERN_TYPES, patternType) ? null : `pattern type "${patternType}" is not LITERAL or PREFIXED`)
    ?? nameProblem(resourceName);
  if (problem !== null) return { ok: false, message: problem };
  const binding = { principal, host, operation, permission, resourceType, patternType, resourceName } as AclBinding;
  if (!OPERATIONS_BY_TYPE[binding.resourceType].includes(binding.operation)) {
    return { ok: false, message: `operation ${operation} does not apply to a ${resourceType.toLowerCase()} ` +
      `(it takes ${OPERATIONS_BY_TYPE[binding.resourceType].join(', ')})` };
  }
  if (binding.resourceType === 'CLUSTER' && (resourceName !== CLUSTER_RESOURCE_NAME || patternType !== 'LITERAL')) {
    return { ok: false, message: `a cluster binding names the literal resource ${CLUSTER_RESOURCE_NAME}` };
  }
  if (patternType === 'PREFIXED' && resourceName === WILDCARD) {
    return { ok: false, message: 'a PREFIXED pattern cannot be *; every name is the LITERAL *' };
  }
  return { ok: true, value: binding };
}

/** A filter checked like a binding, field by field; '' fields match anything. */
export function checkAclFilter(raw: RawAcl): Checked<AclBindingFilter> {
  const checks: [keyof AclBinding, (value: string) => string | null][] = [
    ['principal', principalProblem],
    ['host', hostProblem],
    ['operation', (v) => (oneOf(ACL_OPERATIONS, v) ? null : `operation "${v}" is unknown`)],
    ['permission', (v) => (oneOf(ACL_PERMISSIONS, v) ? null : `permission "${v}" is not ALLOW or DENY`)],
    ['resourceType', (v) => (oneOf(RESOURCE_TYPES, v) ? null : `resource type "${v}" is unknown`)],
    ['patternType', (v) => (oneOf(PATTERN_TYPES, v) ? null : `pattern type "${v}" is not LITERAL or PREFIXED`)],
    ['resourceName', nameProblem],
  ];
  const filter: { -readonly [K in keyof AclBindingFilter]: string } = {};
  for (const [key, check] of checks) {
    const value = raw[key];
    if (value === '') continue;
    const problem = check(value);
    if (problem !== null) return { ok: false, message: problem };
    filter[key] = value;
  }
  // Each field passed its check above: the strings are the model's values.
  return { ok: true, value: filter as AclBindingFilter };
}

/** Every field as a string, '' for a filter's absent ones (the wire form). */
export function rawAcl(acl: AclBinding | AclBindingFilter): RawAcl {
  return { principal: acl.principal ?? '', host: acl.host ?? '', operation: acl.operation ?? '',
    permission: acl.permission ?? '', resourceType: acl.resourceType ?? '', patternType: acl.patternType ?? '',
    resourceName: acl.resourceName ?? '' };
}

/** Whether filter selects binding: every field the filter names is equal. */
export function filterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return (Object.keys(filter) as (keyof AclBindingFilter)[])
    .every((key) => filter[key] === undefined || filter[key] === binding[key]);
}

/** A total order of bindings (resource first, then who, then what), so equal sets list and encode equally. */
export function compareBindings(left: AclBinding, right: AclBinding): number {
  const a = aclKey(left);
  const b = aclKey(right);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One string per binding, equal exactly when the bindings are. */
export function aclKey(binding: AclBinding): string {
  return [binding.resourceType, binding.patternType, binding.resourceName, binding.principal, binding.host,
    binding.operation, binding.permission].join('\u0000');
}

export function sameBinding(left: AclBinding, right: AclBinding): boolean {
  return aclKey(left) === aclKey(right);
}

/** `Broker:N`, the principal of an authenticated broker: allowed everything, as Kafka's inter-broker user. */
export function isBrokerPrincipal(principal: string): boolean {
  return /^Broker:\d+$/.test(principal);
}

function principalMatches(bindingPrincipal: string, principal: string): boolean {
  return bindingPrincipal === principal || (bindingPrincipal === 'User:*' && principal.startsWith('User:'));
}

function hostMatches(bindingHost: string, host: string | undefined): boolean {
  return bindingHost === WILDCARD || (host !== undefined && bindingHost === host);
}

/** Whether binding's pattern covers resource. */
export function patternMatches(binding: AclBinding, resource: AclResource): boolean {
  if (binding.resourceType !== resource.type) return false;
  if (binding.patternType === 'PREFIXED') return resource.name.startsWith(binding.resourceName);
  return binding.resourceName === resource.name || binding.resourceName === WILDCARD;
}

/** The operations whose ALLOW grants operation (Kafka's implied DESCRIBE and DESCRIBE_CONFIGS). */
export function allowingOperations(operation: AclOperation): readonly AclOperation[] {
  switch (operation) {
    case 'DESCRIBE':
      return ['DESCRIBE', 'READ', 'WRITE', 'DELETE', 'ALTER', 'ALL'];
    case 'DESCRIBE_CONFIGS':
      return ['DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'ALL'];
    default:
      return [operation, 'ALL'];
  }
}

export type AclDecision =
  | { readonly allowed: true; readonly reason: 'super user' | 'allowed' }
  | { readonly allowed: false; readonly reason: 'denied' | 'no matching allow' };

function appliesTo(binding: AclBinding, requester: AclRequester): boolean {
  return principalMatches(binding.principal, requester.principal) && hostMatches(binding.host, requester.host);
}

/** Kafka's decision for one operation on one resource. */
export function authorize(acls: readonly AclBinding[], requester: AclRequester, operation: AclOperation,
  resource: AclResource, superUsers: ReadonlySet<string>): AclDecision {
  if (superUsers.has(requester.principal) || isBrokerPrincipal(requester.principal)) {
    return { allowed: true, reason: 'super user' };
  }
  const allowing = allowingOperations(operation);
  let allowed = false;
  for (const binding of acls) {
    if (!patternMatches(binding, resource) || !appliesTo(binding, requester)) continue;
    if (binding.permission === 'DENY' && (binding.operation === operation || binding.operation === 'ALL')) {
      return { allowed: false, reason: 'denied' };
    }
    if (binding.permission === 'ALLOW' && allowing.includes(binding.operation)) allowed = true;
  }
  return allowed ? { allowed: true, reason: 'allowed' } : { allowed: false, reason: 'no matching allow' };
}

/** Whether deny's pattern covers every name allow's pattern covers (same resource type). */
function patternCovers(deny: AclBinding, allow: AclBinding): boolean {
  if (deny.resourceType !== allow.resourceType) return false;
  if (deny.patternType === 'LITERAL') {
    return deny.resourceName === WILDCARD || (allow.patternType === 'LITERAL' && deny.resourceName === allow.resourceName);
  }
  return allow.resourceName !== WILDCARD && allow.resourceName.startsWith(deny.resourceName);
}

/**
 * Whether operation is allowed on some resource of type (Kafka's authorizeByResourceType, which
 * InitProducerId uses: IDEMPOTENT_WRITE on the cluster or WRITE on any topic): some ALLOW applies
 * whose pattern no applying DENY covers.
 */
export function authorizeAnyOfType(acls: readonly AclBinding[], requester: AclRequester, operation: AclOperation,
  type: ResourceType, superUsers: ReadonlySet<string>): boolean {
  if (superUsers.has(requester.principal) || isBrokerPrincipal(requester.principal)) return true;
  const applying = acls.filter((binding) => binding.resourceType === type && appliesTo(binding, requester));
  const denies = applying.filter((binding) => binding.permission === 'DENY'
    && (binding.operation === operation || binding.operation === 'ALL'));
  const allowing = allowingOperations(operation);
  return applying.some((binding) => binding.permission === 'ALLOW' && allowing.includes(binding.operation)
    && !denies.some((deny) => patternCovers(deny, binding)));
}

/** A binding in one line, for logs and the CLI. */
export function describeBinding(binding: AclBinding): string {
  const pattern = binding.patternType === 'PREFIXED' ? ` (prefix)` : '';
  return `${binding.permission} ${binding.principal} from ${binding.host} ${binding.operation} ` +
    `${binding.resourceType.toLowerCase()} ${binding.resourceName}${pattern}`;
}
