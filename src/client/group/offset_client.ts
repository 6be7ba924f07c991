/**
 * Committed offsets of a group: OffsetCommit and OffsetFetch to the coordinator, retried (the
 * coordinator looked up again) while it moves or loads, within a deadline. A commit carries the
 * member's generation (or -1 and no member id outside group management, as Kafka's manual
 * commits); a group error in the answer goes to the member (rejoin, reset, fence) and is thrown:
 * a commit the coordinator refused wrote nothing, and the caller must know.
 */
import type { Logger } from 'pino';

import type { Prng } from '../../../raft/core/prng.js';
import { errorFromWire, TributaryError } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { backoffMs } from '../retry.js';
import type { CoordinatorLink } from './coordinator_link.js';
import { isCoordinatorError } from './coordinator_link.js';
import type { Generation } from './group_member.js';

export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  /** The offset of the next record to read (Kafka's convention: last processed + 1). */
  readonly offset: number;
  readonly metadata?: string;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** null when the group has committed nothing for the partition. */
  readonly offset: number | null;
  readonly metadata: string;
}

export interface OffsetClientOptions {
  readonly groupId: string;
  readonly link: CoordinatorLink;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly logger: Logger;
  readonly prng: Prng;
}

/** Attempts of one commit or fetch; each attempt is bounded by the request timeout. */
const ATTEMPTS_MAX = 30;

export class OffsetClient {
  constructor(private readonly options: OffsetClientOptions) {}

  /**
   * Commits offsets with the generation; onGroupError reacts to a refusal (and gives the error to
   * throw). Resolves once the coordinator has written them.
   */
  async commit(offsets: readonly OffsetToCommit[], generation: () => Generation,
    onGroupError: (wire: number) => TributaryError, deadlineMs: number): Promise<void> {
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new TributaryError('OFFSET_OUT_OF_RANGE', `Cannot commit offset ${o.offset} for ${o.topic}/${o.partition}`);
      }
    }
    if (offsets.length === 0) return;
    await this.withRetries(deadlineMs, async () => {
      const { generationId, memberId, groupInstanceId } = generation();
      const response = await this.options.link.request(API_KEYS.OFFSET_COMMIT, {
        groupId: this.options.groupId, generationId, memberId, groupInstanceId,
        partitions: offsets.map((o) => ({ topic: o.topic, partition: o.partition, committedOffset: o.offset,
          committedLeaderEpoch: -1, metadata: o.metadata ?? '' })),
      }, { errorCodeOf: (r) => r.partitions.find((p) => p.errorCode !== 0)?.errorCode ?? 0 });
      const failed = response.partitions.find((p) => p.errorCode !== 0);
      if (failed !== undefined) throw onGroupError(failed.errorCode);
      const answered = new Set(response.partitions.map((p) => `${p.topic}/${p.partition}`));
      const missing = offsets.find((o) => !answered.has(`${o.topic}/${o.partition}`));
      if (missing !== undefined) {
        throw new TributaryError('UNKNOWN_SERVER_ERROR', `OffsetCommit did not answer ${missing.topic}/${missing.partition}`);
      }
    });
  }

  /** The committed offsets of partitions (null offset: none committed). */
  async fetch(partitions: readonly { topic: string; partition: number }[], deadlineMs: number):
    Promise<CommittedOffset[]> {
    if (partitions.length === 0) return [];
    return this.withRetries(deadlineMs, async () => {
      const response = await this.options.link.request(API_KEYS.OFFSET_FETCH, {
        groupId: this.options.groupId, partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition })),
      }, { errorCodeOf: (r) => (r.errorCode !== 0 ? r.errorCode
        : r.partitions.find((p) => p.errorCode !== 0)?.errorCode ?? 0) });
      if (response.errorCode !== 0) throw errorFromWire(response.errorCode);
      const byKey = new Map(response.partitions.map((p) => [`${p.topic}/${p.partition}`, p]));
      return partitions.map((q) => {
        const found = byKey.get(`${q.topic}/${q.partition}`);
        if (found !== undefined && found.errorCode !== 0) throw errorFromWire(found.errorCode, `${q.topic}/${q.partition}`);
        const offset = found === undefined || found.committedOffset < 0 ? null : found.committedOffset;
        return { topic: q.topic, partition: q.partition, offset, metadata: found?.metadata ?? '' };
      });
    });
  }

  /** Retries coordinator errors (the link looks it up again) until deadlineMs. */
  private async withRetries<T>(deadlineMs: number, attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isCoordinatorError(error) && (error as { code?: unknown }).code !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
        const waitMs = backoffMs(Math.min(tries, 16), { backoffInitialMs: this.options.retryBackoffMs,
          backoffMaxMs: this.options.retryBackoffMaxMs }, this.options.prng);
        if (tries >= ATTEMPTS_MAX || Date.now() + waitMs >= deadlineMs) throw error;
        this.options.logger.debug({ groupId: this.options.groupId, err: error }, 'offset request failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }
}
