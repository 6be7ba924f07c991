/**
 * The consumer's group mode (Kafka ConsumerCoordinator): what subscribe() sets going. It holds
 * the subscription (a topic list, or a RegExp matched against the cluster's topics), drives the
 * GroupMember through eager rebalances, gives the Consumer its partitions at the committed
 * offsets, and commits offsets (auto-commit, commitSync, commitAsync).
 *
 * An eager rebalance, started by a poll once the member needs to join:
 * 1. Revoke everything held: auto-commit the positions (when on) and call onPartitionsRevoked,
 *    which may commit itself; when the membership was lost instead (the coordinator no longer
 *    knows the generation) onPartitionsLost is called (onPartitionsRevoked when absent) and
 *    nothing is committed: it would be refused.
 * 2. Join and sync (group_member.ts).
 * 3. Fetch the committed offsets of the new partitions (OffsetFetch) and assign them: a partition
 *    with a committed offset starts there, one without by autoOffsetReset ('none': poll throws a
 *    typed OFFSET_OUT_OF_RANGE); then onPartitionsAssigned.
 * As Kafka's, the listener is only ever called inside poll() (and unsubscribe() and close()), never
 * while the application handles the records of an earlier poll: step 1 runs to its end in the poll
 * that starts the rebalance (so a listener committing `position()` commits only records the
 * application has handled), step 2 runs in the background across polls, and step 3 is taken up
 * by the first poll after it completes. Polls in between return no records: nothing is assigned.
 * A listener's error is thrown by the poll after the rebalance completes, and so is a rebalance's
 * error that no retry fixes (the rebalance is tried again on later polls).
 *
 * With a manual assignment (assign()) and a groupId, auto-commit runs as well, with generation -1
 * and no member id (Kafka's commits outside group management).
 *
 * A RegExp subscription (and, for the leader, the partition counts the assignment used) is
 * checked against fresh metadata every metadataMaxAgeMs; a change triggers a rebalance.
 */
import type { Logger } from 'pino';

import { assert } from '../../../raft/core/assert.js';
import type { Prng } from '../../../raft/core/prng.js';
import { TributaryError } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import type { MetadataCache } from '../metadata_cache.js';
import type { PartitionAssignor } from './assignors/assignor.js';
import { isRetriable } from '../retry.js';
import { CoordinatorLink, isCoordinatorError } from './coordinator_link.js';
import { GroupMember } from './group_member.js';
import { OffsetClient } from './offset_client.js';
import type { CommittedOffset, OffsetToCommit } from './offset_client.js';

export interface GroupPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Kafka's ConsumerRebalanceListener. Callbacks may be async; they run before poll goes on. */
export interface RebalanceListener {
  onPartitionsRevoked?(partitions: GroupPartition[]): void | Promise<void>;
  onPartitionsAssigned?(partitions: GroupPartition[]): void | Promise<void>;
  /** The membership was lost (no commit will be accepted); defaults to onPartitionsRevoked. */
  onPartitionsLost?(partitions: GroupPartition[]): void | Promise<void>;
}

/** What the group mode needs of the Consumer. */
export interface GroupConsumerHost {
  readonly metadata: MetadataCache;
  /** Replaces the assignment; positions of kept partitions stay. */
  setAssignment(partitions: readonly GroupPartition[]): void;
  seekTo(partition: GroupPartition, offset: number): void;
  assignedPartitions(): GroupPartition[];
  /** The positions of assigned partitions that have one (the next offset to read). */
  consumedPositions(): OffsetToCommit[];
}

export interface GroupConsumerOptions {
  readonly groupId: string;
  readonly groupInstanceId: string | null;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number;
  readonly metadataMaxAgeMs: number;
  readonly assignors: readonly PartitionAssignor[];
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly logger: Logger;
  readonly prng: Prng;
}

/** What a join brought: the member's partitions and their committed offsets. */
interface JoinOutcome {
  readonly partitions: readonly GroupPartition[];
  readonly committed: readonly CommittedOffset[];
}

type Subscription = { readonly kind: 'topics'; readonly topics: readonly string[] }
  | { readonly kind: 'pattern'; readonly pattern: RegExp };

export class GroupConsumer {
  private readonly link: CoordinatorLink;
  private readonly member: GroupMember;
  private readonly offsets: OffsetClient;
  private subscription: Subscription | null = null;
  private listener: RebalanceListener = {};
  /** The topics joined with (the pattern's matches for a RegExp). */
  private joinedTopics: readonly string[] = [];
  /** Steps 2 and 3 of a rebalance (join, sync, fetch the committed offsets), running in the background. */
  private rebalancing: Promise<void> | null = null;
  /** What a completed step 2 brought, for the next poll to take up (step 3). */
  private joined: JoinOutcome | null = null;
  private metadataCheck: Promise<void> | null = null;
  private nextMetadataCheckMs = 0;
  private nextAutoCommitMs: number;
  private deferredError: unknown = null;
  private commitChain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly host: GroupConsumerHost, private readonly options: GroupConsumerOptions) {
    if (options.groupId === '') throw new TributaryError('INVALID_GROUP_ID', 'groupId must not be empty');
    checkGroupOptions(options);
    this.link = new CoordinatorLink({ metadata: host.metadata, groupId: options.groupId,
      requestTimeoutMs: options.requestTimeoutMs, retryBackoffMs: options.retryBackoffMs,
      retryBackoffMaxMs: options.retryBackoffMaxMs, logger: options.logger, prng: options.prng });
    this.member = new GroupMember({ ...options, rebalanceTimeoutMs: options.maxPollIntervalMs, link: this.link,
      metadata: host.metadata });
    this.offsets = new OffsetClient({ groupId: options.groupId, link: this.link, retryBackoffMs: options.retryBackoffMs,
      retryBackoffMaxMs: options.retryBackoffMaxMs, logger: options.logger, prng: options.prng });
    this.nextAutoCommitMs = Date.now() + options.autoCommitIntervalMs;
  }

  get subscribed(): boolean {
    return this.subscription !== null;
  }

  /** The membership, for tests and tools. */
  get groupMember(): GroupMember {
    return this.member;
  }

  /** The topics of the subscription (the current matches of a RegExp). */
  subscriptionTopics(): string[] {
    return this.subscription?.kind === 'topics' ? [...this.subscription.topics] : [...this.joinedTopics];
  }

  subscribe(topics: readonly string[] | RegExp, listener: RebalanceListener): void {
    this.member.checkFatal();
    if (topics instanceof RegExp) {
      this.subscription = { kind: 'pattern', pattern: topics };
      this.nextMetadataCheckMs = 0;
    } else {
      for (const topic of topics) {
        if (typeof topic !== 'string' || topic === '') {
          throw new TributaryError('INVALID_TOPIC_EXCEPTION', `subscribe: ${JSON.stringify(topic)} is not a topic name`);
        }
      }
      this.subscription = { kind: 'topics', topics: [...new Set(topics)].sort() };
      this.host.metadata.addInterest(topics);
    }
    this.listener = listener;
    this.member.requestRejoin('subscription changed');
  }

  /** Leaves the group and drops the partitions (revoked first). */
  async unsubscribe(): Promise<void> {
    if (this.subscription === null) return;
    const deadlineMs = Date.now() + this.options.requestTimeoutMs;
    if (this.rebalancing !== null) await waitUntil(this.rebalancing, deadlineMs);
    this.joined = null;
    await this.revoke(deadlineMs);
    this.subscription = null;
    this.joinedTopics = [];
    await this.member.leave('unsubscribed');
  }

  /** Called at the start of every poll: rebalances when needed, auto-commits, checks metadata. */
  async beforePoll(deadlineMs: number): Promise<void> {
    this.member.checkFatal();
    this.member.notePoll();
    this.throwDeferredError();
    if (this.subscription === null) {
      this.maybeAutoCommit(); // manual assignment with a groupId auto-commits too, as Kafka's
      return;
    }
    this.maybeCheckMetadata();
    if (this.member.rejoinNeeded !== null && this.rebalancing === null) {
      // Step 1 to its end, in this poll, whatever its timeout: the listener runs on the poller's turn.
      this.joined = null;
      await this.revoke(Date.now() + this.options.requestTimeoutMs);
      const run = this.joinAndFetch();
      this.rebalancing = run.then((outcome) => { this.joined = outcome; });
      this.rebalancing.then(() => { this.rebalancing = null; }, (error: unknown) => {
        this.rebalancing = null;
        this.options.logger.info({ groupId: this.options.groupId, err: error }, 'rebalance did not complete');
        // Joined but the partitions were not taken up (their offsets could not be fetched): again.
        this.member.requestRejoin('the last rebalance did not complete');
        // What no retry fixes (a member's undecodable subscription, say) is thrown by a poll too.
        if (!isRetriable(error) && !isCoordinatorError(error) && !isRebalanceError(error)) this.deferredError ??= error;
      });
    }
    if (this.rebalancing !== null) {
      await waitUntil(this.rebalancing, deadlineMs);
      this.member.checkFatal();
      this.throwDeferredError();
    }
    if (this.joined !== null && this.rebalancing === null) {
      const outcome = this.joined;
      this.joined = null;
      await this.takeUp(outcome);
      this.throwDeferredError();
    }
    this.maybeAutoCommit();
  }

  /** Whether the member holds a stable assignment (no rebalance wanted or running). */
  get stable(): boolean {
    return this.subscription !== null && this.rebalancing === null && this.joined === null
      && this.member.rejoinNeeded === null
      && this.member.state === 'stable';
  }

  /** Commits offsets (by default the positions of every assigned partition) and waits for them. */
  async commitSync(offsets: readonly OffsetToCommit[] | undefined, timeoutMs: number): Promise<void> {
    this.member.checkFatal();
    const toCommit = offsets ?? this.host.consumedPositions();
    await this.offsets.commit(toCommit, () => this.member.generation(),
      (wire) => this.member.onGroupError(wire, 'OffsetCommit'), Date.now() + timeoutMs);
  }

  /** Commits without waiting; commits run in the order asked. The callback gets the outcome. */
  commitAsync(offsets: readonly OffsetToCommit[] | undefined, callback?: (error: Error | null) => void): void {
    const toCommit = offsets ?? this.host.consumedPositions();
    const run = this.commitChain.then(() => this.commitSync(toCommit, this.options.requestTimeoutMs));
    this.commitChain = run.then(() => { callback?.(null); }, (error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (callback !== undefined) callback(failure);
      else this.options.logger.warn({ groupId: this.options.groupId, err: failure }, 'asynchronous commit failed');
    });
  }

  async committed(partitions: readonly GroupPartition[], timeoutMs: number): Promise<CommittedOffset[]> {
    return this.offsets.fetch(partitions, Date.now() + timeoutMs);
  }

  /** Commits (auto-commit), revokes, and leaves the group (a static member stays until its session ends). */
  async close(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadlineMs = Date.now() + timeoutMs;
    try {
      if (this.subscription !== null && this.member.state !== 'fatal') {
        if (this.rebalancing !== null) await waitUntil(this.rebalancing, deadlineMs);
        this.joined = null;
        await this.revoke(deadlineMs);
        await waitUntil(this.commitChain, deadlineMs);
        await this.member.leave('consumer closed');
      } else {
        await waitUntil(this.commitChain, deadlineMs);
        if (this.subscription === null && this.options.autoCommit && this.host.assignedPartitions().length > 0) {
          await this.commitSync(undefined, Math.max(0, deadlineMs - Date.now())).catch((error: unknown) => {
            this.options.logger.warn({ groupId: this.options.groupId, err: error }, 'auto-commit on close failed');
          });
        }
      }
    } finally {
      this.member.close();
      this.link.close();
    }
  }

  // ----------------------------------------------------------------------------------------------

  /** Steps 2 and the fetch of step 3, touching nothing the application sees. */
  private async joinAndFetch(): Promise<JoinOutcome> {
    const topics = await this.resolveTopics();
    this.joinedTopics = topics;
    const result = await this.member.join(topics);
    const partitions = result.assignment.flatMap((tp) =>
      tp.partitions.map((partition) => ({ topic: tp.topic, partition })));
    const committed = await this.offsets.fetch(partitions, Date.now() + this.options.requestTimeoutMs);
    return { partitions, committed };
  }

  /** Step 3, inside a poll: the new partitions at their committed offsets, then onPartitionsAssigned. */
  private async takeUp(outcome: JoinOutcome): Promise<void> {
    // A rebalance asked for since the join (heartbeat, metadata) wins: the next poll runs it.
    // After unsubscribe() or close() meanwhile, the partitions are not taken up either.
    if (this.member.rejoinNeeded !== null || this.closed || this.subscription === null) return;
    assert(this.host.assignedPartitions().length === 0, 'partitions are taken up only after the old ones were revoked');
    this.host.setAssignment(outcome.partitions);
    for (const c of outcome.committed) if (c.offset !== null) this.host.seekTo(c, c.offset);
    this.nextAutoCommitMs = Date.now() + this.options.autoCommitIntervalMs;
    await this.callListener('onPartitionsAssigned', [...outcome.partitions]);
  }

  /** Step 1 of a rebalance (and of close): commit if allowed, tell the listener, drop the partitions. */
  private async revoke(deadlineMs: number): Promise<void> {
    const held = this.host.assignedPartitions();
    if (held.length === 0) return;
    if (this.member.lost) {
      await this.callListener(this.listener.onPartitionsLost !== undefined ? 'onPartitionsLost' : 'onPartitionsRevoked',
        held);
    } else {
      if (this.options.autoCommit) {
        try {
          await this.commitSync(undefined, Math.max(0, deadlineMs - Date.now()));
        } catch (error) {
          this.options.logger.warn({ groupId: this.options.groupId, err: error }, 'auto-commit before the rebalance failed');
        }
      }
      await this.callListener('onPartitionsRevoked', held);
    }
    this.host.setAssignment([]);
  }

  private async callListener(name: keyof RebalanceListener, partitions: GroupPartition[]): Promise<void> {
    const listener = this.listener;
    if (listener[name] === undefined) return;
    try {
      await listener[name](partitions);
    } catch (error) {
      this.options.logger.error({ groupId: this.options.groupId, err: error, callback: name }, 'rebalance listener failed');
      this.deferredError ??= error;
    }
  }

  private throwDeferredError(): void {
    const error = this.deferredError;
    if (error === null) return;
    this.deferredError = null;
    throw error instanceof Error ? error : new Error('a rebalance listener failed', { cause: error });
  }

  /** The topics to join with: the list, or the cluster's topics the pattern matches now. */
  private async resolveTopics(): Promise<string[]> {
    const subscription = this.subscription;
    if (subscription === null) return [];
    if (subscription.kind === 'topics') return [...subscription.topics];
    const { response } = await this.host.metadata.requestAny(API_KEYS.METADATA, { allTopics: true });
    return matchTopics(subscription.pattern, response.topics.filter((t) => t.errorCode === 0).map((t) => t.name));
  }

  /** Every metadataMaxAgeMs, in the background: a new pattern match or partition count means rebalance. */
  private maybeCheckMetadata(): void {
    if (this.metadataCheck !== null || Date.now() < this.nextMetadataCheckMs || this.member.state !== 'stable') return;
    this.nextMetadataCheckMs = Date.now() + this.options.metadataMaxAgeMs;
    const run = this.checkMetadata();
    this.metadataCheck = run;
    const clear = (): void => { this.metadataCheck = null; };
    run.then(clear, (error: unknown) => {
      clear();
      this.options.logger.debug({ groupId: this.options.groupId, err: error }, 'metadata check failed');
    });
  }

  private async checkMetadata(): Promise<void> {
    const { response } = await this.host.metadata.requestAny(API_KEYS.METADATA, { allTopics: true });
    const live = response.topics.filter((t) => t.errorCode === 0);
    if (this.subscription?.kind === 'pattern') {
      const matches = matchTopics(this.subscription.pattern, live.map((t) => t.name));
      if (matches.join('\u0000') !== [...this.joinedTopics].join('\u0000')) {
        this.member.requestRejoin(`pattern now matches ${matches.join(', ')}`);
      }
    }
    if (this.member.partitionCountsChanged(new Map(live.map((t) => [t.name, t.partitions.length])))) {
      this.member.requestRejoin('partition count changed');
    }
  }

  private maybeAutoCommit(): void {
    const ready = this.subscription === null ? this.host.assignedPartitions().length > 0 : this.stable;
    if (!this.options.autoCommit || !ready || Date.now() < this.nextAutoCommitMs) return;
    this.nextAutoCommitMs = Date.now() + this.options.autoCommitIntervalMs;
    this.commitAsync(undefined);
  }
}

/** The answers after which a member joins again; never an application's error. */
function isRebalanceError(error: unknown): boolean {
  return error instanceof TributaryError && ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']
    .includes((error as TributaryError).code);
}

/** Bad group options are a typed INVALID_CONFIG, before anything is sent. */
function checkGroupOptions(options: GroupConsumerOptions): void {
  const positive = ['sessionTimeoutMs', 'heartbeatIntervalMs', 'maxPollIntervalMs', 'autoCommitIntervalMs',
    'metadataMaxAgeMs'] as const;
  for (const name of positive) {
    const value = options[name];
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new TributaryError('INVALID_CONFIG', `${name} must be a positive integer (ms), got ${value}`);
    }
  }
  if (options.heartbeatIntervalMs >= options.sessionTimeoutMs) {
    throw new TributaryError('INVALID_CONFIG', `heartbeatIntervalMs (${options.heartbeatIntervalMs}) must be below ` +
      `sessionTimeoutMs (${options.sessionTimeoutMs})`);
  }
  if (options.groupInstanceId === '') throw new TributaryError('INVALID_CONFIG', 'groupInstanceId must not be empty');
}

/** Topics a pattern matches, sorted; internal topics (`__` names) never match, as Kafka's default. */
export function matchTopics(pattern: RegExp, topics: readonly string[]): string[] {
  return topics.filter((topic) => !topic.startsWith('__') && new RegExp(pattern.source, pattern.flags.replace('g', ''))
    .test(topic)).sort();
}

/** Waits for work, but not past deadlineMs; a rejection is left to the work's own handler. */
async function waitUntil(work: Promise<unknown>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now()));
  });
  try {
    await Promise.race([work.then(() => undefined, () => undefined), expired]);
  } finally {
    clearTimeout(timer);
  }
}
