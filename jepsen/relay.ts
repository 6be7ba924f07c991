/**
 * Fault-injecting TCP relays between brokers. Raft traffic from broker i to broker j goes out on
 * i's own connection to j (replies too travel on the replier's own connection), so one relay per
 * ordered pair (i, j) carries exactly the direction i -> j: cutting it is a one-way partition,
 * cutting both directions a full one. Client traffic never passes through a relay.
 *
 * A link is open, cut or silent, and may add a delay:
 * - cut: its live connections are destroyed and new ones refused (accepted, then destroyed at
 *   once), as a closed port or a crashed host does; ZeroMQ reconnects by itself once it heals.
 * - silent: nothing is closed and nothing passes, in either direction, as a dead switch or a
 *   firewall dropping packets does. Live connections stay open but carry nothing; bytes sent on
 *   them meanwhile are held, not dropped, and delivered in order at the heal: on a real network
 *   TCP retransmits what the switch dropped, so a connection both ends still hold at the heal
 *   delivers everything late, never a stream with a hole in it. The relay stops reading while
 *   silent, so a sender's buffers fill as they would with no acks coming.
 *   New connections are accepted (the relay's kernel answers; a real dialer's SYN would go
 *   unanswered) and stay mute for good, even after the heal: the target never hears of them, as
 *   of a connect whose SYNs were all dropped, until the dialer gives up on the attempt (a real
 *   kernel would retry the SYN 1, 3, 7, 15, 31... s later; mute-for-good is that at its worst).
 *   So a dialer must bound a connect or handshake that makes no progress, or it waits for ever.
 * - delay: every chunk is forwarded that many milliseconds after it was read (a slow link), plus
 *   up to `jitterMs` more drawn per chunk; chunks still leave in order, as a TCP stream's bytes do
 *   however its packets travel (a chunk drawn early waits for the one before it).
 * - loss: each chunk is lost with probability `lossRate` and "retransmitted" after a TCP
 *   retransmission timeout (200-400 ms, Linux's minimum RTO and its first backoff), holding up
 *   every chunk behind it: what packet loss does to a TCP stream (head-of-line blocking), never a
 *   hole in it.
 *
 * The mesh covers brokers that may join later too (the membership nemesis): their relays exist
 * from the start, so every broker's --raft-dial names them, and a relay learns where its target
 * listens when that broker is started; until then it refuses connections as a cut link does.
 */
import net from 'node:net';
import { assert } from '../raft/core/assert.js';
import { SeededPrng } from '../raft/core/prng.js';
import type { Prng } from '../raft/core/prng.js';

/** A lost chunk arrives this much later, plus up to as much again (a retransmission). */
const RETRANSMIT_MS = 200;

const HOST = '127.0.0.1';

export type LinkState = 'open' | 'cut' | 'silent';

/** What a pipe asks of its link: whether it passes bytes now, and how late the next chunk goes. */
interface LinkConditions {
  readonly silent: boolean;
  /** Drawn per chunk: delay, jitter and a retransmission when the chunk is lost. 0: at once. */
  chunkDelayMs(): number;
}

/**
 * One direction of a relayed connection: chunks read from `source` are written to `target` after
 * the link's delay, or held while the link is silent. null in the queue stands for the end of the
 * stream. Backpressure: reading stops while the target's buffer is full or the link is silent.
 */
class Direction {
  private readonly held: (Buffer | null)[] = [];
  private awaitingDrain = false;
  /** Chunks waiting for their delay, in arrival order; due times never decrease. */
  private readonly delayed: { readonly dueMs: number; readonly chunk: Buffer | null }[] = [];

  constructor(private readonly source: net.Socket, private readonly target: net.Socket,
    private readonly link: LinkConditions) {
    source.on('data', (chunk: Buffer) => { this.arrive(chunk); });
    source.on('end', () => { this.arrive(null); });
    target.on('drain', () => {
      this.awaitingDrain = false;
      this.resumeReading();
    });
  }

  private arrive(chunk: Buffer | null): void {
    const nowMs = performance.now();
    const delayMs = this.link.chunkDelayMs();
    if (delayMs === 0 && this.delayed.length === 0) {
      this.deliver(chunk);
      return;
    }
    const last = this.delayed[this.delayed.length - 1];
    this.delayed.push({ dueMs: Math.max(last?.dueMs ?? 0, nowMs + delayMs), chunk });
    if (this.delayed.length === 1) this.armTimer();
  }

  /**
   * One timer for the head of the delayed queue, not one per chunk: timers of different lengths
   * set at different times do not fire in due order to the millisecond, and a stream must not be
   * reordered.
   */
  private armTimer(): void {
    const head = this.delayed[0];
    if (head === undefined) return;
    setTimeout(() => {
      const nowMs = performance.now();
      while (this.delayed.length > 0 && (this.delayed[0]?.dueMs ?? Infinity) <= nowMs + 0.5) {
        const due = this.delayed.shift();
        if (due !== undefined) this.deliver(due.chunk);
      }
      this.armTimer();
    }, Math.max(0, head.dueMs - performance.now()));
  }

  private deliver(chunk: Buffer | null): void {
    if (this.link.silent || this.held.length > 0) {
      this.held.push(chunk);
      this.source.pause();
      return;
    }
    this.write(chunk);
  }

  private write(chunk: Buffer | null): void {
    if (this.target.destroyed) return;
    if (chunk === null) {
      this.target.end();
      return;
    }
    if (!this.target.write(chunk)) {
      this.awaitingDrain = true;
      this.source.pause();
    }
  }

  /** The link went silent: stop reading (what is in flight is held when it lands). */
  silence(): void {
    this.source.pause();
  }

  /** The link passes bytes again: what was held goes first, in order, then reading resumes. */
  heal(): void {
    for (const chunk of this.held.splice(0)) this.write(chunk);
    this.resumeReading();
  }

  private resumeReading(): void {
    if (!this.link.silent && !this.awaitingDrain && this.held.length === 0 && !this.source.destroyed) {
      this.source.resume();
    }
  }
}

/** One relayed TCP connection: the dialer's (inbound) and the relay's to the target (outbound). */
class RelayedConnection {
  private directions: Direction[] = [];
  outbound: net.Socket | null = null;

  constructor(readonly inbound: net.Socket, private readonly link: LinkConditions,
    private readonly onClosed: (connection: RelayedConnection) => void) {
    inbound.on('error', () => { this.destroy(); });
    inbound.on('close', (hadError) => { this.closed(hadError); });
  }

  /**
   * Accepted while silent: never dialed through. What the dialer sends is read and discarded, so
   * that its giving up (a close) is noticed and the connection forgotten.
   */
  mute(): void {
    assert(this.outbound === null, 'only a connection never dialed is muted');
    this.inbound.on('data', () => undefined);
    this.inbound.resume();
  }

  /** Dials the target and starts forwarding both ways. */
  dial(targetPort: number): void {
    assert(this.outbound === null, 'a relayed connection dials once');
    const outbound = net.connect({ host: HOST, port: targetPort, noDelay: true });
    this.outbound = outbound;
    outbound.on('error', () => { this.destroy(); });
    outbound.on('close', (hadError) => { this.closed(hadError); });
    this.directions = [new Direction(this.inbound, outbound, this.link),
      new Direction(outbound, this.inbound, this.link)];
    if (this.link.silent) this.silence();
    else this.inbound.resume();
  }

  get dialed(): boolean {
    return this.outbound !== null;
  }

  silence(): void {
    for (const direction of this.directions) direction.silence();
  }

  heal(): void {
    for (const direction of this.directions) direction.heal();
  }

  destroy(): void {
    this.inbound.destroy();
    this.outbound?.destroy();
    this.onClosed(this);
  }

  /** A clean close of one side ends the other through its direction; an error destroys both. */
  private closed(hadError: boolean): void {
    if (hadError || this.outbound === null) this.destroy();
    else if (this.inbound.destroyed && this.outbound.destroyed) this.onClosed(this);
  }
}

/** One directed link: listens on a port of its own and forwards to the target's (a broker's Raft or client port). */
export class LinkRelay implements LinkConditions {
  private stateNow: LinkState = 'open';
  private delayNow = 0;
  private jitterNow = 0;
  private lossNow = 0;
  /** Draws jitter and loss; seeded by the link, so a link's draws repeat from run to run. */
  private readonly prng: Prng;
  private readonly connections = new Set<RelayedConnection>();

  private constructor(readonly from: number, readonly to: number, readonly port: number,
    private readonly server: net.Server, private readonly targetPort: () => number | null) {
    server.on('connection', (socket) => { this.onConnection(socket); });
    this.prng = new SeededPrng(from * 1_000 + to);
  }

  /** targetPort: where the target listens now, null while it does not. */
  static async open(from: number, to: number, targetPort: () => number | null): Promise<LinkRelay> {
    assert(from !== to, 'a relay links two different brokers');
    const server = net.createServer({ noDelay: true, pauseOnConnect: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => {
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('relay has no TCP address'));
        else resolve(address.port);
      });
    });
    return new LinkRelay(from, to, port, server, targetPort);
  }

  get state(): LinkState {
    return this.stateNow;
  }

  get isCut(): boolean {
    return this.stateNow !== 'open';
  }

  get silent(): boolean {
    return this.stateNow === 'silent';
  }

  get delayMs(): number {
    return this.delayNow;
  }

  get jitterMs(): number {
    return this.jitterNow;
  }

  get lossRate(): number {
    return this.lossNow;
  }

  chunkDelayMs(): number {
    let delayMs = this.delayNow;
    if (this.jitterNow > 0) delayMs += this.prng.nextFloat() * this.jitterNow;
    if (this.lossNow > 0 && this.prng.nextFloat() < this.lossNow) {
      delayMs += RETRANSMIT_MS * (1 + this.prng.nextFloat());
    }
    return delayMs;
  }

  /** Connections open through this link now (forwarding, or muted: accepted while silent). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Destroys every connection and refuses new ones until healed. */
  cut(): void {
    this.stateNow = 'cut';
    for (const connection of [...this.connections]) connection.destroy();
    this.connections.clear();
  }

  /** Stops forwarding in both directions without closing anything, until healed. */
  silence(): void {
    if (this.stateNow === 'cut') return;
    this.stateNow = 'silent';
    for (const connection of this.connections) connection.silence();
  }

  /** Forwards again, held bytes first; connections accepted while silent stay mute (see the header). */
  heal(): void {
    const wasSilent = this.stateNow === 'silent';
    this.stateNow = 'open';
    if (!wasSilent) return;
    for (const connection of this.connections) {
      if (connection.dialed) connection.heal();
    }
  }

  /** Every chunk is forwarded `ms` (plus up to `jitterMs`) after it was read, from now on (0: at once). */
  setDelay(ms: number, jitterMs = 0): void {
    assert(Number.isSafeInteger(ms) && ms >= 0, () => `a relay delay is a natural number of ms, not ${ms}`);
    assert(Number.isSafeInteger(jitterMs) && jitterMs >= 0,
      () => `a relay jitter is a natural number of ms, not ${jitterMs}`);
    this.delayNow = ms;
    this.jitterNow = jitterMs;
  }

  /** Each chunk is lost (and retransmitted 200-400 ms later) with this probability, from now on. */
  setLoss(rate: number): void {
    assert(rate >= 0 && rate < 1, () => `a loss rate is in [0, 1), not ${rate}`);
    this.lossNow = rate;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
  }

  private onConnection(inbound: net.Socket): void {
    const targetPort = this.targetPort();
    if (this.stateNow === 'cut' || (targetPort === null && this.stateNow === 'open')) {
      inbound.destroy();
      return;
    }
    const connection = new RelayedConnection(inbound, this, (closed) => { this.connections.delete(closed); });
    this.connections.add(connection);
    // Silent: accepted by the relay's kernel, but the target never hears of it.
    if (this.stateNow === 'open' && targetPort !== null) connection.dial(targetPort);
    else connection.mute();
  }
}

/** Every directed link between brokers: relay(i, j) is where broker i dials broker j. */
export class RelayMesh {
  private constructor(private readonly relays: ReadonlyMap<string, LinkRelay>) {}

  /** ids: every broker that may run (now or later); raftPortOf: where its Raft listener is, null before it has one. */
  static async open(ids: readonly number[], raftPortOf: (id: number) => number | null): Promise<RelayMesh> {
    const relays = new Map<string, LinkRelay>();
    for (const from of ids) {
      for (const to of ids) {
        if (from !== to) relays.set(linkName(from, to), await LinkRelay.open(from, to, () => raftPortOf(to)));
      }
    }
    return new RelayMesh(relays);
  }

  /** The `--raft-dial` value of broker `from`: id@host:port of its relay to every other broker. */
  dialArgument(from: number): string {
    return [...this.relays.values()].filter((relay) => relay.from === from)
      .map((relay) => `${relay.to}@${HOST}:${relay.port}`).join(',');
  }

  link(from: number, to: number): LinkRelay {
    const relay = this.relays.get(linkName(from, to));
    assert(relay !== undefined, () => `no relay ${from}->${to}`);
    return relay;
  }

  /** The directed links cut or silent now, as 'i->j'. */
  cutLinks(): string[] {
    return [...this.relays.entries()].filter(([, relay]) => relay.isCut).map(([name]) => name);
  }

  healAll(): void {
    for (const relay of this.relays.values()) relay.heal();
  }

  /** Adds `ms` to every link (a slow network between every pair of brokers). */
  setDelayAll(ms: number): void {
    for (const relay of this.relays.values()) relay.setDelay(ms);
  }

  async close(): Promise<void> {
    await Promise.all([...this.relays.values()].map((relay) => relay.close()));
  }
}

function linkName(from: number, to: number): string {
  return `${from}->${to}`;
}
