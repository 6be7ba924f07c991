/**
 * `tributary bench floor`: the machine's floor for one acks=all write, to hold Tributary's
 * one-record-in-flight latency against. Three processes (floor_replica.ts) do only what the path
 * needs on the same stack: the client's record to the leader over ZeroMQ, the leader's write and
 * fdatasync in parallel with sending it to two followers, a follower's write and fdatasync and
 * its ack, the answer to the client. Measured one record in flight, with the parts on their own:
 * - `roundTrip`: client -> leader -> client, nothing done (two of the four hops);
 * - `roundTripPlainTcp`: the same two hops over a plain TCP socket (node:net), what the hops would
 *   cost without ZeroMQ's I/O thread in between, for comparison;
 * - `sync`: a 100-byte write and fdatasync through Node's thread pool in this process, alone;
 * - `replicatedWrite`: the whole path; with `fsync: false`, the same without the fdatasyncs.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import * as zmq from 'zeromq';
import { assert } from '../../raft/core/assert.js';
import { LatencyRecorder } from '../latency.js';
import type { LatencySummaryMs } from '../latency.js';
import { onCluster } from './floor_cluster.js';
import { FLOOR_FILE_BYTES, FloorFrame, openZeroFilledFile } from './floor_protocol.js';

export interface FloorBenchOptions {
  /** How long each measured part runs. */
  readonly durationMs: number;
  readonly recordBytes: number;
  /** Where the replicas' files go (default: the OS temp folder). */
  readonly directory?: string;
}

export interface FloorBenchResult {
  readonly recordBytes: number;
  readonly roundTrip: LatencySummaryMs;
  readonly roundTripPlainTcp: LatencySummaryMs;
  readonly sync: LatencySummaryMs;
  readonly replicatedWrite: LatencySummaryMs;
  readonly replicatedWriteWithoutFsync: LatencySummaryMs;
}

const WARM_UP_ROUNDS = 500;
/** The one-in-flight parts' replicas: no consumer fetches from them. */
const SYNCED = { fsync: true, consumer: false } as const;
const ANSWER_TIMEOUT_MS = 5_000;

/**
 * Runs `round` one at a time: WARM_UP_ROUNDS of them unmeasured, then as many as fit the duration;
 * the latency of each measured one.
 */
async function timedRounds(options: FloorBenchOptions, round: (n: number) => Promise<void>):
  Promise<LatencySummaryMs> {
  const latency = new LatencyRecorder();
  let deadline = Infinity;
  for (let n = 0; performance.now() < deadline; n += 1) {
    if (n === WARM_UP_ROUNDS) deadline = performance.now() + options.durationMs;
    const startedAt = performance.now();
    await round(n);
    if (n >= WARM_UP_ROUNDS) latency.recordMs(performance.now() - startedAt);
  }
  return latency.summary();
}

/** Sends `kind` frames to the leader one at a time for the duration; the latency of each answer. */
async function oneInFlight(leaderPort: number, kind: FloorFrame, options: FloorBenchOptions):
  Promise<LatencySummaryMs> {
  const client = new zmq.Dealer({ linger: 0, receiveTimeout: ANSWER_TIMEOUT_MS });
  client.connect(`tcp://127.0.0.1:${leaderPort}`);
  const kindFrame = Buffer.from([kind]);
  const sequence = Buffer.alloc(8);
  const record = Buffer.alloc(options.recordBytes, 0x61);
  try {
    return await timedRounds(options, async (n) => {
      sequence.writeBigUInt64LE(BigInt(n));
      await client.send(kind === FloorFrame.write ? [kindFrame, sequence, record] : [kindFrame, sequence]);
      const [, answered] = await client.receive();
      assert(answered?.equals(sequence) === true, 'each answer is to the record in flight');
    });
  } finally {
    client.close();
  }
}

/** The echo round trip of oneInFlight over a plain TCP socket to the leader: each frame's bytes back. */
async function oneInFlightPlainTcp(echoPort: number, options: FloorBenchOptions): Promise<LatencySummaryMs> {
  const socket = net.connect(echoPort, '127.0.0.1');
  socket.setNoDelay(true);
  const frame = Buffer.alloc(1 + 8); // a kind and a sequence, as the ZeroMQ echo carries
  frame[0] = FloorFrame.echo;
  let received: Buffer[] = [];
  let receivedBytes = 0;
  let answered: ((error?: Error) => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk);
    receivedBytes += chunk.length;
    if (receivedBytes >= frame.length) answered?.();
  });
  socket.on('error', (error) => { answered?.(error); });
  try {
    await once(socket, 'connect');
    return await timedRounds(options, async (n) => {
      frame.writeBigUInt64LE(BigInt(n), 1);
      received = [];
      receivedBytes = 0;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('the TCP echo did not answer in time')); }, ANSWER_TIMEOUT_MS);
        answered = (error) => {
          clearTimeout(timer);
          answered = null;
          if (error === undefined) resolve();
          else reject(error);
        };
        socket.write(frame);
      });
      assert(Buffer.concat(received).equals(frame), 'the echo returns the frame in flight, byte for byte');
    });
  } finally {
    socket.destroy();
  }
}

/** A write and fdatasync of one record at a time in this process, through Node's thread pool. */
async function syncAlone(directory: string, options: FloorBenchOptions): Promise<LatencySummaryMs> {
  const folder = fs.mkdtempSync(path.join(directory, 'tributary-floor-sync-'));
  const fd = openZeroFilledFile(path.join(folder, 'sync.log'));
  const record = Buffer.alloc(options.recordBytes, 0x61);
  let position = 0;
  try {
    return await timedRounds(options, async () => {
      if (position + record.length > FLOOR_FILE_BYTES) position = 0;
      fs.writeSync(fd, record, 0, record.length, position);
      position += record.length;
      await new Promise<void>((resolve, reject) => {
        fs.fdatasync(fd, (error) => { if (error === null) resolve(); else reject(error); });
      });
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

export async function runFloorBench(options: FloorBenchOptions): Promise<FloorBenchResult> {
  assert(options.durationMs > 0 && options.recordBytes >= 8, 'a positive duration and records of at least 8 bytes');
  const directory = options.directory ?? os.tmpdir();
  const { roundTrip, roundTripPlainTcp, replicatedWrite } = await onCluster(directory, SYNCED, async (cluster) => ({
    roundTrip: await oneInFlight(cluster.firstPort, FloorFrame.echo, options),
    roundTripPlainTcp: await oneInFlightPlainTcp(cluster.echoPort, options),
    replicatedWrite: await oneInFlight(cluster.firstPort, FloorFrame.write, options),
  }));
  const replicatedWriteWithoutFsync = await onCluster(directory, { ...SYNCED, fsync: false },
    (cluster) => oneInFlight(cluster.firstPort, FloorFrame.write, options));
  const sync = await syncAlone(directory, options);
  return { recordBytes: options.recordBytes, roundTrip, roundTripPlainTcp, sync, replicatedWrite,
    replicatedWriteWithoutFsync };
}
