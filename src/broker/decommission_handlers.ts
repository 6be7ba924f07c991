/**
 * DecommissionBroker (API 26), both phases: start (mark the broker decommissioning, so placement
 * leaves it out) and unregister (remove the emptied broker). Each is validated against this
 * broker's metadata with the same checks the state machine applies (controller/decommission.ts),
 * plus the one the metadata cannot make: a controller voter is refused, its membership being the
 * Raft conf state's. The command is then proposed to the controller leader (forwarded when this
 * broker does not lead) until this broker's metadata shows it applied, or shows why it was not.
 */
import { TributaryError, wireCodeOf } from '../common/errors.js';
import { encodeCommand } from '../controller/commands.js';
import { decommissionProblem, partitionsOn, unregisterProblem, voterProblem } from '../controller/decommission.js';
import type { DecommissionProblem } from '../controller/decommission.js';
import type { HandlerTable, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { BrokerContext } from './broker_context.js';
import { clampTimeoutMs } from './request_limits.js';

const ADMIN_TIMEOUT_MS_DEFAULT = 10_000;

function asError(problem: DecommissionProblem): TributaryError {
  return new TributaryError(problem.code, problem.message);
}

/** Whether brokerId was unregistered by a decommission and has not registered again since. */
function unregisteredAlready(context: BrokerContext, brokerId: number): boolean {
  const metadata = context.controller.metadata;
  return metadata.broker(brokerId) === undefined && metadata.decommissioned(brokerId) !== undefined;
}

/**
 * Marks brokerId decommissioning; null once it is (or once it is unregistered already, so a run
 * repeated after success succeeds), else the typed reason (nothing changed then).
 */
async function start(context: BrokerContext, brokerId: number, timeoutMs: number): Promise<TributaryError | null> {
  if (unregisteredAlready(context, brokerId)) return null;
  const voter = voterProblem(context.voterIds(), brokerId);
  if (voter !== null) return asError(voter);
  const problem = decommissionProblem(context.controller.metadata, brokerId);
  if (problem !== null) return asError(problem);
  const marked = (): boolean => context.controller.metadata.broker(brokerId)?.decommissioning === true;
  // Settled: applied, or the state changed so that the proposal is refused on apply too.
  const settled = (): boolean => marked() || decommissionProblem(context.controller.metadata, brokerId) !== null;
  const done = await context.submitUntil(encodeCommand({ type: 'decommissionBroker', brokerId }), settled, timeoutMs);
  if (marked()) return null;
  const now = decommissionProblem(context.controller.metadata, brokerId);
  if (done && now !== null) return asError(now);
  return new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply the decommission in time');
}

/** Removes brokerId's registration; null once it is gone as decommissioned, else the typed reason. */
async function unregister(context: BrokerContext, brokerId: number, timeoutMs: number): Promise<TributaryError | null> {
  const problemNow = (): DecommissionProblem | null => {
    const metadata = context.controller.metadata;
    return unregisterProblem(metadata, brokerId, metadata.decommissioned(brokerId) !== undefined);
  };
  const problem = problemNow();
  if (problem !== null) return asError(problem);
  const gone = (): boolean => context.controller.metadata.decommissioned(brokerId) !== undefined;
  const done = await context.submitUntil(encodeCommand({ type: 'unregisterBroker', brokerId }),
    () => gone() || problemNow() !== null, timeoutMs);
  if (gone()) return null;
  const now = problemNow();
  if (done && now !== null) return asError(now);
  return new TributaryError('REQUEST_TIMED_OUT', 'the controller did not apply the unregistration in time');
}

function decommissionHandler(context: BrokerContext): RequestHandler<typeof API_KEYS.DECOMMISSION_BROKER> {
  return async (request) => {
    const timeoutMs = clampTimeoutMs(request.timeoutMs, ADMIN_TIMEOUT_MS_DEFAULT);
    const brokerId = request.brokerId;
    const error = !Number.isSafeInteger(brokerId) || brokerId < 0
      ? new TributaryError('INVALID_REQUEST', `broker id ${brokerId} is not a natural number`)
      : request.unregister ? await unregister(context, brokerId, timeoutMs) : await start(context, brokerId, timeoutMs);
    const metadata = context.controller.metadata;
    const replicasLeft = brokerId >= 0 ? partitionsOn(metadata, brokerId).length : 0;
    return { response: { errorCode: error === null ? 0 : wireCodeOf(error), errorMessage: error?.message ?? '',
      controllerId: context.controllerId(), replicasLeft, unregistered: unregisteredAlready(context, brokerId) } };
  };
}

export function decommissionHandlers(context: BrokerContext): HandlerTable {
  return { [API_KEYS.DECOMMISSION_BROKER]: decommissionHandler(context) };
}
