/**
 * Limits the bytes per second a broker sends to learners (Kafka's leader.replication.throttled.rate):
 * a transport in front of the real one that holds back appends and snapshots bound for a learner
 * of their group and lets them go at the rate, in order, so a replica catching up during a move
 * leaves the network and disks to the producers. Everything else (votes, heartbeats, appends to
 * voters) passes at once, so a learner being throttled never slows a commit.
 *
 * Held-back bytes are bounded: beyond one second of the rate (at least one largest append) new
 * messages to learners are dropped. Raft copes with lost messages (the leader probes again), so a
 * drop only delays the learner, which is what the throttle is for.
 */
import type { Message, NodeId } from '../core/index.js';
import { MessageType } from '../core/index.js';
import { monotonicNowMs } from './monotonic_clock.js';
import type { ForwardHandler, RaftTransport } from './transport.js';

export interface LearnerThrottleOptions {
  /** Whether `to` is a learner of the message's group, as this node (the leader) applied it. */
  readonly isLearner: (groupId: number, to: NodeId) => boolean;
  /** Bytes per second now; 0 (or less) means no limit. */
  readonly bytesPerSec: () => number;
  /** Held-back bytes allowed at least, whatever the rate (one large append must fit). */
  readonly queueBytesMin?: number;
}

const QUEUE_BYTES_MIN_DEFAULT = 8 * 1024 * 1024;

/** The payload bytes of a catch-up message (entries or snapshot data), or 0 for other messages. */
export function catchUpBytes(message: Message): number {
  if (message.type === MessageType.appendRequest) {
    let bytes = 0;
    for (const entry of message.entries) bytes += entry.data.byteLength;
    return bytes;
  }
  if (message.type === MessageType.snapshotRequest) return message.snapshot.data.byteLength;
  return 0;
}

export class LearnerThrottle implements RaftTransport {
  private readonly queue: { message: Message; bytes: number }[] = [];
  private queuedBytes = 0;
  /** Bytes that may go now; negative is debt paid back by the clock. */
  private allowance = 0;
  private lastRefillMs = monotonicNowMs();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Messages dropped because too much was held back (for tests and logs). */
  dropped = 0;

  constructor(private readonly inner: RaftTransport, private readonly options: LearnerThrottleOptions) {}

  start(deliver: (messages: readonly Message[]) => void, deliverForward?: ForwardHandler): Promise<void> {
    return this.inner.start(deliver, deliverForward);
  }

  forward(nodeId: number, payload: Uint8Array): void {
    this.inner.forward(nodeId, payload);
  }

  setPeer(nodeId: number, endpoint: string): void {
    this.inner.setPeer(nodeId, endpoint);
  }

  removePeer(nodeId: number): void {
    this.inner.removePeer(nodeId);
  }

  flush(): void {
    this.inner.flush?.();
  }

  send(messages: readonly Message[]): void {
    const rate = this.options.bytesPerSec();
    if (rate <= 0 && this.queue.length === 0) {
      this.inner.send(messages); // no limit and nothing held back: the common path costs nothing
      return;
    }
    const now: Message[] = [];
    for (const message of messages) {
      const bytes = catchUpBytes(message);
      if (rate <= 0 || bytes === 0 || !this.options.isLearner(message.groupId, message.to)) {
        now.push(message);
        continue;
      }
      if (this.queuedBytes + bytes > Math.max(rate, this.options.queueBytesMin ?? QUEUE_BYTES_MIN_DEFAULT)) {
        this.dropped += 1;
        continue;
      }
      this.queue.push({ message, bytes });
      this.queuedBytes += bytes;
    }
    if (now.length > 0) this.inner.send(now);
    if (this.queue.length > 0) this.release();
  }

  /** Sends held-back messages while the allowance lasts; schedules the next release when some wait. */
  private release(): void {
    if (this.closed) return;
    const rate = this.options.bytesPerSec();
    const nowMs = monotonicNowMs();
    // The allowance refills at the rate, up to a tenth of a second's worth (a short burst at most).
    this.allowance = rate <= 0 ? 0 : Math.min(rate / 10, this.allowance + (nowMs - this.lastRefillMs) * rate / 1_000);
    this.lastRefillMs = nowMs;
    const ready: Message[] = [];
    while (this.queue.length > 0 && (rate <= 0 || this.allowance >= 0)) {
      const next = this.queue.shift();
      if (next === undefined) break;
      this.queuedBytes -= next.bytes;
      this.allowance -= next.bytes;
      ready.push(next.message);
    }
    if (ready.length > 0) this.inner.send(ready);
    if (this.queue.length > 0 && this.timer === undefined) {
      const waitMs = Math.max(5, Math.ceil(-this.allowance / Math.max(1, rate) * 1_000));
      this.timer = setTimeout(() => { this.timer = undefined; this.release(); }, Math.min(waitMs, 1_000));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.queuedBytes = 0;
    await this.inner.close();
  }
}
