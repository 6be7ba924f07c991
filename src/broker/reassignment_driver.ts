/**
 * Carries out the partition moves this broker leads (Kafka's reassignment, executed as Raft
 * membership changes). Every tick, for each move under way in the metadata whose partition this
 * broker leads: if the group's applied membership differs from what the metadata shows, report it
 * to the controller (ReportPartitionReplicas) and wait for the report to apply; otherwise take the
 * next single-server step (reassignment_steps.ts). So the metadata follows each committed step
 * before the next is proposed, and the reconciler starts and deletes replicas in that order.
 *
 * Nothing here is needed for safety: Raft's conf changes are; the driver only decides their order.
 * A leader that dies or loses its term mid-move leaves the move in the metadata, and whichever
 * broker leads the partition next picks it up from the group's applied membership.
 */
import { DropReason } from '../../raft/core/index.js';
import type { GroupId, ProposeResult, RequestResult } from '../../raft/core/index.js';
import type { RaftHost } from '../../raft/host/raft_host.js';
import { encodeCommand } from '../controller/commands.js';
import type { MetadataStateMachine, PartitionReassignment, TopicInfo } from '../controller/metadata_state_machine.js';
import { nextReassignmentStep } from '../partition/reassignment_steps.js';
import type { ReassignmentStep } from '../partition/reassignment_steps.js';
import type { HostedPartition } from './replica_manager.js';

/** A learner this many entries or fewer behind the commit index is caught up enough to promote. */
export const CATCH_UP_ENTRIES_MAX = 64;
/** A report not applied within this long is sent again (it may have been lost on the way). */
const REPORT_RESEND_MS = 1_000;

export interface ReassignmentDriverOptions {
  readonly brokerId: number;
  readonly host: RaftHost;
  readonly metadata: () => MetadataStateMachine;
  readonly partition: (topic: string, partition: number) => HostedPartition | undefined;
  /** Proposes or forwards a controller command (best effort; resent while still needed). */
  readonly submit: (command: Uint8Array) => void;
  readonly logger: { info(object: object, message: string): void };
}

export class ReassignmentDriver {
  private readonly lastReportMs = new Map<GroupId, number>();
  private readonly lastStep = new Map<GroupId, string>();
  private readonly lastRefusal = new Map<GroupId, string>();
  private throttle = 0;

  constructor(private readonly options: ReassignmentDriverOptions) {}

  /**
   * The smallest catch-up throttle (bytes/s) of the moves this broker leads, 0 when none has one;
   * as of the last tick.
   */
  get throttleBytesPerSec(): number {
    return this.throttle;
  }

  /** One pass over the moves under way. */
  tick(nowMs: number): void {
    const metadata = this.options.metadata();
    let throttle = 0;
    for (const topic of metadata.topicsMoving()) {
      for (const move of topic.reassignments ?? []) {
        const leads = this.options.partition(topic.name, move.partition)?.replica.isLeader === true;
        if (leads && move.throttleBytesPerSec > 0) {
          throttle = throttle === 0 ? move.throttleBytesPerSec : Math.min(throttle, move.throttleBytesPerSec);
        }
        this.drive(topic, move, nowMs);
      }
    }
    this.throttle = throttle;
  }

  private drive(topic: TopicInfo, move: PartitionReassignment, nowMs: number): void {
    const hosted = this.options.partition(topic.name, move.partition);
    if (hosted === undefined || !hosted.replica.isReadyLeader) return;
    const { host } = this.options;
    const conf = host.confState(hosted.groupId);
    const status = host.status(hosted.groupId);
    if (conf === undefined || status === undefined) return;
    const replicas = topic.partitions[move.partition] ?? [];
    const shown = sameSet(conf.voters, replicas) && sameSet(conf.learners, move.learners);
    const commit = status.commitIndex;
    const matches = host.matchIndexes(hosted.groupId);
    const step = shown
      ? nextReassignmentStep(conf, move.target, this.options.brokerId,
        (id) => (matches.get(id) ?? 0) + CATCH_UP_ENTRIES_MAX >= commit)
      : undefined;
    if (step === undefined || step.kind === 'done') {
      // The metadata lags the group (or the move is done and only the final report is missing).
      this.report(topic, move, hosted, conf.voters, conf.learners, status.appliedIndex, nowMs);
      return;
    }
    this.noteStep(hosted, step, topic.name, move.partition);
    const result = step.kind === 'change' ? host.proposeConfChange(hosted.groupId, step.change)
      : step.kind === 'transferLeadership' ? host.transferLeadership(hosted.groupId, step.to) : undefined;
    if (result !== undefined) this.noteRefusal(hosted, result, topic.name, move.partition);
  }

  /**
   * Logs once why a step's proposal was refused, when the reason is not the usual one (the step
   * proposed on an earlier tick is not applied yet): a move that does not advance says why.
   */
  private noteRefusal(hosted: HostedPartition, result: ProposeResult | RequestResult, topic: string,
    partition: number): void {
    const refusal = result.kind === 'accepted' ? undefined
      : result.kind === 'not_leader' ? 'not_leader' : result.reason;
    if (refusal === undefined || refusal === DropReason.confChangePending) {
      this.lastRefusal.delete(hosted.groupId);
      return;
    }
    if (this.lastRefusal.get(hosted.groupId) === refusal) return;
    this.lastRefusal.set(hosted.groupId, refusal);
    this.options.logger.info({ topic, partition, refusal }, 'partition move step refused; retried next tick');
  }

  private report(topic: TopicInfo, move: PartitionReassignment, hosted: HostedPartition, voters: readonly number[],
    learners: readonly number[], appliedIndex: number, nowMs: number): void {
    // A report must be newer than the last one applied; a leader behind it waits to apply further.
    if (appliedIndex <= move.confIndex) return;
    const last = this.lastReportMs.get(hosted.groupId);
    if (last !== undefined && nowMs - last < REPORT_RESEND_MS) return;
    this.lastReportMs.set(hosted.groupId, nowMs);
    this.options.submit(encodeCommand({ type: 'reportPartitionReplicas', name: topic.name, topicId: topic.topicId,
      partition: move.partition, reassignmentId: move.reassignmentId, confIndex: appliedIndex,
      voters: [...voters], learners: [...learners] }));
  }

  /** Logs each new step once (ticks repeat a step until it applies). */
  private noteStep(hosted: HostedPartition, step: ReassignmentStep, topic: string, partition: number): void {
    const key = JSON.stringify(step);
    if (this.lastStep.get(hosted.groupId) === key) return;
    this.lastStep.set(hosted.groupId, key);
    // A new step means the metadata caught up: the next report may go at once.
    this.lastReportMs.delete(hosted.groupId);
    this.options.logger.info({ topic, partition, step }, 'partition move step');
  }
}

function sameSet(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((id) => right.includes(id));
}
