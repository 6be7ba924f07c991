/**
 * The write-ahead journal's on-disk record: one file operation, replayed byte for byte after a crash.
 *
 *   offset  size  field
 *        0     4  magic "TJR1" (zero-filled or stale space never starts with it)
 *        4     4  CRC-32C of every byte after this field (header rest, path, data)
 *        8     4  generation: the journal file's current use; a record of an older use ends the replay
 *       12     1  kind (write, truncate, remove, removeTree)
 *       13     1  reserved, 0
 *       14     2  path length in bytes (UTF-8)
 *       16     4  data length in bytes (writes only)
 *       20     8  position of a write, or length of a truncate (unsigned, little-endian)
 *       28        path, then data
 *
 * All integers are little-endian. A record is whole and valid or it ends the journal: replay stops at
 * the first record whose magic, generation, lengths or CRC do not hold (a torn write of the last flush).
 */
import { assert } from '../../raft/core/assert.js';
import { crc32c } from '../crc32c.js';

export const JOURNAL_MAGIC = 0x3152_4a54; // "TJR1" read as a little-endian u32
export const JOURNAL_HEADER_BYTES = 28;
const CRC_START = 8;
const PATH_BYTES_MAX = 0xffff;

export const JournalOp = {
  write: 1,
  truncate: 2,
  remove: 3,
  removeTree: 4,
} as const;
export type JournalOp = (typeof JournalOp)[keyof typeof JournalOp];

export type JournalRecord =
  | { readonly op: typeof JournalOp.write; readonly path: string; readonly position: number; readonly data: Buffer }
  | { readonly op: typeof JournalOp.truncate; readonly path: string; readonly length: number }
  | { readonly op: typeof JournalOp.remove | typeof JournalOp.removeTree; readonly path: string };

/** Bytes a record of this path and data takes. */
export function journalRecordBytes(pathBytes: number, dataBytes: number): number {
  return JOURNAL_HEADER_BYTES + pathBytes + dataBytes;
}

/**
 * Encodes one record into `into` at `at` (which must have room: journalRecordBytes), copying the
 * data buffers; returns the bytes written. The generation and CRC are left for sealJournalRecords,
 * since which journal file (and generation) the record goes to is known only when it is written.
 */
export function encodeJournalRecord(into: Buffer, at: number, op: JournalOp, path: Buffer, value: number,
  data: readonly Uint8Array[] = []): number {
  assert(path.length <= PATH_BYTES_MAX, () => `journal path of ${path.length} bytes is too long`);
  assert(Number.isSafeInteger(value) && value >= 0 && value < 2 ** 48, () => `bad journal position or length ${value}`);
  let cursor = at + JOURNAL_HEADER_BYTES;
  path.copy(into, cursor);
  cursor += path.length;
  for (const buffer of data) {
    into.set(buffer, cursor);
    cursor += buffer.length;
  }
  const dataBytes = cursor - at - JOURNAL_HEADER_BYTES - path.length;
  into.writeUInt32LE(JOURNAL_MAGIC, at);
  into.writeUInt32LE(0, at + 4);
  into.writeUInt32LE(0, at + 8);
  into.writeUInt8(op, at + 12);
  into.writeUInt8(0, at + 13);
  into.writeUInt16LE(path.length, at + 14);
  into.writeUInt32LE(dataBytes, at + 16);
  into.writeUIntLE(value, at + 20, 6);
  into.writeUInt16LE(0, at + 26);
  return cursor - at;
}

/** Stamps every record in `records[0, bytes)` with `generation` and its CRC, ready to be written. */
export function sealJournalRecords(records: Buffer, bytes: number, generation: number): void {
  let at = 0;
  while (at < bytes) {
    assert(records.readUInt32LE(at) === JOURNAL_MAGIC, () => `no journal record at ${at} of the staged bytes`);
    const end = at + journalRecordBytes(records.readUInt16LE(at + 14), records.readUInt32LE(at + 16));
    assert(end <= bytes, 'staged journal records are whole');
    records.writeUInt32LE(generation, at + 8);
    records.writeUInt32LE(crc32c(records.subarray(at + CRC_START, end)), at + 4);
    at = end;
  }
}

/** The generation of the record at the start of a journal file, or null if none is there. */
export function firstRecordGeneration(file: Buffer): number | null {
  const first = decodeJournalRecords(file, null).next();
  return first.done === true ? null : first.value.generation;
}

/**
 * The valid records of one journal file, in order, up to the first that is not (see the header
 * comment). With `generation` null the first record's generation is taken as the file's.
 */
export function* decodeJournalRecords(file: Buffer, generation: number | null):
  Generator<JournalRecord & { readonly generation: number }> {
  let expected = generation;
  let at = 0;
  while (at + JOURNAL_HEADER_BYTES <= file.length) {
    if (file.readUInt32LE(at) !== JOURNAL_MAGIC) return;
    const recordGeneration = file.readUInt32LE(at + 8);
    if (expected !== null && recordGeneration !== expected) return;
    const pathBytes = file.readUInt16LE(at + 14);
    const dataBytes = file.readUInt32LE(at + 16);
    const end = at + journalRecordBytes(pathBytes, dataBytes);
    if (end > file.length) return;
    if (crc32c(file.subarray(at + CRC_START, end)) !== file.readUInt32LE(at + 4)) return;
    expected = recordGeneration;
    const op = file.readUInt8(at + 12);
    const value = file.readUIntLE(at + 20, 6);
    const path = file.toString('utf8', at + JOURNAL_HEADER_BYTES, at + JOURNAL_HEADER_BYTES + pathBytes);
    const data = file.subarray(at + JOURNAL_HEADER_BYTES + pathBytes, end);
    if (op === JournalOp.write) yield { op, path, position: value, data, generation: recordGeneration };
    else if (op === JournalOp.truncate) yield { op, path, length: value, generation: recordGeneration };
    else if (op === JournalOp.remove || op === JournalOp.removeTree) yield { op, path, generation: recordGeneration };
    else return; // an unknown kind with a good CRC: written by a newer version; stop rather than guess
    at = end;
  }
}
