/**
 * One Kafka client connection: frames cut from the TCP stream (framing.ts), each request's header
 * read, its API found and run, and the responses written in the order the requests came (Kafka's
 * rule; clients pipeline and match by correlation id). Requests are started as they arrive, so a
 * producer's pipelined batches reach the partitions in its order; past `inflightMax` requests, or
 * requests adding up to more than `requestBytesMax` bytes, not answered yet, the socket is paused
 * until answers go out (so a connection holds about one maximal request's worth of requests).
 *
 * What cannot be answered closes the connection, as Kafka's SocketServer does: a frame size below
 * a header or above socket.request.max.bytes, a header that does not parse, an API key or version
 * outside what ApiVersions advertised (but any ApiVersions version, which is answered), a body that
 * does not parse, and a request failing as a whole. A failed acks=0 produce closes it too, so the
 * client refreshes its metadata. None of these throws out of the connection.
 *
 * With SASL (sasl_session.ts), a connection serves only ApiVersions, SaslHandshake and
 * SaslAuthenticate until it has authenticated (anything else closes it, as Kafka does; clients
 * wait for each SASL answer, so nothing legitimate is pipelined past one), a failed authentication
 * is answered and then closes it, and the authenticated `User:name` is the principal of its
 * requests. Without SASL every request is User:ANONYMOUS.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { assert } from '../../raft/core/assert.js';
import type { RateLimitedLog } from '../common/rate_limited_log.js';
import { TributaryError } from '../common/errors.js';
import type { RequestContext } from '../net/request_server.js';
import type { ApiKey } from '../protocol/api_keys.js';
import { ANONYMOUS_PRINCIPAL } from '../security/principals.js';
import { KafkaDecodeError, KafkaReader } from './codec.js';
import { SaslFailure, SaslSession } from './sasl_session.js';
import type { SaslSettings } from './sasl_session.js';
import { FrameSplitter } from './framing.js';
import type { RemoteLeaders } from './remote_leaders.js';
import type { KafkaApi, KafkaBrokerView, KafkaOutcome } from './kafka_api.js';
import { API_VERSIONS_KEY, SASL_AUTHENTICATE_KEY, SASL_HANDSHAKE_KEY, hasFlexibleResponseHeader, readRequestHeader }
  from './request_header.js';
import type { KafkaRequestHeader } from './request_header.js';

export interface KafkaConnectionOptions {
  readonly apis: ReadonlyMap<number, KafkaApi>;
  readonly broker: KafkaBrokerView;
  readonly requestBytesMax: number;
  /** Requests of one connection running or answered but not written yet, at most. */
  readonly inflightMax: number;
  /** Reply bytes a connection's fetches may build before they are written (the native budget). */
  readonly replyBytesMax: number;
  readonly logger: Logger;
  readonly refusals: RateLimitedLog;
  readonly remoteLeaders: RemoteLeaders;
  /** With --kafka-sasl-users: clients authenticate (SaslHandshake, SaslAuthenticate) before anything else. */
  readonly sasl?: SaslSettings;
  /** With sasl: whether the principal a client proved may have one more connection (null) or why not. */
  readonly admitPrincipal?: (principal: string) => string | null;
}

/** How long a connection ended after a last answer may take to read it before it is cut. */
const END_GRACE_MS = 2_000;
/** The APIs a connection that must authenticate is served before it has. */
const BEFORE_AUTHENTICATION = new Set([API_VERSIONS_KEY, SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY]);

type Answer = { readonly frame: Buffer | null; readonly close: string | null; readonly reservedBytes: number };

export class KafkaConnection {
  private readonly splitter: FrameSplitter;
  private tail: Promise<void> = Promise.resolve();
  private inflight = 0;
  /** Bytes of the requests running or answered but not written yet. */
  private inflightBytes = 0;
  private reservedBytes = 0;
  private closed = false;
  /** A request that cannot be answered came: nothing more is read; it closes once earlier answers are out. */
  private closing = false;
  private paused = false;
  private readonly sasl: SaslSession | undefined;

  constructor(private readonly socket: Socket, private readonly peer: Buffer,
    private readonly options: KafkaConnectionOptions) {
    this.splitter = new FrameSplitter(options.requestBytesMax);
    this.sasl = options.sasl === undefined ? undefined : new SaslSession(options.sasl, options.admitPrincipal);
    socket.on('data', (chunk: Buffer) => { this.onData(chunk); });
    socket.on('error', () => { this.closed = true; }); // a reset peer; 'close' follows
    socket.on('close', () => { this.closed = true; });
    socket.on('drain', () => { this.resumeIfRoom(); });
  }

  /** Ends the connection at once (the broker is closing, or the client broke the protocol). */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.refusals.log('info', 'kafka-close', { peer: this.socket.remoteAddress, reason },
      'closing a Kafka connection');
    this.socket.destroy();
  }

  /** Ends the connection once what was written is out (bounded: a peer that never reads is cut off). */
  private endAfterWrite(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.refusals.log('info', 'kafka-close', { peer: this.socket.remoteAddress, reason },
      'closing a Kafka connection');
    this.socket.end();
    setTimeout(() => { this.socket.destroy(); }, END_GRACE_MS).unref();
  }

  /** Answers what came before, then closes (a request that cannot be answered). */
  private closeAfterPending(reason: string): void {
    this.closing = true;
    this.socket.pause();
    this.tail = this.tail.then(() => { this.close(reason); });
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.closing) return;
    const { frames, error } = this.splitter.push(chunk);
    for (const frame of frames) {
      if (!this.dispatch(frame)) return; // a request it cannot answer: nothing after it is read
    }
    if (error !== null) {
      this.closeAfterPending(error.message);
      return;
    }
    if (!this.paused && (this.inflight >= this.options.inflightMax
      || this.inflightBytes >= this.options.requestBytesMax)) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Starts a request; false when it cannot be answered (the connection is then closing). */
  private dispatch(frame: Buffer): boolean {
    if (this.sasl?.expectsRawToken === true) return this.dispatchRawToken(this.sasl, frame);
    const reader = new KafkaReader(frame);
    let header: KafkaRequestHeader;
    try {
      header = readRequestHeader(reader);
    } catch (error) {
      this.closeAfterPending(error instanceof Error ? error.message : String(error));
      return false;
    }
    const api = this.options.apis.get(header.apiKey);
    const supported = api !== undefined && (header.apiKey === API_VERSIONS_KEY
      || (header.apiVersion >= api.minVersion && header.apiVersion <= api.maxVersion));
    if (!supported) {
      this.closeAfterPending(`unsupported API key ${header.apiKey} version ${header.apiVersion}`);
      return false;
    }
    // Kafka's rule: nothing but SASL until authenticated, nor in the middle of an exchange.
    if ((this.principal === null || this.sasl?.exchanging === true) && !BEFORE_AUTHENTICATION.has(header.apiKey)) {
      this.closeAfterPending(`${api.name} before SASL authentication`);
      return false;
    }
    this.inflight += 1;
    this.inflightBytes += frame.length;
    const answer = this.run(api, header, reader);
    this.tail = this.tail.then(() => answer)
      .then((done) => { this.write(header.correlationId, frame.length, done); });
    return true;
  }

  /** The connection's principal now: null while it must still authenticate. */
  private get principal(): string | null {
    return this.sasl === undefined ? ANONYMOUS_PRINCIPAL : this.sasl.principal;
  }

  /** After a v0 SaslHandshake: a frame is a bare SASL token, answered by a bare frame (or, failed, a close). */
  private dispatchRawToken(sasl: SaslSession, token: Buffer): boolean {
    this.inflight += 1;
    this.inflightBytes += token.length;
    const answer = sasl.authenticate(Buffer.from(token)).then((reply): Answer => {
      const frame = Buffer.allocUnsafe(4 + reply.length);
      frame.writeInt32BE(reply.length, 0);
      reply.copy(frame, 4);
      return { frame, close: null, reservedBytes: 0 };
    }, (error: unknown): Answer => {
      assert(error instanceof SaslFailure, () => `a SASL token failed with ${String(error)}`);
      return { frame: null, close: error.detail, reservedBytes: 0 };
    });
    this.tail = this.tail.then(() => answer).then((done) => { this.write(null, token.length, done); });
    return true;
  }

  private async run(api: KafkaApi, header: KafkaRequestHeader, body: KafkaReader): Promise<Answer> {
    let reservedBytes = 0;
    const replyBytes = {
      available: (): number => Math.max(0, this.options.replyBytesMax - this.reservedBytes),
      idle: (): boolean => this.reservedBytes === 0,
      reserve: (bytes: number): void => { reservedBytes += bytes; this.reservedBytes += bytes; },
    };
    const host = clientAddress(this.socket.remoteAddress);
    const nativeContext = (nativeApi: ApiKey, rawFrames: readonly Buffer[] = []): RequestContext => {
      const principal = this.principal;
      assert(principal !== null, 'only an authenticated connection reaches the native handlers');
      return { api: nativeApi, correlationId: header.correlationId, clientId: header.clientId, rawFrames,
        peer: this.peer, replyBytes, principal, ...(host === undefined ? {} : { host }) };
    };
    let outcome: KafkaOutcome;
    try {
      outcome = await api.handle({ header, body, broker: this.options.broker, nativeContext, sasl: this.sasl,
        lookUpLeaders: (partitions) => this.options.remoteLeaders.leaders(partitions) });
    } catch (error) {
      if (!(error instanceof TributaryError)) {
        this.options.logger.error({ err: error, api: api.name, version: header.apiVersion },
          'a Kafka request handler failed');
      }
      const reason = error instanceof KafkaDecodeError ? error.message
        : `${api.name} failed: ${error instanceof Error ? error.message : String(error)}`;
      return { frame: null, close: reason, reservedBytes };
    }
    if (outcome.kind === 'silent') return { frame: null, close: null, reservedBytes };
    if (outcome.kind === 'close') return { frame: null, close: outcome.reason, reservedBytes };
    const responseBody = outcome.body.finish();
    // Response header v0 (correlation id only), but v1 (an empty tagged-field section after it) for
    // a flexible version; an ApiVersions response keeps v0 even at v3 (KIP-511).
    const headerBytes = hasFlexibleResponseHeader(header.apiKey, header.apiVersion) ? 5 : 4;
    const frame = Buffer.allocUnsafe(4 + headerBytes + responseBody.length);
    frame.writeInt32BE(headerBytes + responseBody.length, 0);
    frame.writeInt32BE(header.correlationId, 4);
    if (headerBytes === 5) frame.writeUInt8(0, 8);
    responseBody.copy(frame, 4 + headerBytes);
    return { frame, close: outcome.closeAfter ?? null, reservedBytes };
  }

  /** correlationId null: a bare SASL token's answer. */
  private write(correlationId: number | null, requestBytes: number, answer: Answer): void {
    this.inflight -= 1;
    this.inflightBytes -= requestBytes;
    this.reservedBytes -= answer.reservedBytes;
    assert(this.inflight >= 0 && this.inflightBytes >= 0 && this.reservedBytes >= 0,
      'connection accounting went negative');
    if (this.closed) return;
    if (answer.close !== null) {
      this.closing = true;
      const reason = correlationId === null ? answer.close : `${answer.close} (correlation id ${correlationId})`;
      if (answer.frame === null) {
        this.close(reason);
      } else {
        // The answer says why (a failed authentication): written, then the connection ends.
        this.socket.write(answer.frame);
        this.endAfterWrite(reason);
      }
      return;
    }
    if (answer.frame !== null) this.socket.write(answer.frame);
    if (this.socket.writableLength >= this.options.replyBytesMax && !this.paused) {
      // A client that does not read its answers is not read from either ('drain' resumes it).
      this.paused = true;
      this.socket.pause();
      return;
    }
    this.resumeIfRoom();
  }

  private resumeIfRoom(): void {
    if (this.closed || this.closing || !this.paused) return;
    if (this.inflight < this.options.inflightMax && this.inflightBytes < this.options.requestBytesMax
      && this.socket.writableLength < this.options.replyBytesMax) {
      this.paused = false;
      this.socket.resume();
    }
  }
}

/** The TCP peer's IP as ACL bindings name it: an IPv4 client on a dual-stack socket loses its ::ffff: prefix. */
export function clientAddress(remoteAddress: string | undefined): string | undefined {
  if (remoteAddress === undefined) return undefined;
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}
