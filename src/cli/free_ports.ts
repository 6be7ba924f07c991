/**
 * Free TCP ports on 127.0.0.1 for clusters a process starts itself (tests, the bench, the harness).
 *
 * Letting the OS pick a port (listen on 0, close, hand the number on) races twice before the
 * broker binds it: another process may be handed the same number, and any outgoing connection on
 * the machine may take it as its source port, since both draw from the ephemeral range. So ports
 * come from below that range, where the OS never picks, in blocks: a process claims a block by
 * holding its first port bound for as long as it lives, and hands out the rest of the block in
 * order, each checked free when handed out. Two processes using this module never share a block;
 * anything else holding a port there is skipped by the check. Where the ephemeral range cannot be
 * read (not Linux), the OS picks as before.
 */
import fs from 'node:fs';
import net from 'node:net';

const BLOCK_SIZE = 100;
/** Ports below this are left alone (well-known and common service ports). */
const RANGE_START = 10_000;
const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** The lock is kept only so that it stays bound. */
interface Block { readonly index: number; readonly lock: net.Server; next: number; readonly end: number }

let block: Block | null = null;
/** Block indexes this process found taken: not tried again. */
const taken = new Set<number>();

/** Listens on port; resolves with the listening server, or null when the port is in use. */
function listenOn(port: number): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(null);
      else reject(error);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => { resolve(server); });
  });
}

const close = (server: net.Server): Promise<void> => new Promise((resolve) => { server.close(() => { resolve(); }); });

/** How many blocks fit below the first port the OS hands out by itself; 0 where that cannot be read. */
function blocksBelowEphemeral(): number {
  try {
    const [low] = fs.readFileSync(EPHEMERAL_RANGE_FILE, 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && Number.isInteger(low) ? Math.max(0, Math.floor((low - RANGE_START) / BLOCK_SIZE)) : 0;
  } catch {
    return 0;
  }
}

async function claimBlock(blockCount: number): Promise<Block | null> {
  const first = Math.floor(Math.random() * blockCount);
  for (let i = 0; i < blockCount; i += 1) {
    const index = (first + i) % blockCount;
    if (taken.has(index)) continue;
    const start = RANGE_START + index * BLOCK_SIZE;
    const lock = await listenOn(start);
    if (lock === null) {
      taken.add(index);
      continue;
    }
    // Held for the process's life, but never what keeps it alive.
    lock.unref();
    return { index, lock, next: start + 1, end: start + BLOCK_SIZE };
  }
  return null;
}

/** A port the OS picks (listen on 0 and release it): the fallback outside Linux. */
function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/** One pick at a time: concurrent callers would otherwise claim a block each, or race on its cursor. */
let picking: Promise<unknown> = Promise.resolve();

export function freePort(): Promise<number> {
  const picked = picking.then(pickPort);
  picking = picked.catch(() => undefined);
  return picked;
}

let blockCount: number | null = null;

async function pickPort(): Promise<number> {
  blockCount ??= blocksBelowEphemeral();
  if (blockCount === 0) return osPickedPort();
  // Bounded: every block is claimed at most once, and each claim hands out at most BLOCK_SIZE ports.
  for (let claims = 0; claims <= blockCount; claims += 1) {
    if (block === null || block.next >= block.end) {
      // A used-up block stays locked: its ports may be bound again (a broker restarted on its port).
      if (block !== null) taken.add(block.index);
      block = await claimBlock(blockCount);
      if (block === null) return osPickedPort();
    }
    while (block.next < block.end) {
      const port = block.next;
      block.next += 1;
      const probe = await listenOn(port);
      if (probe !== null) {
        await close(probe);
        return port;
      }
    }
  }
  return osPickedPort();
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < count * 10; attempt += 1) ports.add(await freePort());
  if (ports.size < count) throw new Error(`found only ${ports.size} of ${count} free ports`);
  return [...ports];
}
