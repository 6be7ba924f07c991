/**
 * The floor bench's three replica processes (floor_replica.ts), started on free ports of 127.0.0.1
 * and stopped by PID.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../src/cli/free_ports.js';
import { PARENT_PID_ENV } from '../../src/cli/parent_watch.js';

const REPLICAS = 3;
const START_TIMEOUT_MS = 10_000;
const replicaScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor_replica.js');

export interface FloorMode {
  /** Whether the replicas fdatasync their writes. */
  readonly fsync: boolean;
  /** Whether a consumer fetches: the replicas keep every write on a majority until it is fetched. */
  readonly consumer: boolean;
}

/**
 * Three replicas on free ports, each leading the writes sent to it, the first one also echoing on a
 * TCP port; stopped by PID in `stop`.
 */
export class FloorCluster {
  private constructor(readonly ports: readonly number[], readonly echoPort: number,
    private readonly children: ChildProcess[], private readonly folder: string) {}

  /** Where the one-in-flight parts send: the replica that also echoes on plain TCP. */
  get firstPort(): number {
    return this.ports[0] as number;
  }

  static async start(directory: string, mode: FloorMode): Promise<FloorCluster> {
    const ports = await freePorts(REPLICAS + 1);
    const echoPort = ports.pop() as number;
    const folder = fs.mkdtempSync(path.join(directory, 'tributary-floor-'));
    const children: ChildProcess[] = [];
    const cluster = new FloorCluster(ports, echoPort, children, folder);
    try {
      for (let i = 0; i < REPLICAS; i += 1) {
        const id = i + 1;
        const peers = ports.map((port, j) => `${j + 1}@${port}`).filter((_, j) => j !== i).join(',');
        const child = spawn(process.execPath, [replicaScript, String(id), String(ports[i]), peers,
          path.join(folder, `replica-${id}.log`), String(mode.fsync), String(i === 0 ? echoPort : 0),
          String(mode.consumer)],
        { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, [PARENT_PID_ENV]: String(process.pid) } });
        children.push(child);
      }
      await Promise.all(children.map((child) => ready(child)));
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      const exited = once(child, 'exit');
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 2_000);
      await exited;
      clearTimeout(timer);
    }));
    fs.rmSync(this.folder, { recursive: true, force: true });
  }
}

/** Resolves when the replica prints `ready`; rejects if it exits or takes too long. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { reject(new Error('a floor replica did not start in time')); }, START_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a floor replica exited with ${String(code)} before it was ready`));
    });
  });
}

/** Runs `run` on a fresh cluster, stopped afterwards whatever happens. */
export async function onCluster<T>(directory: string, mode: FloorMode,
  run: (cluster: FloorCluster) => Promise<T>): Promise<T> {
  const cluster = await FloorCluster.start(directory, mode);
  try {
    return await run(cluster);
  } finally {
    await cluster.stop();
  }
}
