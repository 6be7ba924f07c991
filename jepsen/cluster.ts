/**
 * The brokers under test: N `tributary start` processes on 127.0.0.1, each dialing its peers
 * through the harness's relays (--raft-dial), signalled by PID only (kill -9, SIGSTOP, SIGCONT,
 * SIGTERM). Each broker's stderr is appended to a file in the run folder across restarts.
 *
 * The set changes under the membership nemesis: brokers join (fresh ids, non-voters, up to
 * `spareIds` of them per run) and leave (a decommissioned broker exits by itself and is never
 * restarted). ids() is the brokers that are members now; everIds() every broker ever started.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from '../raft/core/assert.js';
import { Connection } from '../src/client/connection.js';
import type { ClusterKeyFiles } from '../src/security/cluster_keys.js';
import { ClientSecurity, curveOptionsFor } from '../src/security/client_security.js';
import type { ClientSecurityOptions } from '../src/security/client_security.js';
import { CLOCK_FILE_ENVIRONMENT, clockFile, skewPreloadArguments, writeClockOffset } from './clock/clock_control.js';
import { API_KEYS } from '../src/protocol/api_keys.js';
import { PARENT_PID_ENV } from '../src/cli/parent_watch.js';
import { freePorts, waitFor } from './ports.js';
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
  /** How many brokers may join during the run (ids brokerCount+1 ...); their relays exist from the start. */
  readonly spareIds?: number;
  /** Every broker also opens a Kafka listener (--kafka-listen) on a port of its own. */
  readonly kafkaListeners?: boolean;
  /** The clock nemesis: every broker runs with the skew preload, its control file in this folder. */
  readonly clockFolder?: string;
  /**
   * CURVE keys for every broker id the run may start (spares included: peer keys are read at a
   * broker's start) and for the harness's client user, a super user.
   */
  readonly security?: { readonly keys: ClusterKeyFiles; readonly user: string };
}

interface Broker {
  readonly id: number;
  readonly port: number;
  readonly raftPort: number;
  /** Its Kafka listener's port, or null without kafkaListeners (Kafka clients dial it directly, not via relays). */
  readonly kafkaPort: number | null;
  /** The --voters value it was first started with; every restart repeats it (membership lives in its data). */
  readonly voters: string;
  readonly stderr: fs.WriteStream;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  paused: boolean;
  /** A decommission was asked for: an exit with code 0 is the broker leaving. */
  leaving: boolean;
  /** Decommissioned and gone: never restarted, no longer a target or a bootstrap address. */
  removed: boolean;
}

export class JepsenCluster {
  private readonly brokers = new Map<number, Broker>();
  /** The client keys, loaded once (with security). */
  private loaded: ClientSecurity | undefined;
  private nextId: number;
  private readonly lastId: number;

  /** initialVoters: the starting brokers (the first controller voters) and their Raft ports. */
  private constructor(private readonly options: ClusterOptions,
    private readonly initialVoters: ReadonlyMap<number, number>, readonly relays: RelayMesh) {
    this.nextId = options.brokerCount + 1;
    this.lastId = options.brokerCount + (options.spareIds ?? 0);
  }

  static async start(options: ClusterOptions): Promise<JepsenCluster> {
    assert(options.brokerCount >= 1, 'a cluster has brokers');
    const spare = options.spareIds ?? 0;
    assert(Number.isSafeInteger(spare) && spare >= 0, 'spare ids are a natural number');
    const kafka = options.kafkaListeners === true;
    const ports = await freePorts(options.brokerCount * (kafka ? 3 : 2));
    assert(ports.length === options.brokerCount * (kafka ? 3 : 2), 'not enough free ports');
    const raftPorts = new Map<number, number>();
    for (let id = 1; id <= options.brokerCount; id += 1) raftPorts.set(id, ports[options.brokerCount + id - 1] ?? 0);
    const everyId = Array.from({ length: options.brokerCount + spare }, (_, i) => i + 1);
    let cluster: JepsenCluster | null = null;
    const mesh = await RelayMesh.open(everyId, (id) => cluster?.brokers.get(id)?.raftPort ?? null);
    cluster = new JepsenCluster(options, raftPorts, mesh);
    const voters = cluster.votersArgument([...raftPorts.keys()]);
    for (let id = 1; id <= options.brokerCount; id += 1) {
      cluster.addRecord(id, ports[id - 1] ?? 0, raftPorts.get(id) ?? 0, voters,
        kafka ? ports[2 * options.brokerCount + id - 1] ?? 0 : null);
      cluster.spawn(id);
    }
    return cluster;
  }

  /** The brokers that are members now (running, paused or down, but not decommissioned). */
  ids(): number[] {
    return [...this.brokers.values()].filter((broker) => !broker.removed).map((broker) => broker.id);
  }

  /** Every broker ever started, decommissioned ones too (their data folders are read after the run). */
  everIds(): number[] {
    return [...this.brokers.keys()];
  }

  /** How many more brokers may join in this run. */
  spareIdsLeft(): number {
    return this.lastId - this.nextId + 1;
  }

  /** The id the next joining broker gets. */
  peekNextId(): number {
    return this.nextId;
  }

  /**
   * Starts a fresh broker with the next id as a non-voter: its own ports, dialing every peer through
   * the relays, and `voters` (the controller voters now) as its way to the controller. Returns its id.
   */
  async addBroker(voters: readonly number[]): Promise<number> {
    assert(this.spareIdsLeft() > 0, 'no spare broker id left in this run');
    const id = this.nextId;
    const known = voters.filter((voter) => this.brokers.has(voter));
    assert(known.length > 0, 'a joining broker needs a voter the harness started');
    const kafka = this.options.kafkaListeners === true;
    const [port, raftPort, kafkaPort] = await freePorts(kafka ? 3 : 2);
    assert(port !== undefined && raftPort !== undefined && (!kafka || kafkaPort !== undefined),
      'freePorts returns as many ports as asked');
    this.nextId += 1;
    this.addRecord(id, port, raftPort, this.votersArgument(known), kafkaPort ?? null);
    this.spawn(id);
    return id;
  }

  /** Marks (or unmarks) a broker as being decommissioned: its exit with code 0 then removes it. */
  setLeaving(id: number, leaving: boolean): void {
    this.broker(id).leaving = leaving;
  }

  isLeaving(id: number): boolean {
    return this.broker(id).leaving;
  }

  /** The brokers the run started with (the first controller voters). */
  startingIds(): number[] {
    return [...this.initialVoters.keys()];
  }

  /**
   * After a decommission succeeded: waits (bounded) for the broker to exit by itself; if it does not,
   * stops it. Either way it is removed. Returns whether it left by itself.
   */
  async awaitDeparture(id: number, timeoutMs: number): Promise<boolean> {
    const broker = this.broker(id);
    const left = await waitFor(() => broker.child === null, timeoutMs, 50);
    if (!left) {
      this.note(id, `did not exit within ${timeoutMs} ms of its decommission; stopping it`);
      await this.kill(id, 'SIGTERM');
    }
    broker.removed = true;
    return left;
  }

  get bootstrap(): string {
    return this.ids().map((id) => this.address(id)).join(',');
  }

  /** The Kafka listeners of the members now (kafkaListeners only). */
  get kafkaBootstrap(): string {
    assert(this.options.kafkaListeners === true, 'the brokers were started without Kafka listeners');
    return this.ids().map((id) => `127.0.0.1:${String(this.broker(id).kafkaPort)}`).join(',');
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

  /** Steps a broker's wall clock to real time + offsetMs (the clock nemesis; 0 heals it). */
  setClockOffset(id: number, offsetMs: number): void {
    const folder = this.options.clockFolder;
    assert(folder !== undefined, 'the brokers were started without the clock skew preload');
    this.broker(id);
    writeClockOffset(clockFile(folder, id), offsetMs);
  }

  /** Writes a harness line into the broker's stderr log (what a nemesis did to its files). */
  note(id: number, text: string): void {
    this.broker(id).stderr.write(`--- harness: ${text}\n`);
  }

  /** Starts a broker that is down; does nothing to one that runs or was decommissioned. */
  restart(id: number): void {
    const broker = this.broker(id);
    if (broker.child === null && !broker.removed) this.spawn(id);
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

  /** Whether every member answers Metadata listing every member and a controller leader. */
  async allRegistered(): Promise<boolean> {
    const members = this.ids();
    const answers = await Promise.all(members.map(async (id) => {
      const response = await this.metadata(id);
      if (response === null || response.controllerId <= 0) return false;
      const listed = new Set(response.brokers.map((broker) => broker.brokerId));
      return members.every((member) => listed.has(member));
    }));
    return answers.every(Boolean);
  }

  /** Waits (bounded) until the member `id` answers Metadata that lists it: it has registered. */
  async waitUntilListed(id: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const response = await this.metadata(id);
      const listed = response?.brokers.some((b) => b.brokerId === id) ?? false;
      if (listed && (response?.controllerId ?? 0) > 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return false;
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

  /** Stops every broker ever started (joined ones too): SIGTERM, SIGKILL after a bound; then the relays. */
  async stop(): Promise<void> {
    await Promise.all(this.everIds().map((id) => this.kill(id, 'SIGTERM')));
    await this.relays.close();
    await Promise.all([...this.brokers.values()].map((broker) => new Promise<void>((resolve) => {
      broker.stderr.end(() => { resolve(); });
    })));
  }

  private loadedSecurity(): ClientSecurity | undefined {
    const options = this.clientSecurity;
    if (options === undefined) return undefined;
    this.loaded ??= ClientSecurity.load(options);
    return this.loaded;
  }

  private async metadata(id: number):
    Promise<{ brokers: readonly { brokerId: number }[]; controllerId: number } | null> {
    if (this.state(id) !== 'running') return null;
    const connection = new Connection({ address: this.address(id), clientId: 'jepsen-cluster', requestTimeoutMs: 2_000,
      ...curveOptionsFor(this.loadedSecurity(), id) });
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

  private addRecord(id: number, port: number, raftPort: number, voters: string, kafkaPort: number | null): void {
    assert(!this.brokers.has(id), () => `broker ${id} exists already`);
    assert((kafkaPort !== null) === (this.options.kafkaListeners === true), 'a Kafka port exactly with Kafka listeners');
    this.brokers.set(id, { id, port, raftPort, kafkaPort, voters, child: null, exited: null, paused: false,
      leaving: false, removed: false, stderr: fs.createWriteStream(path.join(this.options.logFolder, `broker-${id}.stderr.log`),
        { flags: 'a' }) });
  }

  /** A secure broker's key flags; none in plaintext. */
  private securityArguments(id: number): string[] {
    const security = this.options.security;
    if (security === undefined) return [];
    const keyFile = security.keys.brokerKeyFiles.get(id);
    assert(keyFile !== undefined, () => `no key for broker ${id}: keys are made for every id the run may start`);
    return ['--key-file', keyFile, '--peer-keys', security.keys.peerKeys, '--client-keys', security.keys.clientKeys,
      '--super-users', `User:${security.user}`];
  }

  /** What a client needs to reach the brokers (library option `security`); undefined in plaintext. */
  get clientSecurity(): ClientSecurityOptions | undefined {
    const security = this.options.security;
    const keyFile = security?.keys.userKeyFiles.get(security.user);
    return security === undefined || keyFile === undefined ? undefined
      : { keyFile, serverKey: security.keys.peerKeys };
  }

  /** The same for a `tributary` command line: `--key-file --server-key`, or nothing in plaintext. */
  clientArguments(): string[] {
    const security = this.clientSecurity;
    return security === undefined ? [] : ['--key-file', security.keyFile, '--server-key', security.serverKey];
  }

  /** `id@127.0.0.1:raftPort,...` of the given voters (their own Raft ports: --raft-dial redirects them). */
  private votersArgument(voters: readonly number[]): string {
    return voters.map((id) => `${id}@127.0.0.1:${this.initialVoters.get(id) ?? this.broker(id).raftPort}`).join(',');
  }

  private spawn(id: number): void {
    const broker = this.broker(id);
    assert(broker.child === null, () => `broker ${id} is already running`);
    assert(!broker.removed, () => `broker ${id} was decommissioned; it is never restarted`);
    const clock = this.options.clockFolder;
    const child = spawn(process.execPath, [...(clock === undefined ? [] : skewPreloadArguments()), mainScript, 'start', '--id', String(id), '--data', this.dataDirectory(id),
      '--listen', this.address(id), '--raft-listen', `127.0.0.1:${broker.raftPort}`, '--voters', broker.voters,
      '--raft-dial', this.relays.dialArgument(id),
      ...(broker.kafkaPort === null ? [] : ['--kafka-listen', `127.0.0.1:${String(broker.kafkaPort)}`]),
      ...this.securityArguments(id)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn',
      ...this.options.environment,
      ...(clock === undefined ? {} : { [CLOCK_FILE_ENVIRONMENT]: clockFile(clock, id) }),
      [PARENT_PID_ENV]: String(process.pid) } });
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
          // A decommissioned broker exits 0 by itself once it is deregistered.
          if (broker.leaving && code === 0) broker.removed = true;
        }
        resolve();
      });
    });
  }
}
