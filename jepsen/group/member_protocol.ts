/**
 * The messages between the harness and a group member child process (member_process.ts) over
 * node's IPC channel. The harness drives (poll, commit, close) and records each operation; the
 * child reports the commits it makes by itself (in onPartitionsRevoked, and the positive control's
 * commit before processing) as they start and end, and waits for the harness to record the start
 * before committing, so the history's invoke always precedes the commit's real start.
 */
import type { ClientSecurityOptions } from '../../src/security/client_security.js';
import type { KeyOffsetMap, ReadRecord } from '../history.js';

export interface MemberConfig {
  /** The member's history process id (its client incarnation). */
  readonly process: number;
  readonly bootstrap: string;
  readonly groupId: string;
  /** Static membership when set. */
  readonly groupInstanceId: string | null;
  readonly topics: readonly string[];
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly requestTimeoutMs: number;
  /** 'before': the positive control, committing what a poll returned before it is processed. */
  readonly commitMode: 'after' | 'before';
  /** Key files of a secure cluster (paths: the member is a process of its own). */
  readonly security?: ClientSecurityOptions;
}

export type HarnessMessage =
  | { readonly type: 'poll'; readonly id: number; readonly timeoutMs: number }
  | { readonly type: 'commit'; readonly id: number; readonly offsets: KeyOffsetMap }
  | { readonly type: 'close'; readonly id: number }
  | { readonly type: 'commit-recorded'; readonly id: number };

/** What a poll brought: records by key, and the rebalance it took part in (before the records). */
export interface PollResult {
  readonly records: Readonly<Record<string, readonly ReadRecord[]>>;
  readonly revoked: readonly number[];
  readonly assigned: readonly number[] | null;
}

export type MemberMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly poll?: PollResult }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: string;
      readonly poll?: Omit<PollResult, 'records'> }
  | { readonly type: 'commit-start'; readonly id: number; readonly reason: 'revoked' | 'before-processing';
      readonly offsets: KeyOffsetMap }
  | { readonly type: 'commit-end'; readonly id: number; readonly ok: boolean; readonly error?: string };
