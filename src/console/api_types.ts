/**
 * The JSON shapes of the console's API (src/console/console_server.ts), shared by the server and
 * the page (src/console/web), so that both sides are checked against one definition. Types only:
 * the page's build reads this file without node's types.
 */

export interface BrokerView {
  readonly id: number;
  readonly address: string;
  /** Registered and not fenced by the controller (fencing follows a missed session, 6 s). */
  readonly up: boolean;
  readonly controller: boolean;
  readonly leaderPartitions: number;
  readonly replicaPartitions: number;
  /** Bytes of its log segments (its metrics' tributary_log_size_bytes), null without metrics. */
  readonly diskBytes: number | null;
  /** Its metrics endpoint and whether it answered the last scrape; null when none is known. */
  readonly metrics: { readonly address: string; readonly up: boolean } | null;
}

export interface PartitionView {
  readonly partition: number;
  readonly leaderId: number | null;
  readonly replicaIds: readonly number[];
  readonly isrIds: readonly number[];
  readonly logStartOffset: number | null;
  readonly highWatermark: number | null;
  /** Bytes on the leader's disk (its metrics), null when unknown. */
  readonly sizeBytes: number | null;
}

export interface TopicView {
  readonly name: string;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
  readonly partitions: readonly PartitionView[];
}

export interface TopicSummary {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Partitions with a replica outside the in-sync set. */
  readonly underReplicated: number;
  /** Partitions without a leader. */
  readonly offline: number;
  /** Sum of high watermark - log start over the partitions whose offsets are known. */
  readonly records: number;
  readonly sizeBytes: number | null;
}

export interface ClusterOverview {
  readonly clusterId: string;
  readonly controllerId: number | null;
  readonly brokers: readonly BrokerView[];
  readonly topics: readonly TopicSummary[];
  readonly readAtMs: number;
}

export interface GroupSummary {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: string;
  readonly members: number;
  /** Total lag over the partitions with a committed offset; null when none has one. */
  readonly lag: number | null;
}

export interface CreateTopicRequest {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export interface GroupMemberView {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly subscribedTopics: readonly string[];
  readonly assignment: readonly { readonly topic: string; readonly partition: number }[];
}

export interface GroupPartitionView {
  readonly topic: string;
  readonly partition: number;
  readonly memberId: string | null;
  readonly committedOffset: number | null;
  /** The high watermark; -1 when it could not be read. */
  readonly logEndOffset: number;
  readonly lag: number | null;
}

export interface GroupView {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocolName: string;
  readonly generationId: number;
  readonly leader: string;
  readonly members: readonly GroupMemberView[];
  readonly partitions: readonly GroupPartitionView[];
}

/** A metrics endpoint as the console last saw it. */
export interface EndpointStatus {
  readonly address: string;
  /** From the `broker` label every sample carries; null until the first answer. */
  readonly brokerId: number | null;
  readonly up: boolean;
  readonly error: string | null;
  readonly lastAnswerMs: number | null;
}

export interface MetricsAnswer {
  readonly endpoints: readonly EndpointStatus[];
  readonly series: readonly ThroughputPoint[];
}

export interface ApiError {
  readonly error: { readonly code: string; readonly message: string };
}

export interface BytesView {
  readonly size: number;
  /** The bytes as UTF-8 (cut at TEXT_CHARS_MAX), null when they are not valid UTF-8. */
  readonly text: string | null;
  /** Whether the text parses as JSON. */
  readonly json: boolean;
  readonly hex: string;
}

export interface RecordView {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: BytesView | null;
  readonly value: BytesView | null;
  readonly headers: readonly { readonly key: string; readonly value: BytesView | null }[];
}

export interface BrowseRequest {
  readonly topic: string;
  readonly partition: number;
  /** Exactly one of offset and timestampMs. */
  readonly offset?: number;
  readonly timestampMs?: number;
  readonly limit: number;
}

export interface BrowseResult {
  readonly topic: string;
  readonly partition: number;
  /** Where the read started (the offset, or the one the time resolved to; null when no record is that late). */
  readonly startOffset: number | null;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly records: readonly RecordView[];
}

export interface ThroughputPoint {
  /** When the scrape ended, ms since the epoch. */
  readonly timeMs: number;
  readonly recordsInPerSec: number;
  readonly recordsOutPerSec: number;
  readonly bytesInPerSec: number;
  readonly bytesOutPerSec: number;
  /** Produce latency quantiles over the interval (every acks), in ms; null when nothing was produced. */
  readonly produceP50Ms: number | null;
  readonly produceP99Ms: number | null;
  /** Endpoints that answered this round. */
  readonly endpointsUp: number;
}
