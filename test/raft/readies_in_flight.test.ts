/**
 * Goal: with RaftConfig.readiesInFlightMax above 1 a host may take Readies before advancing
 * earlier ones (etcd's asynchronous storage writes), and the durability order still holds: each
 * Ready hands out only entries no earlier Ready holds; an append acknowledgement, or a leader's
 * count of its own entries, waits for the Ready holding them to be advanced; entries replaced
 * while a Ready holds them are handed out again; a snapshot is the last Ready until advanced.
 * Method: take Ready batches by hand and persist them in order, as a host must.
 */
import { deepEqual, equal, ok, throws } from 'node:assert/strict';
import { test } from 'node:test';
import type { AppendRequest, AppendResponse, Entry, Message, Ready } from '../../raft/core/index.js';
import { AssertionError, MessageType, Role } from '../../raft/core/index.js';
import { Harness, TestNode, bootstrappedStorage, encode } from './harness.js';

const pipelined = { readiesInFlightMax: 4 } as const;

function entry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: encode(`e${index}t${term}`) };
}

function appendRequests(messages: readonly Message[]): AppendRequest[] {
  return messages.filter((m): m is AppendRequest => m.type === MessageType.appendRequest);
}

function appendResponses(messages: readonly Message[]): AppendResponse[] {
  return messages.filter((m): m is AppendResponse => m.type === MessageType.appendResponse);
}

/** Makes a Ready's writes durable (no apply: the tests look at what is handed out). */
function persist(node: TestNode, ready: Ready): void {
  if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot);
  node.storage.append(ready.entries);
  if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState);
}

/** A follower (id 2) of a 3-node group at term 3 whose log after the bootstrap entries has the given terms. */
function follower(terms: readonly number[]): TestNode {
  const storage = bootstrappedStorage([1, 2, 3]);
  storage.append(terms.map((t, i) => entry(4 + i, t)));
  storage.setHardState({ term: 3, vote: 0, commit: 3 });
  const node = new TestNode(2, storage, pipelined, 2);
  node.drain();
  return node;
}

function append(prevLogIndex: number, prevLogTerm: number, entries: readonly Entry[], term = 3): AppendRequest {
  return { type: MessageType.appendRequest, groupId: 1, from: 1, to: 2, term, prevLogIndex, prevLogTerm, entries,
    commitIndex: 3 };
}

test('a leader sends a second proposal while the first is still being persisted, and counts itself once each is durable', () => {
  const h = new Harness([1, 2, 3], pipelined);
  const leader = h.elect(1);
  h.cut(1, 3); // only node 2 answers: a commit needs the leader's own durable entry
  const first = leader.raft.log.lastIndex() + 1;
  leader.raw.propose(encode('a'));
  const readyA = leader.raw.ready();
  leader.raw.propose(encode('b'));
  ok(leader.raw.hasReady(), 'the next Ready may be taken while the first is in flight');
  const readyB = leader.raw.ready();
  deepEqual(readyA.entries.map((e) => e.index), [first]);
  deepEqual(readyB.entries.map((e) => e.index), [first + 1], 'only the entry no earlier Ready holds');
  deepEqual(appendRequests(readyB.messages).filter((m) => m.to === 2).flatMap((m) => m.entries.map((e) => e.index)),
    [first + 1], 'the second proposal leaves at once');
  equal(leader.raw.readiesInFlight(), 2);

  for (const message of [...readyA.messages, ...readyB.messages]) h.deliver(message);
  h.node(2).drain().forEach((message) => { h.deliver(message); });
  equal(leader.raft.log.committed, first - 1, "node 2's answer alone commits nothing: the leader's entries are not durable");

  persist(leader, readyA);
  leader.raw.advance();
  equal(leader.raft.log.committed, first, 'the first entry commits once its Ready is advanced');
  const applyA = leader.raw.ready();
  deepEqual(applyA.committedEntries.map((e) => e.index), [first],
    'and is handed out for applying while the second Ready is still in flight');
  persist(leader, readyB);
  leader.raw.advance();
  equal(leader.raft.log.committed, first + 1);
  persist(leader, applyA);
  leader.raw.advance();
  deepEqual(leader.raw.ready().committedEntries.map((e) => e.index), [first + 1]);
});

test('a follower acknowledges entries only once the Ready holding them is advanced, in order', () => {
  const node = follower([3]);
  node.raw.step(append(4, 3, [entry(5, 3)]));
  const readyA = node.raw.ready();
  deepEqual(appendResponses(readyA.messages), [], 'no ack before the entry is durable');
  node.raw.step(append(5, 3, [entry(6, 3)]));
  const readyB = node.raw.ready();
  deepEqual(readyB.entries.map((e) => e.index), [6]);
  deepEqual(appendResponses(readyB.messages), [], 'the first ack waits for the first Ready, not the second');
  node.raw.step(append(4, 3, [entry(5, 3)])); // a duplicate of an entry in flight: its ack waits too
  const readyC = node.raw.ready();
  deepEqual(appendResponses(readyC.messages), []);

  persist(node, readyA);
  node.raw.advance();
  const afterA = appendResponses(node.raw.ready().messages);
  deepEqual(afterA.map((m) => m.index), [5], 'the ack of entry 5 once its Ready is advanced');
  persist(node, readyB);
  node.raw.advance();
  persist(node, readyC);
  node.raw.advance();
  node.raw.advance(); // the Ready that carried the ack of entry 5
  const rest = appendResponses(node.raw.ready().messages);
  deepEqual(rest.map((m) => m.index), [6, 5], 'the acks held behind the second and third Readies');
});

test('entries replaced while a Ready holds them are handed out again, and the stale Ready confirms nothing', () => {
  const node = follower([]);
  node.raw.step(append(3, 1, [entry(4, 3), entry(5, 3)]));
  const readyA = node.raw.ready();
  deepEqual(readyA.entries.map((e) => [e.index, e.term]), [[4, 3], [5, 3]]);
  // A new leader of term 4 overwrites entry 5 while readyA is still being written.
  node.raw.step(append(4, 3, [entry(5, 4)], 4));
  const readyB = node.raw.ready();
  deepEqual(readyB.entries.map((e) => [e.index, e.term]), [[5, 4]], 'the replaced entry is handed out again');
  persist(node, readyA);
  node.raw.advance();
  equal(node.raft.log.durableLastIndex(), 3, 'entry 5 of term 3 was replaced: nothing from readyA is confirmed');
  persist(node, readyB);
  node.raw.advance();
  equal(node.raft.log.durableLastIndex(), 5);
  deepEqual([node.storage.term(4), node.storage.term(5)], [3, 4]);
  const acks = appendResponses(node.drain());
  ok(acks.some((m) => m.success && m.index === 5 && m.term === 4), 'the new leader hears its entry acknowledged');
});

test('no Ready is taken past readiesInFlightMax, nor after one holding a snapshot', () => {
  const node = follower([]);
  for (let index = 4; index <= 7; index += 1) {
    node.raw.step(append(index - 1, index === 4 ? 1 : 3, [entry(index, 3)]));
    node.raw.ready();
  }
  equal(node.raw.readiesInFlight(), 4);
  node.raw.step(append(7, 3, [entry(8, 3)]));
  equal(node.raw.hasReady(), false, 'four Readies in flight: the fifth waits');
  throws(() => node.raw.ready(), AssertionError);

  const receiving = follower([]);
  receiving.raw.step({ type: MessageType.snapshotRequest, groupId: 1, from: 1, to: 2, term: 3,
    snapshot: { metadata: { index: 10, term: 3, conf: { voters: [1, 2, 3], learners: [] } },
      data: new Uint8Array(0) } });
  const withSnapshot = receiving.raw.ready();
  ok(withSnapshot.snapshot !== undefined);
  receiving.raw.step(append(10, 3, [entry(11, 3)]));
  equal(receiving.raw.hasReady(), false, 'nothing is taken after a snapshot until it is installed');
  persist(receiving, withSnapshot);
  receiving.raw.advance();
  deepEqual(receiving.raw.ready().entries.map((e) => e.index), [11]);
  equal(receiving.raft.role, Role.follower);
});
