/**
 * One replica of `tributary bench floor` (floor_bench.ts, loaded_floor.ts): a process that does what
 * a broker must do for an acks=all write and nothing else. No Raft, no log, no codec: the same stack
 * (Node, ZeroMQ DEALER/ROUTER over TCP on 127.0.0.1, a write and an fdatasync on Node's thread pool
 * into a file zero-filled ahead, as the broker's journal does), so its round trip is the machine's
 * floor for Tributary's path.
 *
 * Every replica leads the writes sent to it and follows the others', as each broker leads some
 * partitions and follows the rest. The ROUTER takes clients' writes and fetches and the peers'
 * writes to follow and acks; each replica has a DEALER to every other one, as the Raft transport
 * does (an answer travels on the answerer's own DEALER). A leader writes and syncs a write while
 * sending it to every follower, and answers the client once its own sync and one follower's are
 * done: a majority of three. A follower writes, syncs and acks to the replica that sent it.
 *
 * A consumer long-polls a leader as a Fetch does: [fetch, after] is answered with every write from
 * after+1 on that is on a majority, at once if there is one, else at the next. Writes are kept for
 * it only when the replica is started for a consumer (the one-in-flight parts have none), from its
 * first write on whenever the consumer connects, and dropped when a fetch shows they were received;
 * one consumer per leader.
 *
 * The replica that is given an echo port also echoes bytes on a plain TCP socket (node:net, no
 * ZeroMQ), so the bench can tell what ZeroMQ adds to a hop.
 *
 * Run by floor_cluster.ts: `node floor_replica.js <id> <port> <peers> <file> <fsync> <echoPort>
 * <consumer>`, peers as `id@port,...`, echoPort 0 for none. Prints `ready` once bound; stops on
 * SIGTERM or when its parent is gone.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import * as zmq from 'zeromq';
import { assert } from '../../raft/core/assert.js';
import { watchParent } from '../../src/cli/parent_watch.js';
import { SendQueue } from '../../src/net/send_queue.js';
import { FLOOR_FILE_BYTES, FloorFrame, openZeroFilledFile, sequenceFrame, sequenceOf } from './floor_protocol.js';

/** Messages one socket holds while an earlier send is under way (one write in flight needs one or two). */
const SEND_QUEUE_MAX = 1_024;
/** Writes kept for a consumer that does not fetch them; past it the replica stops (the bench is broken). */
const UNDELIVERED_WRITES_MAX = 100_000;

interface Pending {
  readonly client: Buffer;
  readonly sequence: Buffer;
  readonly payload: Buffer;
  synced: boolean;
  acks: number;
}

/** A consumer's fetch waiting for the next write on a majority. */
interface ParkedFetch {
  readonly consumer: Buffer;
  readonly after: number;
}

class FloorReplica {
  private readonly router = new zmq.Router({ linger: 0 });
  private readonly dealers = new Map<number, { socket: zmq.Dealer; queue: SendQueue }>();
  private readonly routerQueue = new SendQueue(this.router, SEND_QUEUE_MAX);
  private readonly fd: number;
  private position = 0;
  private readonly pending = new Map<string, Pending>();
  /** Writes on a majority that the consumer has not received yet, by sequence (with `consumer` only). */
  private readonly undelivered = new Map<number, Buffer>();
  private parkedFetch: ParkedFetch | null = null;
  private echoServer: net.Server | null = null;

  constructor(private readonly id: number, file: string, private readonly fsync: boolean,
    private readonly consumer: boolean) {
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
          assert(payload !== undefined, 'a write carries its records');
          this.lead(sender, sequence, payload);
          break;
        case FloorFrame.replicate:
          assert(payload !== undefined, 'a replicated write carries its records');
          this.follow(sender, sequence, payload);
          break;
        case FloorFrame.ack:
          this.acknowledged(sequence, 'follower');
          break;
        case FloorFrame.fetch:
          this.fetch(sender, sequenceOf(sequence));
          break;
        default:
          throw new Error(`unknown floor frame kind ${String(kind[0])}`);
      }
    }
  }

  private lead(client: Buffer, sequence: Buffer, payload: Buffer): void {
    const key = sequence.toString('latin1');
    assert(!this.pending.has(key), 'a write in flight is not sent again');
    this.pending.set(key, { client, sequence, payload, synced: false, acks: 0 });
    for (const { queue } of this.dealers.values()) send(queue, [FLOOR_REPLICATE, sequence, payload]);
    this.writeAndSync(payload, () => { this.acknowledged(sequence, 'leader'); });
  }

  private follow(leaderIdentity: Buffer, sequence: Buffer, payload: Buffer): void {
    const leader = this.dealers.get(peerIdOf(leaderIdentity));
    assert(leader !== undefined, 'a follower has a DEALER to the leader that sent it a write');
    this.writeAndSync(payload, () => { send(leader.queue, [FLOOR_ACK, sequence]); });
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
    if (!this.consumer) return;
    this.undelivered.set(sequenceOf(pending.sequence), pending.payload);
    if (this.undelivered.size > UNDELIVERED_WRITES_MAX) fatal(new Error('the consumer stopped fetching'));
    const parked = this.parkedFetch;
    if (parked !== null) {
      this.parkedFetch = null;
      this.fetch(parked.consumer, parked.after);
    }
  }

  /** Answers with every write on a majority from after+1 on, or parks the fetch until there is one. */
  private fetch(consumer: Buffer, after: number): void {
    assert(this.consumer, 'a replica started for a consumer is fetched from');
    for (const sequence of this.undelivered.keys()) {
      if (sequence <= after) this.undelivered.delete(sequence); // received: the fetch says so
    }
    const payloads: Buffer[] = [];
    let last = after;
    for (;;) {
      const payload = this.undelivered.get(last + 1);
      if (payload === undefined) break;
      payloads.push(payload);
      last += 1;
    }
    if (payloads.length === 0) {
      this.parkedFetch = { consumer, after };
      return;
    }
    send(this.routerQueue, [consumer, FLOOR_DELIVER, sequenceFrame(last), ...payloads]);
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
const FLOOR_DELIVER = Buffer.from([FloorFrame.deliver]);

/** A peer's DEALER announces itself as r<id>. */
function peerIdOf(identity: Buffer): number {
  const id = Number(identity.toString('latin1').slice(1));
  assert(Number.isSafeInteger(id), 'a peer\'s routing id is r<id>');
  return id;
}

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
  const [id, port, peers, file, fsync, echoPort, consumer] = process.argv.slice(2);
  assert(id !== undefined && port !== undefined && peers !== undefined && file !== undefined && fsync !== undefined
    && echoPort !== undefined && consumer !== undefined,
  'usage: floor_replica <id> <port> <peers> <file> <fsync> <echoPort> <consumer>');
  const replica = new FloorReplica(Number(id), file, fsync === 'true', consumer === 'true');
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
