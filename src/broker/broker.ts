/**
 * One Tributary broker: its storage (LogManager), the Raft host with the ZeroMQ transport, the
 * controller replica (a voter's, or a learner's on a broker that is not among the voters), its
 * partition replicas (kept in line with the metadata by the ReplicaManager), and the client
 * request server.
 *
 * Start-up: open storage, bootstrap the controller log on a voter's first start (a non-voter's log
 * starts empty and is filled by the controller leader once it is a learner), start the transport
 * and the request server, then register with the controller (proposed directly when this broker
 * leads the controller, forwarded to the leader otherwise, or to every voter while no leader is
 * known) until the registration shows in the metadata. The registration carries the advertised
 * addresses, which may differ from the bound ones. The controller leader then adds every registered
 * non-voter as a learner of the controller group (controller_quorum.ts).
 *
 * Observability (src/metrics/) hooks in at three seams only: the RaftHost's soft-state callback (the
 * leadership log, always), and with --metrics-listen the request server's observer and the
 * storage's FileIo (fsync timing); everything else the metrics read from the broker's state.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ConfChangeType, assert, bootstrapEntries } from '../../raft/core/index.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import { ZmqRaftTransport } from '../../raft/transport/zmq_transport.js';
import { LogManager } from '../../storage/index.js';
import { nodeFileIo } from '../../storage/file_io.js';
import { encodeCommand } from '../controller/commands.js';
import { RequestServer } from '../net/request_server.js';
import type { pb } from '../protocol/messages.js';
import type { BrokerContext } from './broker_context.js';
import { ControllerReplica } from './controller_replica.js';
import { controllerTargets, nextLearner } from './controller_quorum.js';
import { decodeForwarded, encodeForwardedCommand, encodeHeartbeat } from './forwarded.js';
import { BrokerLiveness } from './liveness.js';
import { brokerHandlers } from './handlers.js';
import { GROUP_SETTINGS_DEFAULTS, GroupCoordinator } from '../group/coordinator.js';
import type { GroupSettings } from '../group/coordinator.js';
import { groupHandlers } from '../group/handlers.js';
import { ReplicaManager } from './replica_manager.js';
import { ProducerIdAllocator } from './producer_ids.js';
import { openStorageTestIo } from './storage_test_mode.js';
import { BrokerObservability } from '../metrics/broker_observability.js';
import type { StorageTestIo, StorageTestMode } from './storage_test_mode.js';

export const CONTROLLER_GROUP_ID = 0;
const HEARTBEAT_INTERVAL_MS = 500;
/** How often the group coordinator ticks its groups (session, rebalance and sync timeouts). */
const GROUP_TICK_MS = 100;
/** A write of group records that takes longer fails its request (Kafka's offsets.commit.timeout.ms). */
const GROUP_WRITE_TIMEOUT_MS = 5_000;
const CONTROLLER_LOG = '__controller-0';

export interface HostPort { readonly host: string; readonly port: number }

export interface BrokerOptions {
  readonly id: number;
  readonly dataDirectory: string;
  readonly listen: HostPort;
  readonly raftListen: HostPort;
  /** What clients dial (Metadata, leader hints), registered with the controller; default: listen. */
  readonly advertise?: HostPort;
  /** What peers dial for Raft, registered with the controller; default: raftListen. */
  readonly raftAdvertise?: HostPort;
  /**
   * The controller quorum: broker id to Raft endpoint (Kafka's controller.quorum.voters). A broker
   * whose id is not among them joins as a learner of the controller group (controller_quorum.ts).
   */
  readonly voters: ReadonlyMap<number, HostPort>;
  /** A test-only storage mode (TRIBUTARY_TEST_POWER_LOSS, TRIBUTARY_TEST_FSYNC); never in production. */
  readonly storageTestMode?: StorageTestMode;
  /** Peers whose Raft links dial this address instead of theirs (a fault-injecting relay in tests). */
  readonly raftDial?: ReadonlyMap<number, HostPort>;
  readonly logger?: Logger;
  /** The level of the logger made when none is given (pino's names); default TRIBUTARY_LOG_LEVEL, else info. */
  readonly logLevel?: string;
  /** Milliseconds per Raft tick. */
  readonly tickMs?: number;
  /** The ceiling on any topic's max.message.bytes (Kafka's broker-wide message.max.bytes); 8 MiB by default. */
  readonly batchBytesMax?: number;
  /**
   * Store produced batches without walking their records (record_validation.ts). Only for
   * measuring what validation costs (`tributary bench produce --unsafe-skip-record-validation`):
   * a malformed batch would be stored and stop every consumer at its offset.
   */
  readonly unsafeSkipRecordValidation?: boolean;
  /** How often replicas apply retention (Kafka log.retention.check.interval.ms). */
  readonly retentionCheckMs?: number;
  /** A broker silent this long is fenced: left out of metadata and of new placements. */
  readonly sessionTimeoutMs?: number;
  /** Consumer groups (docs/groups.md); unset keys take GROUP_SETTINGS_DEFAULTS. */
  readonly groups?: Partial<GroupSettings>;
  /** Where to serve Prometheus metrics (`/metrics`); no metrics are kept when absent (docs/operations.md). */
  readonly metricsListen?: HostPort;
}

function tcpEndpoint(address: HostPort): string {
  return `tcp://${address.host}:${address.port}`;
}

export class Broker implements BrokerContext {
  readonly controller: ControllerReplica;
  readonly replicas: ReplicaManager;
  readonly groups: GroupCoordinator;
  private readonly incarnation = Date.now();
  private readonly producerIds: ProducerIdAllocator;
  private registration: NodeJS.Timeout | undefined;
  private heartbeats: NodeJS.Timeout | undefined;
  private readonly liveness: BrokerLiveness;
  private reconcileScheduled = false;
  private closed = false;

  private constructor(
    private readonly options: BrokerOptions,
    private readonly logger: Logger,
    private readonly logs: LogManager,
    private readonly transport: ZmqRaftTransport,
    private readonly host: RaftHost,
    private server: RequestServer | undefined,
    private readonly storageTestIo: StorageTestIo | undefined,
    private readonly observability: BrokerObservability,
  ) {
    this.controller = new ControllerReplica(logger);
    this.liveness = new BrokerLiveness(options.sessionTimeoutMs ?? 6_000);
    this.replicas = new ReplicaManager({ brokerId: options.id, host, logs, batchBytesMax: options.batchBytesMax
      ?? 8 * 1024 * 1024, unsafeSkipRecordValidation: options.unsafeSkipRecordValidation === true, logger,
      setPeer: (id, endpoint) => { transport.setPeer(id, endpoint); },
      recordsListenerFor: (topic, partition) => this.groups.listenerFor(topic, partition) });
    this.groups = new GroupCoordinator(this, { brokerId: options.id, settings: { ...GROUP_SETTINGS_DEFAULTS,
      ...options.groups }, tickIntervalMs: GROUP_TICK_MS, writeTimeoutMs: GROUP_WRITE_TIMEOUT_MS, logger });
    this.producerIds = new ProducerIdAllocator({ brokerId: options.id, grants: {
      nextFreeId: () => this.controller.metadata.nextProducerId(),
      grantedBlock: () => this.controller.metadata.producerIdBlock(options.id),
      submitUntil: (command, done, timeoutMs) => this.submitUntil(command, done, timeoutMs),
    } });
  }

  static async start(options: BrokerOptions): Promise<Broker> {
    const logger = options.logger ?? pino({ name: `broker-${options.id}`,
      level: options.logLevel ?? process.env.TRIBUTARY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    const testIo = options.storageTestMode === undefined ? undefined : openStorageTestIo(options.storageTestMode);
    if (testIo !== undefined) logger.warn({ storageTestMode: options.storageTestMode }, testIo.warning);
    const observability = new BrokerObservability({ brokerId: options.id, logger,
      controllerGroupId: CONTROLLER_GROUP_ID,
      ...(options.metricsListen === undefined ? {} : { metricsListen: options.metricsListen }) });
    const io = observability.fileIo(testIo?.io ?? nodeFileIo) ?? testIo?.io;
    const logs = LogManager.open({ dataDirectory: options.dataDirectory, logger, ...(io === undefined ? {} : { io }),
      ...(testIo === undefined ? {} : { fsyncSkipped: testIo.fsyncSkipped }) });
    const dialOverrides = new Map([...options.raftDial ?? []].map(([id, address]) => [id, tcpEndpoint(address)]));
    const transport = new ZmqRaftTransport({ nodeId: options.id, logger, listen: tcpEndpoint(options.raftListen),
      dialOverrides });
    for (const [id, endpoint] of options.voters) {
      if (id !== options.id) transport.setPeer(id, tcpEndpoint(endpoint));
    }
    const host = new RaftHost({ nodeId: options.id, transport, logger, tickMs: options.tickMs ?? 50,
      raft: { electionTimeoutTicks: 10, heartbeatIntervalTicks: 2 },
      onGroupFailed: (groupId, error) => { logger.fatal({ groupId, error }, 'a raft group lost its storage'); },
      onSoftState: observability.onSoftState });
    const broker = new Broker(options, logger, logs, transport, host, undefined, testIo, observability);
    try {
      await observability.start({ host, replicas: broker.replicas,
        liveBroker: (id) => broker.controller.metadata.broker(id)?.fenced === false,
        committedOffsets: () => broker.groups.committedOffsets() });
      await broker.startControllerReplica();
      broker.server = new RequestServer({ listen: `tcp://${options.listen.host}:${options.listen.port}`,
        handlers: { ...brokerHandlers(broker), ...groupHandlers(broker.groups) }, logger,
        ...(observability.requestObserver === undefined ? {} : { observer: observability.requestObserver }) });
      await broker.server.start();
      await host.start((_from, payload) => { broker.onForward(payload); });
      broker.groups.start();
      broker.replicas.startRetention(options.retentionCheckMs ?? 30_000);
      broker.registration = setInterval(() => { broker.register(); }, 300);
      broker.heartbeats = setInterval(() => { broker.keepAlive(); }, HEARTBEAT_INTERVAL_MS);
      broker.register();
      return broker;
    } catch (error) {
      await broker.close();
      throw error;
    }
  }

  private async startControllerReplica(): Promise<void> {
    const storage = await this.logs.openRaftStorage(CONTROLLER_LOG,
      { describePayload: () => ({ recordCount: 0, maxTimestampMs: -1 }) });
    // Only voters bootstrap: a non-voter's log is the leader's, sent from index 1 once it is a learner.
    const isVoter = this.options.voters.has(this.options.id);
    if (isVoter && storage.lastIndex() === 0 && storage.initialState().hardState.term === 0) {
      const boot = bootstrapEntries([...this.options.voters.keys()].sort((a, b) => a - b));
      await storage.append(boot.entries);
      await storage.saveHardState(boot.hardState);
      await storage.sync();
    }
    this.controller.onChange(() => { this.scheduleReconcile(); });
    this.host.addGroup(CONTROLLER_GROUP_ID, storage, this.controller);
  }

  private scheduleReconcile(): void {
    if (this.reconcileScheduled || this.closed) return;
    this.reconcileScheduled = true;
    setImmediate(() => {
      this.reconcileScheduled = false;
      if (!this.closed) void this.replicas.reconcile(this.controller.metadata);
    });
  }

  /** A command forwarded by another broker: only the controller leader proposes it. */
  private onForward(payload: Uint8Array): void {
    const forwarded = decodeForwarded(payload);
    if (forwarded === null) {
      this.logger.warn({ bytes: payload.length }, 'dropped a forwarded request that is neither command nor heartbeat');
    } else if (forwarded.kind === 'heartbeat') {
      this.liveness.heartbeat(forwarded.brokerId, forwarded.incarnation, Date.now());
    } else if (this.controller.role === 'leader') {
      this.host.propose(CONTROLLER_GROUP_ID, Buffer.from(forwarded.command));
    }
  }

  private submit(command: Uint8Array): void {
    if (this.controller.role === 'leader') this.host.propose(CONTROLLER_GROUP_ID, command);
    else this.forwardToController(encodeForwardedCommand(command));
  }

  /** To the controller leader, or to every voter while no leader is known (a non-voter not yet a learner). */
  private forwardToController(payload: Uint8Array): void {
    for (const target of controllerTargets(this.options.id, this.controller.leaderId, this.options.voters.keys())) {
      this.transport.forward(target, payload);
    }
  }

  /** Heartbeats the controller leader, and on the leader fences or unfences brokers as they go and come. */
  private keepAlive(): void {
    const nowMs = Date.now();
    if (this.controller.role === 'leader') this.liveness.heartbeat(this.options.id, this.incarnation, nowMs);
    else this.forwardToController(encodeHeartbeat(this.options.id, this.incarnation));
    const brokers = this.controller.metadata.brokers();
    for (const command of this.liveness.commands(brokers, this.controller.role === 'leader', nowMs)) {
      this.logger.warn({ command }, command.type === 'fenceBroker' ? 'fencing a silent broker' : 'unfencing a broker');
      this.host.propose(CONTROLLER_GROUP_ID, encodeCommand(command));
    }
    if (this.controller.role === 'leader') this.addLearner();
  }

  /**
   * On the controller leader: makes the next registered non-voter a learner of the controller group.
   * One conf change at a time (the core drops a proposal while one is unapplied); retried each beat.
   */
  private addLearner(): void {
    const conf = this.host.confState(CONTROLLER_GROUP_ID);
    // The Raft node's own role, current where the replica's copy may lag a Ready behind.
    if (conf === undefined || this.host.status(CONTROLLER_GROUP_ID)?.role !== 'leader') return;
    // The core lets only voters campaign: a learner (a broker outside --voters) never leads the controller.
    assert(conf.voters.includes(this.options.id), () => `broker ${this.options.id} leads the controller ` +
      `but is not among its voters ${conf.voters.join(',')}`);
    const brokerId = nextLearner(this.controller.metadata.brokers().map((b) => b.brokerId), conf);
    if (brokerId === undefined) return;
    const result = this.host.proposeConfChange(CONTROLLER_GROUP_ID,
      { type: ConfChangeType.addLearner, nodeId: brokerId });
    if (result?.kind === 'accepted') {
      this.logger.info({ brokerId, index: result.index }, 'adding a registered non-voter as a controller learner');
    }
  }

  private register(): void {
    const known = this.controller.metadata.broker(this.options.id);
    if (known?.incarnation === this.incarnation) {
      clearInterval(this.registration);
      this.registration = undefined;
      this.logger.info({ brokerId: this.options.id }, 'registered with the controller');
      return;
    }
    // Advertised, not bound: a broker listening on 0.0.0.0 is reached at the name it gives.
    const client = this.options.advertise ?? this.options.listen;
    const raft = this.options.raftAdvertise ?? this.options.raftListen;
    this.submit(encodeCommand({ type: 'registerBroker', brokerId: this.options.id, host: client.host,
      port: client.port, raftHost: raft.host, raftPort: raft.port, incarnation: this.incarnation }));
  }

  // ---- BrokerContext ----

  controllerId(): number {
    return this.controller.leaderId === 0 ? -1 : this.controller.leaderId;
  }

  /** The controller voters as the log says (its conf state), or --voters before anything is applied. */
  voterIds(): number[] {
    const voters = this.host.confState(CONTROLLER_GROUP_ID)?.voters ?? [];
    return voters.length > 0 ? [...voters] : [...this.options.voters.keys()];
  }

  /** The live (unfenced) brokers, as Kafka's Metadata lists them. */
  brokerList(): pb.BrokerMetadata.$Properties[] {
    return this.controller.metadata.brokers().filter((b) => !b.fenced)
      .map((b) => ({ brokerId: b.brokerId, host: b.host, port: b.port }));
  }

  fencedBrokerList(): pb.BrokerMetadata.$Properties[] {
    return this.controller.metadata.brokers().filter((b) => b.fenced)
      .map((b) => ({ brokerId: b.brokerId, host: b.host, port: b.port }));
  }

  async submitUntil(command: Uint8Array, applied: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!applied() && Date.now() < deadline && !this.closed) {
      this.submit(command);
      await this.controller.waitFor(applied, Math.min(500, Math.max(1, deadline - Date.now())));
    }
    return applied();
  }

  async waitForData(partitions: readonly (readonly [string, number])[], timeoutMs: number): Promise<void> {
    const waits = partitions.map(([topic, partition]) => this.replicas.partition(topic, partition)?.replica
      .waitForData(timeoutMs)).filter((wait): wait is Promise<void> => wait !== undefined);
    if (waits.length === 0) await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 100)));
    else await Promise.race(waits);
  }

  nextProducerId(): Promise<number> {
    return this.producerIds.nextId();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.observability.close();
    this.producerIds.close();
    clearInterval(this.registration);
    clearInterval(this.heartbeats);
    this.replicas.stopRetention();
    await this.server?.close();
    for (const hosted of this.replicas.all()) hosted.replica.close();
    await this.groups.close();
    await this.host.close();
    await this.logs.close();
    this.storageTestIo?.stop();
  }
}
