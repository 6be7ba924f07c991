/**
 * Reads one partition back whole, as stored: every batch from offset 0 to the high watermark,
 * fetched from the partition's leader with the well-behaved Connection and left undecoded (the
 * checks decide how to decode). Leadership is looked up on each attempt; every loop is bounded.
 */
import { Connection } from '../../../src/client/connection.js';
import type { LocalCluster } from '../../../src/cli/local_cluster.js';
import { ERROR_TABLE } from '../../../src/common/errors.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { LAST_OFFSET_DELTA_OFFSET, splitBatches } from '../../../src/protocol/record_batch.js';

export interface StoredPartition {
  readonly highWatermark: number;
  /** Each stored batch, in offset order. */
  readonly batches: readonly Uint8Array[];
}

const FETCH_BYTES = 4 * 1024 * 1024;
const ATTEMPTS_MAX = 40;
const RETRY_MS = 250;
const FETCHES_MAX = 10_000;

/** The broker leading partition of topic according to any broker that knows, or null. */
export async function leaderOf(cluster: LocalCluster, topic: string, partition: number): Promise<number | null> {
  for (const id of cluster.ids()) {
    const connection = new Connection({ address: cluster.address(id), clientId: 'fuzz-reader', requestTimeoutMs: 5_000 });
    try {
      const { response } = await connection.request(API_KEYS.METADATA, { topics: [topic] });
      const found = response.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partition === partition);
      if (found !== undefined && found.leaderId > 0) return found.leaderId;
    } catch {
      // This broker does not answer now: ask the next.
    } finally {
      await connection.close();
    }
  }
  return null;
}

export async function readPartition(cluster: LocalCluster, topic: string, partition: number): Promise<StoredPartition> {
  let lastProblem = 'no attempt';
  for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    const leader = await leaderOf(cluster, topic, partition);
    if (leader === null) {
      lastProblem = 'no leader';
      continue;
    }
    const connection = new Connection({ address: cluster.address(leader), clientId: 'fuzz-reader', requestTimeoutMs: 10_000 });
    try {
      const read = await readFrom(connection, topic, partition);
      if (typeof read !== 'string') return read;
      lastProblem = read;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    } finally {
      await connection.close();
    }
  }
  throw new Error(`could not read ${topic}/${partition}: ${lastProblem}`);
}

/** The whole partition, or a string saying why the leader could not serve it (to retry). */
async function readFrom(connection: Connection, topic: string, partition: number): Promise<StoredPartition | string> {
  const batches: Uint8Array[] = [];
  let offset = 0;
  let highWatermark = -1;
  for (let fetches = 0; fetches < FETCHES_MAX; fetches++) {
    const reply = await connection.request(API_KEYS.FETCH, { maxWaitMs: 0, minBytes: 1, maxBytes: FETCH_BYTES,
      partitions: [{ topic, partition, fetchOffset: offset, partitionMaxBytes: FETCH_BYTES,
        currentLeaderEpoch: -1 }] });
    const result = reply.response.partitions[0];
    if (result === undefined) return 'an empty fetch response';
    if (result.errorCode !== 0) {
      const moved = result.errorCode === ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire
        || result.errorCode === ERROR_TABLE.LEADER_NOT_AVAILABLE.wire;
      if (moved) return `error ${result.errorCode}`;
      throw new Error(`fetch ${topic}/${partition} at ${offset}: error ${result.errorCode} ${result.errorMessage}`);
    }
    if (highWatermark === -1) highWatermark = result.highWatermark;
    if (offset >= highWatermark) return { highWatermark, batches };
    let progressed = false;
    for (const index of result.rawFrameIndexes) {
      const frame = reply.rawFrames[index];
      if (frame === undefined) throw new Error(`fetch names raw frame ${index} that is missing`);
      for (const slice of splitBatches(frame).batches) {
        if (slice.baseOffset < offset) continue;
        if (slice.baseOffset >= highWatermark) break;
        batches.push(Uint8Array.from(slice.bytes));
        const view = new DataView(slice.bytes.buffer, slice.bytes.byteOffset, slice.bytes.byteLength);
        offset = slice.baseOffset + view.getInt32(LAST_OFFSET_DELTA_OFFSET) + 1;
        progressed = true;
      }
    }
    if (!progressed) throw new Error(`fetch ${topic}/${partition} at ${offset} below ${highWatermark} returned nothing`);
  }
  throw new Error(`reading ${topic}/${partition} took over ${FETCHES_MAX} fetches`);
}
