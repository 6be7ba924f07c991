/**
 * AlterClientQuotas and DescribeClientQuotas (APIs 30-31). Alterations are checked here with the
 * function the state machine applies (client_quotas.ts), so a bad one is answered INVALID_REQUEST
 * at once and the rest go on; the valid ones become one controller command, answered once this
 * broker's metadata shows them (so its next request is throttled by them). Describe answers from
 * this broker's applied metadata.
 */
import { TributaryError, wireCodeOf } from '../common/errors.js';
import { encodeCommand } from '../controller/commands.js';
import type { BrokerContext } from '../broker/broker_context.js';
import { clampTimeoutMs } from '../broker/request_limits.js';
import type { HandlerTable, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import { applyQuotaAlterations, quotaAlterationProblem, quotaPrincipalProblem } from './client_quotas.js';
import type { QuotaAlteration, QuotaEntry } from './client_quotas.js';

const ADMIN_TIMEOUT_MS_DEFAULT = 10_000;

interface Outcome { readonly errorCode: number; readonly errorMessage: string }

function outcomeOf(error: TributaryError): Outcome {
  return { errorCode: wireCodeOf(error), errorMessage: error.message };
}

/** Entries compared by their rates: what "the metadata shows the alteration" means. */
function sameEntries(left: readonly QuotaEntry[], right: ReadonlyMap<string, QuotaEntry>): boolean {
  if (left.length !== right.size) return false;
  return left.every((entry) => {
    const other = right.get(entry.principal);
    return other !== undefined && other.producerByteRate === entry.producerByteRate &&
      other.consumerByteRate === entry.consumerByteRate;
  });
}

function alterClientQuotasHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.ALTER_CLIENT_QUOTAS> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const alterations: QuotaAlteration[] = request.alterations.map((alteration) => ({ principal: alteration.principal,
      ops: alteration.ops.map((op) => ({ key: op.key, value: op.value, remove: op.remove })) }));
    const problems = alterations.map(quotaAlterationProblem);
    const valid = alterations.filter((_, i) => problems[i] === null);
    let outcome: Outcome = { errorCode: 0, errorMessage: '' };
    if (valid.length > 0) {
      // Applied when the principals it names hold what applying it to today's entries gives.
      const expected = applyQuotaAlterations([...context.controller.metadata.clientQuotas().values()], valid);
      const named = new Set(valid.map((alteration) => alteration.principal));
      const applied = (): boolean => {
        const now = context.controller.metadata.clientQuotas();
        const mine = new Map([...now].filter(([principal]) => named.has(principal)));
        return sameEntries(expected.filter((entry) => named.has(entry.principal)), mine);
      };
      if (!applied()) {
        const done = await context.submitUntil(encodeCommand({ type: 'alterClientQuotas', alterations: valid }),
          applied, timeoutMs);
        if (!done) {
          outcome = outcomeOf(new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply the quota ' +
            'change in time (or another change to the same principal came first)'));
        }
      }
    }
    const results = alterations.map((alteration, i) => {
      const problem = problems[i] ?? null;
      return { principal: alteration.principal,
        ...(problem === null ? outcome : outcomeOf(new TributaryError('INVALID_REQUEST', problem))) };
    });
    return { response: { results, controllerId: context.controllerId() } };
  };
}

function describeClientQuotasHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.DESCRIBE_CLIENT_QUOTAS> {
  return (request) => {
    const problem = request.principal === '' ? null : quotaPrincipalProblem(request.principal);
    if (problem !== null) return { response: { ...outcomeOf(new TributaryError('INVALID_REQUEST', problem)), entries: [] } };
    const entries = [...context.controller.metadata.clientQuotas().values()]
      .filter((entry) => request.principal === '' || entry.principal === request.principal)
      .map((entry) => ({ principal: entry.principal, producerByteRate: entry.producerByteRate ?? 0,
        consumerByteRate: entry.consumerByteRate ?? 0 }));
    return { response: { errorCode: 0, errorMessage: '', entries } };
  };
}

export function quotaHandlers(context: BrokerContext): HandlerTable {
  return {
    [API_KEYS.ALTER_CLIENT_QUOTAS]: alterClientQuotasHandler(context),
    [API_KEYS.DESCRIBE_CLIENT_QUOTAS]: describeClientQuotasHandler(context),
  };
}
