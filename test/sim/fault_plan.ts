/**
 * The fault mix of one run, drawn from its seed (TigerBeetle's swarm testing): each seed gets its
 * own rates, so some runs are calm and some are storms, and every fault kind appears across seeds.
 */
import type { Prng } from '../../raft/core/index.js';

export interface FaultPlan {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  readonly delayTicksMax: number;
  /** Per tick: chance to change the partition shape (or heal it). */
  readonly partitionProbability: number;
  /** Per tick: chance to crash or isolate the current leader (Jepsen's "primaries" target). */
  readonly leaderFaultProbability: number;
  /** Per tick: chance to crash one running node. */
  readonly crashProbability: number;
  readonly restartDelayTicksMax: number;
  /** On a crash: chance that a prefix of the unsynced entries survived (a torn write). */
  readonly tornWriteProbability: number;
  /** A Ready's writes become durable 0..persistDelayTicksMax ticks after it is taken. */
  readonly persistDelayTicksMax: number;
  readonly proposalProbability: number;
  readonly confChangeProbability: number;
  readonly transferProbability: number;
  readonly readProbability: number;
  /** Entry bytes per append message: small values split catch-up into many acks. */
  readonly appendBytesMax: number;
  /** Compact the log once this many applied entries are above the snapshot (0: never). */
  readonly compactEntries: number;
  /**
   * On a crash: chance that the node also loses a durable suffix of its log (a corrupt segment
   * tail), possibly below its commit. Budgeted: one node at a time, until it has caught up.
   */
  readonly diskLossProbability: number;
  /** A disk loss drops 1..diskLossEntriesMax entries from the end of the log. */
  readonly diskLossEntriesMax: number;
  /** The leader tells followers of a commit at once (RaftConfig.broadcastCommit), or with its next message. */
  readonly broadcastCommit: boolean;
}

function pick<T>(prng: Prng, values: readonly T[]): T {
  return values[prng.nextInt(values.length)]!;
}

export function drawFaultPlan(prng: Prng): FaultPlan {
  return {
    dropProbability: pick(prng, [0, 0.02, 0.05, 0.1, 0.2]),
    duplicateProbability: pick(prng, [0, 0.01, 0.05, 0.1]),
    delayTicksMax: pick(prng, [1, 2, 3, 4]),
    partitionProbability: pick(prng, [0, 0.005, 0.01, 0.03]),
    leaderFaultProbability: pick(prng, [0, 0.005, 0.02]),
    crashProbability: pick(prng, [0, 0.002, 0.005, 0.01]),
    restartDelayTicksMax: pick(prng, [5, 20, 60]),
    tornWriteProbability: pick(prng, [0, 0.5]),
    persistDelayTicksMax: pick(prng, [0, 1, 2, 3]),
    proposalProbability: pick(prng, [0.05, 0.2, 0.5]),
    confChangeProbability: pick(prng, [0, 0.005, 0.02]),
    transferProbability: pick(prng, [0, 0.003, 0.01]),
    readProbability: pick(prng, [0, 0.05, 0.2]),
    appendBytesMax: pick(prng, [64, 128, 1024]),
    compactEntries: pick(prng, [0, 8, 30]),
    // Drawn last, so that the other rates of a seed stay what they were before disk faults.
    diskLossProbability: pick(prng, [0, 0.2, 0.5, 1]),
    diskLossEntriesMax: pick(prng, [2, 8, 30]),
    // Not drawn: one more draw would change every later draw of the seed (SimCluster sets it).
    broadcastCommit: true,
  };
}

export function describeFaultPlan(plan: FaultPlan): string {
  return Object.entries(plan).map(([key, value]) => `${key}=${String(value)}`).join(' ');
}
