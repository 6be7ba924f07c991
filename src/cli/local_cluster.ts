/**
 * Broker processes on this machine: `tributary start` children on 127.0.0.1 with free ports,
 * killed and restarted by PID, every wait bounded. stop() ends every process it started. The
 * end-to-end tests (test/helpers/cluster.ts) and `tributary bench --cluster local` both use it.
 *
 * With `secure`, keys for every broker and for one client user (`admin`) are written into
 * DATAROOT/keys (security/cluster_keys.ts) and every broker runs with CURVE (--key-file,
 * --peer-keys, --client-keys); `clientSecurity` and `clientArguments()` give clients the admin key.
 * A broker added later (addBroker) gets a key pair too, but it is in nobody's --peer-keys (brokers
 * read it at start): it cannot join, as any stranger.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../../raft/core/assert.js';
import { Connection } from '../client/connection.js';
import { ClientSecurity, curveOptionsFor } from '../security/client_security.js';
import type { ClientSecurityOptions } from '../security/client_security.js';
import { writeClusterKeys } from '../security/cluster_keys.js';
import type { ClusterKeyFiles } from '../security/cluster_keys.js';
import { generateKeyPair, writeKeyPair } from '../security/keys.js';
import { API_KEYS } from '../protocol/api_keys.js';
import { freePorts } from './free_ports.js';
import { PARENT_PID_ENV } from './parent_watch.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js');
const REGISTER_POLL_MS = 200;
const KILL_GRACE_MS = 10_000;
/** Fresh ports are drawn this many times when a broker finds one of its ports taken. */
const START_ATTEMPTS = 3;

/**
 * A broker exited because a port drawn as free was taken before it bound it (a process beside the
 * cluster, such as another test, got it first); the cluster is started again on fresh ports.
 */
class PortTakenError extends Error {}

interface BrokerProcess {
  id: number; port: number; raftPort: number; child: ChildProcess | null; stderr: string;
  /** The loopback address it binds and advertises (127.0.0.1 unless added on another). */
  host: string;
  /** Among --voters (the brokers the cluster started with), or a broker added later. */
  voter: boolean;
  /** The brokers its --voters names when not every starting voter (see addBroker). */
  votersGiven?: readonly number[];
  /** Appended to this broker's own command line (after the cluster-wide brokerArguments). */
  extraArguments: readonly string[];
  /** Free ports of its own for other listeners (LocalClusterOptions.extraPortsPerBroker). */
  extraPorts: readonly number[];
}

export interface LocalClusterOptions {
  /** Appended to every `tributary start` command line. */
  readonly brokerArguments?: readonly string[];
  /** Given to node before the script (e.g. --cpu-prof). */
  readonly nodeArguments?: readonly string[];
  /** Added to every broker's environment (e.g. the test storage modes). */
  readonly env?: Readonly<Record<string, string>>;
  readonly registerTimeoutMs?: number;
  /** Free ports each broker gets for other listeners (BrokerSlot.extraPorts), kept across restarts. */
  readonly extraPortsPerBroker?: number;
  /** Appended to one broker's command line after brokerArguments (e.g. a listener on an extra port). */
  readonly argumentsFor?: (slot: BrokerSlot) => readonly string[];
  /**
   * Gives a broker its settings another way than the default flags (a config file, environment
   * variables, advertised addresses): the returned arguments replace `--id --data --listen
   * --raft-listen --voters`, and env is added to the broker's environment. The broker must still
   * answer on 127.0.0.1 at slot.port (bind 127.0.0.1 or 0.0.0.0), where this class reaches it.
   */
  readonly brokerSetup?: (slot: BrokerSlot, all: readonly BrokerSlot[]) => BrokerSetup;
  /** CURVE on every broker, keys in DATAROOT/keys (see the header comment). */
  readonly secure?: boolean;
  /** With secure: more client users with keys (`keys.userKeyFiles`), besides `admin`; no ACLs. */
  readonly secureUsers?: readonly string[];
}

export interface AddBrokerOptions {
  /** The brokers its --voters names (default: the brokers the cluster started with). */
  readonly voters?: readonly number[];
  /** Flags of its own, given its ports (e.g. --advertise host:port). */
  readonly extraArguments?: (port: number, raftPort: number) => readonly string[];
  /** How long to wait for every broker to list it (default: the cluster's registerTimeoutMs). */
  readonly registerTimeoutMs?: number;
}

/** One broker's place in a LocalCluster: its id, free ports and data folder. */
export interface BrokerSlot {
  readonly id: number;
  readonly port: number;
  readonly raftPort: number;
  readonly dataDirectory: string;
  readonly extraPorts: readonly number[];
}

export interface BrokerSetup {
  readonly arguments: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export class LocalCluster {
  /** The key files of a secure cluster, else null. */
  readonly keys: ClusterKeyFiles | null;
  /** The admin user's client credentials in a secure cluster (library option `security`), else undefined. */
  readonly clientSecurity: ClientSecurityOptions | undefined;
  private readonly loadedClientSecurity: ClientSecurity | undefined;

  private constructor(readonly dataRoot: string, private readonly brokers: Map<number, BrokerProcess>,
    private readonly options: LocalClusterOptions) {
    this.keys = options.secure === true
      ? writeClusterKeys(path.join(dataRoot, 'keys'), [...brokers.keys()], ['admin', ...options.secureUsers ?? []]) : null;
    const adminKey = this.keys?.userKeyFiles.get('admin');
    this.clientSecurity = this.keys === null || adminKey === undefined ? undefined
      : { keyFile: adminKey, serverKey: this.keys.peerKeys };
    this.loadedClientSecurity = this.clientSecurity === undefined ? undefined
      : ClientSecurity.load(this.clientSecurity);
  }

  /** `--key-file ... --server-key ...` for client commands (none in plaintext). */
  clientArguments(): string[] {
    const security = this.clientSecurity;
    return security === undefined ? [] : ['--key-file', security.keyFile, '--server-key', security.serverKey];
  }

  /**
   * A secure broker's flags: its key, the peers' keys as written at start, the client keys, and the
   * admin user as a super user (a secure broker authorizes every request: ACLs for other users).
   */
  private securityArguments(id: number): string[] {
    if (this.keys === null) return [];
    let keyFile = this.keys.brokerKeyFiles.get(id) ?? path.join(this.keys.directory, `broker-${id}.key`);
    if (!fs.existsSync(keyFile)) {
      keyFile = writeKeyPair(path.join(this.keys.directory, `broker-${id}`), generateKeyPair()).secretPath;
    }
    return ['--key-file', keyFile, '--peer-keys', this.keys.peerKeys, '--client-keys', this.keys.clientKeys,
      '--super-users', 'User:admin'];
  }

  static async start(brokerCount = 3, options: LocalClusterOptions = {}): Promise<LocalCluster> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await LocalCluster.startOnce(brokerCount, options);
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw error;
      }
    }
  }

  private static async startOnce(brokerCount: number, options: LocalClusterOptions): Promise<LocalCluster> {
    const extra = options.extraPortsPerBroker ?? 0;
    const ports = await freePorts(brokerCount * (2 + extra));
    const brokers = new Map<number, BrokerProcess>();
    for (let id = 1; id <= brokerCount; id += 1) {
      const port = ports[id - 1];
      const raftPort = ports[brokerCount + id - 1];
      const extraStart = 2 * brokerCount + (id - 1) * extra;
      assert(port !== undefined && raftPort !== undefined, 'freePorts returns as many ports as asked');
      brokers.set(id, { id, port, raftPort, child: null, stderr: '', host: '127.0.0.1', voter: true, extraArguments: [],
        extraPorts: ports.slice(extraStart, extraStart + extra) });
    }
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-cluster-'));
    const cluster = new LocalCluster(dataRoot, brokers, options);
    for (const id of brokers.keys()) cluster.spawn(id);
    try {
      await cluster.waitUntilRegistered(options.registerTimeoutMs ?? 20_000);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get bootstrap(): string {
    return [...this.brokers.values()].map((b) => `${b.host}:${b.port}`).join(',');
  }

  address(id: number): string {
    const broker = this.broker(id);
    return `${broker.host}:${broker.port}`;
  }

  /**
   * Starts one more broker, not among the voters (it joins as a controller learner), binding and
   * advertising `host` (a loopback address such as 127.0.0.14). Waits until every broker lists it.
   * Its --voters names the brokers the cluster started with, or those of `options.voters` (any
   * brokers of this cluster: a stale or partial list, as an operator might give);
   * `options.extraArguments(port, raftPort)` adds flags of its own (e.g. --advertise).
   */
  async addBroker(id: number, host = '127.0.0.1', options: AddBrokerOptions = {}): Promise<void> {
    const { voters } = options;
    assert(!this.brokers.has(id), () => `broker ${id} is already in this cluster`);
    for (const voter of voters ?? []) assert(this.brokers.has(voter), () => `no broker ${voter} to name in --voters`);
    const [port, raftPort, ...extraPorts] = await freePorts(2 + (this.options.extraPortsPerBroker ?? 0));
    assert(port !== undefined && raftPort !== undefined, 'freePorts returns as many ports as asked');
    this.brokers.set(id, { id, port, raftPort, child: null, stderr: '', host, voter: false, extraPorts,
      extraArguments: options.extraArguments?.(port, raftPort) ?? [],
      ...(voters === undefined ? {} : { votersGiven: [...voters] }) });
    this.spawn(id);
    await this.waitUntilRegistered(options.registerTimeoutMs ?? this.options.registerTimeoutMs ?? 20_000);
  }

  private broker(id: number): BrokerProcess {
    const broker = this.brokers.get(id);
    assert(broker !== undefined, () => `no broker ${id} in this cluster`);
    return broker;
  }

  /** A broker's client and Raft ports (a test capturing its traffic). */
  portsOf(id: number): { readonly port: number; readonly raftPort: number } {
    const broker = this.broker(id);
    return { port: broker.port, raftPort: broker.raftPort };
  }

  /** A broker's extra ports (LocalClusterOptions.extraPortsPerBroker). */
  extraPortsOf(id: number): readonly number[] {
    return this.broker(id).extraPorts;
  }

  ids(): number[] {
    return [...this.brokers.keys()];
  }

  /** Process ids of the running brokers, by broker id. */
  pids(): Map<number, number> {
    const pids = new Map<number, number>();
    for (const broker of this.brokers.values()) {
      if (broker.child?.pid !== undefined) pids.set(broker.id, broker.child.pid);
    }
    return pids;
  }

  private slot(broker: BrokerProcess): BrokerSlot {
    return { id: broker.id, port: broker.port, raftPort: broker.raftPort,
      dataDirectory: this.dataDirectory(broker.id), extraPorts: broker.extraPorts };
  }

  private spawn(id: number): void {
    const broker = this.broker(id);
    const named = broker.votersGiven;
    const voters = [...this.brokers.values()].filter((b) => (named === undefined ? b.voter : named.includes(b.id)))
      .map((b) => `${b.id}@${b.host}:${b.raftPort}`).join(',');
    const setup = this.options.brokerSetup?.(this.slot(broker), [...this.brokers.values()].map((b) => this.slot(b)));
    const startArguments = setup?.arguments ?? ['--id', String(id), '--data', this.dataDirectory(id),
      '--listen', `${broker.host}:${broker.port}`, '--raft-listen', `${broker.host}:${broker.raftPort}`, '--voters', voters];
    const child = spawn(process.execPath, [...(this.options.nodeArguments ?? []), mainScript, 'start',
      ...startArguments, ...this.securityArguments(id), ...(this.options.brokerArguments ?? []),
      ...(this.options.argumentsFor?.(this.slot(broker)) ?? []), ...broker.extraArguments],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn', ...this.options.env,
      ...setup?.env, [PARENT_PID_ENV]: String(process.pid) } });
    child.stderr.on('data', (chunk: Buffer) => { broker.stderr = (broker.stderr + chunk.toString()).slice(-20_000); });
    broker.child = child;
  }

  /** The stderr a broker printed lately (for failure messages). */
  stderrOf(id: number): string {
    return this.brokers.get(id)?.stderr ?? '';
  }

  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const broker = this.broker(id);
    const child = broker.child;
    if (child === null) return;
    broker.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Waits for a broker's process to end by itself (a decommissioned broker exits): its exit code,
   * or null for a signal; undefined when it still runs after timeoutMs or is not running.
   */
  async waitForExit(id: number, timeoutMs: number): Promise<number | null | undefined> {
    const broker = this.broker(id);
    const child = broker.child;
    if (child === null) return undefined;
    const ended = child.exitCode !== null || child.signalCode !== null ? Promise.resolve()
      : new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        child.once('exit', () => { clearTimeout(timer); resolve(); });
      });
    await ended;
    if (child.exitCode === null && child.signalCode === null) return undefined;
    broker.child = null;
    return child.exitCode;
  }

  restart(id: number): void {
    if (this.broker(id).child === null) this.spawn(id);
  }

  /** Asks a broker for metadata, or null when it does not answer in time. */
  async metadata(id: number): Promise<Awaited<ReturnType<Connection['request']>>['response'] | null> {
    const connection = new Connection({ address: this.address(id), clientId: 'local-cluster', requestTimeoutMs: 2_000,
      ...curveOptionsFor(this.loadedClientSecurity, id) });
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
      const portTaken = this.ids().find((id) => this.exitedOnTakenPort(id));
      if (portTaken !== undefined) {
        throw new PortTakenError(`broker ${portTaken} found a port taken:\n${this.stderrOf(portTaken)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`brokers did not register in ${timeoutMs} ms:\n${this.ids().map((id) => this.stderrOf(id))
          .join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, REGISTER_POLL_MS));
    }
  }

  private exitedOnTakenPort(id: number): boolean {
    const child = this.broker(id).child;
    const exited = child !== null && (child.exitCode !== null || child.signalCode !== null);
    return exited && /address (is )?already in use/i.test(this.stderrOf(id));
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
