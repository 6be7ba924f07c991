/**
 * One replica of `tributary bench floor` (floor_bench.ts): a process that does what a broker must
 * do for one acks=all write and nothing else. No Raft, no log, no codec: the same stack (Node,
 * ZeroMQ DEALER/ROUTER over TCP on 127.0.0.1, a write and an fdatasync on Node's thread pool into
 * a file zero-filled ahead, as the broker's journal does), so its round trip is the machine's floor
 * for Tributary's path.
 *
 * The leader's ROUTER takes the client's writes and the followers' acks; each replica has a DEALER
 * to every other one, as the Raft transport does (an answer travels on the answerer's own DEALER).
 * The leader writes and syncs a record while sending it to every follower, and answers the client
 * once its own sync and one follower's are done: a majority of three. A follower writes, syncs
 * and acks.
 *
 * The leader also echoes bytes on a plain TCP socket (node:net, no ZeroMQ) when given a port, so
 * the bench can tell what ZeroMQ adds to a hop.
 *
 * Run by floor_bench.ts: `node floor_replica.js <id> <port> <leaderId> <peers> <file> <fsync>
 * <echoPort>`, peers as `id@port,...`, echoPort 0 for none. Prints `ready` once bound; stops on
 * SIGTERM or when its parent is gone.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import * as zmq from 'zeromq';
import { assert } from '../../raft/core/assert.js';
import { watchParent } from '../../src/cli/parent_watch.js';
import { SendQueue } from '../../src/net/send_queue.js';
import { FLOOR_FILE_BYTES, FloorFrame, openZeroFilledFile } from './floor_protocol.js';

/** Messages one socket holds while an earlier send is under way (one write in flight needs one or two). */
const SEND_QUEUE_MAX = 1_024;

interface Pending {
  readonly client: Buffer;
  readonly sequence: Buffer;
  synced: boolean;
  acks: number;
}

class FloorReplica {
  private readonly router = new zmq.Router({ linger: 0 });
  private readonly dealers = new Map<number, { socket: zmq.Dealer; queue: SendQueue }>();
  private readonly routerQueue = new SendQueue(this.router, SEND_QUEUE_MAX);
  private readonly fd: number;
  private position = 0;
  private readonly pending = new Map<string, Pending>();
  private echoServer: net.Server | null = null;

  constructor(private readonly id: number, private readonly leaderId: number, file: string,
    private readonly fsync: boolean) {
    this.fd = openZeroFilledFile(file);
  }

  async start(port: number, peers: ReadonlyMap<number, number>, echoPort: number): Promise<void> {
    await this.router.bind(`tcp://127.0.0.1:${port}`);
    if (echoPort !== 0) this.echoServer = await listenEcho(echoPort);
    for (const [peerId, peerPort] of peers) {
      const dealer = new zmq.Dealer({ linger: 0, routingId: `r${this.id}` });
      dealer.connect(`tcp://127.0.0.1:${peerPort}`);
      this.dealers.set(peerId, { socket: dealer, queue: new SendQueue(dealer, SEND_QUEUE_MAX) });
    }
    void this.receive();
  }

  close(): void {
    this.echoServer?.close();
    this.router.close();
    for (const { socket } of this.dealers.values()) socket.close();
    fs.closeSync(this.fd);
  }

  private async receive(): Promise<void> {
    for await (const [sender, kind, sequence, payload] of this.router) {
      assert(sender !== undefined && kind !== undefined && sequence !== undefined, 'a floor frame has a kind and a sequence');
      switch (kind[0]) {
        case FloorFrame.echo:
          send(this.routerQueue, [sender, kind, sequence]);
          break;
        case FloorFrame.write:
          assert(this.id === this.leaderId && payload !== undefined, 'writes go to the leader, with a record');
          this.lead(sender, sequence, payload);
          break;
        case FloorFrame.replicate:
          assert(payload !== undefined, 'a replicated write carries its record');
          this.follow(sequence, payload);
          break;
        case FloorFrame.ack:
          this.acknowledged(sequence, 'follower');
          break;
        default:
          throw new Error(`unknown floor frame kind ${String(kind[0])}`);
      }
    }
  }

  private lead(client: Buffer, sequence: Buffer, record: Buffer): void {
    const key = sequence.toString('latin1');
    this.pending.set(key, { client, sequence, synced: false, acks: 0 });
    for (const { queue } of this.dealers.values()) send(queue, [FLOOR_REPLICATE, sequence, record]);
    this.writeAndSync(record, () => { this.acknowledged(sequence, 'leader'); });
  }

  private follow(sequence: Buffer, record: Buffer): void {
    const leader = this.dealers.get(this.leaderId);
    assert(leader !== undefined, 'a follower has a DEALER to the leader');
    this.writeAndSync(record, () => { send(leader.queue, [FLOOR_ACK, sequence]); });
  }

  private acknowledged(sequence: Buffer, by: 'leader' | 'follower'): void {
    const key = sequence.toString('latin1');
    const pending = this.pending.get(key);
    if (pending === undefined) return; // answered already: the second follower's ack
    if (by === 'leader') pending.synced = true;
    else pending.acks += 1;
    if (!pending.synced || pending.acks === 0) return;
    this.pending.delete(key);
    send(this.routerQueue, [pending.client, FLOOR_ANSWER, pending.sequence]);
  }

  private writeAndSync(record: Buffer, done: () => void): void {
    if (this.position + record.length > FLOOR_FILE_BYTES) this.position = 0;
    const written = fs.writeSync(this.fd, record, 0, record.length, this.position);
    assert(written === record.length, 'a floor record is written whole');
    this.position += written;
    if (!this.fsync) {
      setImmediate(done);
      return;
    }
    fs.fdatasync(this.fd, (error) => {
      if (error !== null) fatal(error);
      done();
    });
  }
}

/** A TCP server on 127.0.0.1 that sends every byte back at once (Nagle off, as ZeroMQ sets it). */
async function listenEcho(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => { socket.write(chunk); });
    socket.on('error', () => { socket.destroy(); });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function fatal(error: unknown): never {
  process.stderr.write(`floor replica: ${String(error)}\n`);
  process.exit(1);
}

/** Queues a message on a socket's single writer; a failed send ends the bench. */
function send(queue: SendQueue, frames: Buffer[]): void {
  queue.send(frames).catch(fatal);
}

const FLOOR_REPLICATE = Buffer.from([FloorFrame.replicate]);
const FLOOR_ACK = Buffer.from([FloorFrame.ack]);
const FLOOR_ANSWER = Buffer.from([FloorFrame.answer]);

function parsePeers(text: string): Map<number, number> {
  const peers = new Map<number, number>();
  for (const peer of text.split(',').filter((part) => part !== '')) {
    const [id, port] = peer.split('@').map(Number);
    assert(Number.isSafeInteger(id) && Number.isSafeInteger(port), () => `a peer is id@port, got ${peer}`);
    peers.set(id as number, port as number);
  }
  return peers;
}

async function main(): Promise<void> {
  const [id, port, leaderId, peers, file, fsync, echoPort] = process.argv.slice(2);
  assert(id !== undefined && port !== undefined && leaderId !== undefined && peers !== undefined
    && file !== undefined && fsync !== undefined && echoPort !== undefined,
  'usage: floor_replica <id> <port> <leaderId> <peers> <file> <fsync> <echoPort>');
  const replica = new FloorReplica(Number(id), Number(leaderId), file, fsync === 'true');
  await replica.start(Number(port), parsePeers(peers), Number(echoPort));
  const stop = (): void => {
    replica.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  watchParent(process.env, stop);
  process.stdout.write('ready\n');
}

await main();
