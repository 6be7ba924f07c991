/**
 * The group coordinator of one broker (docs/groups.md): for each `__consumer_offsets` partition it
 * leads, with every earlier entry applied, the groups of that partition, loaded from the
 * partition's group store. It answers the group APIs, holds joins and syncs open until the group's
 * state machine answers them, writes group and offset records through the partition (acks all) and
 * answers after their commit. When the partition's leadership goes, every held request gets
 * NOT_COORDINATOR and the groups are dropped; the next leader loads them from its own store.
 *
 * One timer ticks every loaded group (sessions, rebalance and sync timeouts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { assert } from '../../raft/core/assert.js';
import { ERROR_TABLE, TributaryError, kafkaWireCode } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import type { BrokerContext } from '../broker/broker_context.js';
import type { AppliedRecordsListener } from '../partition/applied_records_listener.js';
import type { PartitionReplica } from '../partition/partition_replica.js';
import type { API_KEYS } from '../protocol/api_keys.js';
import type { DecodedRequestOf, ResponseOf, pb } from '../protocol/messages.js';
import {
  DEFAULT_INITIAL_REBALANCE_DELAY_MS, DEFAULT_MAX_SESSION_TIMEOUT_MS, DEFAULT_MIN_SESSION_TIMEOUT_MS, GroupMembership,
  MAX_REBALANCE_TIMEOUT_MS,
} from './group_membership.js';
import type { Effects, MembershipConfig, Reply } from './group_membership.js';
import { CoordinatorLookup, FORWARDED_LOOKUP_CLIENT_ID } from './coordinator_lookup.js';
import { GroupStore } from './group_store.js';
import { encodeGroupRecords } from './records.js';
import type { GroupRecord } from './records.js';
import {
  OFFSETS_TOPIC, OFFSETS_TOPIC_PARTITIONS_DEFAULT, OFFSETS_TOPIC_RETENTION_BYTES_DEFAULT,
  OFFSETS_TOPIC_SEGMENT_BYTES_DEFAULT, OffsetsTopicCreator, groupPartition, offsetsTopicConfigs,
} from './offsets_topic.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

/** How long FindCoordinator waits for `__consumer_offsets` to be created before answering to retry. */
const FIND_COORDINATOR_CREATE_WAIT_MS = 3_000;

/** Kafka's offset.metadata.max.bytes. */
export const OFFSET_METADATA_BYTES_MAX = 4096;

/** The broker's group settings (the `tributary start --group-*` and `--offsets-topic-partitions` flags). */
export interface GroupSettings {
  /** Partitions of `__consumer_offsets` when a broker creates it (Kafka's offsets.topic.num.partitions). */
  readonly offsetsTopicPartitions: number;
  /** Its segment.bytes (Kafka's offsets.topic.segment.bytes) and retention.bytes when a broker creates it. */
  readonly offsetsTopicSegmentBytes: number;
  readonly offsetsTopicRetentionBytes: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly initialRebalanceDelayMs: number;
  /** Members per group at most; Infinity: no limit (Kafka's default). */
  readonly maxSize: number;
  /** Rebalance timeouts are cut to this; MAX_REBALANCE_TIMEOUT_MS (int32): no bound, as Kafka. */
  readonly maxRebalanceTimeoutMs: number;
}

export const GROUP_SETTINGS_DEFAULTS: GroupSettings = {
  offsetsTopicPartitions: OFFSETS_TOPIC_PARTITIONS_DEFAULT,
  offsetsTopicSegmentBytes: OFFSETS_TOPIC_SEGMENT_BYTES_DEFAULT,
  offsetsTopicRetentionBytes: OFFSETS_TOPIC_RETENTION_BYTES_DEFAULT,
  minSessionTimeoutMs: DEFAULT_MIN_SESSION_TIMEOUT_MS,
  maxSessionTimeoutMs: DEFAULT_MAX_SESSION_TIMEOUT_MS,
  initialRebalanceDelayMs: DEFAULT_INITIAL_REBALANCE_DELAY_MS,
  maxSize: Infinity,
  maxRebalanceTimeoutMs: MAX_REBALANCE_TIMEOUT_MS,
};

export interface GroupCoordinatorOptions {
  readonly brokerId: number;
  readonly settings: GroupSettings;
  /** How often every loaded group is ticked. */
  readonly tickIntervalMs: number;
  /** How long a write of group or offset records may take before its request fails. */
  readonly writeTimeoutMs: number;
  readonly logger: Logger;
}

/** The state attached to one hosted offsets partition replica: its store, and its groups while it leads. */
class OffsetsPartition implements AppliedRecordsListener {
  readonly store = new GroupStore();
  /** Groups with a write under way, by count: the store has their records only once it is applied. */
  readonly writing = new Map<string, number>();
  /** null: not a leader with every earlier entry applied, so nothing is loaded. */
  groups: Map<string, GroupMembership> | null = null;

  constructor(readonly partition: number,
    private readonly leadership: (state: OffsetsPartition, ready: boolean) => void,
    private readonly adopt: (state: OffsetsPartition, groupIds: ReadonlySet<string>) => void) {}

  applyBatch(batch: Uint8Array, baseOffset: number): void {
    const touched = this.store.applyBatch(batch, baseOffset);
    if (this.groups !== null && touched.size > 0) this.adopt(this, touched);
  }
  image(): Uint8Array { return this.store.image(); }
  restore(image: Uint8Array | null): void { if (image !== null) this.store.restore(image); }
  onLeadership(ready: boolean): void { this.leadership(this, ready); }
}

interface Located {
  readonly state: OffsetsPartition;
  readonly groups: Map<string, GroupMembership>;
}

/** Kafka's mapping of a failed write of group records to what the member is told. */
function writeErrorCode(error: unknown): ErrorCode {
  if (!(error instanceof TributaryError)) return 'UNKNOWN_SERVER_ERROR';
  switch (error.code) {
    case 'NOT_LEADER_OR_FOLLOWER':
      return 'NOT_COORDINATOR';
    case 'MESSAGE_TOO_LARGE':
      // Kafka says UNKNOWN_SERVER_ERROR (groups) or INVALID_COMMIT_OFFSET_SIZE (commits); this says why.
      return 'MESSAGE_TOO_LARGE';
    case 'LEADER_NOT_AVAILABLE':
    case 'NOT_ENOUGH_REPLICAS':
    case 'REQUEST_TIMED_OUT':
    case 'TOO_MANY_REQUESTS':
    case 'KAFKA_STORAGE_ERROR':
    case 'CORRUPT_SEGMENT':
    case 'UNKNOWN_TOPIC_OR_PARTITION':
      return 'COORDINATOR_NOT_AVAILABLE';
    default:
      return 'UNKNOWN_SERVER_ERROR';
  }
}

function wire(code: ErrorCode | null): number {
  return code === null ? 0 : kafkaWireCode(code);
}

export class GroupCoordinator {
  readonly offsetsTopic: OffsetsTopicCreator;
  private readonly partitions = new Map<number, OffsetsPartition>();
  /** The resolvers of held joins and syncs, by token. */
  private readonly held = new Map<number, (reply: Reply) => void>();
  private nextToken = 1;
  private readonly membership: MembershipConfig;
  private timer: NodeJS.Timeout | undefined;
  private readonly lookup: CoordinatorLookup;

  constructor(private readonly context: BrokerContext, private readonly options: GroupCoordinatorOptions) {
    const settings = options.settings;
    this.offsetsTopic = new OffsetsTopicCreator(context, { partitions: settings.offsetsTopicPartitions,
      configs: offsetsTopicConfigs(settings.offsetsTopicSegmentBytes, settings.offsetsTopicRetentionBytes),
      timeoutMs: 10_000 });
    this.lookup = new CoordinatorLookup(context, options.logger);
    this.membership = { minSessionTimeoutMs: settings.minSessionTimeoutMs,
      maxSessionTimeoutMs: settings.maxSessionTimeoutMs,
      initialRebalanceDelayMs: settings.initialRebalanceDelayMs, maxSize: settings.maxSize,
      maxRebalanceTimeoutMs: settings.maxRebalanceTimeoutMs,
      newMemberId: (clientId) => `${clientId}-${randomUUID()}`, wallClockMs: () => Date.now() };
  }

  start(): void {
    this.timer = setInterval(() => { this.tickAll(); }, this.options.tickIntervalMs);
  }

  /** Fails every held request and forgets every group (the broker is stopping). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const state of this.partitions.values()) this.unload(state);
    this.partitions.clear();
    await this.lookup.close();
  }

  /**
   * The committed offsets of the groups this broker coordinates now (offsets partitions it leads,
   * loaded), for metrics; read-only.
   */
  *committedOffsets(): Generator<{ group: string; topic: string; partition: number; offset: number }> {
    for (const state of this.partitions.values()) {
      if (state.groups === null) continue;
      for (const group of state.store.groupIds()) {
        for (const { topic, partition, value } of state.store.offsets(group)) {
          yield { group, topic, partition, offset: value.offset };
        }
      }
    }
  }

  /** The state to attach to a new replica of `topic`/`partition`, for the offsets topic only. */
  listenerFor(topic: string, partition: number): AppliedRecordsListener | undefined {
    if (topic !== OFFSETS_TOPIC) return undefined;
    const previous = this.partitions.get(partition);
    if (previous !== undefined) this.unload(previous);
    const state = new OffsetsPartition(partition, (s, ready) => { this.onLeadership(s, ready); },
      (s, groupIds) => { this.adoptStored(s, groupIds); });
    this.partitions.set(partition, state);
    return state;
  }

  private onLeadership(state: OffsetsPartition, ready: boolean): void {
    if (this.partitions.get(state.partition) !== state) return; // a replaced replica's last word
    if (!ready) {
      this.unload(state);
      return;
    }
    if (state.groups !== null) return;
    const nowMs = monotonicNowMs();
    const groups = new Map<string, GroupMembership>();
    for (const groupId of state.store.groupIds()) groups.set(groupId, this.storedGroup(state, groupId, nowMs));
    state.groups = groups;
    this.options.logger.info({ partition: state.partition, groups: groups.size }, 'loaded the groups of an offsets partition');
  }

  /** A group as the store has it: its last generation, or an empty group with committed offsets. */
  private storedGroup(state: OffsetsPartition, groupId: string, nowMs: number): GroupMembership {
    const stored = state.store.metadata(groupId);
    return stored === null ? new GroupMembership(groupId, this.membership)
      : GroupMembership.load(groupId, stored, this.membership, nowMs);
  }

  /**
   * Records applied for groups the loaded map lacks bring them back as the store has them: a group
   * whose first offsets were committed by a write that timed out was forgotten as idle (forgetIfIdle)
   * before the write was applied, and would otherwise stay unlisted until the partition's next leader.
   */
  private adoptStored(state: OffsetsPartition, groupIds: ReadonlySet<string>): void {
    const groups = state.groups;
    if (groups === null) return;
    const nowMs = monotonicNowMs();
    for (const groupId of groupIds) {
      if (groups.has(groupId) || !state.store.hasGroup(groupId)) continue;
      groups.set(groupId, this.storedGroup(state, groupId, nowMs));
    }
  }

  private unload(state: OffsetsPartition): void {
    const groups = state.groups;
    if (groups === null) return;
    state.groups = null;
    for (const group of groups.values()) this.run(group.abandon('NOT_COORDINATOR'), state, group);
    this.options.logger.info({ partition: state.partition, groups: groups.size }, 'dropped the groups of an offsets partition');
  }

  private tickAll(): void {
    const nowMs = monotonicNowMs();
    for (const state of this.partitions.values()) {
      const groups = state.groups;
      if (groups === null) continue;
      for (const [groupId, group] of groups) {
        this.run(group.tick(nowMs), state, group);
        this.forgetIfIdle({ state, groups }, groupId, group);
      }
    }
  }

  /**
   * A group that never formed and left nothing in the store is forgotten (a refused join made it).
   * One whose first offsets are being written is kept: forgetting it before they are applied left
   * a group with committed offsets that no listing showed until the partition's next leader.
   */
  private forgetIfIdle(located: Located, groupId: string, group: GroupMembership): void {
    const { store, writing } = located.state;
    if (group.isIdle && !store.hasGroup(groupId) && !writing.has(groupId) && located.groups.get(groupId) === group) {
      located.groups.delete(groupId);
    }
  }

  // ---- routing ----

  private replicaOf(state: OffsetsPartition): PartitionReplica | null {
    const hosted = this.context.replicas.partition(OFFSETS_TOPIC, state.partition);
    return hosted !== undefined && hosted.replica.recordsListener === state ? hosted.replica : null;
  }

  /** Where group `groupId` lives on this broker, or why this broker cannot serve it now. */
  private locate(groupId: string): Located | ErrorCode {
    if (groupId === '') return 'INVALID_GROUP_ID';
    const topic = this.context.controller.metadata.topic(OFFSETS_TOPIC);
    if (topic === undefined) {
      void this.offsetsTopic.ensure();
      return 'COORDINATOR_NOT_AVAILABLE';
    }
    const state = this.partitions.get(groupPartition(groupId, topic.partitions.length));
    if (state === undefined) return 'NOT_COORDINATOR';
    const replica = this.replicaOf(state);
    if (replica === null || !replica.isLeader) return 'NOT_COORDINATOR';
    return state.groups === null ? 'COORDINATOR_LOAD_IN_PROGRESS' : { state, groups: state.groups };
  }

  // ---- effects ----

  /** Delivers a state machine's replies and starts its persists. */
  private run(effects: Effects, state: OffsetsPartition, group: GroupMembership): void {
    for (const reply of effects.replies) {
      const resolve = this.held.get(reply.token);
      assert(resolve !== undefined, () => `a reply to token ${reply.token}, which nobody holds`);
      this.held.delete(reply.token);
      resolve(reply);
    }
    for (const persist of effects.persists) {
      void this.write(state, [{ key: { kind: 'group', group: group.groupId }, value: persist.metadata }])
        .then((error) => { this.run(group.persisted(persist.id, error, monotonicNowMs()), state, group); });
    }
  }

  /** Calls the state machine with a new token and waits for the reply addressed to it. */
  private hold(state: OffsetsPartition, group: GroupMembership, call: (token: number) => Effects): Promise<Reply> {
    const token = this.nextToken++;
    const replied = new Promise<Reply>((resolve) => { this.held.set(token, resolve); });
    this.run(call(token), state, group);
    return replied;
  }

  /** Writes records to the partition and waits for their commit; the error to answer, or null. */
  private async write(state: OffsetsPartition, records: readonly GroupRecord[]): Promise<ErrorCode | null> {
    const replica = this.replicaOf(state);
    if (replica === null) return 'NOT_COORDINATOR';
    try {
      await replica.produce(encodeGroupRecords(records, Date.now()), -1, this.options.writeTimeoutMs);
      return null;
    } catch (error: unknown) {
      const code = writeErrorCode(error);
      if (code === 'UNKNOWN_SERVER_ERROR') {
        this.options.logger.error({ error, partition: state.partition }, 'writing group records failed');
      }
      return code;
    }
  }

  /** write(), with the group marked as being written meanwhile (see forgetIfIdle). */
  private async writeFor(state: OffsetsPartition, groupId: string, records: GroupRecord[]): Promise<ErrorCode | null> {
    state.writing.set(groupId, (state.writing.get(groupId) ?? 0) + 1);
    try {
      return await this.write(state, records);
    } finally {
      const left = (state.writing.get(groupId) ?? 1) - 1;
      if (left === 0) state.writing.delete(groupId);
      else state.writing.set(groupId, left);
    }
  }

  private groupFor(located: Located, groupId: string): GroupMembership {
    let group = located.groups.get(groupId);
    if (group === undefined) {
      group = new GroupMembership(groupId, this.membership);
      located.groups.set(groupId, group);
    }
    return group;
  }

  // ---- the APIs ----

  async findCoordinator(request: DecodedRequestOf<typeof API_KEYS.FIND_COORDINATOR>, clientId: string):
  Promise<ResponseOf<typeof API_KEYS.FIND_COORDINATOR>> {
    const none = { nodeId: -1, host: '', port: 0 };
    const fail = (code: ErrorCode, message: string): ResponseOf<typeof API_KEYS.FIND_COORDINATOR> =>
      ({ errorCode: wire(code), errorMessage: message, ...none });
    if (request.key === '') return fail('INVALID_GROUP_ID', 'the group id is empty');
    // The topic is created in the background; the answer does not wait long for it (Kafka does not wait).
    const created = await Promise.race([this.offsetsTopic.ensure(),
      new Promise<false>((resolve) => { setTimeout(() => { resolve(false); }, FIND_COORDINATOR_CREATE_WAIT_MS); })]);
    if (!created) return fail('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} is being created`);
    const metadata = this.context.controller.metadata;
    const topic = metadata.topic(OFFSETS_TOPIC);
    if (topic === undefined) return fail('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} is not in the metadata yet`);
    const partition = groupPartition(request.key, topic.partitions.length);
    const hosted = this.context.replicas.partition(OFFSETS_TOPIC, partition);
    if (hosted === undefined) {
      const replicas = (topic.partitions[partition] ?? []).filter((id) => id !== this.options.brokerId);
      const forwarded = clientId === FORWARDED_LOOKUP_CLIENT_ID ? null : await this.lookup.ask(request.key, replicas);
      return forwarded ?? fail('COORDINATOR_NOT_AVAILABLE',
        `no replica of ${OFFSETS_TOPIC}-${partition} (brokers ${replicas.join(', ')}) named a leader`);
    }
    const leaderId = hosted.replica.isLeader ? this.options.brokerId : hosted.replica.leaderHint;
    const broker = leaderId === null ? undefined : metadata.broker(leaderId);
    if (leaderId === null || broker === undefined || broker.fenced) {
      return fail('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC}-${partition} has no leader`);
    }
    return { errorCode: 0, errorMessage: '', nodeId: leaderId, host: broker.host, port: broker.port };
  }

  async joinGroup(request: DecodedRequestOf<typeof API_KEYS.JOIN_GROUP>, clientId: string):
  Promise<ResponseOf<typeof API_KEYS.JOIN_GROUP>> {
    const located = this.locate(request.groupId);
    if (typeof located === 'string') return { errorCode: wire(located), generationId: -1, memberId: request.memberId };
    const group = this.groupFor(located, request.groupId);
    const reply = await this.hold(located.state, group, (token) => group.join({
      memberId: request.memberId, groupInstanceId: request.groupInstanceId === '' ? null : request.groupInstanceId,
      clientId, clientHost: '', sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs, protocolType: request.protocolType,
      protocols: request.protocols.map((protocol) => ({ name: protocol.name,
        metadata: Uint8Array.from(protocol.metadata) })),
    }, token, monotonicNowMs()));
    assert(reply.kind === 'join', 'a join answered by a sync reply');
    this.forgetIfIdle(located, request.groupId, group);
    const answer = reply.answer;
    return { errorCode: wire(answer.error), generationId: answer.generation, protocolType: answer.protocolType,
      protocolName: answer.protocolName, leader: answer.leader, memberId: answer.memberId,
      members: answer.members.map((member) => ({ memberId: member.memberId,
        groupInstanceId: member.groupInstanceId ?? '', metadata: member.metadata })) };
  }

  async syncGroup(request: DecodedRequestOf<typeof API_KEYS.SYNC_GROUP>):
  Promise<ResponseOf<typeof API_KEYS.SYNC_GROUP>> {
    const located = this.locate(request.groupId);
    if (typeof located === 'string') return { errorCode: wire(located) };
    const group = located.groups.get(request.groupId);
    if (group === undefined) return { errorCode: wire('UNKNOWN_MEMBER_ID') };
    const reply = await this.hold(located.state, group, (token) => group.sync({
      memberId: request.memberId, groupInstanceId: request.groupInstanceId === '' ? null : request.groupInstanceId,
      generation: request.generationId, protocolType: request.protocolType, protocolName: request.protocolName,
      assignments: request.assignments.map((a) => ({ memberId: a.memberId,
        assignment: Uint8Array.from(a.assignment) })),
    }, token, monotonicNowMs()));
    assert(reply.kind === 'sync', 'a sync answered by a join reply');
    const answer = reply.answer;
    return { errorCode: wire(answer.error), protocolType: answer.protocolType, protocolName: answer.protocolName,
      assignment: answer.assignment };
  }

  heartbeat(request: DecodedRequestOf<typeof API_KEYS.HEARTBEAT>): ResponseOf<typeof API_KEYS.HEARTBEAT> {
    const located = this.locate(request.groupId);
    if (typeof located === 'string') return { errorCode: wire(located) };
    const group = located.groups.get(request.groupId);
    if (group === undefined) return { errorCode: wire('UNKNOWN_MEMBER_ID') };
    return { errorCode: wire(group.heartbeat(request.memberId,
      request.groupInstanceId === '' ? null : request.groupInstanceId, request.generationId, monotonicNowMs())) };
  }

  leaveGroup(request: DecodedRequestOf<typeof API_KEYS.LEAVE_GROUP>): ResponseOf<typeof API_KEYS.LEAVE_GROUP> {
    const located = this.locate(request.groupId);
    const echo = (member: pb.LeavingMember.$Properties, code: ErrorCode | null): pb.LeavingMemberResponse.$Properties =>
      ({ memberId: member.memberId ?? '', groupInstanceId: member.groupInstanceId ?? '', errorCode: wire(code) });
    if (typeof located === 'string') return { errorCode: wire(located), members: [] };
    const group = located.groups.get(request.groupId);
    if (group === undefined) {
      return { errorCode: 0, members: request.members.map((member) => echo(member, 'UNKNOWN_MEMBER_ID')) };
    }
    const result = group.leave(request.members.map((member) => ({ memberId: member.memberId,
      groupInstanceId: member.groupInstanceId === '' ? null : member.groupInstanceId })), monotonicNowMs());
    this.run(result, located.state, group);
    return { errorCode: 0, members: request.members.map((member, i) => echo(member, result.answer[i] ?? null)) };
  }

  async offsetCommit(request: DecodedRequestOf<typeof API_KEYS.OFFSET_COMMIT>):
  Promise<ResponseOf<typeof API_KEYS.OFFSET_COMMIT>> {
    const answerAll = (code: ErrorCode | null): ResponseOf<typeof API_KEYS.OFFSET_COMMIT> => ({
      partitions: request.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: wire(code) })) });
    const located = this.locate(request.groupId);
    if (typeof located === 'string') return answerAll(located);
    const nowMs = monotonicNowMs();
    const instance = request.groupInstanceId === '' ? null : request.groupInstanceId;
    let group = located.groups.get(request.groupId);
    let problem: ErrorCode | null;
    if (group !== undefined) {
      problem = group.commitProblem(request.memberId, instance, request.generationId, nowMs);
    } else if (request.generationId < 0 && request.memberId === '' && instance === null) {
      group = this.groupFor(located, request.groupId); // a group of manually assigned consumers
      problem = null;
    } else {
      // Kafka: a generation for a group this coordinator does not know is stale.
      problem = request.generationId < 0 ? 'UNKNOWN_MEMBER_ID' : 'ILLEGAL_GENERATION';
    }
    if (problem !== null) return answerAll(problem);
    const metadata = this.context.controller.metadata;
    const codes = request.partitions.map((p): ErrorCode | null => {
      const topic = metadata.topic(p.topic);
      if (topic === undefined || p.partition >= topic.partitions.length) return 'UNKNOWN_TOPIC_OR_PARTITION';
      if (!Number.isSafeInteger(p.committedOffset) || p.committedOffset < 0) return 'INVALID_REQUEST';
      // int64 on the wire: a value past 2^53 is not a number this broker can keep exactly.
      if (!Number.isSafeInteger(p.committedLeaderEpoch)) return 'INVALID_REQUEST';
      if (Buffer.byteLength(p.metadata, 'utf8') > OFFSET_METADATA_BYTES_MAX) return 'OFFSET_METADATA_TOO_LARGE';
      return null;
    });
    const records: GroupRecord[] = [];
    request.partitions.forEach((p, i) => {
      if (codes[i] !== null) return;
      records.push({ key: { kind: 'offset', group: request.groupId, topic: p.topic, partition: p.partition },
        value: { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch < 0 ? -1 : p.committedLeaderEpoch,
          metadata: p.metadata, commitTimestampMs: Date.now() } });
    });
    const written = records.length === 0 ? null : await this.writeFor(located.state, request.groupId, records);
    return { partitions: request.partitions.map((p, i) => ({ topic: p.topic, partition: p.partition,
      errorCode: wire(codes[i] ?? written) })) };
  }

  offsetFetch(request: DecodedRequestOf<typeof API_KEYS.OFFSET_FETCH>): ResponseOf<typeof API_KEYS.OFFSET_FETCH> {
    const located = this.locate(request.groupId);
    if (typeof located === 'string') return { errorCode: wire(located), partitions: [] };
    const store = located.state.store;
    const wanted = request.partitions.length > 0
      ? request.partitions.map((p) => ({ topic: p.topic, partition: p.partition,
        value: store.offset(request.groupId, p.topic, p.partition) }))
      : store.offsets(request.groupId);
    return { errorCode: 0, partitions: wanted.map(({ topic, partition, value }) => ({
      topic, partition, errorCode: 0, committedOffset: value?.offset ?? -1,
      committedLeaderEpoch: value?.leaderEpoch ?? -1, metadata: value?.metadata ?? '' })) };
  }

  describeGroups(request: DecodedRequestOf<typeof API_KEYS.DESCRIBE_GROUPS>):
  ResponseOf<typeof API_KEYS.DESCRIBE_GROUPS> {
    return { groups: request.groupIds.map((groupId): pb.DescribedGroup.$Properties => {
      const located = this.locate(groupId);
      if (typeof located === 'string') {
        return { groupId, errorCode: wire(located), errorMessage: ERROR_TABLE[located].message, groupState: '' };
      }
      const group = located.groups.get(groupId);
      // Kafka describes an unknown group as Dead, without an error.
      if (group === undefined) return { groupId, errorCode: 0, groupState: 'Dead', generationId: -1 };
      const described = group.describe();
      return { groupId, errorCode: 0, groupState: described.state, protocolType: described.protocolType,
        protocolName: described.protocolName, generationId: described.generation, leader: described.leader,
        members: described.members.map((member) => ({ memberId: member.memberId,
          groupInstanceId: member.groupInstanceId ?? '', clientId: member.clientId, clientHost: member.clientHost,
          memberMetadata: member.metadata, memberAssignment: member.assignment })) };
    }) };
  }

  /**
   * The groups this broker coordinates now (a client lists a cluster's groups by asking every
   * broker). While a partition it leads is still loading its groups, none are listed and the answer
   * is COORDINATOR_LOAD_IN_PROGRESS, which clients retry (Kafka's rule): a partial list would hide
   * the loading partition's groups as though they did not exist.
   */
  listGroups(request: DecodedRequestOf<typeof API_KEYS.LIST_GROUPS>): ResponseOf<typeof API_KEYS.LIST_GROUPS> {
    const groups: pb.ListedGroup.$Properties[] = [];
    for (const state of this.partitions.values()) {
      if (this.replicaOf(state)?.isLeader !== true) continue;
      if (state.groups === null) return { errorCode: wire('COORDINATOR_LOAD_IN_PROGRESS'), groups: [] };
      for (const [groupId, group] of state.groups) {
        if (group.state === 'Dead') continue;
        if (request.statesFilter.length > 0 && !request.statesFilter.includes(group.state)) continue;
        groups.push({ groupId, protocolType: group.protocolType, groupState: group.state });
      }
    }
    groups.sort((left, right) => ((left.groupId ?? '') < (right.groupId ?? '') ? -1 : 1));
    return { errorCode: 0, groups };
  }

  async deleteGroups(request: DecodedRequestOf<typeof API_KEYS.DELETE_GROUPS>):
  Promise<ResponseOf<typeof API_KEYS.DELETE_GROUPS>> {
    type Result = pb.DeletableGroupResult.$Properties;
    const results = await Promise.all(request.groupIds.map(async (groupId): Promise<Result> => {
      const located = this.locate(groupId);
      if (typeof located === 'string') return { groupId, errorCode: wire(located) };
      const group = located.groups.get(groupId);
      if (group === undefined) return { groupId, errorCode: wire('GROUP_ID_NOT_FOUND') };
      const problem = group.markDead();
      if (problem !== null) return { groupId, errorCode: wire(problem) };
      const store = located.state.store;
      const tombstones: GroupRecord[] = store.offsets(groupId).map((stored) => ({
        key: { kind: 'offset', group: groupId, topic: stored.topic, partition: stored.partition }, value: null }));
      tombstones.push({ key: { kind: 'group', group: groupId }, value: null });
      const error = await this.write(located.state, tombstones);
      if (located.groups.get(groupId) === group) {
        located.groups.delete(groupId);
        // Not deleted after all: the group comes back as the store has it.
        if (error !== null && store.hasGroup(groupId)) {
          located.groups.set(groupId, this.storedGroup(located.state, groupId, monotonicNowMs()));
        }
      }
      return { groupId, errorCode: wire(error) };
    }));
    return { results };
  }
}
