/**
 * Carries out `--auto-rebalance` on the controller leader: each tick it asks auto_rebalance.ts what
 * to do; to rebalance, it makes the same plan as `cluster rebalance` (reassignment_plan.ts) over the
 * non-internal topics and the eligible brokers, and records each move with an
 * AlterPartitionReassignment command, as the AlterPartitionReassignments handler does (the partition
 * leaders carry the moves out); once they are done it has preferred leaders elected.
 *
 * Sizes break the plan's ties; this broker knows those of the partitions it hosts (a follower's log
 * is about its leader's), and gives the others the mean of those, so they weigh neither way.
 */
import type { Logger } from 'pino';

import { Admin } from '../client/admin.js';
import type { PartitionMove } from '../client/admin.js';
import { generatePlan, partitionKey } from '../client/reassignment_plan.js';
import { AUTO_REBALANCE_IDLE, nextAutoRebalance } from '../controller/auto_rebalance.js';
import type { AutoRebalanceState } from '../controller/auto_rebalance.js';
import { encodeCommand } from '../controller/commands.js';
import { validateReassignment } from '../controller/metadata_state_machine.js';
import type { MetadataStateMachine } from '../controller/metadata_state_machine.js';
import type { ClientSecurity } from '../security/client_security.js';

/** How long recording one move may take before the plan is given up (made again at the next arrival). */
const RECORD_TIMEOUT_MS = 10_000;
/** How long the elections may take in all. */
const ELECTION_TIMEOUT_MS = 30_000;

export interface AutoRebalancerOptions {
  readonly metadata: () => MetadataStateMachine;
  /** Whether this broker leads the controller now. */
  readonly leads: () => boolean;
  /** The brokers replicas may go to (registered, unfenced, not being emptied). */
  readonly eligibleBrokers: () => readonly number[];
  /** Bytes of a partition's log where this broker hosts it. */
  readonly sizeOf: (topic: string, partition: number) => number | undefined;
  readonly submitUntil: (command: Uint8Array, applied: () => boolean, timeoutMs: number) => Promise<boolean>;
  /** This broker's client address: preferred leaders are elected as `cluster elect-leaders` does, through it. */
  readonly bootstrap: string;
  /** This broker's own CURVE credentials (with --key-file). */
  readonly security?: ClientSecurity;
  readonly logger: Logger;
}

export class AutoRebalancer {
  private state: AutoRebalanceState = AUTO_REBALANCE_IDLE;
  private busy = false;

  constructor(private readonly options: AutoRebalancerOptions) {}

  tick(nowMs: number): void {
    if (this.busy) return;
    if (!this.options.leads()) {
      this.state = AUTO_REBALANCE_IDLE;
      return;
    }
    const metadata = this.options.metadata();
    const holding = new Set(metadata.topics().flatMap((topic) => topic.partitions.flat()));
    const decision = nextAutoRebalance(this.state, { nowMs, eligibleBrokers: this.options.eligibleBrokers(),
      downBrokersHoldingReplicas: metadata.brokers().filter((b) => b.fenced && holding.has(b.brokerId)).length,
      movesUnderWay: metadata.topicsMoving().reduce((sum, topic) => sum + (topic.reassignments?.length ?? 0), 0) });
    this.state = decision.state;
    if (decision.action === null) return;
    this.busy = true;
    const run = decision.action === 'plan' ? this.startMoves(decision.state.seen ?? []) : this.elect();
    void run.catch((error: unknown) => {
      this.options.logger.warn({ error }, 'auto rebalance failed; it runs again when the next broker arrives');
      this.state = AUTO_REBALANCE_IDLE;
    }).finally(() => { this.busy = false; });
  }

  private async startMoves(brokers: readonly number[]): Promise<void> {
    const metadata = this.options.metadata();
    const topics = metadata.topics().filter((topic) => !topic.internal);
    const current: PartitionMove[] = topics.flatMap((topic) => topic.partitions.map((replicas, partition) =>
      ({ topic: topic.name, partition, replicas: [...replicas] })));
    const plan = generatePlan(current, brokers, this.sizes(current));
    this.options.logger.info({ brokers, partitions: plan.partitions.length }, 'auto rebalance: moving partitions');
    for (const move of plan.partitions) {
      const now = this.options.metadata();
      const problem = validateReassignment(now, { name: move.topic, partition: move.partition, target: move.replicas },
        now.brokers().length);
      const topic = now.topic(move.topic);
      if (problem !== null || topic === undefined) {
        this.options.logger.warn({ move, problem }, 'auto rebalance: skipped a move');
        continue;
      }
      const recorded = (): boolean => {
        const after = this.options.metadata();
        const target = after.reassignment(move.topic, move.partition)?.target
          ?? after.partitionReplicas(move.topic, move.partition) ?? [];
        return after.topic(move.topic)?.topicId !== topic.topicId || sameList(target, move.replicas);
      };
      const done = await this.options.submitUntil(encodeCommand({ type: 'alterPartitionReassignment',
        name: move.topic, topicId: topic.topicId, partition: move.partition, target: [...move.replicas],
        throttleBytesPerSec: 0 }), recorded, RECORD_TIMEOUT_MS);
      if (!done) throw new Error(`the move of ${move.topic}-${move.partition} was not recorded in time`);
    }
  }

  private async elect(): Promise<void> {
    const topics = this.options.metadata().topics().filter((topic) => !topic.internal).map((topic) => topic.name);
    const admin = new Admin({ bootstrap: this.options.bootstrap, clientId: 'auto-rebalance', logger: this.options.logger,
      ...(this.options.security === undefined ? {} : { security: this.options.security }),
      requestTimeoutMs: ELECTION_TIMEOUT_MS });
    try {
      await admin.electPreferredLeaders({ topics });
    } finally {
      await admin.close();
    }
    this.options.logger.info({ topics: topics.length }, 'auto rebalance: moves done, preferred leaders elected');
  }

  /** Known sizes, and the mean of those for partitions this broker does not host. */
  private sizes(current: readonly PartitionMove[]): Map<string, number> {
    const known = current.map((move) => this.options.sizeOf(move.topic, move.partition));
    const measured = known.filter((size): size is number => size !== undefined);
    const total = measured.reduce((sum, size) => sum + size, 0);
    const mean = measured.length === 0 ? 0 : Math.round(total / measured.length);
    return new Map(current.map((move, i) => [partitionKey(move.topic, move.partition), known[i] ?? mean]));
  }
}

function sameList(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id, i) => right[i] === id);
}
