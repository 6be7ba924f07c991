/**
 * Fault-injecting TCP relays between brokers. Raft traffic from broker i to broker j goes out on
 * i's own connection to j (replies too travel on the replier's own connection), so one relay per
 * ordered pair (i, j) carries exactly the direction i -> j: cutting it is a one-way partition,
 * cutting both directions a full one. Client traffic never passes through a relay.
 *
 * A cut link destroys its live connections and refuses new ones (accepted, then destroyed at once)
 * until healed; ZeroMQ reconnects by itself once the link heals.
 *
 * The mesh covers brokers that may join later too (the membership nemesis): their relays exist
 * from the start, so every broker's --raft-dial names them, and a relay learns where its target
 * listens when that broker is started; until then it refuses connections as a cut link does.
 */
import net from 'node:net';
import { assert } from '../raft/core/assert.js';

const HOST = '127.0.0.1';

/** One directed link: listens on a port of its own and forwards to the target broker's Raft port. */
export class LinkRelay {
  private cutNow = false;
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly from: number, readonly to: number, readonly port: number,
    private readonly server: net.Server, private readonly targetPort: () => number | null) {
    server.on('connection', (socket) => { this.onConnection(socket); });
  }

  /** targetPort: where the target broker's Raft listener is now, null while it has none. */
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

  get isCut(): boolean {
    return this.cutNow;
  }

  cut(): void {
    this.cutNow = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.cutNow = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
  }

  private onConnection(inbound: net.Socket): void {
    const targetPort = this.targetPort();
    if (this.cutNow || targetPort === null) {
      inbound.destroy();
      return;
    }
    const outbound = net.connect({ host: HOST, port: targetPort, noDelay: true });
    this.sockets.add(inbound);
    this.sockets.add(outbound);
    const teardown = (): void => {
      inbound.destroy();
      outbound.destroy();
      this.sockets.delete(inbound);
      this.sockets.delete(outbound);
    };
    for (const socket of [inbound, outbound]) {
      socket.on('error', teardown);
      socket.on('close', teardown);
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.resume();
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

  /** The directed links cut now, as 'i->j'. */
  cutLinks(): string[] {
    return [...this.relays.entries()].filter(([, relay]) => relay.isCut).map(([name]) => name);
  }

  healAll(): void {
    for (const relay of this.relays.values()) relay.heal();
  }

  async close(): Promise<void> {
    await Promise.all([...this.relays.values()].map((relay) => relay.close()));
  }
}

function linkName(from: number, to: number): string {
  return `${from}->${to}`;
}
