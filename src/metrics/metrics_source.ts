/**
 * What the metrics read from a running broker when scraped: its Raft groups (the controller's and
 * each hosted partition's), their logs, and its client connections. brokerMetricsSource builds the
 * views from the RaftHost and ReplicaManager, so the broker itself only hands those over.
 */
import type { RaftHost } from '../../raft/host/raft_host.js';
import type { ReplicaManager } from '../broker/replica_manager.js';

export interface RaftGroupView {
  readonly groupId: number;
  /** The partition's topic; `__controller` for the controller group. */
  readonly topic: string;
  readonly partition: number;
  readonly role: string;
  /** 0 when no leader is known. */
  readonly leaderId: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
}

export interface PartitionView extends RaftGroupView {
  readonly replicas: readonly number[];
  /**
   * On the leader, the replicas in sync as Metadata's ISR counts them: on a live (unfenced) broker
   * and holding every committed entry; null elsewhere. A dead follower of an idle partition still
   * holds every committed entry: only its broker's fencing takes it out.
   */
  readonly inSyncReplicas: readonly number[] | null;
  /** On the leader, each other replica's highest matching Raft index; empty elsewhere. */
  readonly followerMatch: ReadonlyMap<number, number>;
  readonly highWatermark: number;
  readonly segmentCount: number;
  readonly sizeBytes: number;
}

/** A consumer group's committed offset of a partition, on the broker coordinating the group. */
export interface GroupOffsetView {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
  /** The high watermark of this broker's replica of the partition (the leader's, or a follower's just behind it). */
  readonly highWatermark: number;
}

export interface MetricsSource {
  controller(): RaftGroupView | undefined;
  partitions(): readonly PartitionView[];
  connections(): number;
  /** Committed offsets of the groups this broker coordinates, of partitions it hosts (others are left out). */
  groupOffsets(): readonly GroupOffsetView[];
}

export interface CommittedGroupOffset {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export const CONTROLLER_TOPIC_LABEL = '__controller';

export interface BrokerStateParts {
  readonly brokerId: number;
  readonly host: RaftHost;
  readonly controllerGroupId: number;
  readonly replicas: ReplicaManager;
  readonly connections: () => number;
  /** Whether a broker is registered and not fenced (the controller's view, as Metadata's ISR uses it). */
  readonly liveBroker: (brokerId: number) => boolean;
  /** The group coordinator's committed offsets (GroupCoordinator.committedOffsets). */
  readonly committedOffsets: () => Iterable<CommittedGroupOffset>;
}

/**
 * Views of the broker's state, computed per call. A scrape reads partitions() a few times; at
 * the hundreds of partitions a broker hosts that costs far less than keeping them up to date.
 */
export function brokerMetricsSource(parts: BrokerStateParts): MetricsSource {
  const { host, replicas, brokerId } = parts;
  return {
    controller: () => {
      const status = host.status(parts.controllerGroupId);
      if (status === undefined) return undefined;
      return { groupId: parts.controllerGroupId, topic: CONTROLLER_TOPIC_LABEL, partition: 0, role: status.role,
        leaderId: status.leaderId, term: status.term, commitIndex: status.commitIndex,
        appliedIndex: status.appliedIndex };
    },
    partitions: () => {
      const views: PartitionView[] = [];
      for (const hosted of replicas.all()) {
        const status = host.status(hosted.groupId);
        if (status === undefined) continue; // being started or stopped: not a Raft group of this host now
        const { topic, partition, replicas: replicaIds } = hosted.assignment;
        const live = replicaIds.filter(parts.liveBroker);
        const followerMatch = new Map([...host.matchIndexes(hosted.groupId)].filter(([id]) => id !== brokerId));
        views.push({ groupId: hosted.groupId, topic, partition, role: status.role, leaderId: status.leaderId,
          term: status.term, commitIndex: status.commitIndex, appliedIndex: status.appliedIndex,
          replicas: replicaIds, inSyncReplicas: hosted.replica.inSyncReplicas(live), followerMatch,
          highWatermark: hosted.replica.highWatermark, segmentCount: hosted.storage.log.segmentCount,
          sizeBytes: hosted.storage.log.sizeBytes });
      }
      return views;
    },
    connections: parts.connections,
    groupOffsets: () => {
      const views: GroupOffsetView[] = [];
      for (const { group, topic, partition, offset } of parts.committedOffsets()) {
        const hosted = replicas.partition(topic, partition);
        if (hosted === undefined) continue;
        views.push({ group, topic, partition, committedOffset: offset, highWatermark: hosted.replica.highWatermark });
      }
      return views;
    },
  };
}
