/**
 * The Raft timing of a broker's groups, in milliseconds as an operator thinks of it, and the ticks
 * the Raft core counts in. One setting for every group the broker hosts (partitions and the
 * controller): a link is as slow for one group as for another.
 *
 * The defaults suit links up to about 100 ms of round trip under full load (measured with
 * bench/slow_links.ts, README "Slow links"): a heartbeat every 100 ms and an election after
 * 500-1,000 ms of silence (each replica draws its timeout from [base, 2 * base)). Slower links need
 * a longer election timeout, so that a leader whose heartbeats queue behind appends is not deposed;
 * PreVote and CheckQuorum (always on) keep a slow but reachable leader in place and make a cut-off
 * one step down after one election timeout.
 *
 * The ZeroMQ link of each peer pings at the heartbeat interval and drops a connection silent for
 * three of them (zmq_transport.ts): a link that holds a round trip longer than that would never
 * stay up, so the heartbeat interval must exceed a third of the worst round trip.
 */
import { assert } from '../../raft/core/assert.js';

export interface RaftTiming {
  /** How often every group's clock advances. */
  readonly tickMs: number;
  /** The shortest election timeout; each replica draws its own from [this, 2 * this). */
  readonly electionTimeoutMs: number;
  /** How often a leader heartbeats its followers (and the ZeroMQ links ping). */
  readonly heartbeatIntervalMs: number;
}

export const RAFT_TIMING_DEFAULTS: RaftTiming = { tickMs: 50, electionTimeoutMs: 500, heartbeatIntervalMs: 100 };

export interface RaftTicks {
  readonly tickMs: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
}

/**
 * What is wrong with a timing, naming the flag at fault, or null. Both intervals must be whole
 * ticks, and an election timeout must allow several heartbeats: with fewer than three per timeout,
 * one delayed heartbeat is enough for a follower to start an election.
 */
export function raftTimingProblem(timing: RaftTiming): string | null {
  const { tickMs, electionTimeoutMs, heartbeatIntervalMs } = timing;
  if (!Number.isSafeInteger(tickMs) || tickMs < 1 || tickMs > 1_000) {
    return `--raft-tick-ms must be an integer from 1 to 1000, got ${tickMs}`;
  }
  for (const [flag, value] of [['--raft-election-timeout-ms', electionTimeoutMs],
    ['--raft-heartbeat-ms', heartbeatIntervalMs]] as const) {
    if (!Number.isSafeInteger(value) || value < tickMs || value % tickMs !== 0) {
      return `${flag} must be a whole number of ticks (--raft-tick-ms ${tickMs}), got ${value}`;
    }
  }
  if (electionTimeoutMs < 3 * heartbeatIntervalMs) {
    return `--raft-election-timeout-ms (${electionTimeoutMs}) must be at least three heartbeats ` +
      `(--raft-heartbeat-ms ${heartbeatIntervalMs}): a single late heartbeat would start an election`;
  }
  return null;
}

/** The ticks of a valid timing (raftTimingProblem is null). */
export function raftTicksOf(timing: RaftTiming): RaftTicks {
  const problem = raftTimingProblem(timing);
  assert(problem === null, () => `bad Raft timing: ${problem}`);
  return { tickMs: timing.tickMs, electionTimeoutTicks: timing.electionTimeoutMs / timing.tickMs,
    heartbeatIntervalTicks: timing.heartbeatIntervalMs / timing.tickMs };
}

/**
 * How long a peer may be silent before it counts as unreachable (not handed leadership, told where
 * the controller leader is): every group heartbeats its followers, so ten missed heartbeats, and at
 * least a second, is a peer that is gone rather than slow.
 */
export function peerSilenceMsOf(timing: RaftTiming): number {
  return Math.max(1_000, 10 * timing.heartbeatIntervalMs);
}
