/**
 * The ceiling a cluster bench is compared with, measured in the same run (`--baseline`): the same
 * number of bytes (1) appended to one file by this process in chunks of the producer batch size
 * with one fdatasync per chunk (the most syncs the cluster could pay for: one per batch), or,
 * for consume, read back from such a file in 1 MiB reads; and (2) pushed in chunks of that size
 * through one ZeroMQ DEALER -> ROUTER pair on 127.0.0.1, as a client's requests travel.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as zmq from 'zeromq';
import { assert } from '../raft/core/assert.js';

export interface BaselineOptions {
  readonly totalBytes: number;
  readonly chunkBytes: number;
  readonly directory?: string;
}

export interface BaselineFigures {
  readonly seconds: number;
  readonly mbPerSec: number;
}

export interface Baseline {
  readonly file: BaselineFigures;
  readonly zeromq: BaselineFigures;
}

const READ_CHUNK_BYTES = 2 ** 20;

function figures(bytes: number, startedMs: number): BaselineFigures {
  const seconds = Math.max(1e-6, (performance.now() - startedMs) / 1_000);
  return { seconds, mbPerSec: bytes / seconds / 1e6 };
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => { if (error) reject(error); else resolve(); });
  });
}

function chunkCount(options: BaselineOptions): number {
  assert(options.totalBytes > 0 && options.chunkBytes > 0, 'baseline sizes must be positive');
  return Math.max(1, Math.ceil(options.totalBytes / options.chunkBytes));
}

async function appendFile(file: string, options: BaselineOptions, sync: boolean): Promise<BaselineFigures> {
  const chunk = Buffer.alloc(options.chunkBytes, 0x61);
  const fd = fs.openSync(file, 'w');
  try {
    const started = performance.now();
    const chunks = chunkCount(options);
    for (let i = 0; i < chunks; i += 1) {
      fs.writeSync(fd, chunk);
      if (sync) await datasync(fd);
    }
    return figures(chunks * chunk.length, started);
  } finally {
    fs.closeSync(fd);
  }
}

function readFile(file: string): BaselineFigures {
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  const fd = fs.openSync(file, 'r');
  try {
    const started = performance.now();
    let total = 0;
    for (let read = fs.readSync(fd, buffer); read > 0; read = fs.readSync(fd, buffer)) total += read;
    return figures(total, started);
  } finally {
    fs.closeSync(fd);
  }
}

async function zeromqPair(options: BaselineOptions): Promise<BaselineFigures> {
  const router = new zmq.Router({ linger: 0 });
  const dealer = new zmq.Dealer({ linger: 0 });
  try {
    await router.bind('tcp://127.0.0.1:*');
    const endpoint = router.lastEndpoint;
    assert(endpoint !== null, 'a bound router has an endpoint');
    dealer.connect(endpoint);
    const chunks = chunkCount(options);
    const chunk = Buffer.alloc(options.chunkBytes, 0x62);
    const started = performance.now();
    const received = (async (): Promise<number> => {
      let bytes = 0;
      let messages = 0;
      for await (const [, payload] of router) {
        bytes += payload?.length ?? 0;
        messages += 1;
        if (messages === chunks) break;
      }
      return bytes;
    })();
    for (let i = 0; i < chunks; i += 1) await dealer.send(chunk);
    const bytes = await received;
    assert(bytes === chunks * chunk.length, 'every baseline byte arrived');
    return figures(bytes, started);
  } finally {
    dealer.close();
    router.close();
  }
}

/** Producing: file appends with fdatasync per chunk, and the ZeroMQ pair. */
export async function measureWriteBaseline(options: BaselineOptions): Promise<Baseline> {
  const directory = fs.mkdtempSync(path.join(options.directory ?? os.tmpdir(), 'tributary-baseline-'));
  try {
    const file = await appendFile(path.join(directory, 'append'), options, true);
    return { file, zeromq: await zeromqPair(options) };
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

/** Consuming: reading a file of that size (written first, untimed, so the page cache is warm), and the pair. */
export async function measureReadBaseline(options: BaselineOptions): Promise<Baseline> {
  const directory = fs.mkdtempSync(path.join(options.directory ?? os.tmpdir(), 'tributary-baseline-'));
  try {
    const name = path.join(directory, 'read');
    await appendFile(name, options, false);
    return { file: readFile(name), zeromq: await zeromqPair(options) };
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}
