/**
 * Which closed segments retention may delete (Kafka's retention.ms and retention.bytes). Pure: it
 * only reads segment sizes, last indexes and max timestamps. Deletion is always a prefix of whole
 * closed segments, so the log start moves to the first segment kept.
 */
import type { RetentionPolicy } from './log_config.js';

interface SegmentView {
  readonly baseIndex: number;
  readonly lastIndex: number;
  readonly sizeBytes: number;
  readonly maxTimestampMs: number;
}

export interface RetentionPlan {
  readonly count: number;
  readonly nextFirstIndex: number;
  readonly reason: 'time' | 'bytes' | 'time+bytes' | 'none';
}

export function selectSegmentsToDelete(
  segments: readonly SegmentView[], policy: RetentionPolicy, safeIndex: number, nowMs: number,
): RetentionPlan {
  let totalBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  let count = 0;
  let byTime = false;
  let byBytes = false;
  // The active (last) segment is never deleted; a segment holding unsafe entries stops the prefix.
  for (const segment of segments.slice(0, -1)) {
    if (segment.lastIndex >= safeIndex) break;
    const expired = policy.retentionMs >= 0 && segment.maxTimestampMs >= 0
      && segment.maxTimestampMs < nowMs - policy.retentionMs;
    const oversized = policy.retentionBytes >= 0 && totalBytes - segment.sizeBytes >= policy.retentionBytes;
    if (!expired && !oversized) break;
    byTime ||= expired;
    byBytes ||= oversized;
    totalBytes -= segment.sizeBytes;
    count += 1;
  }
  const kept = segments[count];
  const reason = byTime && byBytes ? 'time+bytes' : byTime ? 'time' : byBytes ? 'bytes' : 'none';
  return { count, nextFirstIndex: kept?.baseIndex ?? 0, reason };
}
