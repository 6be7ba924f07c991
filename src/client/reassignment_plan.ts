/**
 * Reassignment plans in Kafka's JSON shape (kafka-reassign-partitions.sh):
 *   {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3,4]}]}
 * Parsing and checking a plan against the cluster, and proposing one that spreads the replicas of
 * some topics evenly over some brokers while moving as few replicas as it can. Pure functions: the
 * command line feeds them what the Admin client read.
 */
import { assert } from '../../raft/core/assert.js';
import { TributaryError } from '../common/errors.js';
import type { PartitionMove } from './admin.js';

export interface ReassignmentPlan {
  readonly version: 1;
  readonly partitions: readonly PartitionMove[];
}

/**
 * What a plan is checked against: each topic's partition count and, when given, the brokers. The
 * command line leaves the brokers to the brokers' own check (validateOnly), which knows every
 * registered broker, fenced ones included, where a client sees only the live ones.
 */
export interface ClusterShape {
  readonly brokerIds?: readonly number[];
  readonly partitionCounts: ReadonlyMap<string, number>;
}

/** A plan from its JSON text; INVALID_REQUEST naming the first thing that is not Kafka's shape. */
export function parsePlan(text: string): ReassignmentPlan {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TributaryError('INVALID_REQUEST', `the plan is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(value) || value['version'] !== 1 || !Array.isArray(value['partitions'])) {
    throw new TributaryError('INVALID_REQUEST', 'the plan must be {"version":1,"partitions":[...]}');
  }
  const partitions = (value['partitions'] as unknown[]).map((entry, i): PartitionMove => {
    if (!isObject(entry) || typeof entry['topic'] !== 'string' || !isNatural(entry['partition']) ||
      !Array.isArray(entry['replicas']) || !(entry['replicas'] as unknown[]).every(isNatural)) {
      throw new TributaryError('INVALID_REQUEST', `plan entry ${i} must be {"topic":string,"partition":n,` +
        '"replicas":[n,...]}');
    }
    return { topic: entry['topic'], partition: entry['partition'], replicas: [...entry['replicas'] as number[]] };
  });
  return { version: 1, partitions };
}

/**
 * The first problem of a plan against the cluster, as the typed error the broker would answer,
 * or null: the client checks the whole plan before moving anything, so a bad entry changes nothing.
 */
export function planProblem(plan: ReassignmentPlan, cluster: ClusterShape): TributaryError | null {
  if (plan.partitions.length === 0) return new TributaryError('INVALID_REQUEST', 'the plan moves no partition');
  const seen = new Set<string>();
  for (const move of plan.partitions) {
    const where = `${move.topic}-${move.partition}`;
    if (seen.has(where)) return new TributaryError('INVALID_REQUEST', `partition ${where} is in the plan twice`);
    seen.add(where);
    const count = cluster.partitionCounts.get(move.topic);
    if (count === undefined || move.partition >= count) {
      return new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `unknown partition ${where}`);
    }
    if (move.replicas.length === 0) {
      return new TributaryError('INVALID_REPLICA_ASSIGNMENT', `partition ${where}: the replica list is empty`);
    }
    if (new Set(move.replicas).size !== move.replicas.length) {
      return new TributaryError('INVALID_REPLICA_ASSIGNMENT', `partition ${where}: replicas ` +
        `${move.replicas.join(',')} name a broker twice`);
    }
    const brokerIds = cluster.brokerIds;
    if (brokerIds === undefined) continue;
    if (move.replicas.length > brokerIds.length) {
      return new TributaryError('INVALID_REPLICATION_FACTOR', `partition ${where}: ${move.replicas.length} ` +
        `replicas but only ${brokerIds.length} brokers`);
    }
    const unknown = move.replicas.filter((id) => !brokerIds.includes(id));
    if (unknown.length > 0) {
      return new TributaryError('INVALID_REPLICA_ASSIGNMENT', `partition ${where}: brokers ${unknown.join(',')} ` +
        'are not registered');
    }
  }
  return null;
}

/** Bytes on disk per partition, keyed by partitionKey; a partition not listed counts as 0 bytes. */
export type PartitionSizes = ReadonlyMap<string, number>;

/** The key of a partition in PartitionSizes. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/**
 * A plan that spreads the given partitions' replicas and preferred leaders (first replicas) evenly
 * over `brokerIds`, moving off brokers not listed and changing as little as it can:
 *  1. Replica counts per broker differ by one at most. Each step moves one replica from the most
 *     loaded broker to the least loaded one that does not hold the partition yet, a follower before
 *     a preferred leader, in place in the replica list. Which partition gives up a replica matters
 *     when brokers already hold some partitions, so the greedy pass runs over a few partition orders
 *     and the plan moving the fewest replicas wins.
 *  2. Preferred leaders are then spread by reordering replica lists only (no data moves): per topic
 *     first, then overall, leader counts differing by one at most where the replica sets allow.
 * Bytes (`sizes`) break ties only: among equally loaded brokers the one with fewer bytes takes a
 * replica, a partition whose size brings the two brokers' byte totals closest is the one moved, and
 * of plans equally even and moving as many replicas the one with the closest byte totals wins.
 * Replication factors stay; only partitions that change (brokers or order) are in the plan. The
 * same input always gives the same plan.
 */
export function generatePlan(current: readonly PartitionMove[], brokerIds: readonly number[],
  sizes: PartitionSizes = new Map()): ReassignmentPlan {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  if (brokers.length === 0) throw new TributaryError('INVALID_REQUEST', 'no brokers to place replicas on');
  for (const move of current) {
    if (move.replicas.length > brokers.length) {
      throw new TributaryError('INVALID_REPLICATION_FACTOR', `partition ${move.topic}-${move.partition} has ` +
        `${move.replicas.length} replicas but only ${brokers.length} brokers are given`);
    }
  }
  const sizeOf = current.map((move) => Math.max(0, sizes.get(partitionKey(move.topic, move.partition)) ?? 0));
  const indexes = current.map((_, i) => i);
  const orders = [indexes, [...indexes].reverse(),
    [...indexes].sort((a, b) => (current[a]?.replicas.length ?? 0) - (current[b]?.replicas.length ?? 0)),
    [...indexes].sort((a, b) => (current[b]?.replicas.length ?? 0) - (current[a]?.replicas.length ?? 0))];
  for (let seed = 1; seed <= 12; seed++) orders.push(shuffled(indexes, seed));
  let best: { partitions: PlannedMove[]; moved: number; spread: number; byteSpread: number } | undefined;
  // Each order twice: picking partitions by order alone, and by bytes first (when sizes are known).
  const bySize = sizeOf.some((size) => size > 0) ? [false, true] : [false];
  for (const [n, order] of orders.entries()) {
    for (const weighBytes of bySize) {
      // Brokers equally loaded are tried in another order each pass too.
      const rank = new Map((n === 0 ? brokers : shuffled(brokers, 100 + n)).map((id, i) => [id, i]));
      const proposed = greedyPass(current, brokers, order, rank, weighBytes ? sizeOf : undefined);
      const moved = proposed.reduce((sum, move, i) => sum +
        move.replicas.filter((id) => !(current[i]?.replicas.includes(id) ?? false)).length, 0);
      const counts = [...replicaCounts(proposed, brokers).values()];
      const spread = Math.max(...counts) - Math.min(...counts);
      const byteSpread = spreadOf(byteTotals(proposed, brokers, sizeOf));
      if (best === undefined || spread < best.spread || (spread === best.spread && (moved < best.moved ||
        (moved === best.moved && byteSpread < best.byteSpread)))) {
        best = { partitions: proposed, moved, spread, byteSpread };
      }
    }
  }
  const proposed = best?.partitions ?? [];
  spreadLeaders(proposed, brokers);
  for (const [i, move] of proposed.entries()) {
    assert(move.replicas.length === moveAt(current, i).replicas.length, 'a plan keeps every replication factor');
    assert(new Set(move.replicas).size === move.replicas.length, 'a plan names each broker once per partition');
  }
  const changed = proposed.filter((move, i) => move.replicas.some((id, j) => current[i]?.replicas[j] !== id));
  return { version: 1, partitions: changed };
}

/** A partition's replicas as a plan is being made (changed in place). */
interface PlannedMove { readonly topic: string; readonly partition: number; replicas: number[] }

function moveAt<T extends PartitionMove>(moves: readonly T[], i: number): T {
  const move = moves[i];
  assert(move !== undefined, () => `no partition at ${i}`);
  return move;
}

/**
 * One greedy balancing pass, taking replicas from partitions in `order` first, ties of load by
 * bytes then `rank`; with `sizeOf`, the partition moved is the one bringing the byte totals closest.
 */
function greedyPass(current: readonly PartitionMove[], brokers: readonly number[], order: readonly number[],
  rank: ReadonlyMap<number, number>, sizeOf: readonly number[] | undefined): PlannedMove[] {
  const proposed = current.map((move): PlannedMove => ({ ...move, replicas: [...move.replicas] }));
  const visiting = order.map((i) => ({ index: i, move: moveAt(proposed, i) }));
  const load = replicaCounts(proposed, brokers);
  const bytes = byteTotals(proposed, brokers, sizeOf ?? []);
  const total = proposed.reduce((sum, move) => sum + move.replicas.length, 0);
  for (let step = 0; step < 2 * total + 1; step++) {
    const from = mostLoaded(load, brokers);
    if (from === undefined) break;
    const listed = brokers.includes(from);
    // The least loaded broker that can take one of from's replicas and is worth moving to.
    const candidates = [...brokers]
      .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || (bytes.get(a) ?? 0) - (bytes.get(b) ?? 0) ||
        (rank.get(a) ?? 0) - (rank.get(b) ?? 0))
      .filter((to) => to !== from && (!listed || (load.get(from) ?? 0) - (load.get(to) ?? 0) > 1));
    let moved = false;
    for (const to of candidates) {
      const gap = (bytes.get(from) ?? 0) - (bytes.get(to) ?? 0);
      const picked = pickReplica(visiting, from, to, sizeOf === undefined ? undefined
        : (i) => Math.abs(gap - 2 * (sizeOf[i] ?? 0)));
      if (picked === undefined) continue;
      const size = sizeOf?.[picked.index] ?? 0;
      picked.move.replicas[picked.position] = to;
      load.set(from, (load.get(from) ?? 0) - 1);
      if ((load.get(from) ?? 0) === 0 && !listed) load.delete(from);
      load.set(to, (load.get(to) ?? 0) + 1);
      bytes.set(from, (bytes.get(from) ?? 0) - size);
      bytes.set(to, (bytes.get(to) ?? 0) + size);
      moved = true;
      break;
    }
    if (!moved) break;
  }
  return proposed;
}

/** Replicas per broker: the listed ones (0 included), then any others holding replicas. */
function replicaCounts(moves: readonly PartitionMove[], brokers: readonly number[]): Map<number, number> {
  const load = new Map<number, number>(brokers.map((id) => [id, 0]));
  for (const move of moves) for (const id of move.replicas) load.set(id, (load.get(id) ?? 0) + 1);
  return load;
}

/** Bytes per listed broker: the sizes of the partitions it holds a replica of. */
function byteTotals(moves: readonly PartitionMove[], brokers: readonly number[], sizeOf: readonly number[]):
  Map<number, number> {
  const bytes = new Map<number, number>(brokers.map((id) => [id, 0]));
  for (const [i, move] of moves.entries()) {
    for (const id of move.replicas) bytes.set(id, (bytes.get(id) ?? 0) + (sizeOf[i] ?? 0));
  }
  return bytes;
}

function spreadOf(values: ReadonlyMap<number, number>): number {
  const all = [...values.values()];
  return all.length === 0 ? 0 : Math.max(...all) - Math.min(...all);
}

/** A fixed pseudo-random permutation (so a plan is the same each time for the same input). */
function shuffled(items: readonly number[], seed: number): number[] {
  const result = [...items];
  let state = seed * 2_654_435_761 % 2 ** 32;
  for (let i = result.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [result[i], result[j]] = [result[j] ?? 0, result[i] ?? 0];
  }
  return result;
}

/** A broker that is not listed and still holds replicas first; else the most loaded listed one. */
function mostLoaded(load: ReadonlyMap<number, number>, brokers: readonly number[]): number | undefined {
  let best: number | undefined;
  for (const [id, count] of load) {
    if (count === 0) continue;
    if (!brokers.includes(id)) return id;
    if (best === undefined || count > (load.get(best) ?? 0)) best = id;
  }
  return best;
}

interface Visit { readonly index: number; readonly move: { replicas: number[] } }

/**
 * A replica on `from` of a partition without `to`, in a follower position when there is one; of
 * those, the first in visiting order, or with `cost` (by partition index) the cheapest, then first.
 */
function pickReplica(visiting: readonly Visit[], from: number, to: number,
  cost: ((index: number) => number) | undefined):
  { move: { replicas: number[] }; index: number; position: number } | undefined {
  let best: { move: { replicas: number[] }; index: number; position: number; key: [number, number] } | undefined;
  for (const { index, move } of visiting) {
    const position = move.replicas.indexOf(from);
    if (position < 0 || move.replicas.includes(to)) continue;
    const key: [number, number] = [position > 0 ? 0 : 1, cost?.(index) ?? 0];
    if (best === undefined || key[0] < best.key[0] || (key[0] === best.key[0] && key[1] < best.key[1])) {
      best = { move, index, position, key };
    }
    if (cost === undefined && position > 0) break;
  }
  return best;
}

/**
 * Reorders replica lists (in place) so preferred leaders spread evenly over the listed brokers:
 * first within each topic, then overall without undoing any topic's spread. Each round hands one
 * leadership along the shortest chain of partitions from a broker with too many to one with at
 * least two fewer (a leader hands over to another replica of its partition, which hands one of its
 * own on, and so on), so leaderships change only where a count must.
 */
function spreadLeaders(moves: readonly PlannedMove[], brokers: readonly number[]): void {
  const leaders = moves.map((move) => move.replicas[0] ?? -1);
  const all = moves.map((_, i) => i);
  const topics = [...new Set(moves.map((move) => move.topic))].sort();
  const byTopic = new Map(topics.map((topic) => [topic, all.filter((i) => moveAt(moves, i).topic === topic)]));
  const overall = (): Map<number, number> => leaderCounts(all, leaders, brokers);
  for (const scope of byTopic.values()) {
    balanceLeaders(moves, scope, leaders, brokers, { counts: () => leaderCounts(scope, leaders, brokers), overall,
      allowed: () => () => true, topicOnce: false });
  }
  // Overall: one hand-over per topic in a chain, and only where that topic's spread stays (from a
  // broker leading more of it than the one taking over, or within its least and most).
  balanceLeaders(moves, all, leaders, brokers, { counts: overall, overall, topicOnce: true, allowed: () => {
    const perTopic = new Map([...byTopic].map(([topic, scope]) => {
      const counts = leaderCounts(scope, leaders, brokers);
      return [topic, { counts, least: Math.min(...counts.values()), most: Math.max(...counts.values()) }];
    }));
    return (index, from, to) => {
      const topic = perTopic.get(moveAt(moves, index).topic);
      const giving = topic?.counts.get(from) ?? 0;
      const taking = topic?.counts.get(to) ?? 0;
      return giving > taking || (giving - 1 >= (topic?.least ?? 0) && taking + 1 <= (topic?.most ?? 0));
    };
  } });
  for (const [i, move] of moves.entries()) {
    const leader = leaders[i] ?? -1;
    if (move.replicas[0] === leader) continue;
    assert(move.replicas.includes(leader), 'a leader is one of its partition\'s replicas');
    move.replicas = [leader, ...move.replicas.filter((id) => id !== leader)];
  }
}

/** Leaders per listed broker over the partitions of scope. */
function leaderCounts(scope: readonly number[], leaders: readonly number[], brokers: readonly number[]):
  Map<number, number> {
  const counts = new Map<number, number>(brokers.map((id) => [id, 0]));
  for (const i of scope) {
    const leader = leaders[i] ?? -1;
    if (counts.has(leader)) counts.set(leader, (counts.get(leader) ?? 0) + 1);
  }
  return counts;
}

interface LeaderBalance {
  /** The counts to even out, and the overall ones that break ties. */
  readonly counts: () => Map<number, number>;
  readonly overall: () => Map<number, number>;
  /** Made once a round: whether partition `index` may hand its leadership from `from` to `to`. */
  readonly allowed: () => (index: number, from: number, to: number) => boolean;
  /** A chain hands over at most one partition of each topic. */
  readonly topicOnce: boolean;
}

/**
 * Shortest hand-over chains within scope until no broker can pass a leadership on to one with two
 * fewer. Ties: the source with the most leaders overall gives, the end with the fewest overall
 * takes. Each chain lowers the sum of the squared counts, so the rounds end.
 */
function balanceLeaders(moves: readonly PartitionMove[], scope: readonly number[], leaders: number[],
  brokers: readonly number[], balance: LeaderBalance): void {
  const rounds = scope.length * scope.length + 1;
  for (let round = 0; ; round++) {
    assert(round <= rounds, 'leader balancing ends: each chain lowers the sum of squared counts');
    const count = balance.counts();
    const total = balance.overall();
    const allowed = balance.allowed();
    const ledBy = new Map<number, number[]>();
    for (const i of scope) ledBy.set(leaders[i] ?? -1, [...ledBy.get(leaders[i] ?? -1) ?? [], i]);
    const sources = [...brokers].sort((a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0) ||
      (total.get(b) ?? 0) - (total.get(a) ?? 0) || a - b);
    let chain: { index: number; to: number }[] | undefined;
    for (const source of sources) {
      if ((count.get(source) ?? 0) < 2) break;
      chain = handOverChain(moves, source, { ledBy, brokers, count, total, allowed, topicOnce: balance.topicOnce });
      if (chain !== undefined) break;
    }
    if (chain === undefined) return;
    for (const step of chain) {
      assert(moveAt(moves, step.index).replicas.includes(step.to), 'a chain hands over to a replica');
      leaders[step.index] = step.to;
    }
  }
}

interface ChainSearch {
  readonly ledBy: ReadonlyMap<number, readonly number[]>;
  readonly brokers: readonly number[];
  readonly count: ReadonlyMap<number, number>;
  readonly total: ReadonlyMap<number, number>;
  readonly allowed: (index: number, from: number, to: number) => boolean;
  readonly topicOnce: boolean;
}

/** Breadth first from source over brokers, by the partitions each leads, to one with two fewer. */
function handOverChain(moves: readonly PartitionMove[], source: number, search: ChainSearch):
  { index: number; to: number }[] | undefined {
  const { ledBy, brokers, count, total, allowed } = search;
  const limit = (count.get(source) ?? 0) - 2;
  const parent = new Map<number, { from: number; index: number } | null>([[source, null]]);
  const topicsOnPath = (broker: number): Set<string> => {
    const seen = new Set<string>();
    for (let at = parent.get(broker); at != null; at = parent.get(at.from)) seen.add(moveAt(moves, at.index).topic);
    return seen;
  };
  let frontier = [source];
  for (let depth = 0; frontier.length > 0 && depth < brokers.length; depth++) {
    const next: number[] = [];
    for (const from of frontier) {
      const used = search.topicOnce ? topicsOnPath(from) : new Set<string>();
      for (const index of ledBy.get(from) ?? []) {
        const move = moveAt(moves, index);
        if (used.has(move.topic)) continue;
        for (const to of move.replicas) {
          if (parent.has(to) || !brokers.includes(to) || !allowed(index, from, to)) continue;
          parent.set(to, { from, index });
          next.push(to);
        }
      }
    }
    const end = next.filter((id) => (count.get(id) ?? 0) <= limit)
      .sort((a, b) => (count.get(a) ?? 0) - (count.get(b) ?? 0) || (total.get(a) ?? 0) - (total.get(b) ?? 0) ||
        a - b)[0];
    if (end !== undefined) {
      const chain: { index: number; to: number }[] = [];
      for (let at = end, step = parent.get(end); step != null; at = step.from, step = parent.get(at)) {
        chain.push({ index: step.index, to: at });
      }
      return chain;
    }
    frontier = next.sort((a, b) => a - b);
  }
  return undefined;
}

/** Kafka's plan JSON of moves. */
export function formatPlan(partitions: readonly PartitionMove[]): string {
  return JSON.stringify({ version: 1, partitions: partitions.map((move) => ({ topic: move.topic,
    partition: move.partition, replicas: [...move.replicas] })) });
}

/** `50MB`, `10MiB`, `500KB`, `1000000` (bytes per second): binary units, as the README says. */
export function parseThrottle(text: string, flag = '--throttle'): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(text.trim());
  if (match === null) {
    throw new TributaryError('INVALID_REQUEST', `${flag} ${text}: expected bytes per second such as 50MB`);
  }
  const unit = (match[2] ?? 'b').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  const bytes = Math.round(Number(match[1]) * scale);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new TributaryError('INVALID_REQUEST', `${flag} ${text}: must be at least 1 byte per second`);
  }
  return bytes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNatural(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
