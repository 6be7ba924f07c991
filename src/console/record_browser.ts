/**
 * Reads a bounded run of one partition's records for the console, from an offset or from the first
 * record at or after a time, with a Consumer of its own (no group: nothing is committed). Keys,
 * values and headers are given as text when they are UTF-8, as parsed JSON when they parse, and
 * always as hex (cut at HEX_BYTES_MAX), so the page can show any of the three.
 */
import type { Logger } from 'pino';

import { assert } from '../../raft/core/assert.js';
import { Consumer } from '../client/consumer.js';
import { TributaryError } from '../common/errors.js';
import type { BrowseRequest, BrowseResult, BytesView, RecordView } from './api_types.js';
import type { ClusterReader } from './cluster_view.js';

export const BROWSE_LIMIT_MAX = 200;
const BROWSE_TIMEOUT_MS = 5_000;
const TEXT_CHARS_MAX = 16_384;
const HEX_BYTES_MAX = 4_096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function viewBytes(bytes: Buffer | null): BytesView | null {
  if (bytes === null) return null;
  let text: string | null = null;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = null;
  }
  let json = false;
  if (text !== null && text.trim() !== '') {
    try {
      JSON.parse(text);
      json = true;
    } catch {
      json = false;
    }
  }
  return { size: bytes.length, text: text === null ? null : text.slice(0, TEXT_CHARS_MAX), json,
    hex: bytes.subarray(0, HEX_BYTES_MAX).toString('hex') };
}

function checkRequest(request: BrowseRequest): void {
  const { offset, timestampMs, limit, partition } = request;
  if ((offset === undefined) === (timestampMs === undefined)) {
    throw new TributaryError('INVALID_REQUEST', 'Give an offset or a time to browse from (one of them)');
  }
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
    throw new TributaryError('OFFSET_OUT_OF_RANGE', `Offset ${offset} is not an offset (an integer >= 0)`);
  }
  if (timestampMs !== undefined && !Number.isSafeInteger(timestampMs)) {
    throw new TributaryError('INVALID_REQUEST', `${timestampMs} is not a time in ms`);
  }
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${partition} is not a partition number`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > BROWSE_LIMIT_MAX) {
    throw new TributaryError('INVALID_REQUEST', `The record count must be 1 to ${BROWSE_LIMIT_MAX}`);
  }
}

export async function browseRecords(reader: ClusterReader, bootstrap: string, logger: Logger,
  request: BrowseRequest): Promise<BrowseResult> {
  checkRequest(request);
  const { topic, partition, limit } = request;
  const description = await reader.topic(topic);
  const info = description.partitions.find((p) => p.partition === partition);
  if (info === undefined) {
    throw new TributaryError('UNKNOWN_TOPIC_OR_PARTITION', `${topic} has no partition ${partition}`);
  }
  if (info.logStartOffset === null || info.highWatermark === null) {
    throw new TributaryError('LEADER_NOT_AVAILABLE', `${topic}/${partition} has no leader answering now`);
  }
  const { logStartOffset, highWatermark } = info;
  const startOffset = request.offset ?? await reader.offsetForTime(topic, partition, request.timestampMs ?? 0);
  const base = { topic, partition, logStartOffset, highWatermark };
  if (startOffset < 0) return { ...base, startOffset: null, records: [] };
  if (startOffset < logStartOffset) {
    throw new TributaryError('OFFSET_OUT_OF_RANGE',
      `Offset ${startOffset} is before the log start of ${topic}/${partition} (${logStartOffset})`);
  }
  const endOffset = Math.min(highWatermark, startOffset + limit);
  if (startOffset >= endOffset) return { ...base, startOffset, records: [] };
  const consumer = new Consumer({ bootstrap, logger, clientId: 'tributary-console', autoOffsetReset: 'none',
    ...(reader.security === undefined ? {} : { security: reader.security }),
    maxPollRecords: limit, maxWaitMs: 200, requestTimeoutMs: BROWSE_TIMEOUT_MS });
  const records: RecordView[] = [];
  try {
    const ref = { topic, partition };
    consumer.assign([ref]);
    consumer.seek(ref, startOffset);
    const deadlineMs = Date.now() + BROWSE_TIMEOUT_MS;
    let next = startOffset;
    while (next < endOffset && Date.now() < deadlineMs) {
      for (const record of await consumer.poll({ timeoutMs: Math.max(1, deadlineMs - Date.now()) })) {
        if (record.offset < next || record.offset >= endOffset) continue;
        assert(record.topic === topic && record.partition === partition, 'only the assigned partition is read');
        records.push({ offset: record.offset, timestamp: record.timestamp, key: viewBytes(record.key),
          value: viewBytes(record.value),
          headers: record.headers.map((h) => ({ key: h.key, value: viewBytes(h.value) })) });
        next = record.offset + 1;
      }
    }
  } finally {
    await consumer.close();
  }
  return { ...base, startOffset, records };
}
