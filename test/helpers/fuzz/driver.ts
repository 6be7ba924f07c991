/**
 * Sends fuzz requests to real brokers over raw ZeroMQ DEALER sockets (one per broker), pipelined
 * with a bounded number in flight, and accounts for every reply.
 *
 * Whether a request must be answered is decided the way the broker decides it: the frames are
 * decoded with the protocol's own decodeRequest. A readable correlation id that is not a one-way
 * Produce (acks = 0) must be answered within replyWaitMs; no readable id, or acks = 0, must never
 * be answered (a reply is counted as answeredOneWay). A generator may loosen a request to 'maybe'
 * (a long poll the protocol lets the broker hold for up to a minute).
 *
 * Garbage frames often decode to a correlation id the driver never handed out (0 above all, shared
 * by many of them). Those are accounted per broker and id: the replies to an id must come to as
 * many as the requests with that id that had to be answered, no fewer (unanswered) and no more
 * (a one-way request was answered).
 *
 * Every reply's envelope and body are decoded and every error code in them (envelope and
 * per-partition / per-topic fields) is counted by name; UNKNOWN_SERVER_ERROR is counted apart,
 * as is any reply that does not decode.
 */
import { Dealer } from 'zeromq';

import { assert } from '../../../raft/core/assert.js';
import { errorCodeFromWire, ERROR_TABLE } from '../../../src/common/errors.js';
import { isApiKey } from '../../../src/protocol/api_keys.js';
import { decodeRequest, decodeResponseBodyFrames, decodeResponseHead } from '../../../src/protocol/envelope.js';
import type { ResponseHead } from '../../../src/protocol/envelope.js';
import { isOneWay } from '../../../src/protocol/messages.js';

export interface FuzzReply {
  readonly head: ResponseHead;
  readonly frames: readonly Buffer[];
}

export interface FuzzRequest {
  /** The broker id to send to. */
  readonly broker: number;
  readonly frames: Buffer[];
  /** Loosens the decoded expectation: the broker may or may not answer in time (long polls). */
  readonly expect?: 'maybe';
  readonly onReply?: (reply: FuzzReply) => void;
  /** The request was one-way, or went unanswered within the bound: its outcome is unknown. */
  readonly onNoReply?: () => void;
}

/** Hands out requests; null ends the class early. cid() gives a fresh correlation id. */
export interface RequestSource {
  next(cid: () => number): FuzzRequest | null;
}

export interface ClassLimits {
  readonly requestsMax: number;
  readonly wallMs: number;
}

export interface ClassStats {
  readonly name: string;
  sent: number;
  answered: number;
  /** Had to be answered and was not within the bound. */
  unanswered: number;
  /** Must never be answered (no readable correlation id, or acks = 0). */
  oneWay: number;
  /** Answered although one-way. */
  answeredOneWay: number;
  maybe: number;
  /** Replies to no outstanding request: duplicates, or answers to one-way requests seen too late. */
  stray: number;
  /** Replies to long polls ('maybe') after they were given up on (the protocol allows a minute). */
  lateReplies: number;
  unknownServerErrors: number;
  malformedReplies: number;
  sendFailures: number;
  readonly errorCodes: Record<string, number>;
  elapsedMs: number;
}

/** Requests under one correlation id the driver did not hand out, on one broker. */
interface ForeignId {
  mustReply: number;
  replies: number;
  deadline: number;
  readonly stats: ClassStats;
}

interface Pending {
  readonly request: FuzzRequest;
  readonly deadline: number;
  readonly mustReply: boolean;
  readonly stats: ClassStats;
}

export interface DriverOptions {
  readonly addresses: ReadonlyMap<number, string>;
  readonly inflightMax?: number;
  readonly replyWaitMs?: number;
}

/** How long a one-way request is watched for a reply it should never get. */
const ONE_WAY_WATCH_MS = 2_000;
const OUTSTANDING_MAX = 8_192;
const SWEEP_MS = 100;
/** Correlation ids start high so that garbage frames rarely decode to one of ours. */
const FIRST_CORRELATION_ID = 1_000_000_000_000;

export function emptyStats(name: string): ClassStats {
  return { name, sent: 0, answered: 0, unanswered: 0, oneWay: 0, answeredOneWay: 0, maybe: 0, stray: 0, lateReplies: 0,
    unknownServerErrors: 0, malformedReplies: 0, sendFailures: 0, errorCodes: {}, elapsedMs: 0 };
}

export class FuzzDriver {
  private readonly sockets = new Map<number, Dealer>();
  private readonly pending = new Map<number, Pending>();
  /** By `${broker}:${correlationId}`. */
  private readonly foreign = new Map<string, ForeignId>();
  /** Ids of 'maybe' requests given up on, whose replies may still come. */
  private readonly givenUp = new Set<number>();
  private readonly receiveLoops: Promise<void>[] = [];
  private readonly inflightMax: number;
  private readonly replyWaitMs: number;
  private mustReplyInflight = 0;
  private nextId = FIRST_CORRELATION_ID;
  private wake: (() => void) | null = null;
  private current: ClassStats | null = null;

  constructor(options: DriverOptions) {
    this.inflightMax = options.inflightMax ?? 128;
    this.replyWaitMs = options.replyWaitMs ?? 10_000;
    for (const [id, address] of options.addresses) {
      const dealer = new Dealer({ linger: 0, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000,
        sendTimeout: 5_000 });
      dealer.connect(`tcp://${address}`);
      this.sockets.set(id, dealer);
      this.receiveLoops.push(this.receive(dealer, id));
    }
  }

  private readonly cid = (): number => this.nextId++;

  /** Runs one class: requests from source until limits.requestsMax or limits.wallMs, then drains. */
  async run(name: string, limits: ClassLimits, source: RequestSource): Promise<ClassStats> {
    assert(this.current === null, 'one class at a time');
    const stats = emptyStats(name);
    this.current = stats;
    const started = Date.now();
    const deadline = started + limits.wallMs;
    const sweeper = setInterval(() => { this.sweep(); }, SWEEP_MS);
    try {
      while (stats.sent < limits.requestsMax && Date.now() < deadline) {
        // The sweeper wakes this loop every SWEEP_MS, so the deadline holds while slots are full.
        while ((this.mustReplyInflight >= this.inflightMax || this.pending.size >= OUTSTANDING_MAX)
          && Date.now() < deadline) {
          await new Promise<void>((resolve) => { this.wake = resolve; });
        }
        if (Date.now() >= deadline) break;
        const request = source.next(this.cid);
        if (request === null) break;
        await this.send(request, stats);
      }
      // Drain: every request that must be answered gets its full bound, a one-way request its watch;
      // 'maybe' requests (long polls) are given up on.
      const drainDeadline = Date.now() + this.replyWaitMs + ONE_WAY_WATCH_MS;
      while (this.awaited() > 0 && Date.now() < drainDeadline) {
        await new Promise((resolve) => setTimeout(resolve, SWEEP_MS));
      }
      this.sweep(Infinity);
    } finally {
      clearInterval(sweeper);
      this.current = null;
    }
    stats.elapsedMs = Date.now() - started;
    return stats;
  }

  /** What the drain waits for: pending requests but 'maybe' ones, and foreign ids still owed a reply. */
  private awaited(): number {
    let count = 0;
    for (const entry of this.pending.values()) if (entry.request.expect !== 'maybe') count += 1;
    for (const entry of this.foreign.values()) if (entry.replies < entry.mustReply) count += 1;
    return count;
  }

  private async send(request: FuzzRequest, stats: ClassStats): Promise<void> {
    const socket = this.sockets.get(request.broker);
    assert(socket !== undefined, () => `no socket for broker ${request.broker}`);
    const decoded = decodeRequest(request.frames);
    const correlationId = decoded.correlationId;
    const oneWay = correlationId === null || (decoded.type === 'request' && isOneWay(decoded.api, decoded.body));
    // Ids this driver handed out are tracked one by one; any other id is foreign (see the header).
    const attributable = correlationId !== null && correlationId >= FIRST_CORRELATION_ID && correlationId < this.nextId
      && !this.pending.has(correlationId);
    try {
      await socket.send(request.frames);
    } catch {
      stats.sendFailures += 1;
      request.onNoReply?.();
      return;
    }
    stats.sent += 1;
    if (oneWay) stats.oneWay += 1;
    const mustReply = !oneWay && request.expect !== 'maybe';
    if (request.expect === 'maybe') stats.maybe += 1;
    if (!attributable) {
      if (correlationId !== null) this.expectForeign(request.broker, correlationId, mustReply, stats);
      if (oneWay) request.onNoReply?.();
      return;
    }
    const wait = oneWay ? ONE_WAY_WATCH_MS : this.replyWaitMs;
    this.pending.set(correlationId, { request, deadline: Date.now() + wait, mustReply, stats });
    if (mustReply) this.mustReplyInflight += 1;
    if (oneWay) request.onNoReply?.();
  }

  private expectForeign(broker: number, correlationId: number, mustReply: boolean, stats: ClassStats): void {
    const key = `${broker}:${correlationId}`;
    let entry = this.foreign.get(key);
    if (entry === undefined) {
      entry = { mustReply: 0, replies: 0, deadline: 0, stats };
      this.foreign.set(key, entry);
    }
    entry.deadline = Date.now() + (mustReply ? this.replyWaitMs : ONE_WAY_WATCH_MS);
    if (mustReply) {
      entry.mustReply += 1;
      this.mustReplyInflight += 1;
    }
  }

  /** Settles every pending request whose deadline is before now (or all, with Infinity). */
  private sweep(now = Date.now()): void {
    for (const [key, entry] of this.foreign) {
      if (entry.deadline > now) continue;
      this.foreign.delete(key);
      const missing = entry.mustReply - entry.replies;
      entry.stats.unanswered += missing;
      this.mustReplyInflight -= missing;
    }
    for (const [id, entry] of this.pending) {
      if (entry.deadline > now) continue;
      this.pending.delete(id);
      if (entry.mustReply) {
        entry.stats.unanswered += 1;
        this.mustReplyInflight -= 1;
        entry.request.onNoReply?.();
      } else if (entry.request.expect === 'maybe') {
        this.givenUp.add(id);
        entry.request.onNoReply?.();
      }
    }
    this.wakeSender();
  }

  private wakeSender(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async receive(socket: Dealer, broker: number): Promise<void> {
    try {
      for await (const frames of socket) this.onReply(frames, broker);
    } catch {
      // The socket was closed.
    }
  }

  private onReply(frames: Buffer[], broker: number): void {
    const head = decodeResponseHead(frames);
    if (typeof head === 'string') {
      if (this.current !== null) this.current.malformedReplies += 1;
      return;
    }
    const entry = this.pending.get(head.correlationId);
    if (entry === undefined) {
      this.onForeignReply(head, frames, broker);
      return;
    }
    this.pending.delete(head.correlationId);
    const stats = entry.stats;
    if (entry.mustReply) {
      this.mustReplyInflight -= 1;
      this.wakeSender();
    }
    const oneWay = !entry.mustReply && entry.request.expect !== 'maybe';
    if (oneWay) {
      stats.answeredOneWay += 1;
      return;
    }
    stats.answered += 1;
    this.countCodes(stats, head, frames);
    entry.request.onReply?.({ head, frames });
  }

  private onForeignReply(head: ResponseHead, frames: readonly Buffer[], broker: number): void {
    const entry = this.foreign.get(`${broker}:${head.correlationId}`);
    if (entry === undefined) {
      if (this.current === null) return;
      if (this.givenUp.delete(head.correlationId)) this.current.lateReplies += 1;
      else this.current.stray += 1;
      return;
    }
    if (entry.replies >= entry.mustReply) {
      entry.stats.answeredOneWay += 1;
      return;
    }
    entry.replies += 1;
    entry.stats.answered += 1;
    this.mustReplyInflight -= 1;
    this.wakeSender();
    this.countCodes(entry.stats, head, frames);
  }

  private countCodes(stats: ClassStats, head: ResponseHead, frames: readonly Buffer[]): void {
    const codes: number[] = [];
    if (head.errorCode !== 0) {
      codes.push(head.errorCode);
    } else if (isApiKey(head.api)) {
      const body = decodeResponseBodyFrames(head.api, frames);
      if (typeof body === 'string') stats.malformedReplies += 1;
      else collectErrorCodes(body.body, codes);
    }
    for (const code of codes) {
      const name = errorCodeFromWire(code) ?? `wire ${code}`;
      stats.errorCodes[name] = (stats.errorCodes[name] ?? 0) + 1;
      if (code === ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire) stats.unknownServerErrors += 1;
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets.values()) socket.close();
    await Promise.all(this.receiveLoops);
  }
}

/** Every non-zero `errorCode` field anywhere in a decoded response body. */
function collectErrorCodes(value: unknown, out: number[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectErrorCodes(item, out);
    return;
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  for (const [key, field] of Object.entries(value)) {
    if (key === 'errorCode' && typeof field === 'number' && field !== 0) out.push(field);
    else if (typeof field === 'object') collectErrorCodes(field, out);
  }
}
