/**
 * One info line per Raft leadership change per group ("raft leader changed": group, topic and
 * partition when known, term, the new leader, this broker's role), rate limited per group so that
 * a flapping group cannot flood the log: past a few lines per interval its changes are counted and
 * summed up in one line (rate_limited_log.ts). Only a change of leader is logged, not every role
 * change of an election.
 */
import type { Logger } from 'pino';

import { RateLimitedLog } from '../common/rate_limited_log.js';
import type { RateLimitedLogOptions } from '../common/rate_limited_log.js';

/** Lines per group and interval: enough for a fail-over and its settling, not for a flapping group. */
export const LEADERSHIP_LOG_DEFAULTS = { linesPerInterval: 3, intervalMs: 60_000 } as const;

export interface LeadershipChange {
  readonly groupId: number;
  readonly role: string;
  /** 0 when the group knows no leader. */
  readonly leaderId: number;
  readonly term: number;
}

export class LeadershipLog {
  private readonly log: RateLimitedLog;
  private readonly leaders = new Map<number, number>();
  private readonly flushTimer: NodeJS.Timeout;

  /** `describe` names the group's partition for the line (topic, partition), when it is one. */
  constructor(logger: Logger, private readonly describe: (groupId: number) => object,
    options: Partial<RateLimitedLogOptions> = {}) {
    const limits = { ...LEADERSHIP_LOG_DEFAULTS, ...options };
    this.log = new RateLimitedLog(logger, limits);
    this.flushTimer = setInterval(() => { this.log.flush(); }, limits.intervalMs).unref();
  }

  /**
   * A group's role or leader changed; returns whether it is a new leader (one the group did not
   * know just before). Losing a leader (leaderId 0) is not a change of leader: the next one is.
   */
  observe(change: LeadershipChange): boolean {
    if (change.leaderId === 0 || this.leaders.get(change.groupId) === change.leaderId) return false;
    this.leaders.set(change.groupId, change.leaderId);
    this.log.log('info', `raft-leader-${change.groupId}`, { group: change.groupId, ...this.describe(change.groupId),
      term: change.term, leader: change.leaderId, role: change.role }, 'raft leader changed');
    return true;
  }

  close(): void {
    clearInterval(this.flushTimer);
    this.log.flush(true);
  }
}
