/**
 * Goal: the classic group protocol's state machine follows Kafka's semantics, transition by
 * transition and error by error. Method: scripted time; every join and sync gets a token, and the
 * test reads the replies addressed to it; persist requests are completed (or failed) by the test,
 * as the coordinator does once the record is committed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { ErrorCode } from '../../../src/common/errors.js';
import { GroupMembership } from '../../../src/group/group_membership.js';
import type { Effects, JoinAnswer, JoinRequest, MembershipConfig, PersistRequest, Protocol, SyncAnswer }
  from '../../../src/group/group_membership.js';
import type { StoredGroupMetadata } from '../../../src/group/records.js';

const SESSION = 10_000;
const REBALANCE = 30_000;

function protocols(...names: string[]): Protocol[] {
  return names.map((name) => ({ name, metadata: Buffer.from(`sub-${name}`) }));
}

class Harness {
  nowMs = 1_000;
  private nextToken = 1;
  private nextId = 1;
  readonly joins = new Map<number, JoinAnswer>();
  readonly syncs = new Map<number, SyncAnswer>();
  persists: PersistRequest[] = [];
  readonly group: GroupMembership;
  readonly config: MembershipConfig;

  constructor(overrides: Partial<MembershipConfig> = {}, stored?: StoredGroupMetadata) {
    this.config = { minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 1_800_000, maxSize: Infinity,
      initialRebalanceDelayMs: 0, maxRebalanceTimeoutMs: 2 ** 31 - 1,
      newMemberId: (clientId) => `${clientId}-${this.nextId++}`, wallClockMs: () => 1_796_000_000_000, ...overrides };
    this.group = stored === undefined ? new GroupMembership('g', this.config)
      : GroupMembership.load('g', stored, this.config, this.nowMs);
  }

  private take(effects: Effects): void {
    for (const reply of effects.replies) {
      const map: Map<number, unknown> = reply.kind === 'join' ? this.joins : this.syncs;
      assert.ok(!map.has(reply.token), `token ${reply.token} answered twice`);
      map.set(reply.token, reply.answer);
    }
    this.persists.push(...effects.persists);
  }

  join(clientId: string, memberId = '', extra: Partial<JoinRequest> = {}): number {
    const token = this.nextToken++;
    this.take(this.group.join({ memberId, groupInstanceId: null, clientId, clientHost: '/127.0.0.1',
      sessionTimeoutMs: SESSION, rebalanceTimeoutMs: REBALANCE, protocolType: 'consumer',
      protocols: protocols('range'), ...extra }, token, this.nowMs));
    return token;
  }

  sync(memberId: string, generation: number, assignments: Record<string, string> = {},
    groupInstanceId: string | null = null): number {
    const token = this.nextToken++;
    this.take(this.group.sync({ memberId, groupInstanceId, generation, protocolType: 'consumer', protocolName: '',
      assignments: Object.entries(assignments).map(([id, text]) => ({ memberId: id, assignment: Buffer.from(text) })),
    }, token, this.nowMs));
    return token;
  }

  leave(memberId: string, groupInstanceId: string | null = null): ErrorCode | null {
    const result = this.group.leave([{ memberId, groupInstanceId }], this.nowMs);
    this.take(result);
    return result.answer[0] ?? null;
  }

  advance(ms: number): void {
    this.nowMs += ms;
    this.take(this.group.tick(this.nowMs));
  }

  completePersists(error: ErrorCode | null = null): PersistRequest[] {
    const done = this.persists;
    this.persists = [];
    for (const persist of done) this.take(this.group.persisted(persist.id, error, this.nowMs));
    return done;
  }

  joinAnswer(token: number): JoinAnswer {
    const answer = this.joins.get(token);
    assert.ok(answer !== undefined, `join ${token} not answered`);
    return answer;
  }

  syncAnswer(token: number): SyncAnswer {
    const answer = this.syncs.get(token);
    assert.ok(answer !== undefined, `sync ${token} not answered`);
    return answer;
  }

  /** A member with an id (MEMBER_ID_REQUIRED, then the join with it); returns its id and the join token. */
  newMember(clientId: string, extra: Partial<JoinRequest> = {}): { id: string; token: number } {
    const [member] = this.newMembers([clientId, extra]);
    assert.ok(member !== undefined);
    return member;
  }

  /** Members that all get their ids first, then join with them (so they land in one generation). */
  newMembers(...specs: [string, Partial<JoinRequest>][]): { id: string; token: number }[] {
    const ids = specs.map(([clientId, extra]) => {
      const first = this.joinAnswer(this.join(clientId, '', extra));
      assert.equal(first.error, 'MEMBER_ID_REQUIRED');
      return first.memberId;
    });
    return specs.map(([clientId, extra], i) => ({ id: ids[i] ?? '', token: this.join(clientId, ids[i], extra) }));
  }

  /** A stable group of the given clients; returns their member ids (the first is the leader). */
  stableGroup(...clients: string[]): string[] {
    const firsts = clients.map((client) => this.joinAnswer(this.join(client)).memberId);
    const tokens = clients.map((client, i) => this.join(client, firsts[i]));
    const answers = tokens.map((token) => this.joinAnswer(token));
    const leader = answers.find((answer) => answer.memberId === answer.leader);
    assert.ok(leader !== undefined);
    const assignment = Object.fromEntries(firsts.map((id) => [id, `assigned-${id}`]));
    const syncTokens = firsts.map((id) => this.sync(id, leader.generation, id === leader.leader ? assignment : {}));
    this.completePersists();
    for (const token of syncTokens) assert.equal(this.syncAnswer(token).error, null);
    assert.equal(this.group.state, 'Stable');
    return [leader.leader, ...firsts.filter((id) => id !== leader.leader)];
  }
}

describe('group membership: joining', () => {
  test('a first join with no member id gets MEMBER_ID_REQUIRED and a new id; the join with it completes a generation', () => {
    const h = new Harness();
    const first = h.joinAnswer(h.join('client'));
    assert.equal(first.error, 'MEMBER_ID_REQUIRED');
    assert.match(first.memberId, /^client-\d+$/);
    assert.equal(h.group.state, 'Empty');
    const second = h.joinAnswer(h.join('client', first.memberId));
    assert.equal(second.error, null);
    assert.equal(second.generation, 1);
    assert.equal(second.leader, first.memberId);
    assert.equal(second.protocolName, 'range');
    assert.deepEqual(second.members.map((m) => m.memberId), [first.memberId]);
    assert.equal(h.group.state, 'CompletingRebalance');
  });

  test('the rebalance waits for every known member; the leader alone gets every subscription', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    const leaderJoin = h.join('a', leader);
    assert.equal(h.group.state, 'PreparingRebalance');
    assert.equal(h.joins.has(leaderJoin), false, 'held until the follower rejoins');
    const followerJoin = h.join('b', follower);
    const leaderAnswer = h.joinAnswer(leaderJoin);
    const followerAnswer = h.joinAnswer(followerJoin);
    assert.deepEqual([leaderAnswer.generation, followerAnswer.generation], [2, 2]);
    assert.deepEqual(leaderAnswer.members.map((m) => m.memberId), [leader, follower]);
    assert.deepEqual(leaderAnswer.members.map((m) => Buffer.from(m.metadata).toString()), ['sub-range', 'sub-range']);
    assert.deepEqual(followerAnswer.members, []);
  });

  test('members that do not rejoin within the rebalance timeout are removed', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    const join = h.join('a', leader);
    // The follower heartbeats (it is alive) but never rejoins.
    for (let t = 0; t < 5; t++) {
      h.advance(REBALANCE / 5 - 1);
      assert.equal(h.group.heartbeat(follower, null, 1, h.nowMs), 'REBALANCE_IN_PROGRESS');
    }
    assert.equal(h.joins.has(join), false);
    h.advance(10);
    const answer = h.joinAnswer(join);
    assert.equal(answer.generation, 2);
    assert.deepEqual(answer.members.map((m) => m.memberId), [leader]);
    assert.equal(h.group.hasMember(follower), false);
    assert.equal(h.group.heartbeat(follower, null, 2, h.nowMs), 'UNKNOWN_MEMBER_ID');
  });

  test('a rebalance timeout above the broker\'s bound is cut to it, so first joins sent without end hold nothing long', () => {
    const h = new Harness({ maxRebalanceTimeoutMs: 5000 });
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    const join = h.join('a', leader, { rebalanceTimeoutMs: 2 ** 31 - 1 });
    // A client asks for an id again and again: each pending member holds the rebalance up.
    for (let t = 0; t < 5; t++) {
      h.join('spammer');
      h.advance(999);
      h.group.heartbeat(follower, null, 1, h.nowMs);
    }
    assert.equal(h.joins.has(join), false);
    h.advance(10);
    assert.equal(h.joinAnswer(join).generation, 2, 'completed at the cut deadline, without the follower');
    assert.equal(h.group.hasMember(follower), false);
  });

  test('the protocol is the one most members prefer among those all support; none in common is refused', () => {
    const h = new Harness();
    const [a, b, c] = h.newMembers(['a', { protocols: protocols('sticky', 'range') }],
      ['b', { protocols: protocols('roundrobin', 'range', 'sticky') }], ['c', { protocols: protocols('sticky', 'range') }]);
    assert.ok(a !== undefined && b !== undefined && c !== undefined);
    assert.equal(h.joinAnswer(a.token).protocolName, 'sticky');
    assert.equal(h.joinAnswer(b.token).protocolName, 'sticky');
    assert.equal(h.joinAnswer(c.token).generation, 1);
    const lonely = h.joinAnswer(h.join('d', '', { protocols: protocols('roundrobin') }));
    assert.equal(lonely.error, 'INCONSISTENT_GROUP_PROTOCOL');
    const otherType = h.joinAnswer(h.join('e', '', { protocolType: 'connect' }));
    assert.equal(otherType.error, 'INCONSISTENT_GROUP_PROTOCOL');
    const none = h.joinAnswer(h.join('f', '', { protocols: [] }));
    assert.equal(none.error, 'INCONSISTENT_GROUP_PROTOCOL');
    assert.equal(h.group.memberCount, 3);
  });

  test('the first rebalance of an empty group waits the initial delay, again after each new member', () => {
    const h = new Harness({ initialRebalanceDelayMs: 3000 });
    const a = h.newMember('a');
    h.advance(2000);
    assert.equal(h.joins.has(a.token), false);
    const b = h.newMember('b');
    h.advance(2999);
    assert.equal(h.joins.has(a.token), false, 'b pushed the completion to 3000 ms after its join');
    h.advance(1);
    assert.equal(h.joinAnswer(a.token).generation, 1);
    assert.deepEqual(h.joinAnswer(a.token).members.map((m) => m.memberId), [a.id, b.id]);
    // Later rebalances do not wait.
    h.sync(a.id, 1, {});
    h.completePersists();
    h.join('a', a.id);
    const rejoin = h.join('b', b.id);
    assert.equal(h.joinAnswer(rejoin).generation, 2);
  });

  test('a tie of votes goes to the smaller protocol name', () => {
    const h = new Harness();
    const [a, b] = h.newMembers(['a', { protocols: protocols('roundrobin', 'range') }],
      ['b', { protocols: protocols('range', 'roundrobin') }]);
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(h.joinAnswer(a.token).protocolName, 'range');
    assert.equal(h.joinAnswer(b.token).protocolName, 'range');
  });

  test('session timeouts outside the bounds are INVALID_SESSION_TIMEOUT and change nothing', () => {
    const h = new Harness({ minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 20_000 });
    for (const sessionTimeoutMs of [999, 20_001, 0, 2 ** 32 - 1]) {
      assert.equal(h.joinAnswer(h.join('a', '', { sessionTimeoutMs })).error, 'INVALID_SESSION_TIMEOUT');
    }
    assert.equal(h.joinAnswer(h.join('a', '', { rebalanceTimeoutMs: 2 ** 32 - 1 })).error, 'INVALID_REQUEST');
    assert.equal(h.group.state, 'Empty');
    assert.equal(h.group.memberCount, 0);
    assert.equal(h.joinAnswer(h.join('a', '', { sessionTimeoutMs: 1000 })).error, 'MEMBER_ID_REQUIRED');
  });

  test('a full group refuses a new member with GROUP_MAX_SIZE_REACHED', () => {
    const h = new Harness({ maxSize: 2 });
    h.stableGroup('a', 'b');
    assert.equal(h.joinAnswer(h.join('c')).error, 'GROUP_MAX_SIZE_REACHED');
    assert.equal(h.group.memberCount, 2);
    assert.equal(h.group.state, 'Stable');
  });

  test('an unknown member id is UNKNOWN_MEMBER_ID and does not disturb the group', () => {
    const h = new Harness();
    h.stableGroup('a');
    assert.equal(h.joinAnswer(h.join('x', 'x-from-another-group')).error, 'UNKNOWN_MEMBER_ID');
    assert.equal(h.group.state, 'Stable');
  });

  test('a member given an id that never joins with it is forgotten after its session timeout', () => {
    const h = new Harness();
    const [leader] = h.stableGroup('a');
    assert.ok(leader !== undefined);
    const pending = h.joinAnswer(h.join('b')).memberId;
    h.advance(SESSION / 2);
    assert.equal(h.group.heartbeat(leader, null, 1, h.nowMs), null);
    h.advance(SESSION / 2 + 1);
    assert.equal(h.joinAnswer(h.join('b', pending)).error, 'UNKNOWN_MEMBER_ID');
  });

  test('a follower rejoining a stable group with the same protocols gets the current generation, no rebalance', () => {
    const h = new Harness();
    const [, follower] = h.stableGroup('a', 'b');
    assert.ok(follower !== undefined);
    const answer = h.joinAnswer(h.join('b', follower));
    assert.equal(answer.error, null);
    assert.equal(answer.generation, 1);
    assert.equal(h.group.state, 'Stable');
    const changed = h.join('b', follower, { protocols: protocols('range', 'sticky') });
    assert.equal(h.joins.has(changed), false);
    assert.equal(h.group.state, 'PreparingRebalance');
  });
});

describe('group membership: syncing', () => {
  test('followers wait for the leader; the assignment is persisted before anyone is answered', () => {
    const h = new Harness();
    const [a, b] = h.newMembers(['a', {}], ['b', {}]);
    assert.ok(a !== undefined && b !== undefined);
    const generation = h.joinAnswer(a.token).generation;
    const followerSync = h.sync(b.id, generation);
    assert.equal(h.syncs.has(followerSync), false);
    const leaderSync = h.sync(a.id, generation, { [a.id]: 'pa', [b.id]: 'pb', stranger: 'px' });
    assert.equal(h.syncs.size, 0, 'nothing answered before the persist');
    assert.equal(h.persists.length, 1);
    const persisted = h.persists[0]?.metadata;
    assert.ok(persisted !== undefined);
    assert.equal(persisted.generation, generation);
    assert.deepEqual(persisted.members.map((m) => Buffer.from(m.assignment).toString()), ['pa', 'pb']);
    h.completePersists();
    assert.equal(Buffer.from(h.syncAnswer(leaderSync).assignment).toString(), 'pa');
    assert.equal(Buffer.from(h.syncAnswer(followerSync).assignment).toString(), 'pb');
    assert.equal(h.group.state, 'Stable');
    // A sync in Stable is answered at once with the member's assignment.
    assert.equal(Buffer.from(h.syncAnswer(h.sync(b.id, generation)).assignment).toString(), 'pb');
  });

  test('a failed persist answers the waiting syncs with its error and rebalances', () => {
    const h = new Harness();
    const a = h.newMember('a');
    const generation = h.joinAnswer(a.token).generation;
    const sync = h.sync(a.id, generation, { [a.id]: 'pa' });
    h.completePersists('NOT_COORDINATOR');
    assert.equal(h.syncAnswer(sync).error, 'NOT_COORDINATOR');
    assert.equal(h.group.state, 'PreparingRebalance');
  });

  test('sync errors: stale generation, unknown member, rebalance in progress, wrong protocol', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    assert.equal(h.syncAnswer(h.sync(follower, 0)).error, 'ILLEGAL_GENERATION');
    assert.equal(h.syncAnswer(h.sync('nobody', 1)).error, 'UNKNOWN_MEMBER_ID');
    const token = 999;
    const wrong = h.group.sync({ memberId: follower, groupInstanceId: null, generation: 1, protocolType: 'consumer',
      protocolName: 'sticky', assignments: [] }, token, h.nowMs);
    assert.equal(wrong.replies[0]?.kind === 'sync' ? wrong.replies[0].answer.error : 'none', 'INCONSISTENT_GROUP_PROTOCOL');
    h.join('a', leader);
    assert.equal(h.syncAnswer(h.sync(follower, 1)).error, 'REBALANCE_IN_PROGRESS');
  });

  test('a leader that never syncs is removed after the rebalance timeout; waiting followers rejoin', () => {
    const h = new Harness();
    const timeouts = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 5000 };
    const [a, b] = h.newMembers(['a', timeouts], ['b', timeouts]);
    assert.ok(a !== undefined && b !== undefined);
    const generation = h.joinAnswer(b.token).generation;
    const followerSync = h.sync(b.id, generation);
    h.advance(4999);
    assert.equal(h.syncs.has(followerSync), false);
    h.advance(1);
    assert.equal(h.syncAnswer(followerSync).error, 'REBALANCE_IN_PROGRESS');
    assert.equal(h.group.hasMember(a.id), false);
    assert.equal(h.group.state, 'PreparingRebalance');
    const rejoin = h.joinAnswer(h.join('b', b.id));
    assert.equal(rejoin.leader, b.id);
    assert.equal(rejoin.generation, generation + 1);
  });
});

describe('group membership: heartbeats, leaving, sessions', () => {
  test('heartbeat answers by state and staleness', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    assert.equal(h.group.heartbeat(follower, null, 1, h.nowMs), null);
    assert.equal(h.group.heartbeat(follower, null, 0, h.nowMs), 'ILLEGAL_GENERATION');
    assert.equal(h.group.heartbeat('nobody', null, 1, h.nowMs), 'UNKNOWN_MEMBER_ID');
    h.join('a', leader);
    assert.equal(h.group.heartbeat(follower, null, 1, h.nowMs), 'REBALANCE_IN_PROGRESS');
    const rejoined = h.joinAnswer(h.join('b', follower));
    assert.equal(h.group.state, 'CompletingRebalance');
    assert.equal(h.group.heartbeat(follower, null, rejoined.generation, h.nowMs), null);
    assert.equal(h.group.heartbeat(follower, null, 1, h.nowMs), 'ILLEGAL_GENERATION');
  });

  test('LeaveGroup removes the member at once and rebalances; the last one leaving empties the group', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    assert.equal(h.leave(leader), null);
    assert.equal(h.group.hasMember(leader), false);
    assert.equal(h.group.state, 'PreparingRebalance');
    assert.equal(h.group.leader, follower, 'leadership passes to a remaining member');
    assert.equal(h.leave(leader), 'UNKNOWN_MEMBER_ID');
    const join = h.joinAnswer(h.join('b', follower));
    assert.equal(join.generation, 2);
    h.sync(follower, 2, { [follower]: 'all' });
    h.completePersists();
    assert.equal(h.leave(follower), null);
    assert.equal(h.group.state, 'Empty');
    assert.equal(h.group.generation, 3);
    const [persisted, ...more] = h.completePersists();
    assert.ok(persisted !== undefined);
    assert.equal(more.length, 0);
    assert.deepEqual(persisted.metadata.members, []);
    assert.equal(persisted.metadata.generation, 3);
  });

  test('a member whose session passes without a heartbeat is removed and the group rebalances', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    for (let i = 0; i < 4; i++) {
      h.advance(SESSION / 4);
      assert.equal(h.group.heartbeat(leader, null, 1, h.nowMs), i < 3 ? null : 'REBALANCE_IN_PROGRESS');
    }
    assert.equal(h.group.hasMember(follower), false);
    const answer = h.joinAnswer(h.join('a', leader));
    assert.deepEqual(answer.members.map((m) => m.memberId), [leader]);
  });

  test('a member waiting for a join is kept alive past its session; a new one is not', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    const join = h.join('a', leader);
    const newcomer = h.newMember('c');
    h.advance(SESSION / 2);
    assert.equal(h.group.heartbeat(follower, null, 1, h.nowMs), 'REBALANCE_IN_PROGRESS');
    h.advance(SESSION / 2 + 1);
    assert.equal(h.joinAnswer(newcomer.token).error, 'UNKNOWN_MEMBER_ID', 'the new member expired');
    assert.equal(h.group.hasMember(leader), true);
    assert.equal(h.joins.has(join), false);
  });
});

describe('group membership: static members', () => {
  function staticGroup(h: Harness): { leader: string; follower: string } {
    const a = h.joinAnswer(h.join('a', '', { groupInstanceId: 'ia' }));
    assert.equal(a.error, null, 'a static member gets its id without MEMBER_ID_REQUIRED');
    assert.equal(h.group.state, 'CompletingRebalance');
    const b = h.join('b', '', { groupInstanceId: 'ib' });
    assert.equal(h.group.state, 'PreparingRebalance');
    const aAgain = h.join('a', a.memberId, { groupInstanceId: 'ia' });
    const follower = h.joinAnswer(b).memberId;
    const generation = h.joinAnswer(aAgain).generation;
    h.sync(a.memberId, generation, { [a.memberId]: 'pa', [follower]: 'pb' }, 'ia');
    h.completePersists();
    assert.equal(h.group.state, 'Stable');
    return { leader: a.memberId, follower };
  }

  test('a restarted follower takes its place under a new id with its old assignment and no rebalance', () => {
    const h = new Harness();
    const { follower } = staticGroup(h);
    const generation = h.group.generation;
    const rejoin = h.join('b', '', { groupInstanceId: 'ib' });
    assert.equal(h.joins.has(rejoin), false, 'answered after the new id is persisted');
    assert.equal(h.persists.length, 1);
    const persisted = h.completePersists();
    const answer = h.joinAnswer(rejoin);
    assert.equal(answer.error, null);
    assert.notEqual(answer.memberId, follower);
    assert.ok(persisted[0]?.metadata.members.some((m) => m.memberId === answer.memberId));
    assert.equal(answer.generation, generation);
    assert.equal(h.group.state, 'Stable');
    assert.equal(Buffer.from(h.syncAnswer(h.sync(answer.memberId, generation, {}, 'ib')).assignment).toString(), 'pb');
    // The old incarnation is fenced everywhere.
    assert.equal(h.group.heartbeat(follower, 'ib', generation, h.nowMs), 'FENCED_INSTANCE_ID');
    assert.equal(h.syncAnswer(h.sync(follower, generation, {}, 'ib')).error, 'FENCED_INSTANCE_ID');
    assert.equal(h.group.commitProblem(follower, 'ib', generation, h.nowMs), 'FENCED_INSTANCE_ID');
    assert.equal(h.leave(follower, 'ib'), 'FENCED_INSTANCE_ID');
    assert.equal(h.group.hasMember(answer.memberId), true);
  });

  test('if the new id cannot be persisted the old incarnation keeps its place', () => {
    const h = new Harness();
    const { follower } = staticGroup(h);
    const rejoin = h.join('b', '', { groupInstanceId: 'ib' });
    h.completePersists('NOT_COORDINATOR');
    assert.equal(h.joinAnswer(rejoin).error, 'NOT_COORDINATOR');
    assert.equal(h.group.heartbeat(follower, 'ib', h.group.generation, h.nowMs), null);
  });

  test('a restarted static leader takes its place with no rebalance; its sync gets the stored assignment', () => {
    const h = new Harness();
    const { leader, follower } = staticGroup(h);
    const generation = h.group.generation;
    const rejoin = h.join('a', '', { groupInstanceId: 'ia' });
    h.completePersists();
    const answer = h.joinAnswer(rejoin);
    assert.equal(answer.error, null);
    assert.equal(h.group.state, 'Stable');
    assert.equal(answer.generation, generation);
    assert.equal(answer.leader, answer.memberId, 'still the leader, under its new id');
    assert.equal(answer.members.length, 2, 'the leader is answered the members');
    // Whatever it assigns now is ignored: the group is stable and keeps its assignment.
    const sync = h.sync(answer.memberId, generation, { [answer.memberId]: 'other', [follower]: 'other' }, 'ia');
    assert.equal(Buffer.from(h.syncAnswer(sync).assignment).toString(), 'pa');
    assert.equal(Buffer.from(h.syncAnswer(h.sync(follower, generation, {}, 'ib')).assignment).toString(), 'pb');
    assert.equal(h.group.heartbeat(leader, 'ia', generation, h.nowMs), 'FENCED_INSTANCE_ID');
  });

  test('a static member leaving by instance id is removed', () => {
    const h = new Harness();
    const { follower } = staticGroup(h);
    assert.equal(h.leave('', 'ib'), null);
    assert.equal(h.group.hasMember(follower), false);
    assert.equal(h.leave('', 'ib'), 'UNKNOWN_MEMBER_ID');
  });
});

describe('group membership: offset commits, loading, deletion', () => {
  test('commits are accepted from current members, or generation -1 without a member id when the group has none', () => {
    const h = new Harness();
    assert.equal(h.group.commitProblem('', null, -1, h.nowMs), null);
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    assert.equal(h.group.commitProblem('', null, -1, h.nowMs), 'UNKNOWN_MEMBER_ID');
    assert.equal(h.group.commitProblem(follower, null, 1, h.nowMs), null);
    assert.equal(h.group.commitProblem(follower, null, 0, h.nowMs), 'ILLEGAL_GENERATION');
    assert.equal(h.group.commitProblem('stranger', null, 1, h.nowMs), 'UNKNOWN_MEMBER_ID');
    h.join('a', leader);
    assert.equal(h.group.commitProblem(follower, null, 1, h.nowMs), null, 'commits allowed while preparing');
    h.join('b', follower);
    assert.equal(h.group.state, 'CompletingRebalance');
    assert.equal(h.group.commitProblem(follower, null, 2, h.nowMs), 'REBALANCE_IN_PROGRESS');
  });

  test('a loaded group is Stable with fresh sessions, and its members expire from the load time', () => {
    const h0 = new Harness();
    const ids = h0.stableGroup('a', 'b');
    const sync = h0.group.describe();
    const metadata: StoredGroupMetadata = {
      protocolType: sync.protocolType, generation: sync.generation, protocolName: sync.protocolName,
      leader: sync.leader, stateTimestampMs: 0,
      members: sync.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId,
        clientId: m.clientId, clientHost: m.clientHost, sessionTimeoutMs: SESSION, rebalanceTimeoutMs: REBALANCE,
        subscription: m.metadata, assignment: m.assignment })),
    };
    const h = new Harness({}, metadata);
    assert.equal(h.group.state, 'Stable');
    assert.equal(h.group.leader, ids[0]);
    assert.equal(Buffer.from(h.syncAnswer(h.sync(ids[1] ?? '', 1)).assignment).toString(), `assigned-${ids[1] ?? ''}`);
    h.advance(SESSION - 1);
    assert.equal(h.group.heartbeat(ids[0] ?? '', null, 1, h.nowMs), null);
    h.advance(2);
    assert.equal(h.group.hasMember(ids[1] ?? ''), false, 'the silent member expired');
    assert.equal(h.group.state, 'PreparingRebalance');
  });

  test('only a group without members can be deleted; a dead group answers COORDINATOR_NOT_AVAILABLE', () => {
    const h = new Harness();
    const [leader] = h.stableGroup('a');
    assert.ok(leader !== undefined);
    assert.equal(h.group.markDead(), 'NON_EMPTY_GROUP');
    assert.equal(h.group.state, 'Stable');
    h.leave(leader);
    h.completePersists();
    assert.equal(h.group.markDead(), null);
    assert.equal(h.group.state, 'Dead');
    assert.equal(h.joinAnswer(h.join('a')).error, 'COORDINATOR_NOT_AVAILABLE');
    assert.equal(h.group.commitProblem('', null, -1, h.nowMs), 'COORDINATOR_NOT_AVAILABLE');
  });

  test('abandon answers every held join and sync', () => {
    const h = new Harness();
    const [leader, follower] = h.stableGroup('a', 'b');
    assert.ok(leader !== undefined && follower !== undefined);
    const join = h.join('a', leader);
    const effects = h.group.abandon('NOT_COORDINATOR');
    assert.deepEqual(effects.replies.map((r) => [r.token, r.answer.error]), [[join, 'NOT_COORDINATOR']]);
    assert.equal(h.group.state, 'Dead');
  });
});
