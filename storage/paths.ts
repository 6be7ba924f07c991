/**
 * On-disk names: `<data>/partitions/<topic>-<partition>/<20-digit first index>.log`, the zero
 * padding of Kafka's LogFileUtils.filenamePrefixFromOffset, so names sort like the indexes.
 */
import path from 'node:path';
import { assert } from '../raft/core/assert.js';

export const SEGMENT_SUFFIX = '.log';
const SEGMENT_NAME = /^(\d{20})\.log$/;

export function partitionDirectory(dataDirectory: string, logName: string): string {
  return path.join(dataDirectory, 'partitions', logName);
}

export function logNameOf(topic: string, partition: number): string {
  assert(Number.isSafeInteger(partition) && partition >= 0, 'partition must be an integer >= 0');
  return `${topic}-${partition}`;
}

export function segmentFileName(baseIndex: number): string {
  assert(Number.isSafeInteger(baseIndex) && baseIndex >= 0, 'segment base index must be an integer >= 0');
  return baseIndex.toString().padStart(20, '0') + SEGMENT_SUFFIX;
}

/** The base index named by a segment file, or null for any other file. */
export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match?.[1] === undefined) return null;
  const baseIndex = Number(match[1]);
  return Number.isSafeInteger(baseIndex) ? baseIndex : null;
}
