/**
 * The sticky assignor ('sticky', Kafka's StickyAssignor in spirit, written from its contract):
 * balanced, and moving as few partitions as it can from what the members own now (the owned
 * partitions of their v1 subscriptions).
 *
 * 1. Keep: each member keeps the partitions it owns that still exist and that it still subscribes
 *    to. A partition two members claim (a stale member's view) goes to the first in id order.
 * 2. Place: every other subscribed partition goes to the eligible member with the fewest
 *    partitions, partitions with the fewest eligible members first.
 * 3. Balance: while some member holds two or more partitions more than an eligible member, one
 *    partition moves from the fuller member to the emptier one: a partition it just got in step 2
 *    if it has one (no move at all in the previous assignment's terms), else one it owned. Each
 *    move lowers the sum of squared counts, so the loop ends; at the end members with the same
 *    subscriptions differ by at most one, and every move was needed for that.
 */
import { assert } from '../../../../raft/core/assert.js';
import type { AssignorMember, GroupAssignment, PartitionAssignor, PartitionCounts } from './assignor.js';
import { comparePartitions, partitionCount, partitionKey, sortedMembers, toTopicPartitions } from './assignor.js';

interface Placed { readonly topic: string; readonly partition: number }

interface MemberState {
  readonly member: AssignorMember;
  readonly topics: ReadonlySet<string>;
  /** Partitions kept from what it owned. */
  readonly kept: Map<string, Placed>;
  /** Partitions it gets that it did not own. */
  readonly fresh: Map<string, Placed>;
}

function size(state: MemberState): number {
  return state.kept.size + state.fresh.size;
}

function assignSticky(members: readonly AssignorMember[], counts: PartitionCounts): GroupAssignment {
  const states = sortedMembers(members).map((member): MemberState => ({
    member, topics: new Set(member.topics), kept: new Map(), fresh: new Map(),
  }));
  // Every partition some member subscribes to, sorted.
  const all: Placed[] = [...new Set(states.flatMap((s) => [...s.topics]))].sort().flatMap((topic) =>
    Array.from({ length: partitionCount(counts, topic) }, (_, partition) => ({ topic, partition })));
  const valid = new Set(all.map((p) => partitionKey(p.topic, p.partition)));

  const taken = new Set<string>();
  for (const state of states) {
    for (const owned of state.member.ownedPartitions) {
      if (!state.topics.has(owned.topic)) continue;
      for (const partition of owned.partitions) {
        const key = partitionKey(owned.topic, partition);
        if (!valid.has(key) || taken.has(key)) continue;
        taken.add(key);
        state.kept.set(key, { topic: owned.topic, partition });
      }
    }
  }

  const eligible = (topic: string): MemberState[] => states.filter((s) => s.topics.has(topic));
  const unplaced = all.filter((p) => !taken.has(partitionKey(p.topic, p.partition)));
  const eligibleCount = new Map([...new Set(unplaced.map((p) => p.topic))].map((t) => [t, eligible(t).length]));
  unplaced.sort((a, b) => (eligibleCount.get(a.topic) ?? 0) - (eligibleCount.get(b.topic) ?? 0)
    || comparePartitions(a, b));
  for (const placed of unplaced) {
    const target = fewest(eligible(placed.topic));
    assert(target !== null, 'a subscribed topic has a subscriber');
    target.fresh.set(partitionKey(placed.topic, placed.partition), placed);
  }

  balance(states, all.length);

  return new Map(states.map((s) => [s.member.memberId, toTopicPartitions([...s.kept.values(), ...s.fresh.values()])]));
}

/** The member with the fewest partitions, the first in id order on ties; null for none. */
function fewest(candidates: readonly MemberState[]): MemberState | null {
  let best: MemberState | null = null;
  for (const candidate of candidates) if (best === null || size(candidate) < size(best)) best = candidate;
  return best;
}

/** Moves one partition at a time from a fuller member to an emptier eligible one (see the header). */
function balance(states: readonly MemberState[], partitions: number): void {
  // Each move lowers the sum of squared counts by at least 2; that sum starts below partitions².
  const movesMax = partitions * partitions + 1;
  for (let moves = 0; ; moves++) {
    assert(moves <= movesMax, 'sticky balancing did not converge');
    if (!moveOne(states)) return;
  }
}

function moveOne(states: readonly MemberState[]): boolean {
  const byCountDesc = [...states].sort((a, b) => size(b) - size(a));
  for (const from of byCountDesc) {
    const targets = new Map<string, MemberState | null>();
    const targetFor = (topic: string): MemberState | null => {
      if (!targets.has(topic)) targets.set(topic, fewest(states.filter((s) => s !== from && s.topics.has(topic))));
      return targets.get(topic) ?? null;
    };
    // Fresh partitions first (moving them costs nothing), the highest first, for determinism.
    for (const source of [from.fresh, from.kept]) {
      const candidates = [...source.entries()].sort((a, b) => comparePartitions(b[1], a[1]));
      for (const [key, placed] of candidates) {
        const to = targetFor(placed.topic);
        if (to === null || size(to) >= size(from) - 1) continue;
        source.delete(key);
        to.fresh.set(key, placed);
        return true;
      }
    }
  }
  return false;
}

export const stickyAssignor: PartitionAssignor = { name: 'sticky', assign: assignSticky };
