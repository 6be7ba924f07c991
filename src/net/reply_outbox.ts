/**
 * The broker's replies waiting to be sent, one FIFO per client connection (ROUTER peer), and the
 * one writer of the ROUTER socket (zeromq throws EBUSY on concurrent sends).
 *
 * Why per peer: libzmq keeps a pipe per peer holding at most sendHighWaterMark messages, whatever
 * their size. A client that stops reading fills its pipe; the ROUTER runs with mandatory = true and
 * sendTimeout = 0, so a send to that peer fails at once with EAGAIN instead of dropping the reply
 * or blocking the others. Its replies then wait here, counted in bytes (queuedBytes), where the
 * request server can see them and stop running that peer's requests; the writer retries the peer
 * with a backoff (there is no per-peer "writable" event) and serves the other peers meanwhile,
 * taking turns a reply at a time. A send failing with EHOSTUNREACH means libzmq no longer knows
 * the peer (it disconnected, or its heartbeats timed out): its queued replies are released.
 */
import type { Router } from 'zeromq';

import { assert } from '../../raft/core/assert.js';
import type { OutgoingFrame } from '../protocol/envelope.js';

export interface ReplyOutboxOptions {
  /** Called after replies of a peer left the queue (sent, or released because the peer is gone). */
  readonly onDrained: (peerKey: string) => void;
  /** Called once when a peer's replies were released because libzmq no longer knows it. */
  readonly onPeerGone: (peerKey: string, releasedBytes: number) => void;
  /** Called for a send failing with anything but EAGAIN/EHOSTUNREACH while open (the reply is dropped). */
  readonly onSendError: (peerKey: string, error: unknown) => void;
  /** The longest wait between two attempts to send to a peer whose pipe is full. */
  readonly retryDelayMaxMs?: number;
  /** Diagnostic events: a reply handed to the socket (src/common/event_trace.ts). */
  readonly trace?: { event(what: string): void };
}

interface QueuedReply {
  readonly frames: OutgoingFrame[];
  readonly bytes: number;
  readonly settled: (() => void) | undefined;
}

interface PeerQueue {
  readonly key: string;
  readonly routingId: Buffer;
  readonly replies: QueuedReply[];
  bytes: number;
  /** Set while the peer's pipe is full; the retry timer clears it. */
  retry: NodeJS.Timeout | null;
  retryDelayMs: number;
  ready: boolean;
}

/** Sends between two yields to the event loop: sends with sendTimeout 0 resolve synchronously. */
const SENDS_PER_TURN = 64;

export class ReplyOutbox {
  private readonly peers = new Map<string, PeerQueue>();
  private readonly ready: PeerQueue[] = [];
  private readonly retryDelayMaxMs: number;
  private writing = false;
  private closed = false;

  constructor(private readonly socket: Router, private readonly options: ReplyOutboxOptions) {
    this.retryDelayMaxMs = options.retryDelayMaxMs ?? 10;
  }

  /** The key of a routing id in the maps of the outbox and the server. */
  static keyOf(routingId: Buffer): string {
    return routingId.toString('latin1');
  }

  /** Bytes of replies to the peer not yet accepted by libzmq. */
  queuedBytes(peerKey: string): number {
    return this.peers.get(peerKey)?.bytes ?? 0;
  }

  /** Bytes of replies not yet accepted by libzmq, over all peers. */
  get totalQueuedBytes(): number {
    let total = 0;
    for (const queue of this.peers.values()) total += queue.bytes;
    return total;
  }

  /**
   * Queues a reply (the routing id is added when it is sent). `settled` is called once the reply
   * leaves the queue, sent or released; not after close(), which drops everything.
   */
  enqueue(routingId: Buffer, frames: OutgoingFrame[], settled?: () => void): void {
    if (this.closed) return;
    const key = ReplyOutbox.keyOf(routingId);
    let queue = this.peers.get(key);
    if (queue === undefined) {
      queue = { key, routingId, replies: [], bytes: 0, retry: null, retryDelayMs: 0, ready: false };
      this.peers.set(key, queue);
    }
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    queue.replies.push({ frames, bytes, settled });
    queue.bytes += bytes;
    if (queue.retry === null) this.markReady(queue);
  }

  /** Drops every queued reply and stops the retry timers; the caller closes the socket. */
  close(): void {
    this.closed = true;
    for (const queue of this.peers.values()) {
      if (queue.retry !== null) clearTimeout(queue.retry);
    }
    this.peers.clear();
    this.ready.length = 0;
  }

  private markReady(queue: PeerQueue): void {
    if (queue.ready) return;
    queue.ready = true;
    this.ready.push(queue);
    if (!this.writing) void this.write();
  }

  private async write(): Promise<void> {
    this.writing = true;
    let sends = 0;
    while (!this.closed && this.ready.length > 0) {
      const queue = this.ready.shift();
      assert(queue !== undefined, 'ready is not empty');
      queue.ready = false;
      const reply = queue.replies[0];
      if (reply === undefined) continue;
      try {
        this.options.trace?.event('reply');
        await this.socket.send([queue.routingId, ...reply.frames]);
        queue.replies.shift();
        queue.bytes -= reply.bytes;
        queue.retryDelayMs = 0;
        reply.settled?.();
        if (queue.replies.length > 0) this.markReady(queue);
        else this.peers.delete(queue.key);
        this.options.onDrained(queue.key);
      } catch (error) {
        this.onSendFailure(queue, error);
      }
      sends += 1;
      if (sends % SENDS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    this.writing = false;
  }

  private onSendFailure(queue: PeerQueue, error: unknown): void {
    if (this.closed) return; // close() dropped everything already
    const code = (error as { readonly code?: unknown }).code;
    if (code === 'EAGAIN') {
      // The peer's pipe is full: try again later, first on the next turn of the event loop
      // (the I/O thread usually drains a pipe within microseconds), then backing off.
      const delayMs = queue.retryDelayMs;
      queue.retryDelayMs = Math.min(Math.max(1, delayMs * 2), this.retryDelayMaxMs);
      queue.retry = setTimeout(() => {
        queue.retry = null;
        if (!this.closed && this.peers.get(queue.key) === queue) this.markReady(queue);
      }, delayMs);
      return;
    }
    if (code === 'EHOSTUNREACH') {
      this.peers.delete(queue.key);
      const released = queue.bytes;
      for (const reply of queue.replies.splice(0)) reply.settled?.();
      queue.bytes = 0;
      this.options.onPeerGone(queue.key, released);
      this.options.onDrained(queue.key);
      return;
    }
    const [dropped] = queue.replies.splice(0, 1);
    queue.bytes -= dropped?.bytes ?? 0;
    dropped?.settled?.();
    if (queue.replies.length > 0) this.markReady(queue);
    else this.peers.delete(queue.key);
    this.options.onSendError(queue.key, error);
    this.options.onDrained(queue.key);
  }
}
