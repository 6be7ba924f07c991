/** Test-side access to segment files and the LMDB maps, to damage them the way crashes do. */
import fs from 'node:fs';
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import { decodeFrameHeader, isFrameProblem } from '../../storage/frame.js';

export function segmentPaths(dataDirectory: string, log: string): string[] {
  const folder = path.join(dataDirectory, 'partitions', log);
  return fs.readdirSync(folder).filter((name) => name.endsWith('.log')).sort().map((name) => path.join(folder, name));
}

export interface FramePosition { index: number; position: number; frameBytes: number }

/** Frame positions of a segment file, read without the storage layer's recovery. */
export function framePositions(file: string): FramePosition[] {
  const bytes = fs.readFileSync(file);
  const frames: FramePosition[] = [];
  for (let position = 0; position < bytes.length;) {
    const header = decodeFrameHeader(bytes, position, bytes.length - position, 1 << 30);
    if (isFrameProblem(header)) break;
    frames.push({ index: header.index, position, frameBytes: header.frameBytes });
    position += header.frameBytes;
  }
  return frames;
}

export function flipByte(file: string, position: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, position);
    byte[0] = (byte[0] ?? 0) ^ 0x5a;
    fs.writeSync(fd, byte, 0, 1, position);
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes index-map entries for Raft indexes [from, to) of the log with id `logId`. */
export async function removeIndexEntries(dataDirectory: string, logId: number, from: number, to: number):
  Promise<void> {
  const root = openLmdb({ path: path.join(dataDirectory, 'index.lmdb'), maxDbs: 32 });
  const locations = root.openDB<unknown, [number, number]>({ name: 'locations' });
  await root.transaction(() => {
    for (let index = from; index < to; index += 1) void locations.remove([logId, index]);
  });
  await root.close();
}
