/**
 * A scripted group coordinator for the client library's unit tests, installed on the brokers of a
 * FakeCluster (test double, never shipped): enough of the classic protocol for one or a few members
 * (member ids on MEMBER_ID_REQUIRED, a join phase that ends when every known member has joined or
 * after joinWindowMs, the leader's SyncGroup handed to every member, heartbeats checked against
 * the generation, LeaveGroup, offsets kept in memory with the generation check), plus the switches
 * the tests need: the next N answers of an API carry an injected error code, the coordinator can
 * move to another broker, and every request is logged. Its job is to make the client meet each
 * answer; the real coordinator is src/group/.
 */
import { ERROR_TABLE } from '../../../src/common/errors.js';
import type { ErrorCode } from '../../../src/common/errors.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import type { ApiKey } from '../../../src/protocol/api_keys.js';
import type { DecodedRequestOf, ResponseOf } from '../../../src/protocol/messages.js';
import type { FakeCluster } from './fake_cluster.js';

type GroupApi = 'findCoordinator' | 'join' | 'sync' | 'heartbeat' | 'leave' | 'offsetCommit' | 'offsetFetch';

export interface LoggedRequest {
  readonly api: GroupApi;
  readonly brokerId: number;
  readonly memberId: string;
  readonly generationId: number;
  readonly groupInstanceId: string;
}

interface Member {
  readonly memberId: string;
  readonly groupInstanceId: string;
  metadata: Uint8Array;
  protocols: readonly string[];
  pendingJoin: ((response: ResponseOf<typeof API_KEYS.JOIN_GROUP>) => void) | null;
  pendingSync: ((response: ResponseOf<typeof API_KEYS.SYNC_GROUP>) => void) | null;
}

type DescribedGroup = NonNullable<ResponseOf<typeof API_KEYS.DESCRIBE_GROUPS>['groups']>[number];

type Answer<A extends ApiKey> = Promise<{ response: ResponseOf<A> }> | { response: ResponseOf<A> };

const wire = (code: ErrorCode): number => ERROR_TABLE[code].wire;

export class FakeCoordinator {
  /** The one group it coordinates (requests name no other, except where a test wants an unknown one). */
  readonly groupId = 'g';
  /** The broker that coordinates; the others answer NOT_COORDINATOR. */
  coordinatorId = 1;
  joinWindowMs = 150;
  readonly log: LoggedRequest[] = [];
  readonly offsets = new Map<string, { offset: number; metadata: string }>();
  /** JoinGroups are taken and never answered (a coordinator that died mid-join) until release(). */
  holdJoins = false;
  private readonly heldJoins: (() => void)[] = [];
  generationId = 0;
  leader = '';
  protocolName = '';
  private readonly members = new Map<string, Member>();
  private rebalancing = false;
  private joinTimer: NodeJS.Timeout | null = null;
  private readonly assignments = new Map<string, Uint8Array>();
  private readonly injected = new Map<GroupApi, { code: ErrorCode; remaining: number }>();
  private nextMemberNumber = 1;

  constructor(private readonly cluster: FakeCluster) {
    for (const [brokerId, server] of cluster.servers) {
      server.setHandler(API_KEYS.FIND_COORDINATOR, () => ({ response: this.findCoordinator(brokerId) }));
      server.setHandler(API_KEYS.JOIN_GROUP, (request) => this.join(brokerId, request));
      server.setHandler(API_KEYS.SYNC_GROUP, (request) => this.sync(brokerId, request));
      server.setHandler(API_KEYS.HEARTBEAT, (request) => ({ response: this.heartbeat(brokerId, request) }));
      server.setHandler(API_KEYS.LEAVE_GROUP, (request) => ({ response: this.leave(brokerId, request) }));
      server.setHandler(API_KEYS.OFFSET_COMMIT, (request) => ({ response: this.offsetCommit(brokerId, request) }));
      server.setHandler(API_KEYS.OFFSET_FETCH, (request) => ({ response: this.offsetFetch(brokerId, request) }));
      server.setHandler(API_KEYS.LIST_GROUPS, () => ({ response: { groups: brokerId === this.coordinatorId
        && (this.members.size > 0 || this.offsets.size > 0)
        ? [{ groupId: this.groupId, protocolType: 'consumer', groupState: this.state() }] : [] } }));
      server.setHandler(API_KEYS.DESCRIBE_GROUPS, (request) => ({ response: { groups: request.groupIds.map((id) =>
        this.describe(brokerId, id)) } }));
      server.setHandler(API_KEYS.DELETE_GROUPS, (request) => ({ response: { results: request.groupIds.map((id) => {
        const errorCode = brokerId !== this.coordinatorId ? wire('NOT_COORDINATOR')
          : id !== this.groupId ? wire('GROUP_ID_NOT_FOUND') : this.members.size > 0 ? wire('NON_EMPTY_GROUP') : 0;
        if (errorCode === 0) this.offsets.clear();
        return { groupId: id, errorCode };
      }) } }));
    }
  }

  /** The next `times` requests of api are answered with code. */
  inject(api: GroupApi, code: ErrorCode, times = 1): void {
    this.injected.set(api, { code, remaining: times });
  }

  requests(api: GroupApi): LoggedRequest[] {
    return this.log.filter((r) => r.api === api);
  }

  memberIds(): string[] {
    return [...this.members.keys()];
  }

  /** Starts a rebalance, as a new member or a session expiry would. */
  startRebalance(): void {
    this.rebalancing = true;
  }

  /** Forgets a member (as a session timeout would) and rebalances. */
  expire(memberId: string): void {
    this.members.delete(memberId);
    this.rebalancing = true;
  }

  commit(topic: string, partition: number, offset: number): void {
    this.offsets.set(`${topic}/${partition}`, { offset, metadata: '' });
  }

  /** Answers the held JoinGroups (NOT_COORDINATOR), so that no handler is left waiting. */
  release(): void {
    for (const answer of this.heldJoins.splice(0)) answer();
  }

  close(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.release();
  }

  private state(): string {
    if (this.members.size === 0) return 'Empty';
    return this.rebalancing ? 'PreparingRebalance' : 'Stable';
  }

  private describe(brokerId: number, groupId: string): DescribedGroup {
    if (brokerId !== this.coordinatorId) return { groupId, errorCode: wire('NOT_COORDINATOR') };
    if (groupId !== this.groupId) return { groupId, groupState: 'Dead' };
    return { groupId, groupState: this.state(), protocolType: 'consumer', protocolName: this.protocolName,
      generationId: this.generationId, leader: this.leader, members: [...this.members.values()].map((m) => ({
        memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: 'fake-client', clientHost: '/127.0.0.1',
        memberMetadata: m.metadata, memberAssignment: this.assignments.get(m.memberId) ?? new Uint8Array(),
      })) };
  }

  private take(api: GroupApi): number {
    const injected = this.injected.get(api);
    if (injected === undefined) return 0;
    injected.remaining -= 1;
    if (injected.remaining <= 0) this.injected.delete(api);
    return wire(injected.code);
  }

  private record(api: GroupApi, brokerId: number, r: { memberId?: string; generationId?: number;
    groupInstanceId?: string; }): void {
    this.log.push({ api, brokerId, memberId: r.memberId ?? '', generationId: r.generationId ?? -1,
      groupInstanceId: r.groupInstanceId ?? '' });
  }

  /** An error for a request to brokerId: injected, or NOT_COORDINATOR off the coordinator. */
  private refusal(api: GroupApi, brokerId: number): number {
    const injected = this.take(api);
    if (injected !== 0) return injected;
    return brokerId === this.coordinatorId ? 0 : wire('NOT_COORDINATOR');
  }

  private findCoordinator(brokerId: number): ResponseOf<typeof API_KEYS.FIND_COORDINATOR> {
    this.record('findCoordinator', brokerId, {});
    const injected = this.take('findCoordinator');
    if (injected !== 0) return { errorCode: injected, nodeId: -1 };
    const [host, port] = this.cluster.address(this.coordinatorId).split(':');
    return { nodeId: this.coordinatorId, host: host ?? '', port: Number(port) };
  }

  private join(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.JOIN_GROUP>):
    Answer<typeof API_KEYS.JOIN_GROUP> {
    this.record('join', brokerId, request);
    if (this.holdJoins) {
      return new Promise((resolve) => {
        this.heldJoins.push(() => { resolve({ response: { errorCode: wire('NOT_COORDINATOR'), generationId: -1 } }); });
      });
    }
    const refused = this.refusal('join', brokerId);
    if (refused !== 0) return { response: { errorCode: refused, memberId: request.memberId, generationId: -1 } };
    let memberId = request.memberId;
    if (memberId === '') {
      memberId = `${request.groupInstanceId || 'member'}-${this.nextMemberNumber++}`;
      if (request.groupInstanceId === '') {
        return { response: { errorCode: wire('MEMBER_ID_REQUIRED'), memberId, generationId: -1 } };
      }
      // A static member that comes back replaces its old self.
      for (const [id, m] of this.members) if (m.groupInstanceId === request.groupInstanceId) this.members.delete(id);
    } else if (!this.members.has(memberId) && !this.knownId(memberId)) {
      return { response: { errorCode: wire('UNKNOWN_MEMBER_ID'), memberId, generationId: -1 } };
    }
    const existing = this.members.get(memberId);
    const member: Member = existing ?? { memberId, groupInstanceId: request.groupInstanceId, metadata: new Uint8Array(),
      protocols: [], pendingJoin: null, pendingSync: null };
    member.metadata = request.protocols[0]?.metadata ?? new Uint8Array();
    member.protocols = request.protocols.map((p) => p.name);
    this.members.set(memberId, member);
    this.rebalancing = true;
    return new Promise((resolve) => {
      member.pendingJoin = (response) => { resolve({ response }); };
      this.maybeCompleteJoin();
      // The join phase may have ended just now (every member joined): no window to wait for then.
      if ((member.pendingJoin as Member['pendingJoin']) !== null) {
        this.joinTimer ??= setTimeout(() => { this.joinTimer = null; this.completeJoin(); }, this.joinWindowMs);
      }
    });
  }

  /** Ids handed out by MEMBER_ID_REQUIRED are known before the member first joins with them. */
  private knownId(memberId: string): boolean {
    return /-\d+$/.test(memberId) && Number(memberId.slice(memberId.lastIndexOf('-') + 1)) < this.nextMemberNumber;
  }

  private maybeCompleteJoin(): void {
    if ([...this.members.values()].every((m) => m.pendingJoin !== null)) this.completeJoin();
  }

  private completeJoin(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    const joined = [...this.members.values()].filter((m) => m.pendingJoin !== null);
    for (const m of this.members.values()) if (m.pendingJoin === null) this.members.delete(m.memberId);
    if (joined.length === 0) return;
    this.generationId += 1;
    this.leader = joined[0]?.memberId ?? '';
    this.protocolName = joined[0]?.protocols.find((name) => joined.every((m) => m.protocols.includes(name))) ?? '';
    this.assignments.clear();
    for (const m of joined) {
      const answer = m.pendingJoin;
      m.pendingJoin = null;
      answer?.({ generationId: this.generationId, protocolType: 'consumer', protocolName: this.protocolName,
        leader: this.leader, memberId: m.memberId,
        members: m.memberId === this.leader ? joined.map((j) => ({ memberId: j.memberId,
          groupInstanceId: j.groupInstanceId, metadata: j.metadata })) : [] });
    }
  }

  private sync(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.SYNC_GROUP>):
    Answer<typeof API_KEYS.SYNC_GROUP> {
    this.record('sync', brokerId, request);
    const refused = this.refusal('sync', brokerId) || this.memberError(request);
    if (refused !== 0) return { response: { errorCode: refused } };
    const member = this.members.get(request.memberId);
    if (member === undefined) return { response: { errorCode: wire('UNKNOWN_MEMBER_ID') } };
    return new Promise((resolve) => {
      member.pendingSync = (response) => { resolve({ response }); };
      if (request.memberId === this.leader) {
        for (const a of request.assignments) this.assignments.set(a.memberId, a.assignment);
        this.rebalancing = false;
      }
      if (!this.rebalancing) {
        for (const m of this.members.values()) {
          const answer = m.pendingSync;
          m.pendingSync = null;
          answer?.({ protocolType: 'consumer', protocolName: this.protocolName,
            assignment: this.assignments.get(m.memberId) ?? new Uint8Array() });
        }
      }
    });
  }

  /** UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION or FENCED_INSTANCE_ID for a stale request, else 0. */
  private memberError(request: { memberId: string; generationId: number; groupInstanceId: string }): number {
    const member = this.members.get(request.memberId);
    if (member === undefined) {
      const fenced = request.groupInstanceId !== ''
        && [...this.members.values()].some((m) => m.groupInstanceId === request.groupInstanceId);
      return wire(fenced ? 'FENCED_INSTANCE_ID' : 'UNKNOWN_MEMBER_ID');
    }
    return request.generationId === this.generationId ? 0 : wire('ILLEGAL_GENERATION');
  }

  private heartbeat(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.HEARTBEAT>):
    ResponseOf<typeof API_KEYS.HEARTBEAT> {
    this.record('heartbeat', brokerId, request);
    const refused = this.refusal('heartbeat', brokerId) || this.memberError(request);
    if (refused !== 0) return { errorCode: refused };
    return { errorCode: this.rebalancing ? wire('REBALANCE_IN_PROGRESS') : 0 };
  }

  private leave(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.LEAVE_GROUP>):
    ResponseOf<typeof API_KEYS.LEAVE_GROUP> {
    this.record('leave', brokerId, { memberId: request.members[0]?.memberId ?? '' });
    const refused = this.refusal('leave', brokerId);
    if (refused !== 0) return { errorCode: refused };
    for (const m of request.members) {
      if (this.members.delete(m.memberId)) this.rebalancing = this.members.size > 0;
    }
    return { members: request.members.map((m) => ({ memberId: m.memberId })) };
  }

  private offsetCommit(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.OFFSET_COMMIT>):
    ResponseOf<typeof API_KEYS.OFFSET_COMMIT> {
    this.record('offsetCommit', brokerId, request);
    let errorCode = this.refusal('offsetCommit', brokerId);
    if (errorCode === 0 && request.generationId !== -1) errorCode = this.memberError(request);
    if (errorCode === 0 && request.generationId === -1 && this.members.size > 0) errorCode = wire('UNKNOWN_MEMBER_ID');
    if (errorCode === 0) {
      for (const p of request.partitions) {
        this.offsets.set(`${p.topic}/${p.partition}`, { offset: p.committedOffset, metadata: p.metadata });
      }
    }
    return { partitions: request.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode })) };
  }

  private offsetFetch(brokerId: number, request: DecodedRequestOf<typeof API_KEYS.OFFSET_FETCH>):
    ResponseOf<typeof API_KEYS.OFFSET_FETCH> {
    this.record('offsetFetch', brokerId, {});
    const refused = this.refusal('offsetFetch', brokerId);
    if (refused !== 0) return { errorCode: refused };
    // No partitions named: every partition the group has committed.
    const asked = request.partitions.length > 0 ? request.partitions : [...this.offsets.keys()].map((key) => ({
      topic: key.slice(0, key.lastIndexOf('/')), partition: Number(key.slice(key.lastIndexOf('/') + 1)) }));
    return { partitions: asked.map((p) => {
      const found = this.offsets.get(`${p.topic}/${p.partition}`);
      return { topic: p.topic, partition: p.partition, committedOffset: found?.offset ?? -1,
        committedLeaderEpoch: -1, metadata: found?.metadata ?? '' };
    }) };
  }
}
