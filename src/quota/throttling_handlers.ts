/**
 * Byte-rate quotas on the request path (Kafka's throttling, not a disconnect): Produce counts the
 * record bytes it was sent and Fetch the record bytes of its reply, against the principal's quota
 * (quota_manager.ts); over it, the reply is held for the throttle time and says so in
 * throttle_time_ms. A Produce is appended before its reply is held, as in Kafka. Holding the reply
 * holds the request's place among its connection's requests in flight, so a client that keeps
 * sending is slowed to its quota (the request server parks what is past its bounds), and mutes
 * the principal: its next requests of that kind wait for the hold to end before they run
 * (QuotaManager), at most one window in all, so a reply is never held past two windows (22 s, under
 * the clients' 30 s request timeout). The wait counts in throttle_time_ms. acks=0 Produce, which
 * gets no reply, is held all the same. Outermost on the handler table: a request the authorizer
 * refuses costs nothing.
 */
import type { HandlerResult, HandlerTable, RequestContext, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';
import type { QuotaKind } from './client_quotas.js';
import type { QuotaManager } from './quota_manager.js';

/** Told of every hold, for metrics and logs. */
export type ThrottleObserver = (kind: QuotaKind, principal: string, throttleMs: number) => void;

function frameBytes(frames: readonly Uint8Array[] | undefined): number {
  let total = 0;
  for (const frame of frames ?? []) total += frame.length;
  return total;
}

function hold(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms).unref(); });
}

type Produce = typeof API_KEYS.PRODUCE;
type Fetch = typeof API_KEYS.FETCH;

export function throttlingHandlers(table: HandlerTable, quotas: QuotaManager, observe?: ThrottleObserver):
  HandlerTable {
  const produce = table[API_KEYS.PRODUCE];
  const fetch = table[API_KEYS.FETCH];
  /** Waits out the principal's mute, re-checking as holds that end meanwhile extend it; the ms waited. */
  const waitUnmuted = async (kind: QuotaKind, principal: string): Promise<number> => {
    const startMs = monotonicNowMs();
    const limitMs = startMs + quotas.windowMs;
    for (let nowMs = startMs; ; nowMs = monotonicNowMs()) {
      const mutedMs = Math.min(quotas.mutedForMs(kind, principal, nowMs), limitMs - nowMs);
      if (mutedMs <= 0) return nowMs - startMs;
      await hold(mutedMs);
    }
  };
  const throttle = async <A extends Produce | Fetch>(kind: QuotaKind, context: RequestContext, bytes: number,
    waitedMs: number, result: HandlerResult<A>): Promise<HandlerResult<A>> => {
    const ms = quotas.record(kind, context.principal, bytes, monotonicNowMs());
    if (ms === 0 && waitedMs === 0) return result;
    observe?.(kind, context.principal, waitedMs + ms);
    if (ms > 0) await hold(ms);
    return { ...result, response: { ...result.response, throttleTimeMs: waitedMs + ms } };
  };
  const throttledProduce: RequestHandler<Produce> | undefined = produce === undefined ? undefined
    : async (request, context) => {
      const waitedMs = await waitUnmuted('produce', context.principal);
      return throttle('produce', context, frameBytes(context.rawFrames), waitedMs, await produce(request, context));
    };
  const throttledFetch: RequestHandler<Fetch> | undefined = fetch === undefined ? undefined
    : async (request, context) => {
      const waitedMs = await waitUnmuted('fetch', context.principal);
      const result = await fetch(request, context);
      return throttle('fetch', context, frameBytes(result.rawFrames), waitedMs, result);
    };
  return {
    ...table,
    ...(throttledProduce === undefined ? {} : { [API_KEYS.PRODUCE]: throttledProduce }),
    ...(throttledFetch === undefined ? {} : { [API_KEYS.FETCH]: throttledFetch }),
  };
}
