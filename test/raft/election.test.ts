/**
 * Goal: leader election follows the Raft paper, §5.1 (terms), §5.2 (election) and §5.4.1
 * (election restriction), and votes leave only after they are durable. Method: drive RawNodes
 * directly or through the synchronous Harness, and check roles, terms and outgoing messages.
 */
import { deepEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, NodeId, VoteRequest, VoteResponse } from '../../raft/core/index.js';
import { MessageType, Role } from '../../raft/core/index.js';
import { Harness, TestNode, bootstrappedStorage } from './harness.js';

function voteRequest(from: NodeId, to: NodeId, term: number, lastLogIndex: number,
  lastLogTerm: number): VoteRequest {
  return { type: MessageType.voteRequest, groupId: 1, from, to, term, preVote: false, lastLogIndex,
    lastLogTerm,
    transfer: false };
}

function votesIn(messages: readonly Message[]): Map<NodeId, boolean> {
  const votes = new Map<NodeId, boolean>();
  for (const m of messages) if (m.type === MessageType.voteResponse) votes.set(m.to, m.granted);
  return votes;
}

test('§5.2 rule: servers start up as followers', () => {
  const h = new Harness([1, 2, 3]);
  for (const node of h.nodes.values()) equal(node.raft.role, Role.follower);
});

test('§5.1 rule: a follower that sees a higher term adopts it (and its sender as leader)', () => {
  const h = new Harness([1, 2, 3]);
  h.node(1).raw.step({ type: MessageType.heartbeatRequest, groupId: 1, from: 2, to: 1, term: 5,
    commitIndex: 0,
    readSeq: 0 });
  equal(h.node(1).raft.term, 5);
  equal(h.node(1).raft.role, Role.follower);
  equal(h.node(1).raft.leaderId, 2);
});

test('§5.1 rule: a leader or candidate that sees a higher term reverts to follower', () => {
  const h = new Harness([1, 2, 3]);
  const leader = h.elect(1);
  equal(leader.raft.role, Role.leader);
  leader.raw.step({ type: MessageType.appendRequest, groupId: 1, from: 2, to: 1, term: leader.raft.term + 1,
    prevLogIndex: 0, prevLogTerm: 0, entries: [], commitIndex: 0 });
  equal(leader.raft.role, Role.follower);
  const candidate = h.node(3);
  candidate.raw.campaign();
  equal(candidate.raft.role, Role.candidate);
  candidate.raw.step({ type: MessageType.heartbeatRequest, groupId: 1, from: 2, to: 3,
    term: candidate.raft.term + 1, commitIndex: 0, readSeq: 0 });
  equal(candidate.raft.role, Role.follower);
});

test('§5.1 rule: a request with a stale term is rejected (ignored)', () => {
  const h = new Harness([1, 2, 3]);
  h.elect(1);
  const follower = h.node(2);
  const lastIndex = follower.raft.log.lastIndex();
  follower.raw.step({ type: MessageType.appendRequest, groupId: 1, from: 3, to: 2, term: 1,
    prevLogIndex: lastIndex, prevLogTerm: follower.raft.log.lastTerm(),
    entries: [{ term: 1, index: lastIndex + 1, type: 'normal', data: new Uint8Array(1) }], commitIndex: 0 });
  equal(follower.raft.log.lastIndex(), lastIndex);
  equal(follower.raw.hasReady(), false);
});

test('§5.2 rule: a leader sends heartbeats to all followers every heartbeat interval', () => {
  const h = new Harness([1, 2, 3]);
  const leader = h.elect(1);
  leader.raw.tick();
  const heartbeats = leader.drain().filter((m) => m.type === MessageType.heartbeatRequest);
  deepEqual(heartbeats.map((m) => m.to).sort(), [2, 3]);
});

test('§5.2 rule: on election timeout a follower becomes candidate, votes for itself, and requests votes ' +
  'only once its term and vote are durable', () => {
  const h = new Harness([1, 2, 3]);
  const node = h.node(2);
  h.tick(2, 20);
  equal(node.raft.role, Role.candidate);
  equal(node.raft.term, 2);
  equal(node.raft.vote, 2);
  const first = node.raw.ready();
  deepEqual(first.hardState, { term: 2, vote: 2, commit: 3 });
  const early = first.messages.filter((m) => m.type === MessageType.voteRequest);
  equal(early.length, 0, 'vote requests wait for persist');
  node.persistReady(first);
  const requests = node.drain().filter((m): m is VoteRequest => m.type === MessageType.voteRequest);
  deepEqual(requests.map((m) => m.to).sort(), [1, 3]);
  for (const request of requests) {
    deepEqual([request.lastLogIndex, request.lastLogTerm], [3, 1]);
  }
});

test('§5.2 rule: a candidate wins with a majority, loses to a majority of refusals, else waits', () => {
  const cases: { voters: number; granted: number[]; rejected: number[]; role: Role }[] = [
    { voters: 3, granted: [2], rejected: [], role: Role.leader },
    { voters: 3, granted: [], rejected: [2, 3], role: Role.follower },
    { voters: 3, granted: [], rejected: [2], role: Role.candidate },
    { voters: 5, granted: [2, 3], rejected: [], role: Role.leader },
    { voters: 5, granted: [2], rejected: [3], role: Role.candidate },
    { voters: 5, granted: [2], rejected: [3, 4, 5], role: Role.follower },
  ];
  for (const c of cases) {
    const voters = Array.from({ length: c.voters }, (_, i) => i + 1);
    const node = new TestNode(1, bootstrappedStorage(voters), {}, 1);
    node.drain();
    node.raw.campaign();
    node.drain();
    const term = node.raft.term;
    for (const [from, granted] of [...c.granted.map((id) => [id, true] as const),
      ...c.rejected.map((id) => [id, false] as const)]) {
      node.raw.step({ type: MessageType.voteResponse, groupId: 1, from, to: 1, term, preVote: false,
        granted });
    }
    equal(node.raft.role, c.role, JSON.stringify(c));
  }
});

test('§5.2 rule: a server votes for at most one candidate per term, first come first served', () => {
  const node = new TestNode(1, bootstrappedStorage([1, 2, 3]), {}, 1);
  node.drain();
  node.raw.step(voteRequest(2, 1, 2, 3, 1));
  node.raw.step(voteRequest(3, 1, 2, 3, 1));
  node.raw.step(voteRequest(2, 1, 2, 3, 1));
  const votes = node.drain().filter((m): m is VoteResponse => m.type === MessageType.voteResponse);
  deepEqual(votes.map((m) => [m.to, m.granted]), [[2, true], [3, false], [2, true]]);
  equal(node.storage.hardState().vote, 2);
});

test('§5.2 rule: a candidate that receives AppendEntries from a leader of its term becomes follower', () => {
  const node = new TestNode(1, bootstrappedStorage([1, 2, 3]), {}, 1);
  node.drain();
  node.raw.campaign();
  equal(node.raft.role, Role.candidate);
  node.raw.step({ type: MessageType.appendRequest, groupId: 1, from: 2, to: 1, term: node.raft.term,
    prevLogIndex: 3, prevLogTerm: 1, entries: [], commitIndex: 3 });
  equal(node.raft.role, Role.follower);
  equal(node.raft.leaderId, 2);
});

test('§5.2 rule: election timeouts are randomized in [timeout, 2 * timeout) from the seeded ' +
  'generator', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 50; seed++) {
    const node = new TestNode(1, bootstrappedStorage([1, 2, 3]), {}, seed);
    const timeout = node.raft.randomizedElectionTimeoutTicks;
    ok(timeout >= 10 && timeout < 20, `timeout ${timeout}`);
    seen.add(timeout);
  }
  ok(seen.size > 5, 'timeouts must spread');
  const a = new TestNode(1, bootstrappedStorage([1, 2, 3]), {}, 42).raft.randomizedElectionTimeoutTicks;
  const b = new TestNode(1, bootstrappedStorage([1, 2, 3]), {}, 42).raft.randomizedElectionTimeoutTicks;
  equal(a, b, 'the same seed gives the same timeout');
});

test('§5.4.1 rule: a voter refuses a candidate whose log is less up to date than its own', () => {
  // The voter's log ends at (index 5, term 2).
  const cases: { lastLogIndex: number; lastLogTerm: number; granted: boolean }[] = [
    { lastLogIndex: 9, lastLogTerm: 1, granted: false },
    { lastLogIndex: 4, lastLogTerm: 2, granted: false },
    { lastLogIndex: 5, lastLogTerm: 2, granted: true },
    { lastLogIndex: 6, lastLogTerm: 2, granted: true },
    { lastLogIndex: 4, lastLogTerm: 3, granted: true },
  ];
  for (const c of cases) {
    const storage = bootstrappedStorage([1, 2, 3]);
    storage.append([4, 5].map((index) => ({ term: 2, index, type: 'normal' as const,
      data: new Uint8Array(0) })));
    storage.setHardState({ term: 2, vote: 0, commit: 3 });
    const node = new TestNode(1, storage, {}, 1);
    node.drain();
    node.raw.step(voteRequest(2, 1, 3, c.lastLogIndex, c.lastLogTerm));
    equal(votesIn(node.drain()).get(2), c.granted, JSON.stringify(c));
  }
});

test('§5.2 rule: a cluster elects exactly one leader and the others follow it', () => {
  const h = new Harness([1, 2, 3, 4, 5]);
  h.elect(3);
  const leaders = [...h.nodes.values()].filter((node) => node.raft.role === Role.leader);
  deepEqual(leaders.map((node) => node.id), [3]);
  for (const node of h.nodes.values()) equal(node.raft.leaderId, 3);
});
