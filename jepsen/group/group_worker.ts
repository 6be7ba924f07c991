/**
 * One slot of the group workload: a member process (member_handle.ts) that polls, processes what
 * it got (records it in the history: an ok poll's records are the records the application
 * processed) and commits the offsets after them; now and then it stalls past its session before
 * committing (SIGSTOP, then SIGCONT), or it is SIGKILLed and a new process
 * joins in its place (with the slot's group.instance.id when the slot is static, so it takes its
 * partitions back without a rebalance when it is back within the session timeout).
 *
 * In the positive control (commit mode 'before') the member commits what a poll returned before
 * the harness processes it, and is sometimes killed right then: records the group counts as
 * consumed that nobody processed, which the checkers must report.
 */
import type { ClientSecurityOptions } from '../../src/security/client_security.js';
import type { Prng } from '../../raft/core/prng.js';
import type { KeyOffsetMap, PollValue, ReadRecord } from '../history.js';
import type { KeyOffsets } from '../workload.js';
import type { MemberHandleContext, MemberReply } from './member_handle.js';
import { MemberHandle } from './member_handle.js';
import type { MemberConfig, PollResult } from './member_protocol.js';

/** Odds per poll. */
const CRASH_CHANCE = 1 / 250;
const CRASH_BEFORE_PROCESSING_CHANCE = 1 / 6;
/**
 * A member that stalls between processing and committing (SIGSTOP, as a long GC pause or a swapped
 * process) for longer than its session: the group moves its partitions on, and its commit after it
 * resumes must be refused (fenced), or the committed offset could go back.
 */
const STALL_CHANCE = 1 / 200;
const STALL_BEYOND_SESSION_MS = 2_000;
const POLL_TIMEOUT_MS = 200;
const RESTART_WAIT_MS = 500;
const CLOSE_BOUND_MS = 15_000;

export interface GroupSettings {
  readonly bootstrap: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly commitMode: 'after' | 'before';
  /** The client keys of a secure (--secure) cluster. */
  readonly security?: ClientSecurityOptions;
}

export interface GroupWorkerContext extends Omit<MemberHandleContext, 'final'> {
  readonly settings: GroupSettings;
  readonly offsets: KeyOffsets;
  readonly prng: Prng;
}

/** How long the harness waits for one request to a member before it kills it. */
export function requestBoundMs(settings: GroupSettings): number {
  return POLL_TIMEOUT_MS + 6 * settings.requestTimeoutMs + settings.sessionTimeoutMs;
}

export function memberConfig(settings: GroupSettings, process: number, groupInstanceId: string | null,
  commitMode: 'after' | 'before'): MemberConfig {
  return { process, groupInstanceId, bootstrap: settings.bootstrap, groupId: settings.groupId, topics: settings.topics,
    sessionTimeoutMs: settings.sessionTimeoutMs, heartbeatIntervalMs: settings.heartbeatIntervalMs,
    maxPollIntervalMs: settings.maxPollIntervalMs, requestTimeoutMs: settings.requestTimeoutMs, commitMode,
    ...(settings.security === undefined ? {} : { security: settings.security }) };
}

/** The offsets after the records of a poll, per key: what a member commits once it processed them. */
export function offsetsAfter(records: Readonly<Record<string, readonly ReadRecord[]>>): KeyOffsetMap {
  const offsets: Record<string, number> = {};
  for (const [key, read] of Object.entries(records)) {
    const last = read.at(-1);
    if (last !== undefined) offsets[key] = last[0] + 1;
  }
  return offsets;
}

/** The history value of a poll's rebalance notes (absent keys when there were none). */
export function rebalanceValue(poll: Pick<PollResult, 'revoked' | 'assigned'>): PollValue {
  return { ...(poll.revoked.length > 0 ? { revoked: poll.revoked } : {}),
    ...(poll.assigned === null ? {} : { assigned: poll.assigned }) };
}

export class GroupWorker {
  private member: MemberHandle | null = null;
  readonly counts = { polls: 0, commits: 0, crashes: 0, stalls: 0 };

  constructor(private readonly context: GroupWorkerContext, private readonly groupInstanceId: string | null) {}

  async run(deadlineMs: number): Promise<void> {
    try {
      while (Date.now() < deadlineMs) {
        const member = this.member ?? await this.startMember();
        if (member === null) {
          await sleep(RESTART_WAIT_MS);
          continue;
        }
        await this.step(member);
      }
    } finally {
      await this.member?.close(CLOSE_BOUND_MS);
      await this.member?.exit();
    }
  }

  private async startMember(): Promise<MemberHandle | null> {
    const { settings } = this.context;
    const config = memberConfig(settings, this.context.nextProcess(), this.groupInstanceId, settings.commitMode);
    try {
      this.member = await MemberHandle.start(config, { ...this.context, final: false });
    } catch {
      this.member = null;
    }
    return this.member;
  }

  private async step(member: MemberHandle): Promise<void> {
    const { history, prng, settings } = this.context;
    if (settings.commitMode === 'after' && prng.nextFloat() < CRASH_CHANCE) {
      await this.crash(member, 'member killed (by design)');
      return;
    }
    const process = member.process;
    history.record({ process, type: 'invoke', f: 'poll', value: {} });
    const reply = await member.poll(POLL_TIMEOUT_MS, requestBoundMs(settings));
    this.counts.polls += 1;
    if (!reply.ok || reply.poll === undefined) {
      // The consumer's state is unknown (a fatal error, a listener's error): a new member takes over.
      history.record({ process, type: 'info', f: 'poll', value: reply.poll === undefined ? {} : rebalanceValue(reply.poll),
        error: reply.ok ? 'no poll result' : reply.error });
      await this.replace(member);
      return;
    }
    const { records } = reply.poll;
    const hasRecords = Object.keys(records).length > 0;
    if (settings.commitMode === 'before' && hasRecords && prng.nextFloat() < CRASH_BEFORE_PROCESSING_CHANCE) {
      // Committed, then gone before processing: the records are not in the history as processed.
      member.kill();
      history.record({ process, type: 'info', f: 'poll', value: rebalanceValue(reply.poll),
        error: 'member killed after its commit, before processing (positive control)' });
      this.counts.crashes += 1;
      await this.replace(member);
      return;
    }
    for (const [key, read] of Object.entries(records)) {
      for (const [offset] of read) this.context.offsets.observe(Number(key), offset);
    }
    history.record({ process, type: 'ok', f: 'poll', value: { records, ...rebalanceValue(reply.poll) } });
    if (settings.commitMode !== 'after' || !hasRecords) return;
    // Processed, not committed: the next owner reads these records again (at least once).
    if (prng.nextFloat() < CRASH_CHANCE) {
      await this.crash(member, 'member killed before its commit (by design)');
      return;
    }
    if (prng.nextFloat() < STALL_CHANCE) {
      this.counts.stalls += 1;
      await member.stall(settings.sessionTimeoutMs + STALL_BEYOND_SESSION_MS);
    }
    await this.commit(member, offsetsAfter(records));
  }

  private async commit(member: MemberHandle, offsets: KeyOffsetMap): Promise<void> {
    const { history, nextProcess, settings } = this.context;
    const process = nextProcess();
    history.record({ process, type: 'invoke', f: 'commit', value: { member: member.process, reason: 'processed', offsets } });
    const reply: MemberReply = await member.commit(offsets, requestBoundMs(settings));
    this.counts.commits += 1;
    // A refused commit (a rebalance, a fenced generation) may follow an attempt that was written: info.
    history.record({ process, type: reply.ok ? 'ok' : 'info', f: 'commit', value: null,
      ...(reply.ok ? {} : { error: reply.error }) });
  }

  private async crash(member: MemberHandle, why: string): Promise<void> {
    const { history } = this.context;
    history.record({ process: member.process, type: 'invoke', f: 'crash', value: null });
    member.kill();
    await member.exit();
    history.record({ process: member.process, type: 'info', f: 'crash', value: null, error: why });
    this.counts.crashes += 1;
    this.member = null;
  }

  private async replace(member: MemberHandle): Promise<void> {
    member.kill();
    await member.exit();
    this.member = null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
