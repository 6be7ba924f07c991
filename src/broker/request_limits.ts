/**
 * Limits the broker applies to what a client asks for: timeouts clamped to a documented maximum
 * (Node's timers fire at once for delays of 2^31 ms and more, which answered a Produce
 * REQUEST_TIMED_OUT while storing it), and the byte budget of a Fetch reply: the whole reply within
 * max_bytes except the first batch of the first partition with data (KIP-74, so that a batch
 * larger than the limits is not stuck), each partition within its own limit except its first
 * batch when the reply still has room for it. (Kafka keeps the second rule strict and rotates the
 * partitions of its fetches; our consumer keeps its order, and a partition that always has data
 * would starve a big batch behind it.) The limits are listed in the README.
 */
import { TributaryError } from '../common/errors.js';

/** The longest timeout a request may ask for (Produce timeout_ms, CreateTopics/DeleteTopics timeout_ms). */
export const REQUEST_TIMEOUT_MS_MAX = 300_000;

/** The longest a Fetch waits for min_bytes (its max_wait_ms). */
export const FETCH_WAIT_MS_MAX = 60_000;

/** Kafka's broker-side fetch.max.bytes default: a Fetch asking for more gets this much at most. */
export const FETCH_BYTES_MAX = 55 * 1024 * 1024;

/** What a Fetch without max_bytes (0) gets. */
export const FETCH_BYTES_DEFAULT = 50 * 1024 * 1024;

/** The timeout to use for a requested one: the default when 0 (unset), at most REQUEST_TIMEOUT_MS_MAX. */
export function clampTimeoutMs(requestedMs: number, defaultMs: number): number {
  return requestedMs > 0 ? Math.min(requestedMs, REQUEST_TIMEOUT_MS_MAX) : defaultMs;
}

/** The byte limit of a Fetch reply asking for `maxBytes` (0: the default). */
export function fetchBytesMax(maxBytes: number): number {
  return maxBytes > 0 ? Math.min(maxBytes, FETCH_BYTES_MAX) : FETCH_BYTES_DEFAULT;
}

/**
 * Refuses a Fetch naming a partition twice: each entry would be read and answered again (one
 * partition named 10,000 times in 280 KB made a 655 MB reply). Kafka's fetch sessions key the
 * partitions of a request by topic and partition, so there is no meaning to keep.
 */
export function refuseDuplicateFetchPartitions(
  partitions: readonly { readonly topic: string; readonly partition: number }[],
): void {
  const seen = new Set<string>();
  for (const { topic, partition } of partitions) {
    const key = `${partition}/${topic}`;
    if (seen.has(key)) throw new TributaryError('INVALID_REQUEST', `${topic}-${partition} is named twice in the fetch`);
    seen.add(key);
  }
}

/**
 * The bytes of one Fetch reply: read limits per partition, and which reads the reply keeps.
 * `maxBytes` is the request's limit within what its connection may still be sent; the first batch
 * may go over it only when `firstBatchMayExceed` (the connection has nothing else queued).
 */
export class FetchReplyBudget {
  private used = 0;

  constructor(readonly maxBytes: number, private readonly firstBatchMayExceed = true) {}

  get usedBytes(): number {
    return this.used;
  }

  /** The most the next partition may read: its own limit (the reply's when 0) within what is left. */
  partitionLimit(partitionMaxBytes: number): number {
    const own = partitionMaxBytes > 0 ? partitionMaxBytes : this.maxBytes;
    return Math.max(0, Math.min(own, this.maxBytes - this.used));
  }

  /**
   * Whether a read of `bytes` goes into the reply (and counts). Storage returns at least one whole
   * batch whatever the limit it was given; past the first partition with data, one that does not
   * fit in what is left of max_bytes is left out.
   */
  take(bytes: number): boolean {
    const mayExceed = this.used === 0 && this.firstBatchMayExceed;
    if (!mayExceed && bytes > this.maxBytes - this.used) return false;
    this.used += bytes;
    return true;
  }
}
