/**
 * What the floor bench's processes share (floor_replica.ts, floor_bench.ts, loaded_floor.ts): their
 * messages, each [kind, sequence, payload...] with the ROUTER adding the sender's identity in front,
 * and the file a write is written and synced into.
 */
import fs from 'node:fs';

export enum FloorFrame {
  /** client -> leader: answered at once (the bare round trip). */
  echo = 1,
  /** client -> leader: a record, or a batch of records, to write on a majority. */
  write = 2,
  /** leader -> follower: the write to write and sync. */
  replicate = 3,
  /** follower -> leader: written and synced. */
  ack = 4,
  /** leader -> client: on a majority. */
  answer = 5,
  /** consumer -> leader: [fetch, after]; answered once a write sequenced after `after` is on a majority. */
  fetch = 6,
  /** leader -> consumer: [deliver, last, payload...], every write on a majority from after+1 to last. */
  deliver = 7,
}

/** A write's or a fetch's sequence frame: 8 bytes, little-endian. */
export function sequenceFrame(sequence: number): Buffer {
  const frame = Buffer.alloc(8);
  frame.writeBigUInt64LE(BigInt(sequence));
  return frame;
}

export function sequenceOf(frame: Buffer | undefined): number {
  if (frame?.length !== 8) throw new Error('a floor sequence frame is 8 bytes');
  return Number(frame.readBigUInt64LE(0));
}

/** A floor file's size: written round and round, zero-filled first, so a sync records no size change. */
export const FLOOR_FILE_BYTES = 16 * 1024 * 1024;

/** Opens `file` for writing, zero-filled to FLOOR_FILE_BYTES and synced, as the journal's files are. */
export function openZeroFilledFile(file: string): number {
  const fd = fs.openSync(file, 'w+');
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < FLOOR_FILE_BYTES; at += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, at);
  fs.fdatasyncSync(fd);
  return fd;
}
