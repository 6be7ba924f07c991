/**
 * Raft messages between brokers over ZeroMQ: every node binds one ROUTER (its inbox) and keeps one
 * DEALER per peer (its outbox), all groups multiplexed on them. Every message, responses included,
 * is one-way: a reply goes out on the replier's own DEALER to the asker. The receiver learns the
 * sender from the ROUTER's identity frame (the DEALER's routingId is the sender's node id).
 *
 * Connections and their direction (what a relay placed on a link sees; see `dialOverrides`): the
 * TCP connection i->j is opened by i's DEALER to j's ROUTER and carries only i's messages to j.
 * j never sends on its ROUTER; its answers travel on the separate connection j->i that j's own
 * DEALER dials. Bytes still flow both ways on i->j at the ZMTP level: the handshake, and PONGs
 * answering i's heartbeat PINGs (every 100 ms). i drops the connection when no byte comes back
 * within 300 ms (heartbeatTimeout), and j drops it after 300 ms without a byte (heartbeatTimeToLive),
 * so a relay must forward both directions, and stalling either one for longer cuts the link i->j.
 *
 * Down peers never block the others and never grow memory: a DEALER with `immediate` and a zero
 * send timeout refuses at once (EAGAIN) while its peer is unreachable, and the message is dropped —
 * Raft resends on its next heartbeat or append. Each peer's queue is bounded too.
 */
import type { Dealer, Router } from 'zeromq';
import * as zmq from 'zeromq';
import type { Message } from '../core/index.js';
import { assert } from '../core/assert.js';
import type { ForwardHandler, RaftTransport, TransportLogger } from '../host/transport.js';
import { RaftCodecError, decodeRaftBatch, encodeRaftBatch } from './raft_codec.js';

export interface ZmqRaftTransportOptions {
  readonly nodeId: number;
  /** Endpoint to bind, e.g. tcp://127.0.0.1:19091. */
  readonly listen: string;
  readonly logger: TransportLogger;
  /** Messages waiting for one peer; beyond it new ones are dropped (Raft retries). */
  readonly peerQueueMessagesMax?: number;
  /** Largest frame accepted from a peer. */
  readonly frameBytesMax?: number;
  /**
   * Per peer, the endpoint to dial instead of the one it announces (a fault-injecting relay in
   * tests). Applied in setPeer, which every peer endpoint goes through.
   */
  readonly dialOverrides?: ReadonlyMap<number, string>;
}

export interface TransportStats {
  sentBatches: number;
  sentMessages: number;
  droppedMessages: number;
  receivedMessages: number;
  rejectedFrames: number;
}

class PeerLink {
  private queue: Message[] = [];
  private forwards: Uint8Array[] = [];
  private flushing = false;

  constructor(readonly nodeId: number, readonly endpoint: string, private readonly dealer: Dealer,
    private readonly queueMessagesMax: number, private readonly stats: TransportStats) {}

  enqueue(message: Message): void {
    if (this.queue.length >= this.queueMessagesMax) {
      this.stats.droppedMessages += 1;
      return;
    }
    this.queue.push(message);
    this.scheduleFlush();
  }

  enqueueForward(payload: Uint8Array): void {
    if (this.forwards.length >= this.queueMessagesMax) {
      this.stats.droppedMessages += 1;
      return;
    }
    this.forwards.push(payload);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushing) {
      this.flushing = true;
      // Let every group's messages of this turn join one batch.
      setImmediate(() => { void this.flush(); });
    }
  }

  /** The single writer of this DEALER (zeromq refuses concurrent sends with EBUSY). */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.forwards.length > 0) {
        const messages = this.queue;
        const forwards = this.forwards;
        this.queue = [];
        this.forwards = [];
        try {
          await this.dealer.send(encodeRaftBatch({ messages, forwards }));
          this.stats.sentBatches += 1;
          this.stats.sentMessages += messages.length;
        } catch {
          // EAGAIN: the peer is unreachable right now; EBADF: closing. Raft (and forwarders) retry.
          this.stats.droppedMessages += messages.length + forwards.length;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  close(): void {
    this.queue = [];
    this.forwards = [];
    this.dealer.close();
  }
}

export class ZmqRaftTransport implements RaftTransport {
  readonly stats: TransportStats = { sentBatches: 0, sentMessages: 0, droppedMessages: 0, receivedMessages: 0,
    rejectedFrames: 0 };
  private readonly router: Router;
  private readonly peers = new Map<number, PeerLink>();
  private receiving: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: ZmqRaftTransportOptions) {
    this.router = new zmq.Router({ linger: 0, handover: true,
      maxMessageSize: options.frameBytesMax ?? 256 * 1024 * 1024 });
  }

  /** Binds the inbox and starts delivering decoded messages to `deliver`. */
  async start(deliver: (messages: readonly Message[]) => void, deliverForward?: ForwardHandler): Promise<void> {
    await this.router.bind(this.options.listen);
    this.receiving = this.receive(deliver, deliverForward);
  }

  private async receive(deliver: (messages: readonly Message[]) => void, deliverForward?: ForwardHandler):
    Promise<void> {
    for await (const frames of this.router) {
      const [identity, payload] = frames;
      const sender = Number(identity?.toString());
      if (frames.length !== 2 || payload === undefined || !Number.isSafeInteger(sender)) {
        this.reject('a frame that is not [sender, batch]', sender);
        continue;
      }
      let messages: readonly Message[];
      try {
        const batch = decodeRaftBatch(payload);
        messages = batch.messages;
        for (const forward of batch.forwards) deliverForward?.(sender, forward);
      } catch (error) {
        if (!(error instanceof RaftCodecError)) throw error;
        this.reject(error.message, sender);
        continue;
      }
      // A peer may only speak for itself and only to us.
      const valid = messages.filter((m) => m.from === sender && m.to === this.options.nodeId);
      if (valid.length !== messages.length) this.reject('messages not from the sending peer', sender);
      this.stats.receivedMessages += valid.length;
      if (valid.length > 0) deliver(valid);
    }
  }

  private reject(reason: string, sender: number): void {
    this.stats.rejectedFrames += 1;
    this.options.logger.warn({ sender, reason }, 'dropped a raft frame');
  }

  /** Adds (or re-addresses) a peer; its DEALER connects in the background and reconnects by itself. */
  setPeer(nodeId: number, announced: string): void {
    assert(nodeId !== this.options.nodeId, 'a node is not its own peer');
    const endpoint = this.options.dialOverrides?.get(nodeId) ?? announced;
    const known = this.peers.get(nodeId);
    if (known?.endpoint === endpoint) return;
    known?.close();
    if (endpoint !== announced) this.options.logger.warn({ nodeId, announced, endpoint }, 'dialing a peer through an override');
    const dealer = new zmq.Dealer({
      routingId: String(this.options.nodeId), immediate: true, sendTimeout: 0, sendHighWaterMark: 1000,
      linger: 0, heartbeatInterval: 100, heartbeatTimeout: 300, heartbeatTimeToLive: 300,
      reconnectInterval: 50, reconnectMaxInterval: 500,
    });
    dealer.connect(endpoint);
    this.peers.set(nodeId, new PeerLink(nodeId, endpoint, dealer, this.options.peerQueueMessagesMax ?? 10_000,
      this.stats));
  }

  removePeer(nodeId: number): void {
    this.peers.get(nodeId)?.close();
    this.peers.delete(nodeId);
  }

  /** Sends an opaque request to a peer's host, best effort (the caller retries until it sees the effect). */
  forward(nodeId: number, payload: Uint8Array): void {
    if (this.closed) return;
    const peer = this.peers.get(nodeId);
    if (peer === undefined) this.stats.droppedMessages += 1;
    else peer.enqueueForward(payload);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const message of messages) {
      const peer = this.peers.get(message.to);
      if (peer === undefined) {
        this.stats.droppedMessages += 1;
        continue;
      }
      peer.enqueue(message);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.router.close();
    await this.receiving;
  }
}
