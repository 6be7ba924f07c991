/**
 * The broker side of the client protocol: a ZeroMQ ROUTER bound to the listen address. Framing is
 * documented in src/protocol/envelope.ts.
 *
 * One `for await` loop reads the socket. Each request is decoded and dispatched to the handler of
 * its api without waiting for earlier ones, so replies go out in completion order; a ReplyOutbox
 * (reply_outbox.ts) is the socket's only writer, with a queue per client connection (peer). A
 * request arriving while inflightRequestsMax requests are being handled over all peers is answered
 * with the retriable TOO_MANY_REQUESTS without running its handler (parked requests, admitted on
 * arrival, may take the count over it by at most the backlogs).
 *
 * Bounds per peer (a client that sends and never reads must not make the broker hold unbounded
 * memory): at most peerInflightMax of its requests run at once, and a request runs only while the
 * peer's replies queued in the outbox plus the reply bytes its running requests have built and
 * reserved stay within peerReplyBytesMax; one request of an idle peer always runs. A handler sizes
 * a large reply (a Fetch) with RequestContext.replyBytes when it builds it, not when it starts, so
 * a long poll that waits for data holds no budget while it waits (reserving a Fetch's max_bytes on
 * arrival parked every later request of the connection behind one long poll). Past a bound the
 * peer's requests are parked, in order, in a backlog of at most peerBacklogMax requests and
 * peerBacklogBytesMax bytes, and run when its replies drain; past the backlog a peer that reads
 * its replies gets TOO_MANY_REQUESTS, one that does not is dropped (counted in the log). libzmq
 * holds at most sendHighWaterMark replies per peer on top (the ROUTER's pipes count messages, not
 * bytes, which is why the high-water mark is small and the byte accounting is ours). A peer that
 * disconnects is forgotten: its queued replies and parked requests are released.
 *
 * Routing ids: a client that reconnects with the routing id of a connection the broker still
 * holds (libzmq only notices a dead connection after its heartbeats time out) takes it over
 * (ZMQ_ROUTER_HANDOVER); without it libzmq ignored the new connection and it was never answered.
 *
 * Nothing a client sends can crash the server: malformed requests get INVALID_REQUEST or
 * MESSAGE_TOO_LARGE (or are dropped when no correlation id can be read), a handler that throws a
 * TributaryError replies with its code and message, and any other exception replies
 * UNKNOWN_SERVER_ERROR and is logged at error level. Produce with acks = 0 is never answered (its
 * failures are logged). Lines about malformed, refused and dropped requests go through a
 * RateLimitedLog: the first few per interval in full, then a count. An optional RequestObserver is
 * told each request's outcome and latency, and connections opening and closing (metrics).
 *
 * Security (docs/security.md): with `curve` the ROUTER is a CURVE server whose handshakes the
 * process's ZAP handler decides; with `authenticate` each request's auth token is resolved to its
 * principal (a Map lookup), and a request proving none is refused with SASL_AUTHENTICATION_FAILED.
 *
 * Connection limits (connection_limits.ts, docs/security.md "Limits"): a ROUTER cannot close one
 * peer, so a connection over --max-connections or --max-connections-per-principal has every
 * request answered CONNECTION_LIMIT_EXCEEDED, without a handler or any state of its own here. A
 * connection is counted from its first request that proves a principal (the principal it keeps)
 * until libzmq reports it gone: ZMQ_ROUTER_NOTIFY delivers [routingId, empty frame] when a peer
 * connects and again when it disconnects. A peer can send an empty frame too, so such a frame only
 * means "gone" for a connection that is counted; for any other it is ignored (the connect notice,
 * or a gone connection's late notice). A client that sends one only gives up its own place: its
 * next request is decided again, as a new connection's would be.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import { Router } from 'zeromq';

import { assert, assertNatural } from '../../raft/core/assert.js';
import { ERROR_TABLE, TributaryError } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import { RateLimitedLog } from '../common/rate_limited_log.js';
import type { RateLimitedLogOptions } from '../common/rate_limited_log.js';
import { apiName } from '../protocol/api_keys.js';
import type { ApiKey } from '../protocol/api_keys.js';
import { decodeRequest, encodeErrorResponse, encodeResponse } from '../protocol/envelope.js';
import type { DecodedRequest, OutgoingFrame } from '../protocol/envelope.js';
import { isOneWay } from '../protocol/messages.js';
import type { DecodedRequestOf, ResponseOf } from '../protocol/messages.js';
import { ConnectionLimits, NO_CONNECTION_LIMITS } from '../security/connection_limits.js';
import type { ConnectionLimitReason, ConnectionLimitSettings, ConnectionRefusal }
  from '../security/connection_limits.js';
import { ANONYMOUS_PRINCIPAL } from '../security/principals.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';
import { ReplyOutbox } from './reply_outbox.js';

/** What a handler knows about the request besides its body. */
export interface RequestContext {
  readonly api: ApiKey;
  readonly correlationId: number;
  readonly clientId: string;
  /** The raw frames after the body, zero-copy views of what the client sent (record batches). */
  readonly rawFrames: readonly Buffer[];
  /** The ROUTER routing id of the client's connection, stable while the connection lasts. */
  readonly peer: Buffer;
  /** The reply bytes this request may build within its connection's bound. */
  readonly replyBytes: ReplyBytesBudget;
  /**
   * Who sent it, for the authorizer (security/): `User:name` for a known client, `Broker:N` for a
   * broker, User:ANONYMOUS for an unauthenticated one (plaintext; --allow-anonymous).
   */
  readonly principal: string;
  /**
   * The client's IP address where the listener can see it (the Kafka listener's TCP peer); absent
   * on this ZeroMQ listener, whose API does not expose a message's source address.
   */
  readonly host?: string;
}

/**
 * A connection's reply budget as seen by one of its requests: what is left of peerReplyBytesMax
 * after the replies queued for it and those its other requests have reserved. A handler that
 * builds a large reply sizes it with `available()` and `reserve()`s what it built, in the same
 * turn, so that requests of the same connection building replies at the same time share the budget.
 */
export interface ReplyBytesBudget {
  available(): number;
  /** Nothing queued or reserved for the connection: one reply may go over the bound (KIP-74's first batch). */
  idle(): boolean;
  reserve(bytes: number): void;
}

/**
 * Told of every request's outcome, for metrics. Called on the request path: it must be cheap and
 * must not throw (a throw is caught and logged, and the reply still goes out).
 */
export interface RequestObserver {
  /** A handler ran: its result, or null with the whole-request error code; seconds from dispatch to reply. */
  handled(request: DecodedRequest, result: HandlerResult<ApiKey> | null, errorCode: ErrorCode | null,
    seconds: number): void;
  /** A request refused or found malformed before any handler ran. */
  refused(api: number, code: ErrorCode): void;
  /** The client connections open now changed by `delta` (+1 accepted, -1 closed). */
  connectionsChanged(delta: 1 | -1): void;
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
  /** Requests being handled at once, over all clients. */
  readonly inflightRequestsMax?: number;
  /** The ROUTER's maxMessageSize: libzmq disconnects a peer that sends a bigger frame. */
  readonly frameBytesMax?: number;
  /** The sum of a request's frames; over it the request is answered with MESSAGE_TOO_LARGE. */
  readonly requestBytesMax?: number;
  /** Error replies (malformed, busy, too large) queued at once over all peers; beyond it they are dropped. */
  readonly rejectQueueMax?: number;
  /**
   * Error replies queued for one peer. High enough that a client that reads its replies never
   * loses one (a burst of refused requests outruns the ROUTER's 16-message pipe), low enough that
   * one that does not read cannot take the whole rejectQueueMax (error replies are ~100 bytes).
   */
  readonly peerRejectQueueMax?: number;
  /** ZMTP heartbeats, so that the pipes (and queued replies) of silently dead clients are freed. */
  readonly heartbeatIntervalMs?: number;
  /** Requests of one peer being handled at once. */
  readonly peerInflightMax?: number;
  /** Bytes of one peer's queued replies plus the reply bytes its running requests have reserved. */
  readonly peerReplyBytesMax?: number;
  /** Requests of one peer parked while it is over a bound, and their bytes. */
  readonly peerBacklogMax?: number;
  readonly peerBacklogBytesMax?: number;
  /** Replies libzmq holds per peer (the ROUTER's send high-water mark, in messages). */
  readonly sendHighWaterMark?: number;
  /** The rate limit of lines about malformed, refused and dropped requests. */
  readonly malformedLog?: Partial<RateLimitedLogOptions>;
  /** Told of each request's outcome and of connections opening and closing (metrics); none by default. */
  readonly observer?: RequestObserver;
  /** Diagnostic events, a request in and its reply out (src/common/event_trace.ts); none by default. */
  readonly trace?: { event(what: string): void };
  /** CURVE: the ROUTER is a CURVE server with this secret key, its handshakes decided by ZAP in zapDomain. */
  readonly curve?: { readonly secretKey: string; readonly zapDomain: string };
  /**
   * The principal a request's auth token proves, or null to refuse it with SASL_AUTHENTICATION_FAILED.
   * Absent (plaintext): every request is User:ANONYMOUS and no token is looked at.
   */
  readonly authenticate?: (authToken: Uint8Array) => string | null;
  /**
   * Connections served at once, in total and per principal (0: no limit). There is no limit per
   * address on this listener: zeromq.js tells the server no peer's address.
   */
  readonly connectionLimits?: Pick<ConnectionLimitSettings, 'maxConnections' | 'maxConnectionsPerPrincipal'>;
  /** Told once per connection refused by a limit (metrics); must not throw. */
  readonly onConnectionRefused?: (reason: ConnectionLimitReason) => void;
}

/** libzmq's ZMQ_ROUTER_NOTIFY (a draft option zeromq.js has no name for) and its two flags. */
const ZMQ_ROUTER_NOTIFY = 97;
const ZMQ_NOTIFY_CONNECT = 1;
const ZMQ_NOTIFY_DISCONNECT = 2;

export const REQUEST_SERVER_DEFAULTS = {
  inflightRequestsMax: 4096,
  frameBytesMax: 64 * 1024 * 1024,
  requestBytesMax: 128 * 1024 * 1024,
  rejectQueueMax: 65_536,
  peerRejectQueueMax: 4096,
  heartbeatIntervalMs: 1_000,
  // Above the client Connection's own cap (64), so that our clients are never parked for it.
  peerInflightMax: 64,
  peerReplyBytesMax: 64 * 1024 * 1024,
  peerBacklogMax: 64,
  peerBacklogBytesMax: 16 * 1024 * 1024,
  sendHighWaterMark: 16,
} as const;

/** A request of a peer over its bounds, waiting for its replies to drain. */
interface ParkedRequest {
  readonly request: DecodedRequest;
  readonly principal: string;
  readonly oneWay: boolean;
  readonly bytes: number;
}

/** What the server holds for one client connection; forgotten when it holds nothing. */
interface PeerState {
  readonly key: string;
  readonly routingId: Buffer;
  inflight: number;
  reservedBytes: number;
  readonly backlog: ParkedRequest[];
  backlogBytes: number;
}

export class RequestServer {
  private readonly router: Router;
  private readonly outbox: ReplyOutbox;
  private readonly handlers = new Map<ApiKey, RequestHandler<ApiKey>>();
  private readonly logger: Logger;
  private readonly log: RateLimitedLog;
  private readonly logFlush: NodeJS.Timeout;
  private readonly inflightRequestsMax: number;
  private readonly requestBytesMax: number;
  private readonly rejectQueueMax: number;
  private readonly peerRejectQueueMax: number;
  private readonly peerInflightMax: number;
  private readonly peerReplyBytesMax: number;
  private readonly peerBacklogMax: number;
  private readonly peerBacklogBytesMax: number;
  private readonly peers = new Map<string, PeerState>();
  /** Error replies queued per peer: one peer may not take the whole rejectQueueMax. */
  private readonly peerRejects = new Map<string, number>();
  /** The connections that made a request, keyed as the peers are, and the limits' decisions on them. */
  private readonly connections: ConnectionLimits;
  private inflight = 0;
  private lastRequestMs = 0;
  private rejectsQueued = 0;
  private receiveLoop: Promise<void> | null = null;
  private closed = false;
  private boundEndpoint: string | null = null;

  constructor(private readonly options: RequestServerOptions) {
    const natural = (value: number | undefined, fallback: number, what: string): number =>
      assertNatural(value ?? fallback, what);
    const defaults = REQUEST_SERVER_DEFAULTS;
    this.inflightRequestsMax = natural(options.inflightRequestsMax, defaults.inflightRequestsMax, 'inflightRequestsMax');
    this.requestBytesMax = natural(options.requestBytesMax, defaults.requestBytesMax, 'requestBytesMax');
    this.rejectQueueMax = natural(options.rejectQueueMax, defaults.rejectQueueMax, 'rejectQueueMax');
    this.peerRejectQueueMax = natural(options.peerRejectQueueMax, defaults.peerRejectQueueMax, 'peerRejectQueueMax');
    this.peerInflightMax = natural(options.peerInflightMax, defaults.peerInflightMax, 'peerInflightMax');
    this.peerReplyBytesMax = natural(options.peerReplyBytesMax, defaults.peerReplyBytesMax, 'peerReplyBytesMax');
    this.peerBacklogMax = natural(options.peerBacklogMax, defaults.peerBacklogMax, 'peerBacklogMax');
    this.peerBacklogBytesMax = natural(options.peerBacklogBytesMax, defaults.peerBacklogBytesMax,
      'peerBacklogBytesMax');
    const frameBytesMax = natural(options.frameBytesMax, defaults.frameBytesMax, 'frameBytesMax');
    const sendHighWaterMark = natural(options.sendHighWaterMark, defaults.sendHighWaterMark, 'sendHighWaterMark');
    assert(this.inflightRequestsMax >= 1 && this.peerInflightMax >= 1, 'in-flight limits must be at least 1');
    assert(sendHighWaterMark >= 1, 'sendHighWaterMark 0 would mean no limit in libzmq');
    this.logger = options.logger ?? pino({ name: 'request-server' }, pino.destination(2));
    this.connections = new ConnectionLimits({ ...NO_CONNECTION_LIMITS, ...options.connectionLimits });
    this.log = new RateLimitedLog(this.logger, options.malformedLog);
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? defaults.heartbeatIntervalMs;
    this.router = new Router({
      linger: 0,
      heartbeatInterval: heartbeatIntervalMs,
      heartbeatTimeout: heartbeatIntervalMs * 3,
      maxMessageSize: frameBytesMax,
      // mandatory + sendTimeout 0: a full pipe fails the send with EAGAIN (the reply waits in the
      // outbox) and a gone peer with EHOSTUNREACH, instead of libzmq dropping replies silently.
      mandatory: true,
      sendTimeout: 0,
      sendHighWaterMark,
      handover: true,
      receiveHighWaterMark: Math.max(1000, this.inflightRequestsMax),
      ...(options.curve === undefined ? {} : { curveServer: true, curveSecretKey: options.curve.secretKey,
        zapDomain: options.curve.zapDomain }),
    });
    // Protected in zeromq.js's types: the option is a draft one, without a property of its own.
    (this.router as unknown as { setInt32Option(option: number, value: number): void })
      .setInt32Option(ZMQ_ROUTER_NOTIFY, ZMQ_NOTIFY_CONNECT | ZMQ_NOTIFY_DISCONNECT);
    this.outbox = new ReplyOutbox(this.router, {
      ...(this.options.trace === undefined ? {} : { trace: this.options.trace }),
      onDrained: (key) => { this.resume(key); },
      onPeerGone: (key, releasedBytes) => { this.forgetPeer(key, releasedBytes); },
      onSendError: (key, error) => {
        this.log.log('warn', 'reply-not-sent', { err: error, peer: hex(key) }, 'reply not sent');
      },
    });
    this.logFlush = setInterval(() => { this.log.flush(); },
      options.malformedLog?.intervalMs ?? 10_000).unref();
    for (const [api, handler] of Object.entries(options.handlers ?? {})) {
      this.handlers.set(Number(api) as ApiKey, handler);
    }
    const observer = options.observer;
    if (observer !== undefined) {
      // libzmq's socket monitor: only started when someone counts connections.
      this.router.events.on('accept', () => { observer.connectionsChanged(1); });
      this.router.events.on('disconnect', () => { observer.connectionsChanged(-1); });
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

  /** When the last request arrived (monotonicNowMs; 0 before any): a broker closing waits for quiet. */
  get lastRequestAtMs(): number {
    return this.lastRequestMs;
  }

  /** What the server holds for client connections now (for tests and metrics). */
  get held(): { readonly peers: number; readonly queuedReplyBytes: number; readonly parkedRequests: number;
    readonly connections: number; readonly refusedConnections: number; } {
    let parkedRequests = 0;
    for (const state of this.peers.values()) parkedRequests += state.backlog.length;
    const { counted, refused } = this.connections.size;
    return { peers: this.peers.size, queuedReplyBytes: this.outbox.totalQueuedBytes, parkedRequests,
      connections: counted, refusedConnections: refused };
  }

  /**
   * Stops serving: closes the socket (linger 0: unsent replies are dropped) and waits for the read
   * loop to end. Handlers still running finish on their own; their replies are discarded.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.logFlush);
    this.log.flush(true);
    this.outbox.close();
    this.peers.clear();
    this.peerRejects.clear();
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
    const routingId = frames[0];
    if (routingId === undefined) return;
    if (frames.length === 2 && frames[1]?.length === 0) {
      this.onConnectionNotice(routingId);
      return;
    }
    this.lastRequestMs = monotonicNowMs();
    this.options.trace?.event('request');
    const message = frames.slice(1);
    const decoded = decodeRequest(message);
    if (decoded.type === 'malformed') {
      if (decoded.correlationId === null) {
        this.log.log('warn', 'dropped', { peer: routingId.toString('hex'), frames: message.length,
          reason: decoded.reason }, 'dropped a request without a readable envelope');
        return;
      }
      this.log.log('info', 'malformed', { peer: routingId.toString('hex'), correlationId: decoded.correlationId,
        code: decoded.code, reason: decoded.reason }, 'malformed request');
      this.observeRefused(decoded.api, decoded.code);
      this.reject(routingId, decoded.correlationId, decoded.api, decoded.code, decoded.reason);
      return;
    }
    const oneWay = isOneWay(decoded.api, decoded.body);
    const principal = this.options.authenticate === undefined ? ANONYMOUS_PRINCIPAL
      : this.options.authenticate(decoded.authToken);
    if (principal === null) {
      this.refuse(routingId, decoded, oneWay, 'SASL_AUTHENTICATION_FAILED', decoded.authToken.length === 0
        ? 'the request carries no auth token' : 'the request\'s auth token is no known key\'s');
      return;
    }
    const key = ReplyOutbox.keyOf(routingId);
    const overLimit = this.admitConnection(key, routingId, principal);
    if (overLimit !== null) {
      // Logged once, when the connection was refused; each request is only counted.
      this.observeRefused(decoded.api, 'CONNECTION_LIMIT_EXCEEDED');
      if (!oneWay) this.reject(routingId, decoded.correlationId, decoded.api, 'CONNECTION_LIMIT_EXCEEDED', overLimit.message);
      return;
    }
    let bytes = 0;
    for (const frame of message) bytes += frame.length;
    const refusal = this.refusalOf(decoded, bytes);
    if (refusal !== null) {
      this.refuse(routingId, decoded, oneWay, refusal.code, refusal.reason);
      return;
    }
    let state = this.peers.get(key);
    if (state === undefined) {
      state = { key, routingId, inflight: 0, reservedBytes: 0, backlog: [], backlogBytes: 0 };
      this.peers.set(key, state);
    }
    const parked: ParkedRequest = { request: decoded, principal, oneWay, bytes };
    if (state.backlog.length === 0 && this.mayRun(state)) {
      this.run(state, parked);
      return;
    }
    if (state.backlog.length < this.peerBacklogMax && state.backlogBytes + bytes <= this.peerBacklogBytesMax) {
      state.backlog.push(parked);
      state.backlogBytes += bytes;
      return;
    }
    const reason = `${state.inflight} requests running and ${state.backlog.length} waiting for this connection`;
    if (this.outbox.queuedBytes(key) < this.peerReplyBytesMax) {
      this.refuse(routingId, decoded, oneWay, 'TOO_MANY_REQUESTS', reason);
    } else {
      // The client does not read its replies: an error reply would only add to them.
      this.log.log('warn', 'dropped-peer-over-limit', { peer: routingId.toString('hex'),
        correlationId: decoded.correlationId, api: apiName(decoded.api), queuedReplyBytes: this.outbox.queuedBytes(key),
        reason }, 'dropped a request of a connection over its limits');
    }
    this.forgetIfIdle(state);
  }

  /**
   * A notice of ZMQ_ROUTER_NOTIFY (or an empty frame a peer sent): a counted connection is gone and
   * its place under the limits is freed; for a connection not counted it means nothing.
   */
  private onConnectionNotice(routingId: Buffer): void {
    // Only the place under the limits is freed: the peer's parked requests and queued replies stay
    // (an empty frame a client sent must not cost it the answers it is owed; a peer really gone is
    // forgotten by the outbox when its replies cannot be delivered, as before the notices).
    this.connections.close(ReplyOutbox.keyOf(routingId));
  }

  /** The limits' decision on the connection of a request proving `principal`; logged when it is new. */
  private admitConnection(key: string, routingId: Buffer, principal: string): ConnectionRefusal | null {
    const known = this.connections.stateOf(key);
    if (known === 'admitted') return null;
    if (known === 'refused') return this.connections.refusalOf(key);
    const refusal = this.connections.open(key) ?? this.connections.admit(key, principal);
    if (refusal !== null) {
      this.log.log('warn', 'connection-refused', { listener: 'native', peer: routingId.toString('hex'), principal,
        reason: refusal.reason, limit: refusal.limit, detail: refusal.message },
      'refused a connection over a connection limit (every request of it is refused)');
      try {
        this.options.onConnectionRefused?.(refusal.reason);
      } catch (error) {
        this.logger.error({ err: error }, 'connection refusal observer failed');
      }
    }
    return refusal;
  }

  private refusalOf(
    request: DecodedRequest,
    bytes: number,
  ): { readonly code: ErrorCode; readonly reason: string } | null {
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

  private refuse(routingId: Buffer, request: DecodedRequest, oneWay: boolean, code: ErrorCode, reason: string): void {
    this.log.log('info', 'refused', { correlationId: request.correlationId, api: apiName(request.api), code, reason },
      'refused a request');
    this.observeRefused(request.api, code);
    if (!oneWay) this.reject(routingId, request.correlationId, request.api, code, reason);
  }

  /**
   * Whether another request of this peer may run now. The broker-wide
   * limit is not checked here: it refused the request on arrival or not at all, and a parked
   * request must not wait for other peers (nothing of its own peer would wake it).
   */
  private mayRun(state: PeerState): boolean {
    if (state.inflight >= this.peerInflightMax) return false;
    const queued = this.outbox.queuedBytes(state.key);
    if (state.inflight === 0 && queued === 0) return true; // one request of an idle peer always runs
    return queued + state.reservedBytes < this.peerReplyBytesMax;
  }

  /** The budget one running request of `state` sees; what it reserves is released when its reply is queued. */
  private replyBytesBudget(state: PeerState, reserved: { bytes: number }): ReplyBytesBudget {
    return {
      available: () => Math.max(0, this.peerReplyBytesMax - this.outbox.queuedBytes(state.key) - state.reservedBytes),
      idle: () => this.outbox.queuedBytes(state.key) === 0 && state.reservedBytes === 0,
      reserve: (bytes) => {
        assertNatural(bytes, 'reserved reply bytes');
        reserved.bytes += bytes;
        state.reservedBytes += bytes;
      },
    };
  }

  private run(state: PeerState, parked: ParkedRequest): void {
    state.inflight += 1;
    this.inflight += 1;
    void this.dispatch(state, parked);
  }

  /** Runs the peer's parked requests, in order, while it is within its bounds. */
  private resume(key: string): void {
    const state = this.peers.get(key);
    if (state === undefined || this.closed) return;
    for (let next = state.backlog[0]; next !== undefined && this.mayRun(state); next = state.backlog[0]) {
      state.backlog.shift();
      state.backlogBytes -= next.bytes;
      this.run(state, next);
    }
    this.forgetIfIdle(state);
  }

  private forgetIfIdle(state: PeerState): void {
    if (state.inflight === 0 && state.backlog.length === 0 && this.outbox.queuedBytes(state.key) === 0) {
      if (this.peers.get(state.key) === state) this.peers.delete(state.key);
    }
  }

  /** libzmq no longer knows the peer: its parked requests will never be answered either. */
  private forgetPeer(key: string, releasedBytes: number): void {
    // The peer is certainly gone; its places under the limits too (its notice may have been lost).
    this.connections.close(key);
    const state = this.peers.get(key);
    const parked = state?.backlog.length ?? 0;
    if (state !== undefined) {
      state.backlog.length = 0;
      state.backlogBytes = 0;
    }
    this.log.log('info', 'peer-gone', { peer: hex(key), releasedBytes, parked },
      'released the replies and parked requests of a disconnected client');
  }

  /** Runs the handler and queues its reply; holds the peer's slot and reservation until then. */
  private async dispatch(state: PeerState, parked: ParkedRequest): Promise<void> {
    const { request, principal, oneWay } = parked;
    const { api, correlationId } = request;
    let reply: OutgoingFrame[] | null = null;
    const reserved = { bytes: 0 };
    const observer = this.options.observer;
    const startedMs = observer === undefined ? 0 : performance.now();
    let handled: HandlerResult<ApiKey> | null = null;
    let failedWith: ErrorCode | null = null;
    try {
      const handler = this.handlers.get(api);
      assert(handler !== undefined, 'refusalOf checked the handler');
      const context: RequestContext = {
        api, correlationId, clientId: request.clientId, rawFrames: request.rawFrames, peer: state.routingId, principal,
        replyBytes: this.replyBytesBudget(state, reserved),
      };
      const result = await handler(request.body, context);
      handled = result;
      if (!oneWay) reply = encodeResponse(correlationId, api, result.response, result.rawFrames ?? []);
    } catch (error) {
      handled = null;
      failedWith = error instanceof TributaryError ? (error as TributaryError).code : 'UNKNOWN_SERVER_ERROR';
      const failed = this.replyToError(request, error, oneWay);
      if (!oneWay) reply = failed;
    }
    if (observer !== undefined) {
      try {
        observer.handled(request, handled, failedWith, (performance.now() - startedMs) / 1000);
      } catch (error) {
        this.logger.error({ err: error }, 'request observer failed');
      }
    }
    this.inflight -= 1;
    state.inflight -= 1;
    state.reservedBytes -= reserved.bytes;
    assert(state.inflight >= 0 && state.reservedBytes >= 0, 'peer accounting went negative');
    if (reply !== null && !this.closed) this.outbox.enqueue(state.routingId, reply);
    this.resume(state.key);
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

  /**
   * Queues a whole-request error reply, within rejectQueueMax over all peers and peerRejectQueueMax for
   * the peer (so that a client that does not read cannot starve the others' error replies); beyond
   * them, or when the peer already has peerReplyBytesMax of replies waiting, the reply is dropped.
   */
  private reject(routingId: Buffer, correlationId: number, api: number, code: ErrorCode, reason: string): void {
    if (this.closed) return;
    const key = ReplyOutbox.keyOf(routingId);
    const queued = this.outbox.queuedBytes(key);
    const peerRejects = this.peerRejects.get(key) ?? 0;
    if (this.rejectsQueued >= this.rejectQueueMax || peerRejects >= this.peerRejectQueueMax
      || queued >= this.peerReplyBytesMax) {
      this.log.log('warn', 'reject-dropped', { correlationId, code, queuedReplyBytes: queued, peerRejects },
        'error reply dropped: too many queued');
      return;
    }
    this.rejectsQueued += 1;
    this.peerRejects.set(key, peerRejects + 1);
    this.outbox.enqueue(routingId, encodeErrorResponse(correlationId, api, code, reason), () => {
      this.rejectsQueued -= 1;
      const left = (this.peerRejects.get(key) ?? 0) - 1;
      if (left > 0) this.peerRejects.set(key, left);
      else this.peerRejects.delete(key);
    });
  }

  private observeRefused(api: number, code: ErrorCode): void {
    try {
      this.options.observer?.refused(api, code);
    } catch (error) {
      this.logger.error({ err: error }, 'request observer failed');
    }
  }
}

function hex(key: string): string {
  return Buffer.from(key, 'latin1').toString('hex');
}
