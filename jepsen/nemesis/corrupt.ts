/**
 * corrupt: damage the tail of a segment on one broker at a time (a minority): kill -9 it, then in
 * the last segment file of one of its jepsen partitions either truncate up to 256 bytes off the
 * end or flip up to 3 bytes among the last 256; the broker stays down during the fault and is
 * restarted at the heal, when its recovery must cut the damaged tail and Raft refill it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import { parseSegmentFileName } from '../../storage/paths.js';
import type { Nemesis } from './nemesis.js';
import { pickOne } from './targets.js';

const TAIL_BYTES = 256;
const FLIPS_MAX = 3;

/** The last segment file of every jepsen partition in a broker's data folder. */
export function lastSegments(dataDirectory: string): string[] {
  const root = path.join(dataDirectory, 'partitions');
  if (!fs.existsSync(root)) return [];
  const files: string[] = [];
  for (const name of fs.readdirSync(root).filter((entry) => /^jepsen-\d+-\d+$/.test(entry)).sort()) {
    const segments = fs.readdirSync(path.join(root, name)).filter((file) => parseSegmentFileName(file) !== null).sort();
    const last = segments[segments.length - 1];
    if (last !== undefined) files.push(path.join(root, name, last));
  }
  return files;
}

/** Damages the file's tail; returns what was done, for the fault's description. */
export function damageTail(prng: Prng, file: string): string {
  const size = fs.statSync(file).size;
  if (size === 0) return 'empty segment, untouched';
  const span = Math.min(size, TAIL_BYTES);
  if (prng.nextFloat() < 0.5) {
    const cut = 1 + prng.nextInt(span);
    fs.truncateSync(file, size - cut);
    return `truncated ${cut} of ${size} bytes`;
  }
  const flips = 1 + prng.nextInt(FLIPS_MAX);
  const descriptor = fs.openSync(file, 'r+');
  try {
    const positions: number[] = [];
    for (let i = 0; i < flips; i += 1) {
      const position = size - 1 - prng.nextInt(span);
      const byte = Buffer.alloc(1);
      fs.readSync(descriptor, byte, 0, 1, position);
      byte[0] = (byte[0] ?? 0) ^ (1 + prng.nextInt(255));
      fs.writeSync(descriptor, byte, 0, 1, position);
      positions.push(position);
    }
    return `flipped bytes at ${positions.join(',')} of ${size}`;
  } finally {
    fs.closeSync(descriptor);
  }
}

/**
 * Damage persists (a broker may not recover from it), so the brokers ever damaged in a run stay a
 * minority: once a minority has been damaged, later faults pick among those brokers again. The
 * minority is of the brokers the run started with (brokers may join and leave), and a damaged
 * broker that was decommissioned no longer counts: its replicas moved off it first.
 */
export function createCorruptNemesis(): Nemesis {
  const damaged = new Set<number>();
  return { family: 'corrupt', plan: (context) => {
    const { cluster, prng } = context;
    const minority = Math.floor((cluster.startingIds().length - 1) / 2);
    const members = cluster.ids();
    for (const id of damaged) if (!members.includes(id)) damaged.delete(id);
    const id = pickOne(prng, damaged.size < minority ? members : [...damaged]);
    damaged.add(id);
    assert(damaged.size <= minority, 'corruption stays on a minority');
    const segments = lastSegments(cluster.dataDirectory(id));
    const file = segments.length === 0 ? null : pickOne(prng, segments);
    const where = file === null ? 'no jepsen segment yet' : path.relative(cluster.dataDirectory(id), file);
    return Promise.resolve({
      value: { family: 'corrupt', description: `corrupt ${id}: ${where}`, nodes: [id] },
      apply: async () => {
        await cluster.kill(id, 'SIGKILL');
        if (file !== null) cluster.note(id, `corrupt nemesis: ${where}: ${damageTail(prng, file)}`);
      },
      heal: () => {
        cluster.restart(id);
        return Promise.resolve();
      },
    });
  } };
}
