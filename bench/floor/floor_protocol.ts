/**
 * What the floor bench's processes share (floor_replica.ts, floor_bench.ts): their messages, each
 * [kind, sequence, record?] with the ROUTER adding the sender's identity in front, and the file a
 * record is written and synced into.
 */
import fs from 'node:fs';

export enum FloorFrame {
  /** client -> leader: answered at once (the bare round trip). */
  echo = 1,
  /** client -> leader: a record to write on a majority. */
  write = 2,
  /** leader -> follower: the record to write and sync. */
  replicate = 3,
  /** follower -> leader: written and synced. */
  ack = 4,
  /** leader -> client: on a majority. */
  answer = 5,
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
