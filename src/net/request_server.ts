/**
 * The broker side of the client protocol: a ZeroMQ ROUTER bound to the listen address. Framing is
 * documented in src/protocol/envelope.ts.
 *
 * One `for await` loop reads the socket. Each request is decoded and dispatched to the handler of
 * its api without waiting for earlier ones, so replies go out in completion order; one SendQueue
 * is the socket's only writer (zeromq throws EBUSY on concurrent sends). At most
 * inflightRequestsMax requests are being handled or answered at once; a request beyond that is
 * answered with the retriable TOO_MANY_REQUESTS without running its handler.
 *
 * Nothing a client sends can crash the server: malformed requests get INVALID_REQUEST (or are
 * dropped and logged when no correlation id can be read), a handler that throws a TributaryError
 * replies with its code and message, and any other exception replies UNKNOWN_SERVER_ERROR and is
 * logged at error level. Produce with acks = 0 is never answered (its failures are logged).
 *
 * The ROUTER runs with mandatory = false, so a reply to a client that has gone is dropped by
 * libzmq; clients time out and retry. Its send high-water mark is above inflightRequestsMax plus
 * the queue of error replies, so replies to a live client are not dropped for the mark.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { Router } from 'zeromq';

import { assert, assertNatural } from '../../raft/core/assert.js';
import { ERROR_TABLE, TributaryError } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import { apiName } from '../protocol/api_keys.js';
import type { ApiKey } from '../protocol/api_keys.js';
import { decodeRequest, encodeErrorResponse, encodeResponse } from '../protocol/envelope.js';
import type { DecodedRequest, OutgoingFrame } from '../protocol/envelope.js';
import { isOneWay } from '../protocol/messages.js';
import type { DecodedRequestOf, ResponseOf } from '../protocol/messages.js';
import { SendQueue } from './send_queue.js';

/** What a handler knows about the request besides its body. */
export interface RequestContext {
  readonly api: ApiKey;
  readonly correlationId: number;
  readonly clientId: string;
  /** The raw frames after the body, zero-copy views of what the client sent (record batches). */
  readonly rawFrames: readonly Buffer[];
  /** The ROUTER routing id of the client's connection, stable while the connection lasts. */
  readonly peer: Buffer;
}

/** A handler's answer: the response body and, for Fetch, the raw frames its indexes name. */
export interface HandlerResult<A extends ApiKey> {
  readonly response: ResponseOf<A>;
  readonly rawFrames?: readonly OutgoingFrame[];
}

export type RequestHandler<A extends ApiKey> = (
  request: DecodedRequestOf<A>,
  context: RequestContext,
) => Promise<HandlerResult<A>> | HandlerResult<A>;

export type HandlerTable = { readonly [A in ApiKey]?: RequestHandler<A> };

export interface RequestServerOptions {
  /** A zeromq endpoint, e.g. `tcp://127.0.0.1:9091`; `tcp://127.0.0.1:*` picks a free port. */
  readonly listen: string;
  readonly handlers?: HandlerTable;
  readonly logger?: Logger;
  /** Requests being handled or answered at once, over all clients. */
  readonly inflightRequestsMax?: number;
  /** The ROUTER's maxMessageSize: libzmq disconnects a peer that sends a bigger frame. */
  readonly frameBytesMax?: number;
  /** The sum of a request's frames; over it the request is answered with MESSAGE_TOO_LARGE. */
  readonly requestBytesMax?: number;
  /** Error replies (malformed, busy, too large) waiting to be sent; beyond it they are dropped. */
  readonly rejectQueueMax?: number;
  /** ZMTP heartbeats, so that the pipes (and queued replies) of silently dead clients are freed. */
  readonly heartbeatIntervalMs?: number;
}

export const REQUEST_SERVER_DEFAULTS = {
  inflightRequestsMax: 4096,
  frameBytesMax: 64 * 1024 * 1024,
  requestBytesMax: 128 * 1024 * 1024,
  rejectQueueMax: 1024,
  heartbeatIntervalMs: 5_000,
} as const;

export class RequestServer {
  private readonly router: Router;
  private readonly sendQueue: SendQueue;
  private readonly handlers = new Map<ApiKey, RequestHandler<ApiKey>>();
  private readonly logger: Logger;
  private readonly inflightRequestsMax: number;
  private readonly requestBytesMax: number;
  private readonly rejectQueueMax: number;
  private inflight = 0;
  private rejectsQueued = 0;
  private receiveLoop: Promise<void> | null = null;
  private closed = false;
  private boundEndpoint: string | null = null;

  constructor(private readonly options: RequestServerOptions) {
    this.inflightRequestsMax = assertNatural(
      options.inflightRequestsMax ?? REQUEST_SERVER_DEFAULTS.inflightRequestsMax, 'inflightRequestsMax');
    this.requestBytesMax = assertNatural(
      options.requestBytesMax ?? REQUEST_SERVER_DEFAULTS.requestBytesMax, 'requestBytesMax');
    this.rejectQueueMax = assertNatural(options.rejectQueueMax ?? REQUEST_SERVER_DEFAULTS.rejectQueueMax,
      'rejectQueueMax');
    const frameBytesMax = assertNatural(options.frameBytesMax ?? REQUEST_SERVER_DEFAULTS.frameBytesMax,
      'frameBytesMax');
    assert(this.inflightRequestsMax >= 1, 'inflightRequestsMax must be at least 1');
    this.logger = options.logger ?? pino({ name: 'request-server' }, pino.destination(2));
    const queueMax = this.inflightRequestsMax + this.rejectQueueMax;
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? REQUEST_SERVER_DEFAULTS.heartbeatIntervalMs;
    this.router = new Router({
      linger: 0,
      heartbeatInterval: heartbeatIntervalMs,
      heartbeatTimeout: heartbeatIntervalMs * 3,
      maxMessageSize: frameBytesMax,
      sendHighWaterMark: queueMax,
      receiveHighWaterMark: Math.max(1000, this.inflightRequestsMax),
    });
    this.sendQueue = new SendQueue(this.router, queueMax);
    for (const [api, handler] of Object.entries(options.handlers ?? {})) {
      this.handlers.set(Number(api) as ApiKey, handler);
    }
  }

  /** Installs (or replaces) the handler of one api; requests for an api without one get INVALID_REQUEST. */
  setHandler<A extends ApiKey>(api: A, handler: RequestHandler<A>): void {
    this.handlers.set(api, handler);
  }

  /** Binds the listen address and starts serving. Rejects (EADDRINUSE, ...) when it cannot bind. */
  async start(): Promise<void> {
    assert(this.receiveLoop === null && !this.closed, 'RequestServer.start() called twice or after close()');
    await this.router.bind(this.options.listen);
    this.boundEndpoint = this.router.lastEndpoint;
    this.receiveLoop = this.receive();
  }

  /** The bound endpoint, with the real port when the listen address used `*`. */
  get endpoint(): string {
    assert(this.boundEndpoint !== null, 'RequestServer.endpoint read before start()');
    return this.boundEndpoint;
  }

  /** Requests being handled or answered now. */
  get inflightRequests(): number {
    return this.inflight;
  }

  /**
   * Stops serving: closes the socket (linger 0: unsent replies are dropped) and waits for the read
   * loop to end. Handlers still running finish on their own; their replies are discarded.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sendQueue.close();
    this.router.close();
    await this.receiveLoop;
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.router) {
        try {
          this.onMessage(frames);
        } catch (error) {
          // Unreachable by design (decoding never throws); kept so that no input can stop the loop.
          this.logger.error({ err: error }, 'request dropped after an unexpected failure');
        }
      }
    } catch (error) {
      if (!this.closed) this.logger.error({ err: error }, 'request server receive loop failed');
    }
  }

  private onMessage(frames: Buffer[]): void {
    const peer = frames[0];
    if (peer === undefined) return;
    const message = frames.slice(1);
    const decoded = decodeRequest(message);
    if (decoded.type === 'malformed') {
      if (decoded.correlationId === null) {
        this.logger.warn({ peer: peer.toString('hex'), frames: message.length, reason: decoded.reason },
          'dropped a request without a readable envelope');
        return;
      }
      this.logger.info({ peer: peer.toString('hex'), correlationId: decoded.correlationId, reason: decoded.reason },
        'malformed request');
      this.reject(peer, decoded.correlationId, decoded.api, 'INVALID_REQUEST', decoded.reason);
      return;
    }
    const oneWay = isOneWay(decoded.api, decoded.body);
    const refusal = this.refusalOf(decoded, message);
    if (refusal !== null) {
      this.logger.info({ correlationId: decoded.correlationId, api: apiName(decoded.api), ...refusal },
        'refused a request');
      if (!oneWay) this.reject(peer, decoded.correlationId, decoded.api, refusal.code, refusal.reason);
      return;
    }
    this.inflight += 1;
    void this.dispatch(peer, decoded, oneWay);
  }

  private refusalOf(
    request: DecodedRequest,
    message: readonly Buffer[],
  ): { readonly code: ErrorCode; readonly reason: string } | null {
    let bytes = 0;
    for (const frame of message) bytes += frame.length;
    if (bytes > this.requestBytesMax) {
      return { code: 'MESSAGE_TOO_LARGE', reason: `request of ${bytes} bytes is over ${this.requestBytesMax}` };
    }
    if (!this.handlers.has(request.api)) {
      return { code: 'INVALID_REQUEST', reason: `${apiName(request.api)} is not served here` };
    }
    if (this.inflight >= this.inflightRequestsMax) {
      return { code: 'TOO_MANY_REQUESTS', reason: `${this.inflight} requests in flight` };
    }
    return null;
  }

  /** Runs the handler and sends its reply; holds an in-flight slot until the reply is handed over. */
  private async dispatch(peer: Buffer, request: DecodedRequest, oneWay: boolean): Promise<void> {
    const { api, correlationId } = request;
    let reply: OutgoingFrame[];
    try {
      const handler = this.handlers.get(api);
      assert(handler !== undefined, 'refusalOf checked the handler');
      const context: RequestContext = {
        api, correlationId, clientId: request.clientId, rawFrames: request.rawFrames, peer,
      };
      const result = await handler(request.body, context);
      if (oneWay) return;
      reply = encodeResponse(correlationId, api, result.response, result.rawFrames ?? []);
    } catch (error) {
      reply = this.replyToError(request, error, oneWay);
    } finally {
      if (oneWay) this.inflight -= 1;
    }
    if (oneWay) return;
    try {
      await this.sendQueue.send([peer, ...reply]);
    } catch (error) {
      if (!this.closed) this.logger.warn({ err: error, correlationId, api: apiName(api) }, 'reply not sent');
    } finally {
      this.inflight -= 1;
    }
  }

  private replyToError(request: DecodedRequest, error: unknown, oneWay: boolean): OutgoingFrame[] {
    const fields = { correlationId: request.correlationId, api: apiName(request.api), clientId: request.clientId };
    if (error instanceof TributaryError) {
      const typed = error as TributaryError;
      if (oneWay) this.logger.info({ ...fields, code: typed.code, reason: typed.message }, 'one-way request failed');
      return encodeErrorResponse(request.correlationId, request.api, typed.code, typed.message);
    }
    // The message stays generic: an unexpected exception's text is for the broker log, not the client.
    this.logger.error({ ...fields, err: error }, 'request handler failed');
    return encodeErrorResponse(request.correlationId, request.api, 'UNKNOWN_SERVER_ERROR',
      `${ERROR_TABLE.UNKNOWN_SERVER_ERROR.message} (see the broker log)`);
  }

  /** Queues a whole-request error reply, within rejectQueueMax; beyond it the reply is dropped. */
  private reject(peer: Buffer, correlationId: number, api: number, code: ErrorCode, reason: string): void {
    if (this.rejectsQueued >= this.rejectQueueMax) {
      this.logger.warn({ correlationId, code }, 'error reply dropped: too many queued');
      return;
    }
    this.rejectsQueued += 1;
    this.sendQueue.send([peer, ...encodeErrorResponse(correlationId, api, code, reason)])
      .catch((error: unknown) => {
        if (!this.closed) this.logger.warn({ err: error, correlationId }, 'error reply not sent');
      })
      .finally(() => { this.rejectsQueued -= 1; });
  }
}
