/**
 * The harness's link relays over plain sockets: an open link forwards both ways, a silent one
 * carries nothing either way yet closes nothing, and its heal delivers what was held in order;
 * connections it accepts while silent stay mute for good; a cut one destroys and refuses; a delay
 * holds every chunk at least that long.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LinkRelay } from '../../jepsen/relay.js';

const QUIET_MS = 300;
const WAIT_MS = 3_000;

/** A target server that records its accepted sockets and echoes nothing. */
class Target {
  readonly sockets: net.Socket[] = [];
  private constructor(readonly server: net.Server, readonly port: number) {
    server.on('connection', (socket) => { this.sockets.push(socket); });
  }

  static async open(): Promise<Target> {
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
    const address = server.address();
    assert(address !== null && typeof address !== 'string');
    return new Target(server, address.port);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
  }
}

/** Everything a socket has received so far, and whether it closed. */
function record(socket: net.Socket): { text: () => string; closed: () => boolean } {
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  socket.on('close', () => { closed = true; });
  socket.on('error', () => { closed = true; });
  return { text: () => text, closed: () => closed };
}

async function until(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function dial(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  return socket;
}

describe('LinkRelay', () => {
  let target: Target;
  let relay: LinkRelay;
  const opened: net.Socket[] = [];

  before(async () => {
    target = await Target.open();
    relay = await LinkRelay.open(1, 2, () => target.port);
  });
  after(async () => {
    for (const socket of opened) socket.destroy();
    await relay.close();
    await target.close();
  });

  async function connectPair(): Promise<{ client: net.Socket; server: net.Socket }> {
    const known = target.sockets.length;
    const client = await dial(relay.port);
    opened.push(client);
    await until(() => target.sockets.length > known, 'the target to accept');
    const server = target.sockets[known];
    assert(server !== undefined);
    return { client, server };
  }

  it('forwards both ways while open', async () => {
    relay.heal();
    const { client, server } = await connectPair();
    const atServer = record(server);
    const atClient = record(client);
    client.write('ping');
    server.write('pong');
    await until(() => atServer.text() === 'ping' && atClient.text() === 'pong', 'both directions');
  });

  it('carries nothing while silent, closes nothing, and delivers the held bytes in order at the heal', async () => {
    relay.heal();
    const { client, server } = await connectPair();
    const atServer = record(server);
    const atClient = record(client);
    client.write('a');
    await until(() => atServer.text() === 'a', 'the first byte');
    relay.silence();
    assert.equal(relay.state, 'silent');
    client.write('b');
    client.write('c');
    server.write('x');
    await sleep(QUIET_MS);
    assert.equal(atServer.text(), 'a', 'nothing passes towards the target');
    assert.equal(atClient.text(), '', 'nothing passes back either');
    assert(!atServer.closed() && !atClient.closed(), 'a silent link closes nothing');
    relay.heal();
    client.write('d');
    await until(() => atServer.text() === 'abcd' && atClient.text() === 'x', 'the held bytes, then new ones');
  });

  it('accepts a new connection while silent and never dials it through, even after the heal', async () => {
    relay.silence();
    const known = target.sockets.length;
    const client = await dial(relay.port);
    opened.push(client);
    const atClient = record(client);
    client.write('hello');
    await sleep(QUIET_MS);
    assert.equal(target.sockets.length, known, 'the target sees no connection through a silent link');
    assert(!atClient.closed(), 'the dialer keeps its connection');
    relay.heal();
    await sleep(QUIET_MS);
    assert.equal(target.sockets.length, known, 'a connect whose SYN was lost stays lost');
    assert(!atClient.closed(), 'and nothing tells the dialer so');
    const { client: later, server } = await connectPair();
    const atServer = record(server);
    later.write('again');
    await until(() => atServer.text() === 'again', 'a connection made after the heal to carry bytes');
  });

  it('forgets a connection accepted while silent once its dialer gives up', async () => {
    relay.silence();
    const known = target.sockets.length;
    const relayed = relay.connectionCount;
    const client = await dial(relay.port);
    await until(() => relay.connectionCount === relayed + 1, 'the relay to accept it');
    client.destroy();
    await until(() => relay.connectionCount === relayed, 'the relay to forget it');
    relay.heal();
    await sleep(QUIET_MS);
    assert.equal(target.sockets.length, known, 'a connection accepted while silent is never dialed');
  });

  it('destroys its connections when cut and refuses new ones until healed', async () => {
    relay.heal();
    const { client } = await connectPair();
    const atClient = record(client);
    relay.cut();
    await until(() => atClient.closed(), 'the cut to close the connection');
    const known = target.sockets.length;
    const refused = net.connect({ host: '127.0.0.1', port: relay.port });
    const atRefused = record(refused);
    await until(() => atRefused.closed(), 'a new connection to be closed');
    assert.equal(target.sockets.length, known);
    relay.heal();
    await connectPair();
  });

  it('holds every chunk for its delay', async () => {
    relay.heal();
    const { client, server } = await connectPair();
    const atServer = record(server);
    relay.setDelay(150);
    try {
      const sentAt = Date.now();
      client.write('slow');
      await until(() => atServer.text() === 'slow', 'the delayed chunk');
      const elapsed = Date.now() - sentAt;
      assert(elapsed >= 145, `the chunk arrived after ${elapsed} ms, under its 150 ms delay`);
    } finally {
      relay.setDelay(0);
    }
  });

  it('keeps a stream in order under jitter and loss, holding later chunks behind a lost one', async () => {
    relay.heal();
    const { client, server } = await connectPair();
    const atServer = record(server);
    relay.setDelay(5, 40);
    relay.setLoss(0.2);
    try {
      const expected: string[] = [];
      const startedAt = Date.now();
      for (let i = 0; i < 40; i++) {
        const piece = `<${i}>`;
        expected.push(piece);
        client.write(piece);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await until(() => atServer.text() === expected.join(''), 'every chunk, in order', 10_000);
      assert(Date.now() - startedAt >= 200, 'the stream was late');
    } finally {
      relay.setDelay(0);
      relay.setLoss(0);
    }
  });

  it('draws each chunk\'s delay: base plus jitter, and a 200-400 ms retransmission when lost', () => {
    relay.setDelay(10, 20);
    relay.setLoss(0.25);
    try {
      const draws = Array.from({ length: 2_000 }, () => relay.chunkDelayMs());
      const lost = draws.filter((ms) => ms >= 200);
      assert(draws.every((ms) => ms >= 10 && ms < 30 + 400), 'every draw within base + jitter + one retransmission');
      assert(draws.filter((ms) => ms < 30).every((ms) => ms >= 10), 'jitter adds, never subtracts');
      assert(lost.length > 400 && lost.length < 600, `about a quarter lost: ${lost.length} of 2000`);
    } finally {
      relay.setDelay(0);
      relay.setLoss(0);
    }
    assert.equal(relay.chunkDelayMs(), 0, 'healed: at once');
  });
});
