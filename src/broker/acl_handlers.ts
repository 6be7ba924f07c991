/**
 * CreateAcls, DeleteAcls and DescribeAcls (APIs 27-29). Bindings and filters are checked here with
 * the same functions the state machine applies (security/acl.ts), so a bad one is answered
 * INVALID_REQUEST at once and the rest go on; changes become one controller command, proposed to
 * the controller leader (forwarded when this broker does not lead), and are answered once this
 * broker's metadata shows them, so the next request to this broker is authorized with them.
 * DescribeAcls answers from this broker's applied metadata.
 */
import { TributaryError, wireCodeOf } from '../common/errors.js';
import { encodeCommand } from '../controller/commands.js';
import { ACLS_MAX } from '../controller/metadata_state_machine.js';
import type { HandlerTable, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { pb } from '../protocol/messages.js';
import { aclKey, checkAclBinding, checkAclFilter, filterMatches, rawAcl } from '../security/acl.js';
import type { AclBinding, AclBindingFilter, RawAcl } from '../security/acl.js';
import type { BrokerContext } from './broker_context.js';
import { clampTimeoutMs } from './request_limits.js';

const ADMIN_TIMEOUT_MS_DEFAULT = 10_000;

type WireAcl = Readonly<Record<keyof RawAcl, string>>;

function rawOf(wire: WireAcl): RawAcl {
  return { principal: wire.principal, host: wire.host, operation: wire.operation, permission: wire.permission,
    resourceType: wire.resourceType, patternType: wire.patternType, resourceName: wire.resourceName };
}

function errorFields(error: TributaryError): { errorCode: number; errorMessage: string } {
  return { errorCode: wireCodeOf(error), errorMessage: error.message };
}

function invalid(message: string): { errorCode: number; errorMessage: string } {
  return errorFields(new TributaryError('INVALID_REQUEST', message));
}

function presentKeys(context: BrokerContext): Set<string> {
  return new Set(context.controller.metadata.acls().map(aclKey));
}

function createAclsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.CREATE_ACLS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const checked = request.creations.map((creation) => checkAclBinding(rawOf(creation)));
    const valid = checked.flatMap((result) => (result.ok ? [result.value] : []));
    const keys = new Set(valid.map(aclKey));
    const present = presentKeys(context);
    const total = new Set([...present, ...keys]).size;
    let outcome: { errorCode: number; errorMessage: string } = { errorCode: 0, errorMessage: '' };
    if (total > ACLS_MAX) {
      outcome = invalid(`the cluster would hold ${total} ACL bindings, over ${ACLS_MAX}`);
    } else if ([...keys].some((key) => !present.has(key))) {
      const applied = (): boolean => {
        const now = presentKeys(context);
        return [...keys].every((key) => now.has(key));
      };
      const done = await context.submitUntil(encodeCommand({ type: 'createAcls', bindings: valid.map(rawAcl) }),
        applied, timeoutMs);
      if (!done) outcome = errorFields(new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply the ' +
        'ACL bindings in time'));
    }
    const results = checked.map((result) => (result.ok ? outcome : invalid(result.message)));
    return { response: { results, controllerId: context.controllerId() } };
  };
}

function matching(context: BrokerContext, filter: AclBindingFilter): readonly AclBinding[] {
  return context.controller.metadata.acls().filter((binding) => filterMatches(filter, binding));
}

/**
 * Each filter removes what it matches in this broker's metadata now; what the answer lists is
 * what it matched and is gone once applied. A filter matching nothing here proposes nothing
 * (a binding added through another broker a moment ago may not be here yet: ask again).
 */
function deleteAclsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.DELETE_ACLS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const checked = request.filters.map((filter) => checkAclFilter(rawOf(filter)));
    const filters = checked.flatMap((result) => (result.ok ? [result.value] : []));
    const matchedBefore = checked.map((result) => (result.ok ? matching(context, result.value) : []));
    const doomed = new Set(matchedBefore.flat().map(aclKey));
    let timedOut = false;
    if (doomed.size > 0) {
      const applied = (): boolean => context.controller.metadata.acls()
        .every((binding) => !doomed.has(aclKey(binding)));
      timedOut = !await context.submitUntil(encodeCommand({ type: 'deleteAcls', filters: filters.map(rawAcl) }),
        applied, timeoutMs);
    }
    const now = presentKeys(context);
    const filterResults = checked.map((result, i): pb.AclFilterResult.$Properties => {
      if (!result.ok) return { ...invalid(result.message), matchingAcls: [] };
      if (timedOut) {
        return { ...errorFields(new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply the ACL ' +
          'removal in time')), matchingAcls: [] };
      }
      const removed = (matchedBefore[i] ?? []).filter((binding) => !now.has(aclKey(binding)));
      return { errorCode: 0, errorMessage: '', matchingAcls: removed.map(rawAcl) };
    });
    return { response: { filterResults, controllerId: context.controllerId() } };
  };
}

function describeAclsHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.DESCRIBE_ACLS> {
  return (request) => {
    const checked = request.filter === null ? { ok: true as const, value: {} } : checkAclFilter(rawOf(request.filter));
    if (!checked.ok) return { response: { ...invalid(checked.message), acls: [] } };
    return { response: { errorCode: 0, errorMessage: '', acls: matching(context, checked.value).map(rawAcl) } };
  };
}

export function aclHandlers(context: BrokerContext): HandlerTable {
  return {
    [API_KEYS.CREATE_ACLS]: createAclsHandler(context),
    [API_KEYS.DELETE_ACLS]: deleteAclsHandler(context),
    [API_KEYS.DESCRIBE_ACLS]: describeAclsHandler(context),
  };
}
