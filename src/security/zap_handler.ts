/**
 * The process's ZAP handler (ZeroMQ RFC 27): libzmq asks it, over inproc://zeromq.zap.01, whether a
 * CURVE client key may complete its handshake with one of our server sockets. Each server socket
 * names a ZAP domain ('client', 'raft'); each domain has an Authorizer deciding per key. A key
 * refused is logged once per domain and key (libzmq retries a refused client every reconnect
 * interval, so a log line per handshake would flood the log), then counted; a domain nobody
 * registered refuses everything.
 *
 * There is one per process (libzmq has one ZAP endpoint per context, and every socket here uses
 * the default context): ZapHandler.shared() binds it on first use.
 */
import * as zmq from 'zeromq';

import { assert } from '../../raft/core/assert.js';
import { z85Encode } from './z85.js';

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/** Distinct refused keys remembered (to log each once); past it the oldest is forgotten. */
const REFUSED_KEYS_REMEMBERED = 4096;

/** Where refusals are logged (a pino logger does). */
export interface ZapLogger {
  warn(object: object, message: string): void;
}

/** The user id given to an accepted key (a principal, 'Broker:N'); null refuses it. */
export type Authorizer = (publicKey: string) => string | null;

export interface ZapDecision {
  readonly status: '200' | '400';
  readonly text: string;
  readonly userId: string;
}

/** What the handler answers for one request: pure, so that tests can ask it directly. */
export function zapDecision(authorizers: ReadonlyMap<string, Authorizer>, domain: string, mechanism: string,
  publicKey: string | null): ZapDecision {
  const authorizer = authorizers.get(domain);
  if (authorizer === undefined) return { status: '400', text: `no ZAP domain ${domain}`, userId: '' };
  if (mechanism !== 'CURVE' || publicKey === null) {
    return { status: '400', text: `mechanism ${mechanism} is not accepted`, userId: '' };
  }
  const userId = authorizer(publicKey);
  return userId === null ? { status: '400', text: 'unknown key', userId: '' } : { status: '200', text: 'OK', userId };
}

export interface ZapStats {
  accepted: number;
  refused: number;
}

export class ZapHandler {
  private static instance: ZapHandler | undefined;
  readonly stats: ZapStats = { accepted: 0, refused: 0 };
  private readonly authorizers = new Map<string, Authorizer>();
  private readonly loggers = new Map<string, ZapLogger>();
  /** `domain key` of refusals already logged, in insertion order (oldest first). */
  private readonly refusedLogged = new Set<string>();
  private readonly socket: zmq.Router;
  private readonly loop: Promise<void>;

  private constructor() {
    this.socket = new zmq.Router({ linger: 0 });
    this.loop = this.serve();
  }

  /** The process's handler, bound on first use. */
  static async shared(): Promise<ZapHandler> {
    if (ZapHandler.instance === undefined) {
      const handler = new ZapHandler();
      ZapHandler.instance = handler;
      await handler.socket.bind(ZAP_ENDPOINT);
    }
    return ZapHandler.instance;
  }

  /** Closes the process's handler (a process that is done with its server sockets, or a test). */
  static async closeShared(): Promise<void> {
    const handler = ZapHandler.instance;
    ZapHandler.instance = undefined;
    if (handler === undefined) return;
    handler.socket.close();
    await handler.loop;
  }

  /**
   * Decides the handshakes of server sockets with this zapDomain; refusals go to logger. A domain has
   * one owner at a time (so one secure broker per process: its domains are 'client' and 'raft').
   */
  register(domain: string, authorizer: Authorizer, logger: ZapLogger): void {
    assert(!this.authorizers.has(domain), () => `ZAP domain ${domain} is registered already`);
    this.authorizers.set(domain, authorizer);
    this.loggers.set(domain, logger);
  }

  unregister(domain: string): void {
    this.authorizers.delete(domain);
    this.loggers.delete(domain);
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.socket) await this.answer(frames);
    } catch (error) {
      assert(this.socket.closed, () => `the ZAP handler stopped: ${String(error)}`);
    }
  }

  private async answer(frames: Buffer[]): Promise<void> {
    // [routing id, '', version, request id, domain, address, identity, mechanism, credentials...]
    const [routingId, , version, requestId, domainFrame, addressFrame, , mechanismFrame, keyFrame] = frames;
    if (routingId === undefined || requestId === undefined || version?.toString() !== '1.0') return;
    const domain = domainFrame?.toString() ?? '';
    const mechanism = mechanismFrame?.toString() ?? '';
    const publicKey = keyFrame?.length === 32 ? z85Encode(keyFrame) : null;
    const decision = zapDecision(this.authorizers, domain, mechanism, publicKey);
    if (decision.status === '200') this.stats.accepted += 1;
    else this.refused(domain, publicKey, addressFrame?.toString() ?? '', decision.text);
    await this.socket.send([routingId, '', '1.0', requestId, decision.status, decision.text, decision.userId, '']);
  }

  private refused(domain: string, publicKey: string | null, address: string, reason: string): void {
    this.stats.refused += 1;
    const seen = `${domain} ${publicKey ?? mechanismless(reason)}`;
    if (this.refusedLogged.has(seen)) return;
    if (this.refusedLogged.size >= REFUSED_KEYS_REMEMBERED) {
      const oldest = this.refusedLogged.values().next().value;
      if (oldest !== undefined) this.refusedLogged.delete(oldest);
    }
    this.refusedLogged.add(seen);
    this.loggers.get(domain)?.warn({ domain, publicKey, address, reason },
      'refused a CURVE handshake (logged once per key; later attempts are only counted)');
  }
}

function mechanismless(reason: string): string {
  return `(${reason})`;
}
