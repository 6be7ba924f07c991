/**
 * Reassignment plans in Kafka's JSON shape (kafka-reassign-partitions.sh):
 *   {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3,4]}]}
 * Parsing and checking a plan against the cluster, and proposing one that spreads the replicas of
 * some topics evenly over some brokers while moving as few replicas as it can. Pure functions: the
 * command line feeds them what the Admin client read.
 */
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

/**
 * A plan that spreads the given partitions' replicas evenly over `brokerIds` (replica counts per
 * broker differ by one at most) and moves off brokers not listed, changing as few replicas as it
 * can: each step moves one replica from the most loaded broker to the least loaded one that does
 * not hold the partition yet, a follower before a preferred leader, in place in the replica list.
 * Which partition gives up a replica matters when brokers already hold some partitions, so the
 * greedy pass runs over a few partition orders and the plan moving the fewest replicas wins.
 * Replication factors stay; only partitions that change are in the plan.
 */
export function generatePlan(current: readonly PartitionMove[], brokerIds: readonly number[]): ReassignmentPlan {
  const brokers = [...new Set(brokerIds)].sort((a, b) => a - b);
  if (brokers.length === 0) throw new TributaryError('INVALID_REQUEST', 'no brokers to place replicas on');
  for (const move of current) {
    if (move.replicas.length > brokers.length) {
      throw new TributaryError('INVALID_REPLICATION_FACTOR', `partition ${move.topic}-${move.partition} has ` +
        `${move.replicas.length} replicas but only ${brokers.length} brokers are given`);
    }
  }
  const indexes = current.map((_, i) => i);
  const orders = [indexes, [...indexes].reverse(),
    [...indexes].sort((a, b) => (current[a]?.replicas.length ?? 0) - (current[b]?.replicas.length ?? 0)),
    [...indexes].sort((a, b) => (current[b]?.replicas.length ?? 0) - (current[a]?.replicas.length ?? 0))];
  for (let seed = 1; seed <= 12; seed++) orders.push(shuffled(indexes, seed));
  let best: { partitions: PartitionMove[]; moved: number; spread: number } | undefined;
  for (const [n, order] of orders.entries()) {
    // Brokers equally loaded are tried in another order each pass too.
    const rank = new Map((n === 0 ? brokers : shuffled(brokers, 100 + n)).map((id, i) => [id, i]));
    const proposed = greedyPass(current, brokers, order, rank);
    const moved = proposed.reduce((sum, move, i) => sum +
      move.replicas.filter((id) => !(current[i]?.replicas.includes(id) ?? false)).length, 0);
    const counts = [...replicaCounts(proposed, brokers).values()];
    const spread = Math.max(...counts) - Math.min(...counts);
    if (best === undefined || spread < best.spread || (spread === best.spread && moved < best.moved)) {
      best = { partitions: proposed, moved, spread };
    }
  }
  const proposed = best?.partitions ?? [];
  const changed = proposed.filter((move, i) => move.replicas.some((id, j) => current[i]?.replicas[j] !== id));
  return { version: 1, partitions: changed };
}

/** One greedy balancing pass, taking replicas from partitions in `order` first, ties of load by `rank`. */
function greedyPass(current: readonly PartitionMove[], brokers: readonly number[], order: readonly number[],
  rank: ReadonlyMap<number, number>): PartitionMove[] {
  const proposed = current.map((move) => ({ ...move, replicas: [...move.replicas] }));
  const visiting = order.map((i) => proposed[i]).filter((move) => move !== undefined);
  const load = replicaCounts(proposed, brokers);
  const total = proposed.reduce((sum, move) => sum + move.replicas.length, 0);
  for (let step = 0; step < 2 * total + 1; step++) {
    const from = mostLoaded(load, brokers);
    if (from === undefined) break;
    const listed = brokers.includes(from);
    // The least loaded broker that can take one of from's replicas and is worth moving to.
    const candidates = [...brokers]
      .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || (rank.get(a) ?? 0) - (rank.get(b) ?? 0))
      .filter((to) => to !== from && (!listed || (load.get(from) ?? 0) - (load.get(to) ?? 0) > 1));
    let moved = false;
    for (const to of candidates) {
      const picked = pickReplica(visiting, from, to);
      if (picked === undefined) continue;
      picked.move.replicas[picked.position] = to;
      load.set(from, (load.get(from) ?? 0) - 1);
      if ((load.get(from) ?? 0) === 0 && !listed) load.delete(from);
      load.set(to, (load.get(to) ?? 0) + 1);
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

/** A replica on `from` of a partition without `to`, in a follower position when there is one. */
function pickReplica(moves: readonly { replicas: number[] }[], from: number, to: number):
  { move: { replicas: number[] }; position: number } | undefined {
  let leaderChoice: { move: { replicas: number[] }; position: number } | undefined;
  for (const move of moves) {
    const position = move.replicas.indexOf(from);
    if (position < 0 || move.replicas.includes(to)) continue;
    if (position > 0) return { move, position };
    leaderChoice ??= { move, position };
  }
  return leaderChoice;
}

/** Kafka's plan JSON of moves. */
export function formatPlan(partitions: readonly PartitionMove[]): string {
  return JSON.stringify({ version: 1, partitions: partitions.map((move) => ({ topic: move.topic,
    partition: move.partition, replicas: [...move.replicas] })) });
}

/** `50MB`, `10MiB`, `500KB`, `1000000` (bytes per second): binary units, as the README says. */
export function parseThrottle(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(text.trim());
  if (match === null) {
    throw new TributaryError('INVALID_REQUEST', `--throttle ${text}: expected bytes per second such as 50MB`);
  }
  const unit = (match[2] ?? 'b').toLowerCase();
  const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  const bytes = Math.round(Number(match[1]) * scale);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new TributaryError('INVALID_REQUEST', `--throttle ${text}: must be at least 1 byte per second`);
  }
  return bytes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNatural(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
