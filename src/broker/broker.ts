/**
 * One Tributary broker: its storage (LogManager), the Raft host with the ZeroMQ transport, the
 * controller replica (a voter's, or a learner's on a broker that is not among the voters), its
 * partition replicas (kept in line with the metadata by the ReplicaManager), and the client
 * request server; with kafkaListen also a Kafka wire-protocol listener (src/kafka/) running the
 * same handlers.
 *
 * Start-up: open storage, bootstrap the controller log on a voter's first start (a non-voter's log
 * starts empty and is filled by the controller leader once it is a learner), start the transport
 * and the request server, then register with the controller (proposed directly when this broker
 * leads the controller, forwarded to the leader otherwise, or to every voter while no leader is
 * known) until the registration shows in the metadata. The registration carries the advertised
 * addresses, which may differ from the bound ones. The controller leader then adds every registered
 * non-voter as a learner of the controller group (controller_quorum.ts), and removes it again once
 * it is unregistered by a decommission and silent; the decommissioned process itself resolves
 * `decommissioned`, and the start command closes it and exits 0 (controller/decommission.ts).
 *
 * Leadership: every `leaderRebalanceIntervalMs` the broker hands each partition it leads to the
 * partition's preferred replica when that one is in sync (Kafka's auto.leader.rebalance.enable),
 * and a graceful shutdown (shutdown()) hands every leadership away before the broker closes, so
 * clients move to the new leaders instead of waiting for an election (leadership_transfers.ts).
 * With `autoRebalance`, the controller leader spreads replicas and leaders onto brokers that join
 * (auto_rebalancer.ts).
 *
 * Authorization (src/security/, docs/acls.md): with `authorizer` the handler table both listeners
 * run is wrapped once at start-up by the ACL checks, which read this broker's metadata replica;
 * without it the handlers run unwrapped.
 *
 * Observability (src/metrics/) hooks in at three seams only: the RaftHost's soft-state callback (the
 * leadership log, always), and with --metrics-listen the request server's observer and the
 * storage's FileIo (fsync timing); everything else the metrics read from the broker's state.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';
import { ConfChangeType, assert } from '../../raft/core/index.js';
import { bootstrapUnstartedGroup } from '../../raft/host/bootstrap_group.js';
import { LearnerThrottle } from '../../raft/host/learner_throttle.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import { ZmqRaftTransport } from '../../raft/transport/zmq_transport.js';
import { LogManager } from '../../storage/index.js';
import { nodeFileIo } from '../../storage/file_io.js';
import { encodeCommand } from '../controller/commands.js';
import { BROKERS_MAX } from '../controller/metadata_state_machine.js';
import { REQUEST_SERVER_DEFAULTS, RequestServer } from '../net/request_server.js';
import type { HandlerTable } from '../net/request_server.js';
import { Authorizer } from '../security/authorizer.js';
import { authorizingHandlers } from '../security/authorizing_handlers.js';
import { aclHandlers } from './acl_handlers.js';
import { QuotaManager } from '../quota/quota_manager.js';
import { quotaHandlers } from '../quota/quota_handlers.js';
import { throttlingHandlers } from '../quota/throttling_handlers.js';
import type { pb } from '../protocol/messages.js';
import type { BrokerContext } from './broker_context.js';
import { ControllerReplica } from './controller_replica.js';
import { controllerTargets, learnerToRemove, nextLearner, silentMembers } from './controller_quorum.js';
import { decommissionHandlers } from './decommission_handlers.js';
import { decodeForwarded, encodeAddress, encodeForwardedCommand, encodeHeartbeat, encodeLeaving } from './forwarded.js';
import type { PeerAvailability } from './leader_choice.js';
import { LeadershipTransfers } from './leadership_transfers.js';
import type { ElectionOutcome, HostedGroup } from './leadership_transfers.js';
import { BrokerLiveness } from './liveness.js';
import { brokerHandlers } from './handlers.js';
import { reassignmentHandlers } from './reassignment_handlers.js';
import { controllerQuorumHandlers } from './controller_quorum_handlers.js';
import { AutoRebalancer } from './auto_rebalancer.js';
import { GROUP_SETTINGS_DEFAULTS, GroupCoordinator } from '../group/coordinator.js';
import type { GroupSettings } from '../group/coordinator.js';
import { groupHandlers } from '../group/handlers.js';
import { ReplicaManager } from './replica_manager.js';
import type { HostedPartition } from './replica_manager.js';
import type { GroupId } from '../../raft/core/index.js';
import { ReassignmentDriver } from './reassignment_driver.js';
import { ProducerIdAllocator } from './producer_ids.js';
import { KafkaListener } from '../kafka/listener.js';
import { startKafkaSecurity } from '../kafka/kafka_security.js';
import type { KafkaSecurity, KafkaSecurityOptions } from '../kafka/kafka_security.js';
import type { ConnectionLimitSettings } from '../security/connection_limits.js';
import { BrokerSecurity, CLIENT_ZAP_DOMAIN, RAFT_ZAP_DOMAIN } from '../security/broker_security.js';
import type { ClientSecurity } from '../security/client_security.js';
import { ZapHandler } from '../security/zap_handler.js';
import type { RaftCurve } from '../../raft/transport/zmq_transport.js';
import { openStorageTestIo } from './storage_test_mode.js';
import { BrokerObservability } from '../metrics/broker_observability.js';
import { EventTrace, TRACE_DIR_ENVIRONMENT } from '../common/event_trace.js';
import type { StorageTestIo, StorageTestMode } from './storage_test_mode.js';
import { RAFT_TIMING_DEFAULTS, peerSilenceMsOf, raftTicksOf } from './raft_timing.js';
import type { RaftTiming } from './raft_timing.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';
import { incarnationPast } from './incarnation.js';

export const CONTROLLER_GROUP_ID = 0;
const HEARTBEAT_INTERVAL_MS = 500;
/** How often partition leaders look for the next step of the moves they lead. */
const REASSIGNMENT_TICK_MS = 100;
/** How often the controller leader looks whether to rebalance (with --auto-rebalance). */
const AUTO_REBALANCE_TICK_MS = 1_000;
/** How often the group coordinator ticks its groups (session, rebalance and sync timeouts). */
const GROUP_TICK_MS = 100;
/** A write of group records that takes longer fails its request (Kafka's offsets.commit.timeout.ms). */
const GROUP_WRITE_TIMEOUT_MS = 5_000;
const CONTROLLER_LOG = '__controller-0';
/** An unregistered (decommissioned) controller learner silent this long is removed from the group. */
const DECOMMISSIONED_LEARNER_SILENCE_MS = 3_000;
/**
 * After telling its peers it is leaving, a broker waits this long before choosing where its
 * leaderships go, so brokers stopped together learn of each other and hand nothing to one another.
 */
const LEAVING_NOTICE_MS = 50;
/** Kafka's leader.imbalance.check.interval.seconds, 300 s there; shorter here, where a check is cheap. */
export const LEADER_REBALANCE_INTERVAL_MS_DEFAULT = 30_000;
/** A broker closing after a hand-over waits until no request came for this long... */
const DRAIN_QUIET_MS = 200;
/** ...or this long at most. */
const DRAIN_MAX_MS = 1_000;
/** Journal file size under a storage test mode (see LogManager.open below). */
const TEST_MODE_JOURNAL_FILE_BYTES = 4 * 1024 * 1024;
/** How long one periodic check waits for preferred replicas to catch up and take over. */
const LEADER_REBALANCE_WINDOW_MS = 2_000;
/** How long a graceful shutdown waits for its leaderships to move. */
export const SHUTDOWN_TRANSFER_TIMEOUT_MS_DEFAULT = 5_000;

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
  /** Raft tick, election timeout and heartbeat of every group hosted (RAFT_TIMING_DEFAULTS when absent). */
  readonly raftTiming?: RaftTiming;
  /** The ceiling on any topic's max.message.bytes (Kafka's broker-wide message.max.bytes); 8 MiB by default. */
  readonly batchBytesMax?: number;
  /**
   * Store produced batches without walking their records (record_validation.ts). Only for
   * measuring what validation costs (`tributary bench produce --unsafe-skip-record-validation`):
   * a malformed batch would be stored and stop every consumer at its offset.
   */
  readonly unsafeSkipRecordValidation?: boolean;
  /**
   * Bytes per second this broker sends to learners catching up (Kafka's throttled replication
   * rate); 0 or absent: no limit. A move's own throttle, when lower, wins while the move runs.
   */
  readonly replicationThrottleBytesPerSec?: number;
  /** How often replicas apply retention (Kafka log.retention.check.interval.ms). */
  readonly retentionCheckMs?: number;
  /** The largest request either listener takes (socket.request.max.bytes); absent: each one's default. */
  readonly requestBytesMax?: number;
  /** A broker silent this long is fenced: left out of metadata and of new placements. */
  readonly sessionTimeoutMs?: number;
  /** Consumer groups (docs/groups.md); unset keys take GROUP_SETTINGS_DEFAULTS. */
  readonly groups?: Partial<GroupSettings>;
  /** How often leaderships go back to preferred replicas that are in sync; 0 turns the check off. */
  readonly leaderRebalanceIntervalMs?: number;
  /** Where to serve Prometheus metrics (`/metrics`); no metrics are kept when absent (docs/operations.md). */
  readonly metricsListen?: HostPort;
  /** On the controller leader, spread replicas and leaders onto brokers that join (auto_rebalance.ts). */
  readonly autoRebalance?: boolean;
  /** Where to serve Kafka's wire protocol (src/kafka/, docs/kafka.md); none when absent. Port 0: any free one. */
  readonly kafkaListen?: HostPort;
  /** What Kafka clients dial, registered with the controller; default: kafkaListen (with the bound port). */
  readonly kafkaAdvertise?: HostPort;
  /** TLS and SASL on the Kafka listener (kafka_security.ts, docs/security.md); plain and anonymous when absent. */
  readonly kafkaSecurity?: KafkaSecurityOptions;
  /**
   * Check every request against the ACLs (security/, docs/acls.md): `--authorize`, and always with
   * `security`. Off (the default), every request is allowed as before and the handlers are not
   * wrapped at all.
   */
  readonly authorizer?: boolean;
  /**
   * CURVE on the client and Raft listeners, principals from keys (docs/security.md); plaintext, every
   * request User:ANONYMOUS, when absent.
   */
  readonly security?: BrokerSecurityFiles;
  /** Principals allowed everything (`User:admin`); brokers (`Broker:N`) always are. Used by ACLs. */
  readonly superUsers?: readonly string[];
  /**
   * Connections each listener serves at once, in total, per client address (the Kafka listener
   * only) and per principal (security/connection_limits.ts); no limits when absent.
   */
  readonly connectionLimits?: ConnectionLimitSettings;
}

/** The key files of a secure broker (BrokerSecurity reads them at start). */
export interface BrokerSecurityFiles {
  readonly keyFile: string;
  readonly peerKeysFile: string;
  readonly clientKeysFile?: string;
  readonly allowAnonymous?: boolean;
}

function tcpEndpoint(address: HostPort): string {
  return `tcp://${address.host}:${address.port}`;
}

export class Broker implements BrokerContext {
  readonly controller: ControllerReplica;
  readonly replicas: ReplicaManager;
  readonly groups: GroupCoordinator;
  /** Wall time at the start, moved past an earlier start's when that clock was ahead (incarnation.ts). */
  private incarnation = Date.now();
  private readonly producerIds: ProducerIdAllocator;
  private registration: NodeJS.Timeout | undefined;
  private heartbeats: NodeJS.Timeout | undefined;
  private reassignmentTicks: NodeJS.Timeout | undefined;
  private readonly reassignments: ReassignmentDriver;
  private autoRebalanceTicks: NodeJS.Timeout | undefined;
  private readonly liveness: BrokerLiveness;
  private reconcileScheduled = false;
  private closed = false;
  private readonly leadership: LeadershipTransfers;
  private leaderRebalance: NodeJS.Timeout | undefined;
  private rebalancing = false;
  /** Set once shutdown() began: leaderships are being handed away. */
  private leaving = false;
  private shutdownAborted = false;
  /** shutdown() is waiting for leaderships to move. */
  private handingOver = false;
  /** Peers that said they are shutting down: broker id to the incarnation that said so. */
  private readonly leavingPeers = new Map<number, number>();
  /** A peer silent this long is unreachable: not handed leadership, told where the controller leader is. */
  private readonly peerSilenceMs: number;
  private markDecommissioned: (() => void) | undefined;
  /**
   * Resolves once the metadata shows this process (this incarnation) unregistered by a decommission:
   * it is no member of the cluster any more and should stop (the start command closes and exits 0).
   */
  readonly decommissioned = new Promise<void>((resolve) => { this.markDecommissioned = resolve; });
  /** The Kafka wire-protocol listener, with --kafka-listen. */
  private kafka: KafkaListener | undefined;
  /** Its TLS credentials and SASL users (the users file is watched until close). */
  private kafkaSecurity: KafkaSecurity | undefined;
  /** With `authorizer`: the checks every request passes. */
  private authorizer: Authorizer | undefined;
  private handlerTable: HandlerTable = {};
  /** This broker's credentials for its own client connections to other brokers (with security). */
  readonly clientSecurity: ClientSecurity | undefined;

  private constructor(
    private readonly options: BrokerOptions,
    private readonly logger: Logger,
    private readonly logs: LogManager,
    private readonly transport: ZmqRaftTransport,
    private readonly host: RaftHost,
    private server: RequestServer | undefined,
    private readonly storageTestIo: StorageTestIo | undefined,
    private readonly observability: BrokerObservability,
    private readonly security: BrokerSecurity | undefined,
  ) {
    this.clientSecurity = security?.clientCredentials();
    this.controller = new ControllerReplica(logger);
    this.peerSilenceMs = peerSilenceMsOf(options.raftTiming ?? RAFT_TIMING_DEFAULTS);
    this.liveness = new BrokerLiveness(options.sessionTimeoutMs ?? 6_000);
    this.replicas = new ReplicaManager({ brokerId: options.id, host, logs, batchBytesMax: options.batchBytesMax
      ?? 8 * 1024 * 1024, unsafeSkipRecordValidation: options.unsafeSkipRecordValidation === true, logger,
      setPeer: (id, endpoint) => { transport.setPeer(id, endpoint); },
      recordsListenerFor: (topic, partition) => this.groups.listenerFor(topic, partition),
      metadataCaughtUp: () => this.controller.metadata.broker(options.id)?.incarnation === this.incarnation });
    this.groups = new GroupCoordinator(this, { brokerId: options.id, settings: { ...GROUP_SETTINGS_DEFAULTS,
      ...options.groups }, tickIntervalMs: GROUP_TICK_MS, writeTimeoutMs: GROUP_WRITE_TIMEOUT_MS, logger });
    this.leadership = new LeadershipTransfers({ brokerId: options.id, host, logger,
      availability: (brokerId) => this.peerAvailability(brokerId) });
    this.reassignments = new ReassignmentDriver({ brokerId: options.id, host, logger,
      metadata: () => this.controller.metadata,
      partition: (topic, partition) => this.replicas.partition(topic, partition),
      submit: (command) => { this.submit(command); } });
    this.producerIds = new ProducerIdAllocator({ brokerId: options.id, grants: {
      nextFreeId: () => this.controller.metadata.nextProducerId(),
      grantedBlock: () => this.controller.metadata.producerIdBlock(options.id),
      submitUntil: (command, done, timeoutMs) => this.submitUntil(command, done, timeoutMs),
    } });
  }

  static async start(options: BrokerOptions): Promise<Broker> {
    const logger = options.logger ?? pino({ name: `broker-${options.id}`,
      level: options.logLevel ?? process.env.TRIBUTARY_LOG_LEVEL ?? 'info' }, pino.destination(2));
    // First: a key file that cannot be used stops the start before anything is opened.
    const kafkaSecurity = options.kafkaListen === undefined || options.kafkaSecurity === undefined ? undefined
      : startKafkaSecurity(options.kafkaSecurity, logger);
    let security: BrokerSecurity | undefined;
    try {
      security = await startSecurity(options, logger);
    } catch (error) {
      kafkaSecurity?.stop();
      throw error;
    }
    const testIo = options.storageTestMode === undefined ? undefined : openStorageTestIo(options.storageTestMode);
    if (testIo !== undefined) logger.warn({ storageTestMode: options.storageTestMode }, testIo.warning);
    const observability = new BrokerObservability({ brokerId: options.id, logger,
      controllerGroupId: CONTROLLER_GROUP_ID,
      ...(options.metricsListen === undefined ? {} : { metricsListen: options.metricsListen }) });
    const io = observability.fileIo(testIo?.io ?? nodeFileIo) ?? testIo?.io;
    // The power-loss test mode holds every unsynced byte in memory, segments' included until the
    // journal's checkpoint syncs them: smaller journal files checkpoint sooner.
    const logs = LogManager.open({ dataDirectory: options.dataDirectory, logger, ...(io === undefined ? {} : { io }),
      ...(testIo === undefined ? {} : { fsyncSkipped: testIo.fsyncSkipped,
        journalFileBytes: TEST_MODE_JOURNAL_FILE_BYTES }) });
    const dialOverrides = new Map([...options.raftDial ?? []].map(([id, address]) => [id, tcpEndpoint(address)]));
    const raftTiming = options.raftTiming ?? RAFT_TIMING_DEFAULTS;
    const { tickMs, ...raftTicks } = raftTicksOf(raftTiming);
    // Diagnosis only (TRIBUTARY_TRACE_DIR): each write's path through this broker, event by event.
    const trace = EventTrace.fromEnvironment();
    if (trace !== undefined) logger.warn({ directory: process.env[TRACE_DIR_ENVIRONMENT] }, 'tracing every request and Raft step');
    const transport = new ZmqRaftTransport({ nodeId: options.id, logger, listen: tcpEndpoint(options.raftListen),
      dialOverrides, pingIntervalMs: raftTiming.heartbeatIntervalMs,
      ...(security === undefined ? {} : { curve: raftCurve(security) }) });
    for (const [id, endpoint] of options.voters) {
      if (id !== options.id) transport.setPeer(id, tcpEndpoint(endpoint));
    }
    let broker: Broker | undefined = undefined;
    let host: RaftHost | undefined = undefined;
    const throttled = new LearnerThrottle(transport, {
      isLearner: (groupId, to) => host?.confState(groupId)?.learners.includes(to) === true,
      bytesPerSec: () => broker?.replicationThrottleBytesPerSec() ?? 0 });
    host = new RaftHost({ nodeId: options.id, transport: throttled, logger, tickMs,
      raft: raftTicks, ...(trace === undefined ? {} : { trace }),
      onGroupFailed: (groupId, error) => { logger.fatal({ groupId, error }, 'a raft group lost its storage'); },
      onSoftState: observability.onSoftState });
    broker = new Broker(options, logger, logs, transport, host, undefined, testIo, observability, security);
    broker.kafkaSecurity = kafkaSecurity;
    try {
      await observability.start({ host, replicas: broker.replicas,
        liveBroker: (id) => broker.controller.metadata.broker(id)?.fenced === false,
        committedOffsets: () => broker.groups.committedOffsets() });
      await broker.startControllerReplica();
      // One handler table for both listeners: the Kafka one translates onto these native handlers.
      const unchecked: HandlerTable = { ...brokerHandlers(broker), ...reassignmentHandlers(broker),
        ...decommissionHandlers(broker), ...groupHandlers(broker.groups), ...aclHandlers(broker),
        ...quotaHandlers(broker),
        ...controllerQuorumHandlers({ brokerId: options.id, groupId: CONTROLLER_GROUP_ID, host,
          controller: broker.controller, peerSilenceMs: peerSilenceMsOf(raftTiming) }) };
      if (options.authorizer === true) {
        broker.authorizer = new Authorizer({ acls: () => broker.controller.metadata.acls(),
          superUsers: options.superUsers ?? [], logger });
        logger.info({ superUsers: options.superUsers ?? [] }, 'authorizing every request with the ACLs');
      }
      const authorized = broker.authorizer === undefined ? unchecked
        : authorizingHandlers(unchecked, broker.authorizer);
      // Byte-rate quotas outermost: a refused request costs nothing (docs/quotas.md).
      const quotas = new QuotaManager({ entries: () => broker.controller.metadata.clientQuotas() });
      const handlers = throttlingHandlers(authorized, quotas, (kind, _principal, ms) => {
        observability.metrics?.quotaThrottleApplied(kind, ms / 1000);
      });
      broker.handlerTable = handlers;
      broker.server = new RequestServer({ listen: `tcp://${options.listen.host}:${options.listen.port}`,
        handlers, logger,
        // A frame over frameBytesMax costs the connection (libzmq drops it); one within it but over
        // requestBytesMax is answered MESSAGE_TOO_LARGE, so frames keep their bound unless requests may pass it.
        ...(options.requestBytesMax === undefined ? {} : { requestBytesMax: options.requestBytesMax,
          frameBytesMax: Math.max(options.requestBytesMax, REQUEST_SERVER_DEFAULTS.frameBytesMax) }),
        ...(security === undefined ? {} : {
          curve: { secretKey: security.pair.secretKey, zapDomain: CLIENT_ZAP_DOMAIN },
          authenticate: (token: Uint8Array) => security.principalOf(token) }),
        ...(observability.requestObserver === undefined ? {} : { observer: observability.requestObserver }),
        ...(trace === undefined ? {} : { trace }),
        ...(options.connectionLimits === undefined ? {} : { connectionLimits: options.connectionLimits }),
        onConnectionRefused: (reason) => { observability.metrics?.connectionRefused('native', reason); } });
      await broker.server.start();
      if (options.kafkaListen !== undefined) {
        broker.kafka = await KafkaListener.start({ ...options.kafkaListen, logger,
          ...(options.requestBytesMax === undefined ? {} : { requestBytesMax: options.requestBytesMax }),
          ...(options.connectionLimits === undefined ? {} : { connectionLimits: options.connectionLimits }),
          onConnectionRefused: (reason) => { observability.metrics?.connectionRefused('kafka', reason); },
          broker: { brokerId: options.id,
          handlers, brokers: () => broker.controller.metadata.brokers(),
          ...(broker.clientSecurity === undefined ? {} : { clientSecurity: broker.clientSecurity }) },
          ...(kafkaSecurity?.tls === undefined ? {} : { tls: kafkaSecurity.tls }),
          ...(kafkaSecurity?.sasl === undefined ? {} : { sasl: kafkaSecurity.sasl }) });
      }
      await host.start((from, payload) => { broker.onForward(from, payload); });
      broker.groups.start();
      broker.replicas.startRetention(options.retentionCheckMs ?? 30_000);
      broker.registration = setInterval(() => { broker.register(); }, 300);
      broker.heartbeats = setInterval(() => { broker.keepAlive(); }, HEARTBEAT_INTERVAL_MS);
      const rebalanceMs = options.leaderRebalanceIntervalMs ?? LEADER_REBALANCE_INTERVAL_MS_DEFAULT;
      if (rebalanceMs > 0) broker.leaderRebalance = setInterval(() => { broker.checkPreferredLeaders(); }, rebalanceMs);
      broker.reassignmentTicks = setInterval(() => { broker.reassignments.tick(monotonicNowMs()); },
        REASSIGNMENT_TICK_MS);
      if (options.autoRebalance === true) broker.startAutoRebalance();
      broker.register();
      return broker;
    } catch (error) {
      await broker.close();
      throw error;
    }
  }

  /** Every live broker may take replicas, except those being emptied by a decommission. */
  private startAutoRebalance(): void {
    const client = this.options.advertise ?? this.options.listen;
    const rebalancer = new AutoRebalancer({ metadata: () => this.controller.metadata, logger: this.logger,
      leads: () => this.controller.role === 'leader', bootstrap: `${client.host}:${client.port}`,
      ...(this.clientSecurity === undefined ? {} : { security: this.clientSecurity }),
      eligibleBrokers: () => this.controller.metadata.brokers().filter((b) => !b.fenced && !b.decommissioning)
        .map((b) => b.brokerId),
      sizeOf: (topic, partition) => this.replicas.partition(topic, partition)?.storage.log.sizeBytes,
      submitUntil: (command, applied, timeoutMs) => this.submitUntil(command, applied, timeoutMs) });
    this.autoRebalanceTicks = setInterval(() => { rebalancer.tick(monotonicNowMs()); }, AUTO_REBALANCE_TICK_MS);
  }

  private async startControllerReplica(): Promise<void> {
    const storage = await this.logs.openRaftStorage(CONTROLLER_LOG,
      { describePayload: () => ({ recordCount: 0, maxTimestampMs: -1 }) });
    // Only voters bootstrap: a non-voter's log is the leader's, sent from index 1 once it is a learner.
    if (this.options.voters.has(this.options.id)) {
      await bootstrapUnstartedGroup(storage, [...this.options.voters.keys()].sort((a, b) => a - b));
    }
    this.controller.onChange(() => { this.scheduleReconcile(); this.checkDecommissioned(); });
    this.host.addGroup(CONTROLLER_GROUP_ID, storage, this.controller);
  }

  /** Resolves `decommissioned` (once) when this incarnation was unregistered. */
  private checkDecommissioned(): void {
    if (this.markDecommissioned === undefined) return;
    const record = this.controller.metadata.decommissioned(this.options.id);
    if (record?.incarnation !== this.incarnation) return;
    // warn: the process stops on its own, which an operator should see at any log level but error.
    this.logger.warn({ brokerId: this.options.id, index: record.index }, 'this broker was decommissioned and ' +
      'unregistered; stopping (a new start would register it again as an empty broker)');
    this.markDecommissioned();
    this.markDecommissioned = undefined;
  }

  private scheduleReconcile(): void {
    if (this.reconcileScheduled || this.closed) return;
    this.reconcileScheduled = true;
    setImmediate(() => {
      this.reconcileScheduled = false;
      if (!this.closed) void this.replicas.reconcile(this.controller.metadata);
    });
  }

  /** A request forwarded by another broker: only the controller leader proposes commands. */
  private onForward(from: number, payload: Uint8Array): void {
    const forwarded = decodeForwarded(payload);
    if (forwarded === null) {
      this.logger.warn({ bytes: payload.length }, 'dropped a forwarded request that is no command, heartbeat or notice');
    } else if (forwarded.kind === 'leaving') {
      // Only a broker speaks for itself; the notice holds until it registers a new incarnation.
      if (forwarded.brokerId === from && (this.leavingPeers.size < BROKERS_MAX || this.leavingPeers.has(from))) {
        this.leavingPeers.set(from, forwarded.incarnation);
      }
    } else if (forwarded.kind === 'address') {
      // The leader's own word on where it listens, taken only while the metadata does not say.
      const unknown = this.controller.metadata.broker(from) === undefined;
      if (forwarded.brokerId === from && from !== this.options.id && unknown) {
        this.transport.setPeer(from, tcpEndpoint({ host: forwarded.host, port: forwarded.port }));
      }
    } else if (forwarded.kind === 'heartbeat') {
      this.liveness.heartbeat(forwarded.brokerId, forwarded.incarnation, monotonicNowMs());
    } else if (this.controller.role === 'leader') {
      this.host.propose(CONTROLLER_GROUP_ID, Buffer.from(forwarded.command));
    } else if (!forwarded.relayed) {
      // Sent here by a broker whose voter list is stale: pass it on once to the leader we know.
      const leader = this.controller.leaderId;
      if (leader !== 0 && leader !== from && leader !== this.options.id) {
        this.transport.forward(leader, encodeForwardedCommand(forwarded.command, true));
      }
    }
  }

  private submit(command: Uint8Array): void {
    if (this.controller.role === 'leader') this.host.propose(CONTROLLER_GROUP_ID, command);
    else this.forwardToController(encodeForwardedCommand(command));
  }

  /** To the controller leader, or to every voter while no leader is known (a non-voter not yet a learner). */
  private forwardToController(payload: Uint8Array): void {
    for (const target of controllerTargets(this.options.id, this.controller.leaderId, this.voterIds())) {
      this.transport.forward(target, payload);
    }
  }

  /** Heartbeats the controller leader, and on the leader fences or unfences brokers as they go and come. */
  private keepAlive(): void {
    const nowMs = monotonicNowMs();
    if (this.controller.role === 'leader') this.liveness.heartbeat(this.options.id, this.incarnation, nowMs);
    else this.forwardToController(encodeHeartbeat(this.options.id, this.incarnation));
    const brokers = this.controller.metadata.brokers();
    for (const command of this.liveness.commands(brokers, this.controller.role === 'leader', nowMs)) {
      this.logger.warn({ command }, command.type === 'fenceBroker' ? 'fencing a silent broker' : 'unfencing a broker');
      this.host.propose(CONTROLLER_GROUP_ID, encodeCommand(command));
    }
    if (this.controller.role === 'leader') {
      if (!this.addLearner()) this.removeLearner();
      this.announceToSilentMembers(nowMs);
    }
  }

  /** On the controller leader: tells members it has not heard from where to answer it. */
  private announceToSilentMembers(nowMs: number): void {
    const conf = this.host.confState(CONTROLLER_GROUP_ID);
    if (conf === undefined) return;
    const raft = this.options.raftAdvertise ?? this.options.raftListen;
    const notice = encodeAddress(this.options.id, raft.host, raft.port);
    for (const id of silentMembers(conf, this.options.id, (peer) => this.host.lastHeardFromMs(peer), nowMs,
      this.peerSilenceMs)) {
      this.transport.forward(id, notice);
    }
  }

  /**
   * On the controller leader: makes the next registered non-voter a learner of the controller group.
   * One conf change at a time (the core drops a proposal while one is unapplied); retried each beat.
   * True when there was one to add.
   */
  private addLearner(): boolean {
    const conf = this.host.confState(CONTROLLER_GROUP_ID);
    // The Raft node's own role, current where the replica's copy may lag a Ready behind.
    if (conf === undefined || this.host.status(CONTROLLER_GROUP_ID)?.role !== 'leader') return false;
    // The core lets only voters campaign: a learner (a broker outside --voters) never leads the controller.
    assert(conf.voters.includes(this.options.id), () => `broker ${this.options.id} leads the controller ` +
      `but is not among its voters ${conf.voters.join(',')}`);
    const brokerId = nextLearner(this.controller.metadata.brokers().map((b) => b.brokerId), conf);
    if (brokerId === undefined) return false;
    const result = this.host.proposeConfChange(CONTROLLER_GROUP_ID,
      { type: ConfChangeType.addLearner, nodeId: brokerId });
    if (result?.kind === 'accepted') {
      this.logger.info({ brokerId, index: result.index }, 'adding a registered non-voter as a controller learner');
    }
    return true;
  }

  /** On the controller leader: removes a decommissioned learner once it is silent (learnerToRemove). */
  private removeLearner(): void {
    const conf = this.host.confState(CONTROLLER_GROUP_ID);
    if (conf === undefined || this.host.status(CONTROLLER_GROUP_ID)?.role !== 'leader') return;
    const nowMs = monotonicNowMs();
    const brokerId = learnerToRemove(this.controller.metadata.brokers().map((b) => b.brokerId), conf, (id) => {
      const heardMs = this.host.lastHeardFromMs(id);
      return heardMs === undefined ? Infinity : nowMs - heardMs;
    }, DECOMMISSIONED_LEARNER_SILENCE_MS);
    if (brokerId === undefined) return;
    const result = this.host.proposeConfChange(CONTROLLER_GROUP_ID,
      { type: ConfChangeType.removeNode, nodeId: brokerId });
    if (result?.kind === 'accepted') {
      this.logger.info({ brokerId, index: result.index }, 'removing a decommissioned broker from the controller learners');
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
    const past = incarnationPast(this.incarnation,
      [known?.incarnation, this.controller.metadata.decommissioned(this.options.id)?.incarnation]);
    if (past !== this.incarnation) {
      this.logger.warn({ brokerId: this.options.id, incarnation: this.incarnation, registered: known?.incarnation,
        past },
        'an earlier start of this broker registered a later incarnation (its wall clock was ahead); moving past it');
      this.incarnation = past;
    }
    // Advertised, not bound: a broker listening on 0.0.0.0 is reached at the name it gives.
    const client = this.options.advertise ?? this.options.listen;
    const raft = this.options.raftAdvertise ?? this.options.raftListen;
    const kafka = this.kafkaAdvertised();
    this.submit(encodeCommand({ type: 'registerBroker', brokerId: this.options.id, host: client.host,
      port: client.port, raftHost: raft.host, raftPort: raft.port, incarnation: this.incarnation,
      ...(kafka === undefined ? {} : { kafkaHost: kafka.host, kafkaPort: kafka.port }) }));
  }

  /** The Kafka listener's address for clients: --kafka-advertise, else the bound one. */
  private kafkaAdvertised(): HostPort | undefined {
    if (this.kafka === undefined) return undefined;
    return this.options.kafkaAdvertise ?? { host: this.options.kafkaListen?.host ?? '', port: this.kafka.port };
  }

  /** Whether a peer may be handed leadership, as far as this broker knows. */
  private peerAvailability(brokerId: number): PeerAvailability {
    const broker = this.controller.metadata.broker(brokerId);
    if (broker === undefined) return 'unregistered';
    if (broker.fenced) return 'fenced';
    if (this.leavingPeers.get(brokerId) === broker.incarnation) return 'leaving';
    const heardMs = this.host.lastHeardFromMs(brokerId);
    if (heardMs === undefined || monotonicNowMs() - heardMs > this.peerSilenceMs) return 'unreachable';
    return 'available';
  }

  /** A hosted partition as leadership transfers see it: its replica list as the metadata has it now. */
  private partitionGroup(hosted: HostedPartition): HostedGroup {
    const { topic, topicId, partition } = hosted.assignment;
    const now = this.controller.metadata.topic(topic);
    const replicas = now?.topicId === topicId ? now.partitions[partition] : undefined;
    return { groupId: hosted.groupId, name: `${topic}-${partition}`, replicas: replicas ?? hosted.assignment.replicas };
  }

  /** Every Raft group of this broker: the controller's and each partition's. */
  private hostedGroups(): HostedGroup[] {
    const controller: HostedGroup = { groupId: CONTROLLER_GROUP_ID, name: CONTROLLER_LOG,
      replicas: this.voterIds().sort((a, b) => a - b) };
    return [controller, ...this.replicas.all().map((hosted) => this.partitionGroup(hosted))];
  }

  /** The periodic preferred-leader check (Kafka's auto.leader.rebalance.enable), one at a time. */
  private checkPreferredLeaders(): void {
    if (this.leaving || this.closed || this.rebalancing) return;
    this.rebalancing = true;
    const groups = this.replicas.all().map((hosted) => this.partitionGroup(hosted));
    void this.leadership.rebalance(groups, monotonicNowMs() + LEADER_REBALANCE_WINDOW_MS).then((moved) => {
      if (moved > 0) this.logger.info({ partitions: moved }, 'moved leaderships back to preferred replicas');
    }).finally(() => { this.rebalancing = false; });
  }

  /**
   * A graceful shutdown: tells the peers this broker is leaving, hands every leadership it holds
   * (partitions and controller) to an in-sync follower and waits until it leads none, until no
   * follower can take the rest (the others are gone or leaving too), for at most transferTimeoutMs
   * or until abortShutdown() is called (a second signal); then closes. Clients whose requests reach
   * this broker meanwhile are sent to the new leaders.
   */
  async shutdown(transferTimeoutMs: number): Promise<void> {
    if (this.closed || this.leaving) return this.close();
    this.leaving = true;
    clearInterval(this.leaderRebalance);
    clearInterval(this.autoRebalanceTicks);
    this.host.refuseLeadershipTransfers();
    const notice = encodeLeaving(this.options.id, this.incarnation);
    for (const broker of this.controller.metadata.brokers()) {
      if (broker.brokerId !== this.options.id) this.transport.forward(broker.brokerId, notice);
    }
    const deadlineMs = monotonicNowMs() + transferTimeoutMs;
    this.handingOver = true;
    try {
      await new Promise((resolve) => setTimeout(resolve, Math.min(LEAVING_NOTICE_MS, transferTimeoutMs)));
      const summary = await this.leadership.handAllAway(() => this.hostedGroups(), deadlineMs,
        () => this.shutdownAborted);
      this.logger.info({ moved: summary.moved, kept: summary.kept, elapsedMs: summary.elapsedMs,
        aborted: this.shutdownAborted }, 'handed leaderships over');
      await this.drainRequests();
    } finally {
      this.handingOver = false;
    }
    await this.close();
  }

  /**
   * Serves on until clients stop sending requests here, at most DRAIN_MAX_MS: a client whose
   * metadata predates the hand-over still sends to this broker, and is answered with the new
   * leader rather than losing its request with the socket (it would wait for its timeout).
   */
  private async drainRequests(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    const endMs = monotonicNowMs() + DRAIN_MAX_MS;
    while (monotonicNowMs() < endMs && !this.shutdownAborted) {
      const quiet = server.inflightRequests === 0 && server.held.queuedReplyBytes === 0
        && monotonicNowMs() - server.lastRequestAtMs >= DRAIN_QUIET_MS;
      if (quiet) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Stops waiting for leaderships to move, so the shutdown goes on to close at once. False when
   * there is no such wait to stop (not shutting down, or closing already).
   */
  abortShutdown(): boolean {
    if (!this.handingOver) return false;
    this.shutdownAborted = true;
    return true;
  }

  // ---- BrokerContext ----

  /** The catch-up limit now: the broker's own, or a lower one of a move this broker leads (0: none). */
  replicationThrottleBytesPerSec(): number {
    const own = this.options.replicationThrottleBytesPerSec ?? 0;
    const move = this.reassignments.throttleBytesPerSec;
    if (own <= 0) return move;
    return move <= 0 ? own : Math.min(own, move);
  }

  get brokerId(): number {
    return this.options.id;
  }

  learnerLags(groupId: number): { brokerId: number; entriesBehind: number }[] {
    const commit = this.host.status(groupId)?.commitIndex ?? 0;
    const matches = this.host.matchIndexes(groupId);
    return (this.host.confState(groupId)?.learners ?? []).map((id) => ({ brokerId: id,
      entriesBehind: Math.max(0, commit - (matches.get(id) ?? 0)) }));
  }

  controllerId(): number {
    return this.controller.leaderId === 0 ? -1 : this.controller.leaderId;
  }

  /**
   * The controller voters as the log says (its applied conf state), or --voters before anything is
   * applied: after start, --voters is only where to look first, never who the voters are.
   */
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
    const deadline = monotonicNowMs() + timeoutMs;
    while (!applied() && monotonicNowMs() < deadline && !this.closed) {
      this.submit(command);
      await this.controller.waitFor(applied, Math.min(500, Math.max(1, deadline - monotonicNowMs())));
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

  electPreferredLeaders(partitions: readonly HostedPartition[], timeoutMs: number):
    Promise<ReadonlyMap<GroupId, ElectionOutcome>> {
    return this.leadership.electPreferred(partitions.map((hosted) => this.partitionGroup(hosted)),
      monotonicNowMs() + timeoutMs);
  }

  /** The handler table both listeners run (wrapped by the authorizer when it is on). */
  get requestHandlers(): HandlerTable {
    return this.handlerTable;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.authorizer?.close();
    await this.observability.close();
    this.producerIds.close();
    clearInterval(this.registration);
    clearInterval(this.heartbeats);
    clearInterval(this.leaderRebalance);
    clearInterval(this.reassignmentTicks);
    clearInterval(this.autoRebalanceTicks);
    await this.kafka?.close();
    this.kafkaSecurity?.stop();
    await this.server?.close();
    await this.replicas.close();
    for (const hosted of this.replicas.all()) hosted.replica.close();
    await this.groups.close();
    await this.host.close();
    await this.logs.close();
    this.storageTestIo?.stop();
    if (this.security !== undefined) {
      this.security.stop();
      const zap = await ZapHandler.shared();
      zap.unregister(CLIENT_ZAP_DOMAIN);
      zap.unregister(RAFT_ZAP_DOMAIN);
    }
  }

  /** --super-users (for ACLs); brokers' own principals count as super users besides. */
  get superUsers(): readonly string[] {
    return this.options.superUsers ?? [];
  }
}

/** Loads the key files and registers this broker's ZAP domains; undefined in plaintext. */
async function startSecurity(options: BrokerOptions, logger: Logger): Promise<BrokerSecurity | undefined> {
  if (options.security === undefined) return undefined;
  const security = BrokerSecurity.load(options.id, { ...options.security, superUsers: options.superUsers ?? [] },
    logger);
  const zap = await ZapHandler.shared();
  zap.register(CLIENT_ZAP_DOMAIN, (key) => security.authorizeClient(key), logger);
  zap.register(RAFT_ZAP_DOMAIN, (key) => security.authorizeRaft(key), logger);
  security.startReloading();
  logger.info({ publicKey: security.pair.publicKey, peers: security.peerKeys.size,
    allowAnonymous: security.allowAnonymous }, 'CURVE on the client and Raft listeners');
  return security;
}

function raftCurve(security: BrokerSecurity): RaftCurve {
  return { publicKey: security.pair.publicKey, secretKey: security.pair.secretKey, zapDomain: RAFT_ZAP_DOMAIN,
    peerKey: (nodeId) => security.peerKeys.get(nodeId), tokenFor: (nodeId) => security.raftTokenFor(nodeId),
    senderOf: (token) => security.raftSenderOf(token) };
}
