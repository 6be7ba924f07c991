/**
 * The controller's metadata state machine: brokers with their addresses and liveness, topics with
 * their configs and replica assignments, the next free producer id, and the ACL bindings every
 * broker authorizes with (security/acl.ts).
 *
 * Pure and deterministic, like the Raft core: no clock, no randomness, no I/O. Every replica of the
 * controller group applies the same committed commands in log order and reaches the same state, so
 * snapshot() gives the same bytes on each. Anything that needs time or choice (a heartbeat missed,
 * where replicas go, which producer ids are free) is decided by the controller leader and written
 * into the command before it is proposed.
 *
 * A command that does not fit the current state (a topic that already exists, a fence for an
 * earlier incarnation) is a value, ApplyResult with ok: false, and leaves the state untouched:
 * proposals race, and the log must replay without throwing. The state's own invariants (replicas
 * distinct and registered, names valid, counts positive) are assertions checked after each change.
 */
import { assert, assertNever, assertNatural } from '../../raft/core/assert.js';
import type { ErrorCode } from '../common/errors.js';
import { decodeCommand } from './commands.js';
import type {
  AllocateProducerIdsCommand,
  AlterConfigsCommand,
  AlterPartitionReassignmentCommand,
  AlterClientQuotasCommand,
  CreateAclsCommand,
  CreatePartitionsCommand,
  CreateTopicCommand,
  DecommissionBrokerCommand,
  DeleteAclsCommand,
  FenceBrokerCommand,
  MetadataCommand,
  MetadataCommandType,
  RegisterBrokerCommand,
  ReportPartitionReplicasCommand,
  UnfenceBrokerCommand,
  UnregisterBrokerCommand,
} from './commands.js';
import { decommissionProblem, placeableBrokerIds, unregisterProblem } from './decommission.js';
import { MalformedMetadataError, sortedStringMap } from './metadata_codec.js';
import { decodeSnapshot, encodeSnapshot } from './metadata_snapshot.js';
import type { BrokerInfo, DecommissionedBroker, MetadataSnapshotData, PartitionReassignment, ProducerIdBlock,
  TopicInfo } from './metadata_snapshot.js';
import { checkCounts, TOPIC_PARTITIONS_MAX } from './placement.js';
import type { BrokerLoad } from './placement.js';
import { parseTopicConfig } from './topic_config.js';
import type { TopicConfig } from './topic_config.js';
import { internalFlagProblem, internalNameProblem, topicNameProblem } from './topic_name.js';
import { aclKey, checkAclBinding, checkAclFilter, compareBindings, filterMatches, rawAcl } from '../security/acl.js';
import type { AclBinding, AclBindingFilter } from '../security/acl.js';
import { applyQuotaAlterations, QUOTA_ENTRIES_MAX, quotaAlterationProblem, quotaEntriesProblem }
  from '../quota/client_quotas.js';
import type { QuotaEntry } from '../quota/client_quotas.js';

export type { BrokerInfo, DecommissionedBroker, PartitionReassignment, ProducerIdBlock, TopicInfo }
  from './metadata_snapshot.js';

/** Bounds on the metadata, so a runaway client cannot grow the controller's state without limit. */
export const BROKERS_MAX = 1024;
export const TOPICS_MAX = 10_000;
export const CLUSTER_PARTITIONS_MAX = 100_000;
export const PRODUCER_ID_BLOCK_SIZE_MAX = 1_000_000;
export const HOST_LENGTH_MAX = 255;
/** ACL bindings in the cluster (Kafka sets none; this bounds what a runaway admin script can add). */
export const ACLS_MAX = 10_000;

export type MetadataRejectionCode = Extract<
  ErrorCode,
  | 'INVALID_TOPIC_EXCEPTION'
  | 'TOPIC_ALREADY_EXISTS'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'INVALID_PARTITIONS'
  | 'INVALID_REPLICATION_FACTOR'
  | 'INVALID_REPLICA_ASSIGNMENT'
  | 'INVALID_CONFIG'
  | 'INVALID_REQUEST'
  | 'STALE_BROKER_EPOCH'
  | 'DUPLICATE_BROKER_REGISTRATION'
  | 'BROKER_ID_NOT_REGISTERED'
  | 'REASSIGNMENT_IN_PROGRESS'
  | 'NO_REASSIGNMENT_IN_PROGRESS'
>;

export interface ApplyRejected {
  readonly ok: false;
  readonly type: MetadataCommandType;
  readonly code: MetadataRejectionCode;
  readonly message: string;
}

export type ApplyResult =
  | { readonly ok: true; readonly type: 'registerBroker' | 'fenceBroker' | 'unfenceBroker' | 'deleteTopic' }
  | { readonly ok: true; readonly type: 'decommissionBroker' | 'unregisterBroker' }
  | { readonly ok: true; readonly type: 'alterConfigs' }
  | { readonly ok: true; readonly type: 'createPartitions'; readonly added: number }
  | { readonly ok: true; readonly type: 'createTopic'; readonly topicId: number }
  | { readonly ok: true; readonly type: 'allocateProducerIds'; readonly blockStart: number; readonly blockSize: number }
  | { readonly ok: true; readonly type: 'alterPartitionReassignment' }
  | { readonly ok: true; readonly type: 'reportPartitionReplicas'; readonly done: boolean }
  | { readonly ok: true; readonly type: 'createAcls'; readonly added: number }
  | { readonly ok: true; readonly type: 'deleteAcls'; readonly removed: number }
  | { readonly ok: true; readonly type: 'alterClientQuotas' }
  | ApplyRejected;

/** The read side of the metadata, what the reconciler, placement and request handlers need. */
export interface MetadataView {
  readonly lastAppliedIndex: number;
  brokers(): readonly BrokerInfo[];
  broker(brokerId: number): BrokerInfo | undefined;
  topics(): readonly TopicInfo[];
  topic(name: string): TopicInfo | undefined;
}

export class MetadataStateMachine implements MetadataView {
  private lastApplied = 0;
  private nextProducerIdValue = 0;
  private readonly brokersById = new Map<number, BrokerInfo>();
  private readonly topicsByName = new Map<string, TopicInfo>();
  /** Each broker's last granted producer id block: how a broker learns its command won. */
  private readonly producerIdBlocks = new Map<number, ProducerIdBlock>();
  /** Brokers removed by UnregisterBroker and not registered again since. */
  private readonly decommissionedById = new Map<number, DecommissionedBroker>();
  private partitionTotal = 0;
  /** ACL bindings in compareBindings order, no duplicates; replaced (never mutated) on change. */
  private aclList: readonly AclBinding[] = Object.freeze([]);
  /** Client quota entries by principal, in principal order: read on every produce and fetch. */
  private quotaEntries: ReadonlyMap<string, QuotaEntry> = new Map();

  get lastAppliedIndex(): number {
    return this.lastApplied;
  }

  /** Applies the command committed at index, which must be above every index applied before. */
  apply(command: MetadataCommand, index: number): ApplyResult {
    assertNatural(index, 'index');
    assert(index > this.lastApplied, () => `apply index ${index} must exceed last applied ${this.lastApplied}`);
    const result = this.dispatch(command, index);
    this.lastApplied = index;
    this.checkInvariants();
    return result;
  }

  /** Decodes and applies a log entry; throws MalformedMetadataError when it is not a command. */
  applyEntry(bytes: Uint8Array, index: number): ApplyResult {
    return this.apply(decodeCommand(bytes), index);
  }

  brokers(): readonly BrokerInfo[] {
    return [...this.brokersById.values()].sort((left, right) => left.brokerId - right.brokerId);
  }

  broker(brokerId: number): BrokerInfo | undefined {
    return this.brokersById.get(brokerId);
  }

  /**
   * Registered brokers that are neither fenced nor decommissioning, in ascending id order: where
   * new replicas may go (new topics, new partitions, the offsets topic).
   */
  liveBrokerIds(): readonly number[] {
    return placeableBrokerIds(this);
  }

  /** The record of a broker removed by UnregisterBroker (and not registered again since), if any. */
  decommissioned(brokerId: number): DecommissionedBroker | undefined {
    return this.decommissionedById.get(brokerId);
  }

  topics(): readonly TopicInfo[] {
    return [...this.topicsByName.values()].sort((left, right) => compareStrings(left.name, right.name));
  }

  topic(name: string): TopicInfo | undefined {
    return this.topicsByName.get(name);
  }

  /** The replicas of one partition, preferred leader first, or undefined when there is no such partition. */
  partitionReplicas(topic: string, partition: number): readonly number[] | undefined {
    return this.topicsByName.get(topic)?.partitions[partition];
  }

  /** Topics with a partition move under way, by name. */
  topicsMoving(): readonly TopicInfo[] {
    return [...this.topicsByName.values()].filter((topic) => (topic.reassignments?.length ?? 0) > 0)
      .sort((left, right) => compareStrings(left.name, right.name));
  }

  /** The move under way of one partition, if any. */
  reassignment(topic: string, partition: number): PartitionReassignment | undefined {
    return this.topicsByName.get(topic)?.reassignments?.find((move) => move.partition === partition);
  }

  /** Every ACL binding, in compareBindings order: a frozen array, cheap to read on every request. */
  acls(): readonly AclBinding[] {
    return this.aclList;
  }

  /** Client quota entries by principal (quota/client_quotas.ts), in principal order. */
  clientQuotas(): ReadonlyMap<string, QuotaEntry> {
    return this.quotaEntries;
  }

  /** A topic's effective config: its overrides over the defaults. */
  topicConfig(name: string): TopicConfig | undefined {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) {
      return undefined;
    }
    const parsed = parseTopicConfig(topic.configs);
    assert(parsed.ok, () => `stored configs of ${name} are valid`);
    return parsed.config;
  }

  /** The first producer id not yet handed out: the block start of the next AllocateProducerIds. */
  nextProducerId(): number {
    return this.nextProducerIdValue;
  }

  /** The last producer id block granted to a broker, if any. */
  producerIdBlock(brokerId: number): ProducerIdBlock | undefined {
    return this.producerIdBlocks.get(brokerId);
  }

  /** How many partitions each broker is preferred leader of (brokers with none included as 0). */
  preferredLeaderCounts(): ReadonlyMap<number, number> {
    const counts = new Map<number, number>([...this.brokersById.keys()].map((id) => [id, 0]));
    for (const topic of this.topicsByName.values()) {
      for (const replicas of topic.partitions) {
        const leader = replicas[0];
        if (leader !== undefined) {
          counts.set(leader, (counts.get(leader) ?? 0) + 1);
        }
      }
    }
    return counts;
  }

  /** Replicas and preferred leaderships per registered broker (0 for none): placement's brokerLoad. */
  brokerLoad(): ReadonlyMap<number, BrokerLoad> {
    const load = new Map<number, { replicas: number; leaders: number }>(
      [...this.brokersById.keys()].map((id) => [id, { replicas: 0, leaders: 0 }]));
    for (const topic of this.topicsByName.values()) {
      for (const replicas of topic.partitions) {
        for (const [position, id] of replicas.entries()) {
          const counts = load.get(id);
          assert(counts !== undefined, () => `replica broker ${id} is registered`);
          counts.replicas += 1;
          if (position === 0) counts.leaders += 1;
        }
      }
    }
    return load;
  }

  /** Total partitions over all topics. */
  partitionCount(): number {
    return this.partitionTotal;
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.snapshotData());
  }

  snapshotData(): MetadataSnapshotData {
    return {
      lastAppliedIndex: this.lastApplied,
      nextProducerId: this.nextProducerIdValue,
      brokers: this.brokers(),
      topics: this.topics(),
      producerIdBlocks: [...this.producerIdBlocks.values()].sort((left, right) => left.brokerId - right.brokerId),
      decommissionedBrokers: [...this.decommissionedById.values()]
        .sort((left, right) => left.brokerId - right.brokerId),
      acls: this.aclList.map(rawAcl),
      clientQuotas: [...this.quotaEntries.values()],
    };
  }

  /**
   * Replaces the whole state with a snapshot's. The bytes are untrusted: a snapshot that does not
   * decode or breaks an invariant throws MalformedMetadataError and leaves the state as it was.
   */
  restore(bytes: Uint8Array): void {
    const data = decodeSnapshot(bytes);
    const candidate = MetadataStateMachine.fromData(data);
    const problem = candidate.invariantProblem();
    if (problem !== null) {
      throw new MalformedMetadataError(`snapshot breaks an invariant: ${problem}`);
    }
    this.lastApplied = candidate.lastApplied;
    this.nextProducerIdValue = candidate.nextProducerIdValue;
    this.partitionTotal = candidate.partitionTotal;
    this.brokersById.clear();
    this.topicsByName.clear();
    for (const [id, broker] of candidate.brokersById) {
      this.brokersById.set(id, broker);
    }
    for (const [name, topic] of candidate.topicsByName) {
      this.topicsByName.set(name, topic);
    }
    this.producerIdBlocks.clear();
    for (const [id, block] of candidate.producerIdBlocks) {
      this.producerIdBlocks.set(id, block);
    }
    this.decommissionedById.clear();
    for (const [id, gone] of candidate.decommissionedById) {
      this.decommissionedById.set(id, gone);
    }
    this.aclList = candidate.aclList;
    this.quotaEntries = candidate.quotaEntries;
  }

  /** A machine in the state of bytes (see restore). */
  static fromSnapshot(bytes: Uint8Array): MetadataStateMachine {
    const machine = new MetadataStateMachine();
    machine.restore(bytes);
    return machine;
  }

  private static fromData(data: MetadataSnapshotData): MetadataStateMachine {
    const machine = new MetadataStateMachine();
    machine.lastApplied = data.lastAppliedIndex;
    machine.nextProducerIdValue = data.nextProducerId;
    for (const broker of data.brokers) {
      if (machine.brokersById.has(broker.brokerId)) {
        throw new MalformedMetadataError(`broker ${broker.brokerId} appears twice`);
      }
      machine.brokersById.set(broker.brokerId, Object.freeze({ ...broker }));
    }
    for (const topic of data.topics) {
      if (machine.topicsByName.has(topic.name)) {
        throw new MalformedMetadataError(`topic ${topic.name} appears twice`);
      }
      machine.topicsByName.set(topic.name, freezeTopic(topic));
      machine.partitionTotal += topic.partitions.length;
    }
    for (const block of data.producerIdBlocks) {
      if (machine.producerIdBlocks.has(block.brokerId)) {
        throw new MalformedMetadataError(`broker ${block.brokerId} has two producer id blocks`);
      }
      machine.producerIdBlocks.set(block.brokerId, Object.freeze({ ...block }));
    }
    for (const gone of data.decommissionedBrokers) {
      if (machine.decommissionedById.has(gone.brokerId)) {
        throw new MalformedMetadataError(`broker ${gone.brokerId} is decommissioned twice`);
      }
      machine.decommissionedById.set(gone.brokerId, Object.freeze({ ...gone }));
    }
    const acls: AclBinding[] = [];
    for (const raw of data.acls) {
      const checked = checkAclBinding(raw);
      if (!checked.ok) throw new MalformedMetadataError(`ACL binding: ${checked.message}`);
      acls.push(Object.freeze({ ...checked.value }));
    }
    machine.aclList = Object.freeze(acls);
    const quotaProblem = quotaEntriesProblem(data.clientQuotas);
    if (quotaProblem !== null) throw new MalformedMetadataError(`client quotas: ${quotaProblem}`);
    machine.quotaEntries = new Map(data.clientQuotas.map((entry) => [entry.principal, Object.freeze({ ...entry })]));
    return machine;
  }

  private dispatch(command: MetadataCommand, index: number): ApplyResult {
    switch (command.type) {
      case 'registerBroker':
        return this.registerBroker(command, index);
      case 'fenceBroker':
      case 'unfenceBroker':
        return this.setFenced(command);
      case 'createTopic':
        return this.createTopic(command, index);
      case 'deleteTopic':
        return this.deleteTopic(command.name);
      case 'alterConfigs':
        return this.alterConfigs(command);
      case 'allocateProducerIds':
        return this.allocateProducerIds(command);
      case 'createPartitions':
        return this.createPartitions(command);
      case 'alterPartitionReassignment':
        return this.alterPartitionReassignment(command, index);
      case 'reportPartitionReplicas':
        return this.reportPartitionReplicas(command);
      case 'decommissionBroker':
        return this.decommissionBroker(command);
      case 'unregisterBroker':
        return this.unregisterBroker(command, index);
      case 'createAcls':
        return this.createAcls(command);
      case 'deleteAcls':
        return this.deleteAcls(command);
      case 'alterClientQuotas':
        return this.alterClientQuotas(command);
      default:
        return assertNever(command, 'metadata command');
    }
  }

  private registerBroker(command: RegisterBrokerCommand, index: number): ApplyResult {
    const addressProblem = endpointProblem(command.host, command.port) ??
      endpointProblem(command.raftHost, command.raftPort) ??
      (command.kafkaHost === undefined ? null : endpointProblem(command.kafkaHost, command.kafkaPort ?? 0));
    if (addressProblem !== null) {
      return rejected(command.type, 'INVALID_REQUEST', `broker ${command.brokerId}: ${addressProblem}`);
    }
    const current = this.brokersById.get(command.brokerId);
    if (current === undefined && this.brokersById.size >= BROKERS_MAX) {
      return rejected(command.type, 'INVALID_REQUEST', `the cluster already has ${BROKERS_MAX} brokers`);
    }
    if (current !== undefined && command.incarnation < current.incarnation) {
      return rejected(command.type, 'STALE_BROKER_EPOCH', `broker ${command.brokerId} incarnation ${command.incarnation} ` +
        `is older than the registered ${current.incarnation}`);
    }
    const gone = this.decommissionedById.get(command.brokerId);
    if (gone !== undefined && command.incarnation <= gone.incarnation) {
      // The decommissioned process itself (or an older one): it must stop, not come back.
      return rejected(command.type, 'STALE_BROKER_EPOCH', `broker ${command.brokerId} incarnation ` +
        `${command.incarnation} was decommissioned; only a new start of the broker may register again`);
    }
    if (current !== undefined && command.incarnation === current.incarnation) {
      const same = current.host === command.host && current.port === command.port &&
        current.raftHost === command.raftHost && current.raftPort === command.raftPort &&
        current.kafkaHost === command.kafkaHost && current.kafkaPort === command.kafkaPort;
      return same ? { ok: true, type: command.type } : rejected(command.type, 'DUPLICATE_BROKER_REGISTRATION',
        `broker ${command.brokerId} incarnation ${command.incarnation} is registered with another address`);
    }
    this.brokersById.set(command.brokerId, Object.freeze({
      brokerId: command.brokerId,
      host: command.host,
      port: command.port,
      raftHost: command.raftHost,
      raftPort: command.raftPort,
      incarnation: command.incarnation,
      epoch: index,
      fenced: false,
      // A restart during a decommission keeps it going; a broker registering after its
      // decommission (a new start) comes back as an empty, ordinary broker.
      decommissioning: current?.decommissioning ?? false,
      ...(command.kafkaHost === undefined ? {} : { kafkaHost: command.kafkaHost, kafkaPort: command.kafkaPort ?? 0 }),
    }));
    this.decommissionedById.delete(command.brokerId);
    return { ok: true, type: command.type };
  }

  private setFenced(command: FenceBrokerCommand | UnfenceBrokerCommand): ApplyResult {
    const current = this.brokersById.get(command.brokerId);
    if (current === undefined) {
      return rejected(command.type, 'BROKER_ID_NOT_REGISTERED', `broker ${command.brokerId} is not registered`);
    }
    if (current.incarnation !== command.incarnation) {
      return rejected(command.type, 'STALE_BROKER_EPOCH', `broker ${command.brokerId} is at incarnation ` +
        `${current.incarnation}, not ${command.incarnation}`);
    }
    this.brokersById.set(command.brokerId, Object.freeze({ ...current, fenced: command.type === 'fenceBroker' }));
    return { ok: true, type: command.type };
  }

  /** Marks a broker decommissioning (decommissionProblem says when not); repeating it changes nothing. */
  private decommissionBroker(command: DecommissionBrokerCommand): ApplyResult {
    const problem = decommissionProblem(this, command.brokerId);
    if (problem !== null) return rejected(command.type, problem.code, problem.message);
    const current = this.brokersById.get(command.brokerId);
    assert(current !== undefined, 'decommissionProblem found the broker');
    this.brokersById.set(command.brokerId, Object.freeze({ ...current, decommissioning: true }));
    return { ok: true, type: command.type };
  }

  /**
   * Removes an emptied decommissioning broker (unregisterProblem says when not) and records its
   * incarnation, so that process cannot register again; repeating it changes nothing.
   */
  private unregisterBroker(command: UnregisterBrokerCommand, index: number): ApplyResult {
    const problem = unregisterProblem(this, command.brokerId, this.decommissionedById.has(command.brokerId));
    if (problem !== null) return rejected(command.type, problem.code, problem.message);
    const current = this.brokersById.get(command.brokerId);
    if (current === undefined) return { ok: true, type: command.type };
    this.brokersById.delete(command.brokerId);
    this.decommissionedById.set(command.brokerId, Object.freeze({ brokerId: command.brokerId,
      incarnation: current.incarnation, index }));
    return { ok: true, type: command.type };
  }

  /** Adds the bindings not present yet; refused whole when one is invalid or the bound would be passed. */
  private createAcls(command: CreateAclsCommand): ApplyResult {
    const byKey = new Map(this.aclList.map((binding) => [aclKey(binding), binding]));
    for (const [i, raw] of command.bindings.entries()) {
      const checked = checkAclBinding(raw);
      if (!checked.ok) return rejected(command.type, 'INVALID_REQUEST', `ACL binding ${i}: ${checked.message}`);
      byKey.set(aclKey(checked.value), Object.freeze({ ...checked.value }));
    }
    if (byKey.size > ACLS_MAX) {
      return rejected(command.type, 'INVALID_REQUEST', `the cluster would hold ${byKey.size} ACL bindings, over ` +
        `${ACLS_MAX}`);
    }
    const added = byKey.size - this.aclList.length;
    if (added > 0) this.aclList = Object.freeze([...byKey.values()].sort(compareBindings));
    return { ok: true, type: command.type, added };
  }

  /** Removes every binding that any filter matches; refused whole when a filter is invalid. */
  private deleteAcls(command: DeleteAclsCommand): ApplyResult {
    const filters: AclBindingFilter[] = [];
    for (const [i, raw] of command.filters.entries()) {
      const checked = checkAclFilter(raw);
      if (!checked.ok) return rejected(command.type, 'INVALID_REQUEST', `ACL filter ${i}: ${checked.message}`);
      filters.push(checked.value);
    }
    const kept = this.aclList.filter((binding) => !filters.some((filter) => filterMatches(filter, binding)));
    const removed = this.aclList.length - kept.length;
    if (removed > 0) this.aclList = Object.freeze(kept);
    return { ok: true, type: command.type, removed };
  }

  /** Applies every alteration, or none when one is invalid or the bound would be passed. */
  private alterClientQuotas(command: AlterClientQuotasCommand): ApplyResult {
    for (const [i, alteration] of command.alterations.entries()) {
      const problem = quotaAlterationProblem(alteration);
      if (problem !== null) return rejected(command.type, 'INVALID_REQUEST', `quota alteration ${i}: ${problem}`);
    }
    const entries = applyQuotaAlterations([...this.quotaEntries.values()], command.alterations);
    if (entries.length > QUOTA_ENTRIES_MAX) {
      return rejected(command.type, 'INVALID_REQUEST', `the cluster would hold ${entries.length} quota entries, ` +
        `over ${QUOTA_ENTRIES_MAX}`);
    }
    this.quotaEntries = new Map(entries.map((entry) => [entry.principal, Object.freeze(entry)]));
    return { ok: true, type: command.type };
  }

  private createTopic(command: CreateTopicCommand, index: number): ApplyResult {
    const problem = this.createTopicProblem(command);
    if (problem !== null) {
      return rejected(command.type, problem.code, problem.message);
    }
    this.topicsByName.set(command.name, freezeTopic({
      name: command.name,
      topicId: index,
      replicationFactor: command.replicationFactor,
      configs: command.configs,
      partitions: command.assignments,
      internal: command.internal === true,
    }));
    this.partitionTotal += command.partitionCount;
    return { ok: true, type: command.type, topicId: index };
  }

  /**
   * Why command cannot create its topic in the current state, or null when it can. The leader runs
   * the same checks before proposing (see validateCreateTopic), so a rejection here means a race.
   */
  private createTopicProblem(command: CreateTopicCommand): MetadataProblem | null {
    return validateCreateTopic(this, {
      name: command.name,
      partitionCount: command.partitionCount,
      replicationFactor: command.replicationFactor,
      configs: command.configs,
      internal: command.internal === true,
    }, this.brokersById.size) ?? assignmentProblem(this, command) ??
      (this.partitionTotal + command.partitionCount > CLUSTER_PARTITIONS_MAX
        ? { code: 'INVALID_PARTITIONS', message: `the cluster would exceed ${CLUSTER_PARTITIONS_MAX} partitions` }
        : null);
  }

  /**
   * Appends the command's partitions to its topic. Beyond the leader's checks (validateCreatePartitions),
   * the topic must still be the one the leader saw (same id) at the count the command grows from,
   * so a resubmitted or racing command is rejected instead of adding partitions twice.
   */
  private createPartitions(command: CreatePartitionsCommand): ApplyResult {
    const problem = validateCreatePartitions(this, { name: command.name, partitionCount: command.partitionCount });
    if (problem !== null) {
      return rejected(command.type, problem.code, problem.message);
    }
    const topic = this.topicsByName.get(command.name);
    assert(topic !== undefined, 'validateCreatePartitions found the topic');
    if (topic.topicId !== command.topicId) {
      return rejected(command.type, 'UNKNOWN_TOPIC_OR_PARTITION', `topic ${command.name} is now topic id ` +
        `${topic.topicId}, not ${command.topicId}`);
    }
    const current = topic.partitions.length;
    if (current + command.assignments.length !== command.partitionCount) {
      return rejected(command.type, 'INVALID_PARTITIONS', `topic ${command.name} has ${current} partitions; ` +
        `${command.assignments.length} more do not make ${command.partitionCount}`);
    }
    for (const [offset, replicas] of command.assignments.entries()) {
      const replicaProblem = replicasProblem(this, replicas, topic.replicationFactor) ??
        decommissioningProblem(this, replicas);
      if (replicaProblem !== null) {
        return rejected(command.type, 'INVALID_REPLICA_ASSIGNMENT', `partition ${current + offset}: ${replicaProblem}`);
      }
    }
    const partitions = [...topic.partitions, ...command.assignments];
    this.topicsByName.set(command.name, freezeTopic({ ...topic, partitions }));
    this.partitionTotal += command.assignments.length;
    return { ok: true, type: command.type, added: command.assignments.length };
  }

  /**
   * Records a partition's target replicas. The leader checked the same (validateReassignment); the
   * topic must still be the one it saw. A target equal to the replicas is a move already done. A
   * target of the same brokers in another order moves no data and changes no Raft membership: the
   * replica list takes the new order at once (so the preferred leader changes) and no move is recorded.
   */
  private alterPartitionReassignment(command: AlterPartitionReassignmentCommand, index: number): ApplyResult {
    const problem = validateReassignment(this, { name: command.name, partition: command.partition,
      target: command.target }, this.brokersById.size);
    if (problem !== null) return rejected(command.type, problem.code, problem.message);
    const topic = this.topicsByName.get(command.name);
    assert(topic !== undefined, 'validateReassignment found the topic');
    if (topic.topicId !== command.topicId) {
      return rejected(command.type, 'UNKNOWN_TOPIC_OR_PARTITION', `topic ${command.name} is now topic id ` +
        `${topic.topicId}, not ${command.topicId}`);
    }
    const current = topic.partitions[command.partition] ?? [];
    if (sameList(current, command.target)) return { ok: true, type: command.type };
    if (sameSet(current, command.target)) {
      const partitions = topic.partitions.map((replicas, p) => (p === command.partition ? command.target : replicas));
      this.topicsByName.set(command.name, freezeTopic({ ...topic, partitions }));
      return { ok: true, type: command.type };
    }
    const move: PartitionReassignment = { partition: command.partition, target: command.target,
      reassignmentId: index, confIndex: 0, learners: [], throttleBytesPerSec: command.throttleBytesPerSec };
    const reassignments = [...topic.reassignments ?? [], move].sort((left, right) => left.partition - right.partition);
    const moved = new Set(topic.movedPartitions ?? []).add(command.partition);
    this.topicsByName.set(command.name, freezeTopic({ ...topic, reassignments,
      movedPartitions: [...moved].sort((left, right) => left - right) }));
    return { ok: true, type: command.type };
  }

  /**
   * A partition leader's applied membership: its voters become the replicas (target members first,
   * in target order). A report for another move, or not newer than the last, changes nothing.
   * Voters equal to the target with no learner left end the move.
   */
  private reportPartitionReplicas(command: ReportPartitionReplicasCommand): ApplyResult {
    const topic = this.topicsByName.get(command.name);
    if (topic === undefined || topic.topicId !== command.topicId || command.partition >= topic.partitions.length) {
      return rejected(command.type, 'UNKNOWN_TOPIC_OR_PARTITION', `no partition ${command.name}-${command.partition} ` +
        `of topic id ${command.topicId}`);
    }
    const move = topic.reassignments?.find((candidate) => candidate.partition === command.partition);
    if (move?.reassignmentId !== command.reassignmentId) {
      return rejected(command.type, 'NO_REASSIGNMENT_IN_PROGRESS', `partition ${command.name}-${command.partition} ` +
        `has no move ${command.reassignmentId} under way`);
    }
    if (command.confIndex <= move.confIndex) {
      return rejected(command.type, 'INVALID_REQUEST', `report at index ${command.confIndex} is not newer than ` +
        `${move.confIndex}`);
    }
    const members = [...command.voters, ...command.learners];
    const membersProblem = command.voters.length === 0 ? 'no voters'
      : new Set(members).size !== members.length ? 'a broker is listed twice'
        : members.some((id) => !this.brokersById.has(id)) ? 'an unregistered broker' : null;
    if (membersProblem !== null) {
      return rejected(command.type, 'INVALID_REPLICA_ASSIGNMENT', `report for ${command.name}-${command.partition}: ` +
        membersProblem);
    }
    const done = sameSet(command.voters, move.target) && command.learners.length === 0;
    const replicas = done ? move.target : orderLike(command.voters, move.target);
    const partitions = topic.partitions.map((current, p) => (p === command.partition ? replicas : current));
    const reassignments = (topic.reassignments ?? []).filter((candidate) => candidate !== move);
    if (!done) {
      const learners = [...command.learners].sort((a, b) => a - b);
      reassignments.push({ ...move, confIndex: command.confIndex, learners });
      reassignments.sort((left, right) => left.partition - right.partition);
    }
    this.topicsByName.set(command.name, freezeTopic({ ...topic, partitions, reassignments }));
    return { ok: true, type: command.type, done };
  }

  private deleteTopic(name: string): ApplyResult {
    const reserved = internalNameProblem(name);
    if (reserved !== null) {
      return rejected('deleteTopic', 'INVALID_TOPIC_EXCEPTION', reserved);
    }
    const topic = this.topicsByName.get(name);
    if (topic === undefined) {
      return rejected('deleteTopic', 'UNKNOWN_TOPIC_OR_PARTITION', `topic ${name} does not exist`);
    }
    this.topicsByName.delete(name);
    this.partitionTotal -= topic.partitions.length;
    return { ok: true, type: 'deleteTopic' };
  }

  private alterConfigs(command: AlterConfigsCommand): ApplyResult {
    const topic = this.topicsByName.get(command.name);
    if (topic === undefined) {
      return rejected(command.type, 'UNKNOWN_TOPIC_OR_PARTITION', `topic ${command.name} does not exist`);
    }
    const merged = new Map(Object.entries(topic.configs));
    for (const key of command.remove) {
      if (Object.hasOwn(command.set, key)) {
        return rejected(command.type, 'INVALID_REQUEST', `config ${key} is both set and removed`);
      }
      merged.delete(key);
    }
    for (const [key, value] of Object.entries(command.set)) {
      merged.set(key, value);
    }
    const configs = sortedStringMap(merged);
    const parsed = parseTopicConfig(configs);
    if (!parsed.ok) {
      return rejected(command.type, 'INVALID_CONFIG', parsed.error.message);
    }
    this.topicsByName.set(command.name, freezeTopic({ ...topic, configs }));
    return { ok: true, type: command.type };
  }

  private allocateProducerIds(command: AllocateProducerIdsCommand): ApplyResult {
    if (!this.brokersById.has(command.brokerId)) {
      return rejected(command.type, 'BROKER_ID_NOT_REGISTERED', `broker ${command.brokerId} is not registered`);
    }
    if (command.blockSize < 1 || command.blockSize > PRODUCER_ID_BLOCK_SIZE_MAX) {
      return rejected(command.type, 'INVALID_REQUEST', `producer id block size ${command.blockSize} is not in ` +
        `[1, ${PRODUCER_ID_BLOCK_SIZE_MAX}]`);
    }
    if (command.blockStart !== this.nextProducerIdValue) {
      return rejected(command.type, 'INVALID_REQUEST', `producer id block start ${command.blockStart} is stale; ` +
        `the next free id is ${this.nextProducerIdValue}`);
    }
    const end = command.blockStart + command.blockSize;
    if (!Number.isSafeInteger(end)) {
      return rejected(command.type, 'INVALID_REQUEST', 'producer ids are exhausted');
    }
    this.nextProducerIdValue = end;
    this.producerIdBlocks.set(command.brokerId, Object.freeze({ brokerId: command.brokerId,
      blockStart: command.blockStart, blockSize: command.blockSize }));
    return { ok: true, type: command.type, blockStart: command.blockStart, blockSize: command.blockSize };
  }

  /** Asserts the invariants; a failure is a bug in apply, never bad input. */
  private checkInvariants(): void {
    const problem = this.invariantProblem();
    assert(problem === null, () => `metadata invariant broken: ${problem ?? ''}`);
  }

  private invariantProblem(): string | null {
    let partitions = 0;
    for (const [name, topic] of this.topicsByName) {
      const problem = topicInvariantProblem(this, name, topic);
      if (problem !== null) {
        return problem;
      }
      partitions += topic.partitions.length;
    }
    if (partitions !== this.partitionTotal) {
      return `partition total ${this.partitionTotal} differs from the count ${partitions}`;
    }
    for (const [id, broker] of this.brokersById) {
      if (id !== broker.brokerId || broker.epoch > this.lastApplied) {
        return `broker ${id} record is inconsistent`;
      }
    }
    for (const [id, gone] of this.decommissionedById) {
      if (id !== gone.brokerId || gone.index > this.lastApplied || this.brokersById.has(id)) {
        return `decommissioned broker ${id} is registered or its record is inconsistent`;
      }
    }
    return this.producerIdBlocksProblem() ?? this.aclsProblem() ?? this.quotasProblem();
  }

  /** Entries within the bound, in ascending principal order, each keyed by its own principal and with a rate. */
  private quotasProblem(): string | null {
    if (this.quotaEntries.size > QUOTA_ENTRIES_MAX) return `${this.quotaEntries.size} quota entries, over ${QUOTA_ENTRIES_MAX}`;
    let previous: string | null = null;
    for (const [principal, entry] of this.quotaEntries) {
      if (principal !== entry.principal || (previous !== null && previous >= principal)) {
        return `quota entry ${principal} is out of order or keyed wrongly`;
      }
      if (entry.producerByteRate === undefined && entry.consumerByteRate === undefined) {
        return `quota entry ${principal} has no rate`;
      }
      previous = principal;
    }
    return null;
  }

  /**
   * Bindings strictly ascending (so no duplicates) and within the bound. Each binding was checked
   * (checkAclBinding) when it came in, by createAcls or a restore; this runs after every command,
   * so it stays a cheap ordering walk.
   */
  private aclsProblem(): string | null {
    if (this.aclList.length > ACLS_MAX) return `${this.aclList.length} ACL bindings, over ${ACLS_MAX}`;
    for (const [i, binding] of this.aclList.entries()) {
      const previous = this.aclList[i - 1];
      if (previous !== undefined && compareBindings(previous, binding) >= 0) {
        return `ACL bindings ${i - 1} and ${i} are out of order or equal`;
      }
    }
    return null;
  }

  /** Blocks lie below the next free id, within the size bounds, and never overlap. */
  private producerIdBlocksProblem(): string | null {
    const blocks = [...this.producerIdBlocks.entries()]
      .sort(([, left], [, right]) => left.blockStart - right.blockStart);
    let end = 0;
    for (const [id, block] of blocks) {
      if (id !== block.brokerId || block.blockSize < 1 || block.blockSize > PRODUCER_ID_BLOCK_SIZE_MAX) {
        return `producer id block of broker ${id} is inconsistent`;
      }
      if (block.blockStart < end || block.blockStart + block.blockSize > this.nextProducerIdValue) {
        return `producer id block ${block.blockStart}+${block.blockSize} of broker ${id} overlaps another ` +
          `or passes the next free id ${this.nextProducerIdValue}`;
      }
      end = block.blockStart + block.blockSize;
    }
    return null;
  }
}

export interface MetadataProblem {
  readonly code: MetadataRejectionCode;
  readonly message: string;
}

export interface CreateTopicRequest {
  readonly name: string;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
  /** Only brokers set it, for a name of INTERNAL_TOPIC_NAMES; clients' CreateTopics never do. */
  readonly internal?: boolean;
}

/**
 * Why a topic cannot be created in view's state with brokerCount brokers to place it on, or null
 * when it can. The leader calls it with the live broker count before placing; apply calls it again
 * with the registered count.
 */
export function validateCreateTopic(
  view: MetadataView,
  request: CreateTopicRequest,
  brokerCount: number,
): MetadataProblem | null {
  const nameProblem = topicNameProblem(request.name) ?? internalFlagProblem(request.name, request.internal === true);
  if (nameProblem !== null) {
    return { code: 'INVALID_TOPIC_EXCEPTION', message: nameProblem };
  }
  if (view.topic(request.name) !== undefined) {
    return { code: 'TOPIC_ALREADY_EXISTS', message: `topic ${request.name} already exists` };
  }
  if (view.topics().length >= TOPICS_MAX) {
    return { code: 'INVALID_REQUEST', message: `the cluster already has ${TOPICS_MAX} topics` };
  }
  const countProblem = checkCounts(request.partitionCount, request.replicationFactor, brokerCount);
  if (countProblem !== null) {
    return { code: countProblem.code, message: countProblem.message };
  }
  const parsed = parseTopicConfig(request.configs);
  return parsed.ok ? null : { code: 'INVALID_CONFIG', message: parsed.error.message };
}

export interface CreatePartitionsRequest {
  readonly name: string;
  /** The total the topic should have. */
  readonly partitionCount: number;
}

/**
 * Why topic request.name cannot grow to request.partitionCount partitions in view's state, or null
 * when it can (Kafka's CreatePartitions: the count only grows, internal topics are left alone).
 * The leader calls it before placing the new partitions; apply calls it again.
 */
export function validateCreatePartitions(
  view: Pick<MetadataStateMachine, 'topic' | 'partitionCount'>,
  request: CreatePartitionsRequest,
): MetadataProblem | null {
  const reserved = internalNameProblem(request.name);
  if (reserved !== null) {
    return { code: 'INVALID_TOPIC_EXCEPTION', message: reserved };
  }
  const topic = view.topic(request.name);
  if (topic === undefined) {
    return { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic ${request.name} does not exist` };
  }
  const count = request.partitionCount;
  if (!Number.isSafeInteger(count) || count < 1 || count > TOPIC_PARTITIONS_MAX) {
    return { code: 'INVALID_PARTITIONS', message: `partition count ${count} is not in [1, ${TOPIC_PARTITIONS_MAX}]` };
  }
  const current = topic.partitions.length;
  if (count <= current) {
    return { code: 'INVALID_PARTITIONS', message: `topic ${request.name} has ${current} partitions; a topic can ` +
      `only grow, and ${count} is not more` };
  }
  if (view.partitionCount() + count - current > CLUSTER_PARTITIONS_MAX) {
    return { code: 'INVALID_PARTITIONS', message: `the cluster would exceed ${CLUSTER_PARTITIONS_MAX} partitions` };
  }
  return null;
}

function assignmentProblem(view: MetadataView, command: CreateTopicCommand): MetadataProblem | null {
  if (command.assignments.length !== command.partitionCount) {
    return { code: 'INVALID_REPLICA_ASSIGNMENT', message: `${command.assignments.length} assignments ` +
      `for ${command.partitionCount} partitions` };
  }
  for (const [partition, replicas] of command.assignments.entries()) {
    const problem = replicasProblem(view, replicas, command.replicationFactor) ??
      decommissioningProblem(view, replicas);
    if (problem !== null) {
      return { code: 'INVALID_REPLICA_ASSIGNMENT', message: `partition ${partition}: ${problem}` };
    }
  }
  return null;
}

function replicasProblem(view: MetadataView, replicas: readonly number[], replicationFactor: number): string | null {
  if (replicas.length !== replicationFactor) {
    return `${replicas.length} replicas for replication factor ${replicationFactor}`;
  }
  if (new Set(replicas).size !== replicas.length) {
    return `replicas ${replicas.join(',')} are not distinct`;
  }
  const unknown = replicas.filter((id) => view.broker(id) === undefined);
  return unknown.length === 0 ? null : `brokers ${unknown.join(',')} are not registered`;
}

/** New replicas never go to a decommissioning broker. */
function decommissioningProblem(view: Pick<MetadataView, 'broker'>, replicas: readonly number[]): string | null {
  const leaving = replicas.filter((id) => view.broker(id)?.decommissioning === true);
  return leaving.length === 0 ? null : `brokers ${leaving.join(',')} are being decommissioned`;
}

function topicInvariantProblem(view: MetadataView, name: string, topic: TopicInfo): string | null {
  if (name !== topic.name) {
    return `topic ${name} is stored as ${topic.name}`;
  }
  const nameProblem = topicNameProblem(name);
  if (nameProblem !== null) {
    return nameProblem;
  }
  if (topic.partitions.length < 1 || topic.replicationFactor < 1 || topic.topicId > view.lastAppliedIndex) {
    return `topic ${name} has no partitions, no replicas or a future id`;
  }
  const moved = topic.movedPartitions ?? [];
  for (const [partition, replicas] of topic.partitions.entries()) {
    // A reassignment may change a partition's replica count (within the brokers); others keep the topic's.
    const count = moved.includes(partition) ? replicas.length : topic.replicationFactor;
    const problem = replicasProblem(view, replicas, count);
    if (problem !== null || replicas.length === 0) {
      return `topic ${name} partition ${partition}: ${problem ?? 'no replicas'}`;
    }
  }
  const moveProblem = reassignmentsProblem(view, topic);
  if (moveProblem !== null) return `topic ${name}: ${moveProblem}`;
  const parsed = parseTopicConfig(topic.configs);
  return parsed.ok ? null : parsed.error.message;
}

/** Moved partitions and moves under way: ascending, in range, targets valid, every move's partition moved. */
function reassignmentsProblem(view: MetadataView, topic: TopicInfo): string | null {
  const moved = topic.movedPartitions ?? [];
  if (moved.some((p, i) => p >= topic.partitions.length || (i > 0 && p <= (moved[i - 1] ?? -1)))) {
    return `moved partitions ${moved.join(',')} are not ascending partitions`;
  }
  const moves = topic.reassignments ?? [];
  for (const [i, move] of moves.entries()) {
    if (!moved.includes(move.partition) || (i > 0 && move.partition <= (moves[i - 1]?.partition ?? -1))) {
      return `move of partition ${move.partition} is out of order or not marked moved`;
    }
    const problem = replicasProblem(view, move.target, move.target.length);
    if (problem !== null || move.target.length === 0) return `move target of ${move.partition}: ${problem ?? 'empty'}`;
  }
  return null;
}

export interface ReassignmentRequest {
  readonly name: string;
  readonly partition: number;
  /** The replicas the partition should end with, preferred leader first. */
  readonly target: readonly number[];
}

/**
 * Why a partition cannot be moved to request.target in view's state, or null when it can
 * (Kafka's AlterPartitionReassignments checks): a known partition not already moving, a target
 * of distinct registered brokers, at least one and at most brokerCount of them.
 */
export function validateReassignment(
  view: Pick<MetadataView, 'topic' | 'broker'>,
  request: ReassignmentRequest,
  brokerCount: number,
): MetadataProblem | null {
  const topic = view.topic(request.name);
  if (topic === undefined || !Number.isSafeInteger(request.partition) || request.partition < 0 ||
    request.partition >= topic.partitions.length) {
    return { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `unknown partition ${request.name}-${request.partition}` };
  }
  const where = `${request.name}-${request.partition}`;
  if (topic.reassignments?.some((move) => move.partition === request.partition) === true) {
    return { code: 'REASSIGNMENT_IN_PROGRESS', message: `partition ${where} is already being moved` };
  }
  const target = request.target;
  if (target.length === 0) {
    return { code: 'INVALID_REPLICA_ASSIGNMENT', message: `partition ${where}: the replica list is empty` };
  }
  if (new Set(target).size !== target.length) {
    return { code: 'INVALID_REPLICA_ASSIGNMENT', message: `partition ${where}: replicas ${target.join(',')} ` +
      'name a broker twice' };
  }
  if (target.length > brokerCount) {
    return { code: 'INVALID_REPLICATION_FACTOR', message: `partition ${where}: ${target.length} replicas ` +
      `but only ${brokerCount} brokers` };
  }
  const unknown = target.filter((id) => !Number.isSafeInteger(id) || view.broker(id) === undefined);
  if (unknown.length > 0) {
    return { code: 'INVALID_REPLICA_ASSIGNMENT', message: `partition ${where}: brokers ${unknown.join(',')} ` +
      'are not registered' };
  }
  // A decommissioning broker may stay a replica (a new order of the same replicas), never become one.
  const current = topic.partitions[request.partition] ?? [];
  const problem = decommissioningProblem(view, target.filter((id) => !current.includes(id)));
  return problem === null ? null : { code: 'INVALID_REPLICA_ASSIGNMENT', message: `partition ${where}: ${problem}` };
}

function sameList(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, i) => right[i] === id);
}

function sameSet(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id) => right.includes(id));
}

/** ids with the members of order first, in its order, then the rest ascending. */
function orderLike(ids: readonly number[], order: readonly number[]): number[] {
  const first = order.filter((id) => ids.includes(id));
  const rest = ids.filter((id) => !order.includes(id)).sort((a, b) => a - b);
  return [...first, ...rest];
}

function rejected(type: MetadataCommandType, code: MetadataRejectionCode, message: string): ApplyRejected {
  return { ok: false, type, code, message };
}

function endpointProblem(host: string, port: number): string | null {
  if (host.length === 0 || host.length > HOST_LENGTH_MAX) {
    return `host "${host}" must be 1 to ${HOST_LENGTH_MAX} characters`;
  }
  return port >= 1 && port <= 65_535 ? null : `port ${port} is not in [1, 65535]`;
}

function freezeTopic(topic: TopicInfo): TopicInfo {
  return Object.freeze({
    name: topic.name,
    topicId: topic.topicId,
    replicationFactor: topic.replicationFactor,
    configs: Object.freeze(sortedStringMap(Object.entries(topic.configs))),
    partitions: Object.freeze(topic.partitions.map((replicas) => Object.freeze([...replicas]))),
    internal: topic.internal,
    movedPartitions: Object.freeze([...topic.movedPartitions ?? []]),
    reassignments: Object.freeze((topic.reassignments ?? []).map((move) => Object.freeze({ ...move,
      target: Object.freeze([...move.target]), learners: Object.freeze([...move.learners]) }))),
  });
}

function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
