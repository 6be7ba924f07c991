/**
 * The controller quorum's admin APIs: DescribeQuorum, AddRaftVoter and RemoveRaftVoter (Kafka's
 * names, KIP-853). Only the controller leader answers them: it alone knows how far each member is
 * behind and may propose a membership change. Any other broker answers NOT_CONTROLLER with the
 * leader it knows, and the admin client asks that one (src/client/admin.ts).
 *
 * A change is one Raft conf change (promoteLearner or removeNode, one server at a time), answered
 * once this broker has applied it. The core refuses a change while an earlier one is unapplied
 * (the leader's own learner additions included): that is answered REQUEST_TIMED_OUT, retriable. A
 * leader asked to remove itself does not propose it: it hands leadership to a caught-up voter and
 * answers NOT_CONTROLLER naming it, so the new leader removes it (a leader never removes itself).
 */
import { ConfChangeType, DropReason, assert } from '../../raft/core/index.js';
import type { ConfChange, ConfState, ProposeResult } from '../../raft/core/index.js';
import type { RaftHost } from '../../raft/host/raft_host.js';
import { kafkaWireCode } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import type { HandlerTable, RequestHandler } from '../net/request_server.js';
import { API_KEYS } from '../protocol/api_keys.js';
import type { pb } from '../protocol/messages.js';
import type { ControllerReplica } from './controller_replica.js';
import { addVoterProblem, leadershipHeir, removeVoterProblem } from './controller_quorum.js';
import type { QuorumChangeProblem } from './controller_quorum.js';
import { CATCH_UP_ENTRIES_MAX } from './reassignment_driver.js';
import { clampTimeoutMs } from './request_limits.js';
import { monotonicNowMs } from '../../raft/host/monotonic_clock.js';

const CHANGE_TIMEOUT_MS_DEFAULT = 10_000;
/** How long a leader asked to remove itself waits for its leadership to move. */
const HANDOVER_WAIT_MS_MAX = 3_000;
/** How often a waiting request looks at the applied membership again. */
const POLL_MS = 20;

export interface ControllerQuorumOptions {
  readonly brokerId: number;
  readonly groupId: number;
  readonly host: RaftHost;
  readonly controller: ControllerReplica;
  /** A peer heard from within this long counts as live (with its registration unfenced). */
  readonly peerSilenceMs: number;
}

interface ChangeAnswer { errorCode: number; errorMessage: string; leaderId: number }

function problemAnswer(problem: QuorumChangeProblem, leaderId: number): ChangeAnswer {
  return { errorCode: kafkaWireCode(problem.code), errorMessage: problem.message, leaderId };
}

function errorAnswer(code: ErrorCode, message: string, leaderId: number): ChangeAnswer {
  return problemAnswer({ code, message }, leaderId);
}

class ControllerQuorum {
  constructor(private readonly options: ControllerQuorumOptions) {}

  /** The leader as this broker knows it; -1 when none. */
  leaderId(): number {
    const leader = this.options.host.status(this.options.groupId)?.leaderId ?? 0;
    return leader === 0 ? -1 : leader;
  }

  /** The applied membership when this broker's Raft node leads the controller group now, else undefined. */
  leading(): ConfState | undefined {
    const { host, groupId } = this.options;
    if (host.status(groupId)?.role !== 'leader') return undefined;
    return host.confState(groupId);
  }

  notController(): QuorumChangeProblem {
    const leader = this.leaderId();
    return { code: 'NOT_CONTROLLER', message: leader > 0
      ? `broker ${this.options.brokerId} does not lead the controller; broker ${leader} does`
      : `broker ${this.options.brokerId} does not lead the controller and knows no leader (an election?)` };
  }

  live(id: number): boolean {
    const broker = this.options.controller.metadata.broker(id);
    if (broker === undefined || broker.fenced) return false;
    if (id === this.options.brokerId) return true;
    const heard = this.options.host.lastHeardFromMs(id);
    return heard !== undefined && monotonicNowMs() - heard <= this.options.peerSilenceMs;
  }

  describe(): pb.DescribeQuorumResponse.$Properties {
    const { host, groupId } = this.options;
    const conf = this.leading();
    const status = host.status(groupId);
    if (conf === undefined || status === undefined) {
      const problem = this.notController();
      return { errorCode: kafkaWireCode(problem.code), errorMessage: problem.message, leaderId: this.leaderId() };
    }
    const matches = host.matchIndexes(groupId);
    const member = (id: number): pb.QuorumMember.$Properties => {
      const match = matches.get(id) ?? 0;
      return { brokerId: id, matchIndex: match, entriesBehind: Math.max(0, status.lastIndex - match),
        live: this.live(id) };
    };
    return { errorCode: 0, leaderId: this.options.brokerId, term: status.term, lastIndex: status.lastIndex,
      commitIndex: status.commitIndex, voters: conf.voters.map(member), learners: conf.learners.map(member) };
  }

  async add(brokerId: number, timeoutMs: number): Promise<ChangeAnswer> {
    const conf = this.leading();
    if (conf === undefined) return problemAnswer(this.notController(), this.leaderId());
    const { host, groupId, controller } = this.options;
    const status = host.status(groupId);
    const lastIndex = status?.lastIndex ?? 0;
    const problem = addVoterProblem(conf, brokerId, { fenced: controller.metadata.broker(brokerId)?.fenced,
      matchIndex: host.matchIndexes(groupId).get(brokerId) ?? 0 }, lastIndex, CATCH_UP_ENTRIES_MAX);
    if (problem !== undefined) return problemAnswer(problem, this.leaderId());
    return this.change({ type: ConfChangeType.promoteLearner, nodeId: brokerId },
      (now) => now.voters.includes(brokerId), timeoutMs);
  }

  async remove(brokerId: number, timeoutMs: number): Promise<ChangeAnswer> {
    const conf = this.leading();
    if (conf === undefined) return problemAnswer(this.notController(), this.leaderId());
    const problem = removeVoterProblem(conf, brokerId);
    if (problem !== undefined) return problemAnswer(problem, this.leaderId());
    if (brokerId === this.options.brokerId) return this.handOver(conf, timeoutMs);
    return this.change({ type: ConfChangeType.removeNode, nodeId: brokerId },
      (now) => !now.voters.includes(brokerId), timeoutMs);
  }

  /** This leader is to be removed: leadership goes to a caught-up voter, which removes it when asked again. */
  private async handOver(conf: ConfState, timeoutMs: number): Promise<ChangeAnswer> {
    const { host, groupId, brokerId } = this.options;
    const matches = host.matchIndexes(groupId);
    const lastIndex = host.status(groupId)?.lastIndex ?? 0;
    const heir = leadershipHeir(conf, brokerId, (id) => matches.get(id) ?? 0, (id) => this.live(id), lastIndex,
      CATCH_UP_ENTRIES_MAX);
    if (heir === undefined) {
      return errorAnswer('REQUEST_TIMED_OUT', `broker ${brokerId} leads the controller and no other voter is ` +
        'live and caught up to take over; retry', this.leaderId());
    }
    const result = host.transferLeadership(groupId, heir);
    if (result?.kind !== 'accepted') {
      return errorAnswer('REQUEST_TIMED_OUT', `handing the controller to broker ${heir} failed ` +
        `(${result?.kind === 'dropped' ? result.reason : result?.kind ?? 'no group'}); retry`, this.leaderId());
    }
    const deadline = monotonicNowMs() + Math.min(timeoutMs, HANDOVER_WAIT_MS_MAX);
    while (host.status(groupId)?.role === 'leader' && monotonicNowMs() < deadline) await sleep(POLL_MS);
    // Either way the client retries: at the new leader, or here once the transfer lapsed.
    const problem = this.notController();
    return errorAnswer('NOT_CONTROLLER', `broker ${brokerId} led the controller and handed it to broker ${heir} ` +
      `first; ${problem.message}`, this.leaderId());
  }

  /** Proposes the change and waits until it is applied here (or the time is up). */
  private async change(change: ConfChange, applied: (conf: ConfState) => boolean, timeoutMs: number):
    Promise<ChangeAnswer> {
    const { host, groupId, brokerId } = this.options;
    // A leader never removes itself (handOver instead): the core's step-down on it is not relied on.
    assert(change.type !== ConfChangeType.removeNode || change.nodeId !== brokerId,
      () => `controller leader ${brokerId} proposed its own removal`);
    const result: ProposeResult | undefined = host.proposeConfChange(groupId, change);
    if (result === undefined || result.kind === 'not_leader') {
      return problemAnswer(this.notController(), this.leaderId());
    }
    if (result.kind === 'dropped') {
      const message = result.reason === DropReason.confChangePending
        ? 'another controller membership change is not applied yet; retry'
        : `the controller leader refused the change (${result.reason}); retry`;
      return errorAnswer('REQUEST_TIMED_OUT', message, this.leaderId());
    }
    const deadline = monotonicNowMs() + timeoutMs;
    for (;;) {
      const conf = host.confState(groupId);
      if (conf !== undefined && applied(conf)) return { errorCode: 0, errorMessage: '', leaderId: this.leaderId() };
      if (monotonicNowMs() >= deadline) break;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - monotonicNowMs())));
    }
    return errorAnswer('REQUEST_TIMED_OUT', `the change (${change.type} ${change.nodeId}) was proposed at index ` +
      `${result.index} but not applied within ${timeoutMs} ms; describe the quorum to see whether it took effect`,
    this.leaderId());
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function controllerQuorumHandlers(options: ControllerQuorumOptions): HandlerTable {
  const quorum = new ControllerQuorum(options);
  const describe: RequestHandler<typeof API_KEYS.DESCRIBE_QUORUM> = () => ({ response: quorum.describe() });
  const add: RequestHandler<typeof API_KEYS.ADD_RAFT_VOTER> = async (request) => ({
    response: await quorum.add(request.brokerId, clampTimeoutMs(request.timeoutMs,
      CHANGE_TIMEOUT_MS_DEFAULT)) });
  const remove: RequestHandler<typeof API_KEYS.REMOVE_RAFT_VOTER> = async (request) => ({
    response: await quorum.remove(request.brokerId, clampTimeoutMs(request.timeoutMs,
      CHANGE_TIMEOUT_MS_DEFAULT)) });
  return {
    [API_KEYS.DESCRIBE_QUORUM]: describe,
    [API_KEYS.ADD_RAFT_VOTER]: add,
    [API_KEYS.REMOVE_RAFT_VOTER]: remove,
  };
}
