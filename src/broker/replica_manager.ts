/**
 * Starts and stops this broker's partition replicas to match the metadata (the reconciler's diff).
 * A replica is a Raft group on a local log: it is bootstrapped with its replica set the first time,
 * and its peers' Raft endpoints come from the brokers' registrations. Reconciles run one at a time.
 */
import { assert } from '../../raft/core/index.js';
import type { GroupId, RaftConfigOptions } from '../../raft/core/index.js';
import { bootstrapUnstartedGroup } from '../../raft/host/bootstrap_group.js';
import type { RaftHost } from '../../raft/host/raft_host.js';
import type { LogManager, RaftLogStorage } from '../../storage/index.js';
import { logNameOf } from '../../storage/index.js';
import type { MetadataStateMachine, MetadataView } from '../controller/metadata_state_machine.js';
import { reconcile } from '../controller/reconciler.js';
import { INTERNAL_TOPIC_NAMES, isInternalName } from '../controller/topic_name.js';
import type { ReplicaAssignment } from '../controller/reconciler.js';
import { PartitionReplica } from '../partition/partition_replica.js';
import type { AppliedRecordsListener } from '../partition/applied_records_listener.js';
import type { TopicConfig } from '../controller/topic_config.js';
import { assignOffsets, BATCH_HEADER_BYTES, readBatchHeader } from '../protocol/record_batch.js';

/** The metadata the replica manager reads: brokers and topics, and each topic's parsed configs. */
export type ReplicaManagerView = MetadataView & Pick<MetadataStateMachine, 'topicConfig'>;

/** Partitions per topic stay below this, so (topic id, partition) maps to one group id. */
const GROUP_IDS_PER_TOPIC = 16_384;
/** Raft options of every partition group (see start). */
const PARTITION_RAFT: RaftConfigOptions = { broadcastCommit: false };
/** How long a new partition's preferred replica waits for the other replicas to host it before it campaigns. */
const FRESH_PARTITION_CAMPAIGN_DELAY_MS = 100;

export function partitionGroupId(topicId: number, partition: number): GroupId {
  return topicId * GROUP_IDS_PER_TOPIC + partition;
}

export interface HostedPartition {
  /** As of the last reconcile: the replica set follows a move's reported steps. */
  assignment: ReplicaAssignment;
  readonly groupId: GroupId;
  readonly replica: PartitionReplica;
  readonly storage: RaftLogStorage;
}

export interface ReplicaManagerOptions {
  readonly brokerId: number;
  readonly host: RaftHost;
  readonly logs: LogManager;
  readonly setPeer: (brokerId: number, endpoint: string) => void;
  readonly batchBytesMax: number;
  /** Only for measuring validation's cost: see PartitionReplicaOptions. */
  readonly unsafeSkipRecordValidation?: boolean;
  /** State to attach to a new replica (the group coordinator's, for `__consumer_offsets`), if any. */
  readonly recordsListenerFor?: (topic: string, partition: number) => AppliedRecordsListener | undefined;
  readonly logger: { info(object: object, message: string): void; error(object: object, message: string): void };
  /**
   * The metadata holds everything committed before this broker started (its registration of this
   * start is applied): only then are leftover logs of moved partitions deleted.
   */
  readonly metadataCaughtUp?: () => boolean;
}

/** The storage hooks of a partition log: payloads are RecordBatch v2, stamped with offset and term. */
export const recordBatchPayloads = {
  describePayload: (data: Uint8Array) => {
    const header = readBatchHeader(data);
    return { recordCount: header.recordCount, maxTimestampMs: Math.max(-1, header.maxTimestamp) };
  },
  beforeAppend: (data: Uint8Array, baseOffset: number, term: number) => {
    assignOffsets(data, baseOffset, Math.min(term, 2 ** 31 - 1));
  },
};

/**
 * The largest batch a partition accepts: its topic's max.message.bytes (Kafka's default 1 MiB + 12),
 * within the broker's ceiling, and never below a batch header (max.message.bytes 0 refuses every
 * batch, as a header-only batch holds no record and is refused anyway).
 */
function topicBatchBytesMax(config: TopicConfig | undefined, brokerBatchBytesMax: number): number {
  return Math.max(BATCH_HEADER_BYTES, Math.min(config?.maxMessageBytes ?? brokerBatchBytesMax, brokerBatchBytesMax));
}

export class ReplicaManager {
  private readonly hosted = new Map<string, HostedPartition>();
  private chain: Promise<void> = Promise.resolve();
  private view: ReplicaManagerView | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private leftoversDeleted = false;
  private closed = false;

  constructor(private readonly options: ReplicaManagerOptions) {}

  partition(topic: string, partition: number): HostedPartition | undefined {
    return this.hosted.get(logNameOf(topic, partition));
  }

  all(): readonly HostedPartition[] {
    return [...this.hosted.values()];
  }

  /** Queues a reconcile against the metadata as it is now. */
  reconcile(view: ReplicaManagerView): Promise<void> {
    this.chain = this.chain.then(() => (this.closed ? undefined : this.reconcileNow(view))).catch((error: unknown) => {
      this.options.logger.error({ error }, 'reconciling partition replicas failed');
    });
    return this.chain;
  }

  /**
   * Checks retention every `intervalMs` (Kafka's log.retention.check.interval.ms). Every replica
   * applies its topic's retention.ms and retention.bytes to its own log, deleting only closed
   * segments of applied (committed) entries, behind a snapshot for followers that fall behind.
   */
  startRetention(intervalMs: number): void {
    this.retentionTimer = setInterval(() => {
      this.chain = this.chain.then(() => (this.closed ? undefined : this.applyRetention())).catch((error: unknown) => {
        this.options.logger.error({ error }, 'retention failed');
      });
    }, intervalMs);
  }

  stopRetention(): void {
    clearInterval(this.retentionTimer);
  }

  /**
   * Stops reconciling and retention and waits for the pass under way: a replica being started
   * (its log opened, its first entries written) must finish before the broker closes the logs, or
   * it writes to a closed LMDB environment (seen in an in-process broker closed right after a
   * topic was created).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.stopRetention();
    await this.chain;
  }

  private async applyRetention(): Promise<void> {
    const view = this.view;
    if (view === undefined) return;
    for (const [name, hosted] of this.hosted) {
      const config = view.topicConfig(hosted.assignment.topic);
      if (config === undefined) continue;
      const deleted = await hosted.replica.applyRetention({ retentionMs: config.retentionMs,
        retentionBytes: config.retentionBytes });
      if (deleted > 0) {
        this.options.logger.info({ partition: name, segments: deleted, logStartOffset: hosted.replica.logStartOffset },
          'retention deleted segments');
      }
    }
  }

  private async reconcileNow(view: ReplicaManagerView): Promise<void> {
    this.view = view;
    for (const broker of view.brokers()) {
      if (broker.brokerId !== this.options.brokerId) {
        this.options.setPeer(broker.brokerId, `tcp://${broker.raftHost}:${broker.raftPort}`);
      }
    }
    const diff = reconcile(view, this.options.brokerId, this.all().map((hosted) => hosted.assignment));
    for (const assignment of diff.toStop) await this.stop(assignment);
    for (const assignment of diff.toStart) await this.start(assignment);
    for (const { desired } of diff.changed) {
      const hosted = this.hosted.get(logNameOf(desired.topic, desired.partition));
      if (hosted !== undefined) hosted.assignment = desired;
    }
    if (!this.leftoversDeleted && this.options.metadataCaughtUp?.() === true) {
      this.leftoversDeleted = true;
      await this.deleteLeftoverLogs(view);
    }
  }

  /**
   * Deletes the logs of moved partitions this broker no longer hosts: a replica removed while its
   * broker was down is never started again, so its files would stay. Only moved partitions are
   * looked at, and only with caught-up metadata, where a partition not assigned here is not ours;
   * once per start (later removals stop the hosted replica, which deletes its log).
   */
  private async deleteLeftoverLogs(view: ReplicaManagerView): Promise<void> {
    const id = this.options.brokerId;
    for (const topic of view.topics()) {
      for (const partition of topic.movedPartitions ?? []) {
        const name = logNameOf(topic.name, partition);
        if (this.hosted.has(name) || !this.options.logs.hasLog(name)) continue;
        const target = topic.reassignments?.find((move) => move.partition === partition)?.target ?? [];
        if (topic.partitions[partition]?.includes(id) === true || target.includes(id)) continue;
        await this.options.logs.deleteLog(name);
        this.options.logger.info({ partition: name }, 'deleted the log of a replica moved away while this broker was down');
      }
    }
  }

  private async start(assignment: ReplicaAssignment): Promise<void> {
    // The controller log and internal logs share the partitions folder: only known internal topics
    // may use a `__` name (the reconciler hosts no other), never the controller's.
    assert(!isInternalName(assignment.topic) || INTERNAL_TOPIC_NAMES.includes(assignment.topic),
      () => `asked to host internal name ${assignment.topic}`);
    const name = logNameOf(assignment.topic, assignment.partition);
    const config = this.view?.topicConfig(assignment.topic);
    const overrides = config === undefined ? {}
      : { segmentBytesMax: config.segmentBytes, segmentAgeMsMax: config.segmentMs };
    const storage = await this.options.logs.openRaftStorage(name, recordBatchPayloads, overrides);
    // A replica joining a moved partition starts with no membership: the leader's log (or snapshot)
    // gives it the group's whole membership history once the leader adds it as a learner.
    const fresh = assignment.bootstrap && await bootstrapUnstartedGroup(storage, assignment.replicas);
    const groupId = partitionGroupId(assignment.topicId, assignment.partition);
    const recordsListener = this.options.recordsListenerFor?.(assignment.topic, assignment.partition);
    const replica = new PartitionReplica({ topic: assignment.topic, partition: assignment.partition, groupId,
      host: this.options.host, storage, batchBytesMax: topicBatchBytesMax(config, this.options.batchBytesMax),
      pendingProducesMax: 10_000,
      fetchWaitersMax: 10_000, unsafeSkipRecordValidation: this.options.unsafeSkipRecordValidation === true,
      ...recordsListener === undefined ? {} : { recordsListener } });
    // Nothing is read from a partition's followers before they lead (and then their own no-op
    // commits), so they may learn each commit with the next append or heartbeat: at low load that
    // spares every write an empty append and its response per follower. The controller keeps
    // broadcasting: brokers answer admin requests once their own replica has applied them.
    this.options.host.addGroup(groupId, storage, replica, PARTITION_RAFT);
    if (fresh && assignment.replicas[0] === this.options.brokerId) {
      // A new partition is led by its preferred replica from the start, as in Kafka, so a new
      // topic's leaders are spread as its replica lists are rather than left to whichever replica
      // times out first (half a second or more later). The others host it by then: they apply the
      // same metadata within milliseconds. If it does not win, the election timeouts decide.
      setTimeout(() => { this.options.host.campaign(groupId); }, FRESH_PARTITION_CAMPAIGN_DELAY_MS).unref();
    }
    this.hosted.set(name, { assignment, groupId, replica, storage });
    this.options.logger.info({ partition: name, groupId, replicas: assignment.replicas,
      bootstrapped: assignment.bootstrap }, 'started replica');
  }

  private async stop(assignment: ReplicaAssignment): Promise<void> {
    const name = logNameOf(assignment.topic, assignment.partition);
    const hosted = this.hosted.get(name);
    if (hosted === undefined) return;
    this.hosted.delete(name);
    this.options.host.removeGroup(hosted.groupId);
    await this.options.host.quiesce(hosted.groupId, 5_000);
    hosted.replica.close();
    await this.options.logs.deleteLog(name);
    this.options.logger.info({ partition: name }, 'stopped replica and deleted its log');
  }
}
