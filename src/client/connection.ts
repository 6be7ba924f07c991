/**
 * One client connection to one broker: a ZeroMQ DEALER speaking the framing of
 * src/protocol/envelope.ts, with many requests in flight and replies matched by correlation id in
 * whatever order they come back.
 *
 * - `request(api, message, rawFrames?)` is typed per api: `RequestOf<A>` in, `DecodedResponseOf<A>`
 *   out, plus the raw frames of the reply (Fetch record batches, zero-copy Buffers).
 * - At most inflightRequestsMax requests are in flight; later callers wait in FIFO order for a
 *   slot, at most waitingRequestsMax of them (beyond that: TOO_MANY_REQUESTS, retriable).
 * - Every request has a deadline (requestTimeoutMs unless given): waiting for a slot and for the
 *   reply both count, and passing it rejects with REQUEST_TIMED_OUT. The broker may still act on a
 *   request that timed out here (producers use idempotence for that); its late reply is logged and
 *   dropped like any reply whose correlation id is unknown.
 * - A whole-request error in the reply envelope rejects with the TributaryError of that code.
 * - Produce with acks = 0 is one-way: it resolves once the message is handed to zeromq, with an
 *   empty ProduceResponse (no partitions) and no raw frames, and registers no pending entry.
 * - Reconnection is zeromq's (reconnectInterval..reconnectMaxInterval). Requests sent while the
 *   broker is unreachable wait in zeromq's queue up to the high-water mark and time out here.
 * - When the TCP connection is lost (the broker's process died, or ZMTP heartbeats went
 *   unanswered), every request in flight is rejected at once with NETWORK_EXCEPTION (retriable):
 *   its reply can no longer come, since the broker answers on the connection a request came in on.
 *   Callers retry, on another broker if metadata moved, instead of waiting out the timeout. Until
 *   zeromq has connected again, new requests are refused at once the same way rather than queued
 *   for a broker that is gone. A connect attempt that fails (nothing listens: the broker is down)
 *   does the same, so a bootstrap list whose first broker is down costs no timeout.
 * - close() rejects everything pending or waiting with NETWORK_EXCEPTION and closes the socket
 *   with linger 0.
 *
 * The socket has one reader (a `for await` loop) and one writer (a SendQueue: zeromq throws EBUSY
 * on concurrent sends).
 */
import { performance } from 'node:perf_hooks';

import type { Logger } from 'pino';
import { pino } from 'pino';
import { Dealer } from 'zeromq';

import { assert, assertNatural } from '../../raft/core/assert.js';
import { errorFromWire, MessageTooLargeError, TributaryError } from '../common/errors.js';
import { apiName } from '../protocol/api_keys.js';
import type { ApiKey } from '../protocol/api_keys.js';
import { decodeResponseBodyFrames, decodeResponseHead, encodeRequest } from '../protocol/envelope.js';
import type { OutgoingFrame } from '../protocol/envelope.js';
import { isOneWay, pb } from '../protocol/messages.js';
import type { DecodedResponseOf, RequestOf } from '../protocol/messages.js';
import { SendQueue } from '../net/send_queue.js';
import type { ConnectionCurve } from '../security/client_security.js';

export interface ConnectionOptions {
  /** `tcp://host:port`, or `host:port` (tcp is implied). */
  readonly address: string;
  readonly clientId?: string;
  readonly requestTimeoutMs?: number;
  readonly inflightRequestsMax?: number;
  readonly waitingRequestsMax?: number;
  /** Requests whose frames add up to more are refused here with MESSAGE_TOO_LARGE, unsent. */
  readonly requestBytesMax?: number;
  /** The DEALER's maxMessageSize for replies; -1 means no limit. */
  readonly frameBytesMax?: number;
  readonly reconnectIntervalMs?: number;
  readonly reconnectIntervalMaxMs?: number;
  /** ZMTP heartbeats, so that a silent dead broker is noticed and the connection re-made. */
  readonly heartbeatIntervalMs?: number;
  /**
   * A connect, then its ZMTP handshake, that takes longer is abandoned and redialed: on a silent
   * network (SYNs or greetings dropped) the kernel would retry a connect for minutes and libzmq
   * wait 30 s for a handshake, keeping the connection down that long after the network healed.
   */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
  /**
   * CURVE (docs/security.md): the broker's public key, this client's key pair, and the auth token
   * every request carries. A broker that refuses the key fails requests with
   * SASL_AUTHENTICATION_FAILED; one whose key is not serverKey fails the handshake (NETWORK_EXCEPTION).
   */
  readonly curve?: ConnectionCurve;
}

export const CONNECTION_DEFAULTS = {
  clientId: 'tributary',
  requestTimeoutMs: 30_000,
  inflightRequestsMax: 64,
  waitingRequestsMax: 10_000,
  requestBytesMax: 128 * 1024 * 1024,
  frameBytesMax: -1,
  reconnectIntervalMs: 100,
  reconnectIntervalMaxMs: 1_000,
  heartbeatIntervalMs: 500,
  connectTimeoutMs: 2_000,
} as const;

export interface RequestOptions {
  readonly timeoutMs?: number;
}

/** A reply: the decoded response body and the raw frames after it (record batches for Fetch). */
export interface Reply<A extends ApiKey> {
  readonly response: DecodedResponseOf<A>;
  readonly rawFrames: readonly Buffer[];
}

interface PendingRequest {
  readonly api: ApiKey;
  readonly resolve: (reply: Reply<ApiKey>) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

interface SlotWaiter {
  readonly grant: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
}

const EMPTY_PRODUCE_RESPONSE = pb.ProduceResponse.decode(new Uint8Array(0));

/** `host:port` becomes `tcp://host:port`; anything with a scheme is kept. */
export function toEndpoint(address: string): string {
  return address.includes('://') ? address : `tcp://${address}`;
}

export class Connection {
  readonly endpoint: string;
  private readonly dealer: Dealer;
  private readonly sendQueue: SendQueue;
  private readonly logger: Logger;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly inflightRequestsMax: number;
  private readonly waitingRequestsMax: number;
  private readonly requestBytesMax: number;
  private readonly authToken: Buffer | undefined;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly waiters: (SlotWaiter | undefined)[] = []; // consumed from waitersHead
  private waitersHead = 0;
  private waiting = 0;
  private inflight = 0;
  private nextCorrelationId = 1;
  private closed = false;
  /** The connection was lost (or could not be made) and is not back yet: requests fail fast. */
  private lost = false;
  /**
   * The last handshake failed for good: the broker refused our CURVE key ('auth'), or the ZMTP
   * handshake itself failed ('protocol', e.g. plaintext against CURVE). Requests fail at once.
   */
  private refused: 'auth' | 'protocol' | null = null;
  /** A ZMTP handshake completed and no disconnect followed. */
  private connected = false;
  private readonly receiveLoop: Promise<void>;

  constructor(options: ConnectionOptions) {
    this.endpoint = toEndpoint(options.address);
    this.clientId = options.clientId ?? CONNECTION_DEFAULTS.clientId;
    this.requestTimeoutMs = assertNatural(options.requestTimeoutMs ?? CONNECTION_DEFAULTS.requestTimeoutMs,
      'requestTimeoutMs');
    this.inflightRequestsMax = assertNatural(
      options.inflightRequestsMax ?? CONNECTION_DEFAULTS.inflightRequestsMax, 'inflightRequestsMax');
    this.waitingRequestsMax = assertNatural(
      options.waitingRequestsMax ?? CONNECTION_DEFAULTS.waitingRequestsMax, 'waitingRequestsMax');
    this.requestBytesMax = assertNatural(options.requestBytesMax ?? CONNECTION_DEFAULTS.requestBytesMax,
      'requestBytesMax');
    assert(this.inflightRequestsMax >= 1, 'inflightRequestsMax must be at least 1');
    this.logger = options.logger ?? pino({ name: 'connection' }, pino.destination(2));
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? CONNECTION_DEFAULTS.heartbeatIntervalMs;
    // The high-water marks stay above the in-flight bound, so a send only blocks when the broker is
    // unreachable and zeromq's queue is full; sendTimeout bounds even that.
    const highWaterMark = Math.max(1000, this.inflightRequestsMax + 1);
    this.dealer = new Dealer({
      linger: 0,
      sendHighWaterMark: highWaterMark,
      receiveHighWaterMark: highWaterMark,
      sendTimeout: this.requestTimeoutMs,
      maxMessageSize: options.frameBytesMax ?? CONNECTION_DEFAULTS.frameBytesMax,
      reconnectInterval: options.reconnectIntervalMs ?? CONNECTION_DEFAULTS.reconnectIntervalMs,
      reconnectMaxInterval: options.reconnectIntervalMaxMs ?? CONNECTION_DEFAULTS.reconnectIntervalMaxMs,
      heartbeatInterval: heartbeatIntervalMs,
      heartbeatTimeout: heartbeatIntervalMs * 3,
      connectTimeout: options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs,
      handshakeInterval: options.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs,
      ...(options.curve === undefined ? {} : { curveServerKey: options.curve.serverKey,
        curvePublicKey: options.curve.publicKey, curveSecretKey: options.curve.secretKey }),
    });
    this.authToken = options.curve?.authToken;
    this.sendQueue = new SendQueue(this.dealer, this.inflightRequestsMax);
    this.dealer.events.on('disconnect', () => {
      this.lost = true;
      // Closed before any handshake completed: most likely CURVE on one side only, or a wrong server key.
      this.failInflight(this.connected ? 'lost' : 'handshake failed');
    });
    // A connect attempt that failed (nothing listens there: the broker is down) leaves the
    // requests queued for a connection that may never come; fail them now, as for a lost one, so
    // a caller with other brokers to ask moves on instead of waiting out its timeout.
    this.dealer.events.on('connect:retry', () => {
      if (this.connected) return;
      this.lost = true;
      this.failInflight('could not connect');
    });
    // The broker's ZAP handler refused our key: say so, rather than 'could not connect'.
    this.dealer.events.on('handshake:error:auth', () => {
      this.lost = true;
      this.refused = 'auth';
      this.failInflight('refused');
    });
    // The security mechanisms differ (a plaintext client and a CURVE broker, or the other way round):
    // libzmq gives up on the connection for good, as after a refusal.
    this.dealer.events.on('handshake:error:protocol', () => {
      this.lost = true;
      this.refused = 'protocol';
      this.failInflight('refused');
    });
    this.dealer.events.on('handshake', () => { this.lost = false; this.refused = null; this.connected = true; });
    this.dealer.events.on('disconnect', () => { this.connected = false; });
    this.dealer.connect(this.endpoint);
    this.receiveLoop = this.receive();
  }

  /** Requests sent (or being sent) and not yet answered, timed out or failed. */
  get inflightRequests(): number {
    return this.inflight;
  }

  /** Callers waiting for an in-flight slot. */
  get waitingRequests(): number {
    return this.waiting;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The broker refused our CURVE key, or the handshake failed (mechanisms differ). libzmq does not
   * redial after either, so this connection stays refused; a caller that wants to try again (the
   * key may since be in --client-keys) makes a new one.
   */
  get isRefused(): boolean {
    return this.refused !== null;
  }

  /**
   * Sends a request of api and resolves with the reply. Rejects with a TributaryError: the code of
   * a whole-request failure, REQUEST_TIMED_OUT, TOO_MANY_REQUESTS, MESSAGE_TOO_LARGE (unsent), or
   * NETWORK_EXCEPTION (closed, or zeromq could not send). rawFrames must not be mutated afterwards.
   */
  async request<A extends ApiKey>(
    api: A,
    message: RequestOf<A>,
    rawFrames: readonly OutgoingFrame[] = [],
    options: RequestOptions = {},
  ): Promise<Reply<A>> {
    const deadlineMs = performance.now() + (options.timeoutMs ?? this.requestTimeoutMs);
    if (this.closed) throw closedError();
    if (this.refused !== null) throw refusedError(this.endpoint, this.refused);
    if (this.lost) {
      throw new TributaryError('NETWORK_EXCEPTION', `The connection to ${this.endpoint} is down (reconnecting)`);
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId === Number.MAX_SAFE_INTEGER ? 1 : correlationId + 1;
    const frames = encodeRequest(correlationId, api, this.clientId, message, rawFrames, this.authToken);
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    if (bytes > this.requestBytesMax) throw new MessageTooLargeError(bytes, this.requestBytesMax);
    if (!this.tryTakeSlot()) await this.waitForSlot(api, deadlineMs);
    if (isOneWay(api, message)) {
      try {
        await this.sendQueue.send(frames);
      } catch (error) {
        throw sendError(error);
      } finally {
        this.releaseSlot();
      }
      return { response: EMPTY_PRODUCE_RESPONSE, rawFrames: [] } as unknown as Reply<A>;
    }
    return new Promise<Reply<A>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(correlationId);
        reject(new TributaryError('REQUEST_TIMED_OUT',
          `${apiName(api)} request ${correlationId} to ${this.endpoint} got no reply in time`));
      }, Math.max(0, deadlineMs - performance.now()));
      this.pending.set(correlationId, {
        api, resolve, reject, timer,
      });
      this.sendQueue.send(frames).catch((error: unknown) => {
        if (this.settle(correlationId)) reject(sendError(error));
      });
    });
  }

  /** Rejects everything pending or waiting with NETWORK_EXCEPTION and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = closedError();
    for (const [correlationId, request] of this.pending) {
      this.settle(correlationId);
      request.reject(error);
    }
    while (this.waitersHead < this.waiters.length) {
      const waiter = this.waiters[this.waitersHead];
      this.waiters[this.waitersHead++] = undefined;
      if (waiter !== undefined && !waiter.settled) {
        waiter.settled = true;
        clearTimeout(waiter.timer);
        waiter.reject(error);
      }
    }
    this.waiting = 0;
    this.sendQueue.close();
    this.dealer.close();
    await this.receiveLoop;
  }

  /** The connection was lost: no reply to a request sent on it can come. */
  private failInflight(why: 'lost' | 'could not connect' | 'handshake failed' | 'refused' = 'lost'): void {
    if (this.closed || this.pending.size === 0) return;
    if (why === 'refused') {
      for (const [correlationId, request] of this.pending) {
        this.settle(correlationId);
        request.reject(refusedError(this.endpoint, this.refused ?? 'auth'));
      }
      return;
    }
    // A broker that is down is tried again and again (every address of a bootstrap list): debug.
    const log = { endpoint: this.endpoint, requests: this.pending.size };
    if (why === 'lost') this.logger.info(log, 'connection lost; failing the requests in flight');
    else this.logger.debug(log, `${why}; failing the requests in flight`);
    const what = why === 'lost' ? 'was lost' : why === 'could not connect' ? 'could not be made'
      : 'closed before its handshake completed (CURVE on one side only, or a wrong --server-key?)';
    for (const [correlationId, request] of this.pending) {
      this.settle(correlationId);
      request.reject(new TributaryError('NETWORK_EXCEPTION',
        `The connection to ${this.endpoint} ${what} with ${apiName(request.api)} request ${correlationId} in flight`));
    }
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.dealer) {
        this.onReply(frames);
      }
    } catch (error) {
      if (!this.closed) this.logger.error({ err: error, endpoint: this.endpoint }, 'connection receive loop failed');
    }
  }

  private onReply(frames: Buffer[]): void {
    const head = decodeResponseHead(frames);
    if (typeof head === 'string') {
      this.logger.warn({ endpoint: this.endpoint, reason: head }, 'dropped a malformed reply');
      return;
    }
    const request = this.pending.get(head.correlationId);
    if (request === undefined) {
      this.logger.info({ endpoint: this.endpoint, correlationId: head.correlationId, api: apiName(head.api),
        errorCode: head.errorCode }, 'dropped a reply to an unknown correlation id (timed out?)');
      return;
    }
    this.settle(head.correlationId);
    if (head.api !== request.api) {
      request.reject(new TributaryError('UNKNOWN_SERVER_ERROR',
        `reply to ${apiName(request.api)} request ${head.correlationId} came back as ${apiName(head.api)}`));
      return;
    }
    if (head.errorCode !== 0) {
      request.reject(errorFromWire(head.errorCode, head.errorMessage === '' ? undefined : head.errorMessage));
      return;
    }
    const decoded = decodeResponseBodyFrames(request.api, frames);
    if (typeof decoded === 'string') {
      request.reject(new TributaryError('UNKNOWN_SERVER_ERROR', `malformed ${apiName(request.api)} reply: ${decoded}`));
      return;
    }
    request.resolve({ response: decoded.body, rawFrames: decoded.rawFrames });
  }

  /** Forgets a pending request and frees its slot; false when it was already settled. */
  private settle(correlationId: number): boolean {
    const request = this.pending.get(correlationId);
    if (request === undefined) return false;
    this.pending.delete(correlationId);
    clearTimeout(request.timer);
    this.releaseSlot();
    return true;
  }

  private tryTakeSlot(): boolean {
    if (this.inflight >= this.inflightRequestsMax || this.waiting > 0) return false;
    this.inflight += 1;
    return true;
  }

  private waitForSlot(api: ApiKey, deadlineMs: number): Promise<void> {
    if (this.waiting >= this.waitingRequestsMax) {
      return Promise.reject(new TributaryError('TOO_MANY_REQUESTS',
        `${this.waiting} requests are already waiting for one of ${this.inflightRequestsMax} slots`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: SlotWaiter = {
        grant: resolve,
        reject,
        settled: false,
        timer: setTimeout(() => {
          waiter.settled = true;
          this.waiting -= 1;
          reject(new TributaryError('REQUEST_TIMED_OUT',
            `${apiName(api)} request to ${this.endpoint} found no free in-flight slot in time`));
        }, Math.max(0, deadlineMs - performance.now())),
      };
      this.waiters.push(waiter);
      this.waiting += 1;
    });
  }

  /** Frees a slot, handing it straight to the first live waiter. */
  private releaseSlot(): void {
    this.inflight -= 1;
    assert(this.inflight >= 0, 'in-flight count went negative');
    while (this.waitersHead < this.waiters.length) {
      const waiter = this.waiters[this.waitersHead];
      this.waiters[this.waitersHead++] = undefined;
      if (waiter === undefined || waiter.settled) continue;
      waiter.settled = true;
      clearTimeout(waiter.timer);
      this.waiting -= 1;
      this.inflight += 1;
      waiter.grant();
      break;
    }
    if (this.waitersHead === this.waiters.length) {
      this.waiters.length = 0;
      this.waitersHead = 0;
    } else if (this.waitersHead > 1024 && this.waitersHead * 2 > this.waiters.length) {
      this.waiters.splice(0, this.waitersHead);
      this.waitersHead = 0;
    }
  }
}

function refusedError(endpoint: string, why: 'auth' | 'protocol'): TributaryError {
  if (why === 'protocol') {
    // Retriable, so that a client tries the next broker; every one of a secure cluster says the same.
    return new TributaryError('NETWORK_EXCEPTION', `The ZMTP handshake with ${endpoint} failed: does the broker ` +
      'run CURVE (docs/security.md) and this client not (--key-file, --server-key), or the other way round?');
  }
  return new TributaryError('SASL_AUTHENTICATION_FAILED',
    `${endpoint} refused this client's CURVE key (is it in the broker's --client-keys?)`);
}

function closedError(): TributaryError {
  return new TributaryError('NETWORK_EXCEPTION', 'The connection is closed');
}

function sendError(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error as TributaryError;
  const detail = error instanceof Error ? error.message : String(error);
  return new TributaryError('NETWORK_EXCEPTION', `Could not send the request: ${detail}`, { cause: error });
}
