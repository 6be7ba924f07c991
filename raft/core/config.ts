/** Configuration of one Raft replica: tick counts, every queue bound, and validateConfig(). */
import { assert, assertNatural } from './assert.js';
import type { GroupId, NodeId } from './ids.js';
import type { Prng } from './prng.js';

/**
 * TEST ONLY. Deliberately broken variants of the algorithm, used by test/sim/mutations.test.ts to
 * show that the simulator's checkers catch real bugs. Production configs leave `mutations` unset.
 */
export const Mutation = {
  /** Leader commits by counting replicas of an entry from an earlier term (Raft §5.4.2). */
  commitAnyTerm: 'commit_any_term',
  /** Voter grants a vote without checking that the candidate's log is up to date (§5.4.1). */
  voteWithoutLogCheck: 'vote_without_log_check',
  /** Follower keeps conflicting entries instead of truncating them (§5.3). */
  noTruncateOnConflict: 'no_truncate_on_conflict',
  /** Follower acknowledges entries before they are durable. */
  ackBeforePersist: 'ack_before_persist',
  /** Leader counts its own entries towards commit before they are durable. */
  leaderSelfAckEarly: 'leader_self_ack_early',
  /** Voter may grant a second vote in the same term. */
  voteTwice: 'vote_twice',
  /** A replica that lost entries below its commit votes and campaigns anyway (InitialState.recoveringThrough). */
  ignoreRecovering: 'ignore_recovering',
} as const;
export type Mutation = (typeof Mutation)[keyof typeof Mutation];

export interface RaftConfig {
  readonly id: NodeId;
  readonly groupId: GroupId;
  /** Base election timeout; each node draws its timeout from [base, 2 * base). */
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Append messages in flight per follower in the replicate state. */
  readonly inflightMessagesMax: number;
  /** Entry bytes per append message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Bytes of proposed but uncommitted entries a leader accepts before dropping proposals. */
  readonly uncommittedBytesMax: number;
  /** Bytes of committed entries handed out per Ready. */
  readonly applyBytesMax: number;
  /** ReadIndex requests waiting for a heartbeat quorum. */
  readonly readIndexPendingMax: number;
  /** Outgoing messages buffered between two Ready calls; beyond it messages are dropped. */
  readonly outboxMessagesMax: number;
  /** A follower in the snapshot state returns to probing after this many ticks without an ack. */
  readonly snapshotTimeoutTicks: number;
  /**
   * When the leader's commit index moves, tell every follower at once with an append, empty if it
   * has no entries for it (etcd's behaviour, the default). false: a follower learns the commit
   * from the next append or heartbeat instead, so it applies up to a heartbeat later, and a write
   * at low load costs one message and one response per follower less. Commit knowledge is not a
   * safety matter: the leader's own commit, and so its acknowledgements, are unchanged.
   */
  readonly broadcastCommit: boolean;
  readonly prng: Prng;
  /** TEST ONLY: see Mutation. Must be empty or absent outside tests. */
  readonly mutations?: readonly Mutation[];
}

export type RaftConfigOptions = Partial<Omit<RaftConfig, 'id' | 'groupId' | 'prng'>>;

export function makeConfig(id: NodeId, groupId: GroupId, prng: Prng,
  options: RaftConfigOptions = {}): RaftConfig {
  const config: RaftConfig = {
    id,
    groupId,
    prng,
    electionTimeoutTicks: 10,
    heartbeatIntervalTicks: 1,
    preVote: true,
    checkQuorum: true,
    inflightMessagesMax: 64,
    appendBytesMax: 1024 * 1024,
    uncommittedBytesMax: 64 * 1024 * 1024,
    applyBytesMax: 4 * 1024 * 1024,
    readIndexPendingMax: 1024,
    outboxMessagesMax: 4096,
    snapshotTimeoutTicks: 50,
    broadcastCommit: true,
    ...options,
  };
  validateConfig(config);
  return config;
}

/** Checks every bound and how the bounds relate; a bad config is a programmer error. */
export function validateConfig(config: RaftConfig): void {
  assert(assertNatural(config.id, 'id') > 0, 'id must be >= 1');
  assertNatural(config.groupId, 'groupId');
  assert(assertNatural(config.heartbeatIntervalTicks, 'heartbeatIntervalTicks') > 0,
    'heartbeatIntervalTicks must be >= 1');
  assert(config.electionTimeoutTicks > config.heartbeatIntervalTicks,
    'electionTimeoutTicks must exceed heartbeatIntervalTicks');
  assertNatural(config.electionTimeoutTicks, 'electionTimeoutTicks');
  assert(assertNatural(config.inflightMessagesMax, 'inflightMessagesMax') > 0, 'inflightMessagesMax >= 1');
  assert(assertNatural(config.appendBytesMax, 'appendBytesMax') > 0, 'appendBytesMax >= 1');
  assert(assertNatural(config.uncommittedBytesMax, 'uncommittedBytesMax') >= config.appendBytesMax,
    'uncommittedBytesMax must be >= appendBytesMax');
  assert(assertNatural(config.applyBytesMax, 'applyBytesMax') > 0, 'applyBytesMax >= 1');
  assert(assertNatural(config.readIndexPendingMax, 'readIndexPendingMax') > 0, 'readIndexPendingMax >= 1');
  // A leader sends at most one message per peer per event; the outbox must hold a broadcast.
  assert(assertNatural(config.outboxMessagesMax, 'outboxMessagesMax') >= 64, 'outboxMessagesMax >= 64');
  assert(assertNatural(config.snapshotTimeoutTicks, 'snapshotTimeoutTicks') >= config.electionTimeoutTicks,
    'snapshotTimeoutTicks must be >= electionTimeoutTicks');
}

export function hasMutation(config: RaftConfig, mutation: Mutation): boolean {
  return config.mutations !== undefined && config.mutations.includes(mutation);
}
