/**
 * Raft messages between brokers over ZeroMQ: every node binds one ROUTER (its inbox) and keeps one
 * DEALER per peer (its outbox), all groups multiplexed on them. Every message, responses included,
 * is one-way: a reply goes out on the replier's own DEALER to the asker. The receiver learns the
 * sender from the ROUTER's identity frame (the DEALER's routingId is the sender's node id).
 *
 * What one peer's messages of one event-loop turn become: a single multipart message, the DEALER
 * sending [header, payload...] and the ROUTER receiving [identity, header, payload...], with the
 * header and payload frames of raft_codec.ts. Entry payloads are neither copied nor re-encoded on
 * the way; a multipart message holds at most `batchFramesMax` payload frames, so a turn with more
 * goes out as several. A multipart message that does not decode is dropped whole.
 *
 * Connections and their direction (what a relay placed on a link sees; see `dialOverrides`): the
 * TCP connection i->j is opened by i's DEALER to j's ROUTER and carries only i's messages to j.
 * j never sends on its ROUTER; its answers travel on the separate connection j->i that j's own
 * DEALER dials. Bytes still flow both ways on i->j at the ZMTP level: the handshake, and PONGs
 * answering i's heartbeat PINGs (every `pingIntervalMs`, 100 ms by default). i drops the connection
 * when no byte comes back within three pings (heartbeatTimeout), and j drops it after as long
 * without a byte (heartbeatTimeToLive),
 * so a relay must forward both directions, and stalling either one for longer cuts the link i->j.
 * A redial that gets no answer (a silent link drops the SYN or the greeting) is given up after 1 s
 * (connect timeout, handshake interval) and retried every 50..500 ms, so a healed link carries
 * messages again within about 1.5 s however long it was silent.
 *
 * CURVE (optional, `curve`): the ROUTER is a CURVE server whose handshakes the process's ZAP
 * handler decides (only registered peers' keys), and each DEALER checks its peer's public key. Since
 * a received message does not say which key its connection authenticated, every multipart message
 * starts with a token frame proving the sender's key to this receiver (src/security/auth_token.ts):
 * [token, header, payload...]. A message whose token is no peer's, or another peer's than the
 * routing id it claims, is dropped and counted (rejectedTokens), so a registered broker cannot
 * speak for another. The token computations live with the caller: raft/ does no crypto.
 *
 * Down peers never block the others and never grow memory: a DEALER with `immediate` and a zero
 * send timeout refuses at once (EAGAIN) while its peer is unreachable, and the message is dropped —
 * Raft resends on its next heartbeat or append. Each peer's queue is bounded too.
 */
import type { Dealer, Router } from 'zeromq';
import * as zmq from 'zeromq';
import type { Message } from '../core/index.js';
import { assert, assertNatural } from '../core/assert.js';
import type { ForwardHandler, RaftTransport, TransportLogger } from '../host/transport.js';
import { RaftCodecError, decodeRaftBatch, encodeRaftBatch, payloadFrameCount } from './raft_codec.js';
import type { RaftBatch } from './raft_codec.js';

const BATCH_FRAMES_MAX_DEFAULT = 65_536;
/** How long a connect, and then a ZMTP handshake, may take before the attempt is abandoned and redialed. */
const LINK_SETUP_MS = 1_000;
const PING_INTERVAL_MS_DEFAULT = 100;
/**
 * A link that sent nothing for this long is idle: flush() sends its queue at once. At a light load
 * a write's append then leaves before the leader writes it; under load a link sends every turn
 * and keeps one batch per turn, which is what sustains the peak.
 */
const IDLE_LINK_MS = 1;

export interface ZmqRaftTransportOptions {
  readonly nodeId: number;
  /** Endpoint to bind, e.g. tcp://127.0.0.1:19091. */
  readonly listen: string;
  readonly logger: TransportLogger;
  /** Messages waiting for one peer; beyond it new ones are dropped (Raft retries). */
  readonly peerQueueMessagesMax?: number;
  /** Largest frame (a batch header, or one entry's payload) accepted from a peer. */
  readonly frameBytesMax?: number;
  /**
   * Payload frames (entries) in one multipart message, sent and accepted; a turn with more is sent
   * as several. The default holds the largest append Raft makes with its default appendBytesMax
   * (1 MiB of entries of at least 24 bytes each), which must fit in one.
   */
  readonly batchFramesMax?: number;
  /**
   * Per peer, the endpoint to dial instead of the one it announces (a fault-injecting relay in
   * tests). Applied in setPeer, which every peer endpoint goes through.
   */
  readonly dialOverrides?: ReadonlyMap<number, string>;
  /**
   * ZMTP heartbeat of every link (the broker's Raft heartbeat interval): a connection with no byte
   * back within three of them is dropped and redialed. 100 ms by default.
   */
  readonly pingIntervalMs?: number;
  /** CURVE on every link, and a token on every message (see the header comment). */
  readonly curve?: RaftCurve;
}

/** What the transport needs for CURVE; the keys are Z85 text, the tokens come precomputed. */
export interface RaftCurve {
  readonly publicKey: string;
  readonly secretKey: string;
  /** The ZAP domain of the ROUTER, whose handler accepts only peers' keys. */
  readonly zapDomain: string;
  /** A peer's public key; undefined for a peer without one, which is then never dialed. */
  peerKey(nodeId: number): string | undefined;
  /** The token on messages to a peer (defined whenever peerKey is). */
  tokenFor(nodeId: number): Uint8Array | undefined;
  /** Which peer a received token proves, or undefined. */
  senderOf(token: Uint8Array): number | undefined;
}

/** A refused sender is logged at most once per this interval (then only counted). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface TransportStats {
  sentBatches: number;
  sentMessages: number;
  droppedMessages: number;
  receivedMessages: number;
  rejectedFrames: number;
  /** Messages dropped because their token was missing, unknown or another peer's (CURVE only). */
  rejectedTokens: number;
}

class PeerLink {
  private queue: Message[] = [];
  private forwards: Uint8Array[] = [];
  /** A send is under way (flush runs); flushScheduled: one is due at the end of this turn. */
  private flushing = false;
  private flushScheduled = false;
  private lastSentMs = -Infinity;

  constructor(readonly nodeId: number, readonly endpoint: string, private readonly dealer: Dealer,
    private readonly queueMessagesMax: number, private readonly batchFramesMax: number,
    private readonly stats: TransportStats, private readonly token: Uint8Array | undefined) {}

  /** Queues a message that fits one multipart message on its own (the transport checked). */
  enqueue(message: Message): void {
    assert(payloadFrameCount(message) <= this.batchFramesMax, 'a message fits one multipart message');
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
    if (!this.flushing && !this.flushScheduled) {
      this.flushScheduled = true;
      // Let every group's messages of this turn join one batch.
      setImmediate(() => {
        this.flushScheduled = false;
        if (this.flushing) return; // the send under way goes on with the queue
        this.flushing = true;
        void this.flush();
      });
    }
  }

  /**
   * Starts sending what is queued if the link is idle: nothing sent for IDLE_LINK_MS and no send
   * under way. A busy link keeps gathering its messages into one send per turn.
   */
  flushIfIdle(): void {
    if (this.flushing || (this.queue.length === 0 && this.forwards.length === 0)) return;
    if (performance.now() - this.lastSentMs < IDLE_LINK_MS) return;
    this.flushing = true;
    void this.flush();
  }

  /** The single writer of this DEALER (zeromq refuses concurrent sends with EBUSY). */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.forwards.length > 0) {
        const batch = this.takeBatch();
        const encoded = encodeRaftBatch(batch);
        const frames = this.token === undefined ? encoded : [this.token, ...encoded];
        try {
          this.lastSentMs = performance.now();
          await this.dealer.send(frames);
          this.stats.sentBatches += 1;
          this.stats.sentMessages += batch.messages.length;
        } catch {
          // EAGAIN: the peer is unreachable right now; EBADF: closing. Raft (and forwarders) retry.
          this.stats.droppedMessages += batch.messages.length + batch.forwards.length;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The queued messages that fit one multipart message, in order and at least one, with every forward. */
  private takeBatch(): RaftBatch {
    let frames = 0;
    let taken = 0;
    for (const message of this.queue) {
      frames += payloadFrameCount(message);
      if (frames > this.batchFramesMax) break;
      taken += 1;
    }
    assert(taken > 0 || this.queue.length === 0, 'every queued message fits one multipart message');
    const all = taken === this.queue.length;
    const batch = { messages: all ? this.queue : this.queue.slice(0, taken), forwards: this.forwards };
    this.queue = all ? [] : this.queue.slice(taken);
    this.forwards = [];
    return batch;
  }

  close(): void {
    this.queue = [];
    this.forwards = [];
    this.dealer.close();
  }
}

export class ZmqRaftTransport implements RaftTransport {
  readonly stats: TransportStats = { sentBatches: 0, sentMessages: 0, droppedMessages: 0, receivedMessages: 0,
    rejectedFrames: 0, rejectedTokens: 0 };
  private readonly router: Router;
  private readonly peers = new Map<number, PeerLink>();
  private receiving: Promise<void> | null = null;
  private closed = false;
  private readonly batchFramesMax: number;
  /** When each refused sender (or keyless peer) was last logged. */
  private readonly refusalsLogged = new Map<string, number>();

  constructor(private readonly options: ZmqRaftTransportOptions) {
    this.batchFramesMax = assertNatural(options.batchFramesMax ?? BATCH_FRAMES_MAX_DEFAULT, 'batchFramesMax');
    assert(this.batchFramesMax > 0, 'batchFramesMax >= 1');
    const curve = options.curve;
    this.router = new zmq.Router({ linger: 0, handover: true, handshakeInterval: LINK_SETUP_MS,
      maxMessageSize: options.frameBytesMax ?? 256 * 1024 * 1024,
      ...(curve === undefined ? {}
        : { curveServer: true, curveSecretKey: curve.secretKey, zapDomain: curve.zapDomain }) });
  }

  /** Binds the inbox and starts delivering decoded messages to `deliver`. */
  async start(deliver: (messages: readonly Message[]) => void, deliverForward?: ForwardHandler): Promise<void> {
    await this.router.bind(this.options.listen);
    this.receiving = this.receive(deliver, deliverForward);
  }

  private async receive(deliver: (messages: readonly Message[]) => void, deliverForward?: ForwardHandler):
    Promise<void> {
    // With CURVE a token frame comes between the routing id and the header.
    const headerIndex = this.options.curve === undefined ? 1 : 2;
    for await (const frames of this.router) {
      const identity = frames[0];
      const header = frames[headerIndex];
      const sender = Number(identity?.toString());
      if (header === undefined || !Number.isSafeInteger(sender)) {
        this.reject('a message that is not [sender, header, payload...]', sender);
        continue;
      }
      if (!this.tokenMatches(sender, frames[1])) continue;
      // zeromq bounds each frame (maxMessageSize), not how many a message has.
      const payloadFrames = frames.length - headerIndex - 1;
      if (payloadFrames > this.batchFramesMax) {
        this.reject(`${payloadFrames} payload frames, more than the ${this.batchFramesMax} of a batch`, sender);
        continue;
      }
      let batch: RaftBatch;
      try {
        batch = decodeRaftBatch(header, frames.slice(headerIndex + 1));
      } catch (error) {
        if (!(error instanceof RaftCodecError)) throw error;
        this.reject(error.message, sender);
        continue;
      }
      for (const forward of batch.forwards) deliverForward?.(sender, forward);
      // A peer may only speak for itself and only to us.
      const valid = batch.messages.filter((m) => m.from === sender && m.to === this.options.nodeId);
      if (valid.length !== batch.messages.length) this.reject('messages not from the sending peer', sender);
      this.stats.receivedMessages += valid.length;
      if (valid.length > 0) deliver(valid);
    }
  }

  /** CURVE: the token frame proves the sender's key and names the peer the routing id claims. */
  private tokenMatches(sender: number, token: Buffer | undefined): boolean {
    const curve = this.options.curve;
    if (curve === undefined) return true;
    const owner = token === undefined ? undefined : curve.senderOf(token);
    if (owner === sender) return true;
    this.stats.rejectedTokens += 1;
    this.logRateLimited(`token ${sender}`, { sender, tokenOwner: owner ?? null, rejectedTokens: this.stats.rejectedTokens },
      owner === undefined ? 'dropped a raft message whose token is no peer\'s' : 'dropped a raft message claiming another peer\'s id');
    return false;
  }

  private logRateLimited(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.refusalsLogged.get(key);
    if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return;
    if (this.refusalsLogged.size > 1024) this.refusalsLogged.clear();
    this.refusalsLogged.set(key, now);
    this.options.logger.warn(fields, message);
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
    const curve = this.options.curve;
    const peerKey = curve?.peerKey(nodeId);
    const token = curve?.tokenFor(nodeId);
    if (curve !== undefined && (peerKey === undefined || token === undefined)) {
      // Unknown to --peer-keys: it could not prove who it is, nor we check it; messages to it are dropped.
      this.peers.delete(nodeId);
      this.logRateLimited(`keyless ${nodeId}`, { nodeId, endpoint }, 'not dialing a peer that has no key in --peer-keys');
      return;
    }
    if (endpoint !== announced) this.options.logger.warn({ nodeId, announced, endpoint }, 'dialing a peer through an override');
    // A silent peer: heartbeats drop the connection after three pings; a redial whose SYN or greeting
    // is lost (the link is still dead) is abandoned after 1 s by connectTimeout and
    // handshakeInterval (libzmq waits 30 s for a handshake by default, the kernel up to minutes
    // for a connect), so the first attempt after the heal starts within ~1.5 s of it.
    const pingMs = this.options.pingIntervalMs ?? PING_INTERVAL_MS_DEFAULT;
    const dealer = new zmq.Dealer({
      routingId: String(this.options.nodeId), immediate: true, sendTimeout: 0, sendHighWaterMark: 1000,
      linger: 0, heartbeatInterval: pingMs, heartbeatTimeout: 3 * pingMs, heartbeatTimeToLive: 3 * pingMs,
      reconnectInterval: 50, reconnectMaxInterval: 500, connectTimeout: LINK_SETUP_MS, handshakeInterval: LINK_SETUP_MS,
      ...(curve === undefined || peerKey === undefined ? {}
        : { curveServerKey: peerKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
    });
    dealer.connect(endpoint);
    this.peers.set(nodeId, new PeerLink(nodeId, endpoint, dealer, this.options.peerQueueMessagesMax ?? 10_000,
      this.batchFramesMax, this.stats, token));
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
      const entries = payloadFrameCount(message);
      if (entries > this.batchFramesMax) {
        // Only an appendBytesMax far above the default makes appends this long; no peer would take it.
        this.stats.droppedMessages += 1;
        this.options.logger.warn({ nodeId: message.to, groupId: message.groupId, entries,
          batchFramesMax: this.batchFramesMax }, 'dropped an append with more entries than a batch holds');
        continue;
      }
      peer.enqueue(message);
    }
  }

  flush(): void {
    for (const peer of this.peers.values()) peer.flushIfIdle();
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
