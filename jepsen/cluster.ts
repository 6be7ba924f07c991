/**
 * The brokers under test: N `tributary start` processes on 127.0.0.1, each dialing its peers
 * through the harness's relays (--raft-dial), signalled by PID only (kill -9, SIGSTOP, SIGCONT,
 * SIGTERM). Each broker's stderr is appended to a file in the run folder across restarts.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../raft/core/assert.js';
import { Connection } from '../src/client/connection.js';
import { API_KEYS } from '../src/protocol/api_keys.js';
import { freePorts } from './ports.js';
import { RelayMesh } from './relay.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const EXIT_WAIT_MS = 10_000;

export type BrokerState = 'running' | 'paused' | 'down';

export interface ClusterOptions {
  readonly brokerCount: number;
  /** Data folders go under it: <dataRoot>/<id>. */
  readonly dataRoot: string;
  /** Broker stderr files go here: broker-<id>.stderr.log. */
  readonly logFolder: string;
  /** Extra environment for every broker (the storage test hooks). */
  readonly environment: Readonly<Record<string, string>>;
}

interface Broker {
  readonly id: number;
  readonly port: number;
  readonly raftPort: number;
  readonly stderr: fs.WriteStream;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  paused: boolean;
}

export class JepsenCluster {
  private constructor(private readonly options: ClusterOptions, private readonly brokers: ReadonlyMap<number, Broker>,
    readonly relays: RelayMesh) {}

  static async start(options: ClusterOptions): Promise<JepsenCluster> {
    assert(options.brokerCount >= 1, 'a cluster has brokers');
    const ports = await freePorts(options.brokerCount * 2);
    assert(ports.length === options.brokerCount * 2, 'not enough free ports');
    const brokers = new Map<number, Broker>();
    for (let id = 1; id <= options.brokerCount; id += 1) {
      brokers.set(id, { id, port: ports[id - 1] ?? 0, raftPort: ports[options.brokerCount + id - 1] ?? 0,
        stderr: fs.createWriteStream(path.join(options.logFolder, `broker-${id}.stderr.log`), { flags: 'a' }),
        child: null, exited: null, paused: false });
    }
    const relays = await RelayMesh.open(new Map([...brokers.values()].map((b) => [b.id, b.raftPort])));
    const cluster = new JepsenCluster(options, brokers, relays);
    for (const id of brokers.keys()) cluster.spawn(id);
    return cluster;
  }

  ids(): number[] {
    return [...this.brokers.keys()];
  }

  get bootstrap(): string {
    return this.ids().map((id) => this.address(id)).join(',');
  }

  address(id: number): string {
    return `127.0.0.1:${this.broker(id).port}`;
  }

  dataDirectory(id: number): string {
    return path.join(this.options.dataRoot, String(id));
  }

  state(id: number): BrokerState {
    const broker = this.broker(id);
    if (broker.child === null) return 'down';
    return broker.paused ? 'paused' : 'running';
  }

  /** Writes a harness line into the broker's stderr log (what a nemesis did to its files). */
  note(id: number, text: string): void {
    this.broker(id).stderr.write(`--- harness: ${text}\n`);
  }

  /** Starts a broker that is down; does nothing to one that runs. */
  restart(id: number): void {
    if (this.broker(id).child === null) this.spawn(id);
  }

  /** kill -9 (or another signal) and wait for the exit, bounded; a paused broker dies as well. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const broker = this.broker(id);
    const child = broker.child;
    if (child === null || broker.exited === null) return;
    if (broker.paused && signal !== 'SIGKILL') this.resume(id);
    process.kill(this.pid(child), signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([broker.exited.then(() => false),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => { resolve(true); }, EXIT_WAIT_MS); })]);
    clearTimeout(timer);
    if (timedOut) {
      process.kill(this.pid(child), 'SIGKILL');
      await broker.exited;
    }
    assert(broker.child === null, () => `broker ${id} is still recorded as running after its exit`);
  }

  pause(id: number): void {
    const broker = this.broker(id);
    if (broker.child === null || broker.paused) return;
    process.kill(this.pid(broker.child), 'SIGSTOP');
    broker.paused = true;
  }

  resume(id: number): void {
    const broker = this.broker(id);
    if (broker.child === null || !broker.paused) return;
    process.kill(this.pid(broker.child), 'SIGCONT');
    broker.paused = false;
  }

  /** Undoes every fault on the processes and links: resume the paused, start the dead, heal every link. */
  healAll(): void {
    for (const id of this.ids()) {
      this.resume(id);
      this.restart(id);
    }
    this.relays.healAll();
  }

  /** Whether every broker answers Metadata listing every broker and a controller leader. */
  async allRegistered(): Promise<boolean> {
    const answers = await Promise.all(this.ids().map(async (id) => {
      const response = await this.metadata(id);
      return response !== null && response.brokers.length === this.brokers.size && response.controllerId > 0;
    }));
    return answers.every(Boolean);
  }

  /** Waits (bounded) until allRegistered; returns whether it happened. */
  async waitUntilRegistered(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.allRegistered()) return true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return false;
  }

  /** Stops every broker: SIGTERM, SIGKILL after a bound; then the relays. Data stays. */
  async stop(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.kill(id, 'SIGTERM')));
    await this.relays.close();
    await Promise.all([...this.brokers.values()].map((broker) => new Promise<void>((resolve) => {
      broker.stderr.end(() => { resolve(); });
    })));
  }

  private async metadata(id: number): Promise<{ brokers: readonly unknown[]; controllerId: number } | null> {
    if (this.state(id) !== 'running') return null;
    const connection = new Connection({ address: this.address(id), clientId: 'jepsen-cluster', requestTimeoutMs: 2_000 });
    try {
      const { response } = await connection.request(API_KEYS.METADATA, { allTopics: false, topics: [] });
      return response;
    } catch {
      return null;
    } finally {
      await connection.close();
    }
  }

  private broker(id: number): Broker {
    const broker = this.brokers.get(id);
    assert(broker !== undefined, () => `no broker ${id}`);
    return broker;
  }

  private pid(child: ChildProcess): number {
    assert(child.pid !== undefined, 'a spawned broker has a PID');
    return child.pid;
  }

  private spawn(id: number): void {
    const broker = this.broker(id);
    assert(broker.child === null, () => `broker ${id} is already running`);
    const voters = [...this.brokers.values()].map((b) => `${b.id}@127.0.0.1:${b.raftPort}`).join(',');
    const child = spawn(process.execPath, [mainScript, 'start', '--id', String(id), '--data', this.dataDirectory(id),
      '--listen', this.address(id), '--raft-listen', `127.0.0.1:${broker.raftPort}`, '--voters', voters,
      '--raft-dial', this.relays.dialArgument(id)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn',
      ...this.options.environment } });
    broker.stderr.write(`--- harness: started broker ${id} as PID ${child.pid ?? '?'} at ${new Date().toISOString()}\n`);
    child.stderr.pipe(broker.stderr, { end: false });
    broker.child = child;
    broker.paused = false;
    broker.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        broker.stderr.write(`--- harness: broker ${id} exited (code ${code ?? '-'}, signal ${signal ?? '-'})\n`);
        if (broker.child === child) {
          broker.child = null;
          broker.exited = null;
          broker.paused = false;
        }
        resolve();
      });
    });
  }
}
