/**
 * Real broker processes for end-to-end tests: `tributary start` children on 127.0.0.1 with free
 * ports, killed and restarted by PID, every wait bounded. stop() ends every process it started.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '../../src/client/connection.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { freePorts, waitFor } from './ports.js';
import { temporaryDirectory } from './storage_fixture.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

interface BrokerProcess { id: number; port: number; raftPort: number; child: ChildProcess | null; stderr: string }

export class TestCluster {
  private constructor(readonly dataRoot: string, private readonly brokers: Map<number, BrokerProcess>,
    private readonly extraArguments: readonly string[], private readonly env: Readonly<Record<string, string>>) {}

  /** `env` adds variables to every broker's environment (e.g. the test storage modes). */
  static async start(brokerCount = 3, extraArguments: readonly string[] = [],
    env: Readonly<Record<string, string>> = {}): Promise<TestCluster> {
    const ports = await freePorts(brokerCount * 2);
    const brokers = new Map<number, BrokerProcess>();
    for (let id = 1; id <= brokerCount; id += 1) {
      brokers.set(id, { id, port: ports[id - 1]!, raftPort: ports[brokerCount + id - 1]!, child: null, stderr: '' });
    }
    const cluster = new TestCluster(temporaryDirectory('cluster'), brokers, extraArguments, env);
    for (const id of brokers.keys()) cluster.spawn(id);
    await cluster.waitUntilRegistered(20_000);
    return cluster;
  }

  get bootstrap(): string {
    return [...this.brokers.values()].map((b) => `127.0.0.1:${b.port}`).join(',');
  }

  address(id: number): string {
    return `127.0.0.1:${this.brokers.get(id)!.port}`;
  }

  ids(): number[] {
    return [...this.brokers.keys()];
  }

  private spawn(id: number): void {
    const broker = this.brokers.get(id)!;
    const voters = [...this.brokers.values()].map((b) => `${b.id}@127.0.0.1:${b.raftPort}`).join(',');
    const child = spawn(process.execPath, [mainScript, 'start', '--id', String(id), '--data',
      path.join(this.dataRoot, String(id)), '--listen', `127.0.0.1:${broker.port}`,
      '--raft-listen', `127.0.0.1:${broker.raftPort}`, '--voters', voters, ...this.extraArguments],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn', ...this.env } });
    child.stderr.on('data', (chunk: Buffer) => { broker.stderr = (broker.stderr + chunk.toString()).slice(-20_000); });
    broker.child = child;
  }

  /** The stderr a broker printed lately (for failure messages). */
  stderrOf(id: number): string {
    return this.brokers.get(id)?.stderr ?? '';
  }

  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const broker = this.brokers.get(id)!;
    const child = broker.child;
    if (child === null) return;
    broker.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  restart(id: number): void {
    if (this.brokers.get(id)!.child === null) this.spawn(id);
  }

  /** Asks a broker for metadata, or null when it does not answer in time. */
  async metadata(id: number): Promise<Awaited<ReturnType<Connection['request']>>['response'] | null> {
    const connection = new Connection({ address: this.address(id), clientId: 'test-cluster', requestTimeoutMs: 2_000 });
    try {
      return (await connection.request(API_KEYS.METADATA, { allTopics: true })).response;
    } catch {
      return null;
    } finally {
      await connection.close();
    }
  }

  async waitUntilRegistered(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const expected = this.brokers.size;
    for (;;) {
      const counts = await Promise.all(this.ids().map(async (id) => {
        const response = await this.metadata(id) as { brokers?: unknown[]; controllerId?: number } | null;
        return response !== null && (response.brokers?.length ?? 0) === expected && (response.controllerId ?? -1) > 0;
      }));
      if (counts.every(Boolean)) return;
      if (Date.now() > deadline) {
        throw new Error(`brokers did not register in ${timeoutMs} ms:\n${this.ids().map((id) => this.stderrOf(id))
          .join('\n')}`);
      }
      await waitFor(() => false, 200);
    }
  }

  /** Stops every broker (SIGTERM, SIGKILL after 10 s); the data stays for inspection unless told. */
  async stop(options: { keepData?: boolean } = {}): Promise<void> {
    await Promise.all(this.ids().map((id) => this.kill(id, 'SIGTERM')));
    if (options.keepData !== true) fs.rmSync(this.dataRoot, { recursive: true, force: true });
  }

  dataDirectory(id: number): string {
    return path.join(this.dataRoot, String(id));
  }
}
