/**
 * Shared fixture for storage tests: a fresh data folder per test, a LogManager on it with small
 * segments, deterministic entry payloads that can be checked byte for byte, and a logger that
 * records what storage reported.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EntryType, LogManager } from '../../storage/index.js';
import type { EntryInput, LogConfig, StorageLogger, StoredEntry } from '../../storage/index.js';
import type { FileIo } from '../../storage/file_io.js';
import type { ReadBufferPoolOptions } from '../../storage/read_buffer_pool.js';

export function temporaryDirectory(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tributary-${prefix}-`));
}

export interface LoggedLine { level: string; object: object; message: string }

export class RecordingLogger implements StorageLogger {
  readonly lines: LoggedLine[] = [];
  info(object: object, message: string): void { this.lines.push({ level: 'info', object, message }); }
  warn(object: object, message: string): void { this.lines.push({ level: 'warn', object, message }); }
  error(object: object, message: string): void { this.lines.push({ level: 'error', object, message }); }
  warnings(): LoggedLine[] { return this.lines.filter((line) => line.level === 'warn'); }
}

export interface FixtureOptions {
  config?: Partial<LogConfig>;
  io?: FileIo;
  nowMs?: () => number;
  readBuffers?: ReadBufferPoolOptions;
}

export function openManager(directory: string, logger: RecordingLogger, options: FixtureOptions = {}): LogManager {
  return LogManager.open({
    dataDirectory: directory,
    logger,
    config: { segmentBytesMax: 64 * 1024, ...options.config },
    ...(options.io === undefined ? {} : { io: options.io }),
    ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
    ...(options.readBuffers === undefined ? {} : { readBuffers: options.readBuffers }),
  });
}

/** The payload of index `index`: its size varies and every byte depends on the index. */
export function payloadFor(index: number, sizeBytes = 200 + (index * 37) % 900): Buffer {
  const payload = Buffer.allocUnsafe(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 1) payload[i] = (index * 131 + i * 7) & 0xff;
  return payload;
}

/** A data entry of `recordCount` records whose payload is payloadFor(index). */
export function dataEntry(index: number, term: number, options: { recordCount?: number; timestampMs?: number;
  sizeBytes?: number } = {}): EntryInput {
  return {
    index, term, type: EntryType.data, recordCount: options.recordCount ?? 1 + (index % 5),
    maxTimestampMs: options.timestampMs ?? 1_000_000 + index, payload: payloadFor(index, options.sizeBytes),
  };
}

export function noopEntry(index: number, term: number): EntryInput {
  return { index, term, type: EntryType.noop, recordCount: 0, maxTimestampMs: -1, payload: Buffer.alloc(0) };
}

export function entriesFrom(first: number, count: number, term: number): EntryInput[] {
  return Array.from({ length: count }, (_, i) => dataEntry(first + i, term));
}

/** Asserts that each stored entry carries exactly the payload payloadFor(index) would give. */
export function payloadIntact(entry: StoredEntry, sizeBytes?: number): boolean {
  return Buffer.compare(Buffer.from(entry.payload), payloadFor(entry.index, sizeBytes)) === 0;
}
