/**
 * Replays a broker's write-ahead journal into its files at start, before any log is opened.
 *
 * The journal is two files used in turn (journaled_file_io.ts). Each holds the records of one
 * generation from its start, possibly followed by stale records of an older generation where it was
 * reused. The two are replayed oldest generation first, each up to its first invalid record. Every
 * record is a blind operation on a file (write these bytes here, cut to this length, remove), so
 * replaying from a point at or before the last checkpoint gives the files as they were when the last
 * complete record was written, whatever of it the disk already held. The files touched are
 * fdatasynced (and their folders synced), and the journal then emptied, before this returns.
 */
import path from 'node:path';
import type { FileIo } from '../file_io.js';
import type { StorageLogger } from '../types.js';
import { JournalOp, decodeJournalRecords, firstRecordGeneration } from './journal_record.js';

export const JOURNAL_SLOT_NAMES = ['journal-0', 'journal-1'] as const;
export type JournalSlot = 0 | 1;

export interface ReplayedJournal {
  /** The newest generation found (0 when the journal is empty) and the slot holding it. */
  readonly generation: number;
  readonly slot: JournalSlot | null;
  readonly records: number;
  readonly bytes: number;
}

function readWholeFile(io: FileIo, file: string): Buffer | null {
  if (!io.exists(file)) return null;
  const fd = io.openRead(file);
  try {
    const size = io.sizeOf(fd);
    const contents = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = io.read(fd, contents, done, size - done, done);
      if (n === 0) break;
      done += n;
    }
    return contents.subarray(0, done);
  } finally {
    io.close(fd);
  }
}

/** The files a replay has open, by path; closed (after a sync) at the end or when the file is removed. */
class ReplayTargets {
  private readonly open = new Map<string, number>();
  readonly folders = new Set<string>();

  constructor(private readonly io: FileIo) {}

  descriptor(file: string): number {
    let fd = this.open.get(file);
    if (fd === undefined) {
      this.io.makeDirectory(path.dirname(file));
      fd = this.io.openAppend(file);
      this.open.set(file, fd);
      this.folders.add(path.dirname(file));
    }
    return fd;
  }

  forget(prefix: string, tree: boolean): void {
    for (const [file, fd] of this.open) {
      if (file === prefix || (tree && file.startsWith(`${prefix}${path.sep}`))) {
        this.io.close(fd);
        this.open.delete(file);
      }
    }
    this.folders.add(path.dirname(prefix));
  }

  syncAndClose(): void {
    for (const fd of this.open.values()) {
      this.io.datasyncNow(fd);
      this.io.close(fd);
    }
    this.open.clear();
    for (const folder of this.folders) if (this.io.exists(folder)) this.io.syncDirectory(folder);
  }
}

/** Cuts a journal file to nothing, durably. */
export function emptyJournalFile(io: FileIo, file: string): void {
  if (!io.exists(file)) return;
  const fd = io.openAppend(file);
  try {
    io.truncate(fd, 0);
    io.datasyncNow(fd);
  } finally {
    io.close(fd);
  }
}

export function replayJournal(io: FileIo, dataDirectory: string, journalDirectory: string,
  logger: StorageLogger): ReplayedJournal {
  const found: { slot: JournalSlot; generation: number; contents: Buffer }[] = [];
  JOURNAL_SLOT_NAMES.forEach((name, slot) => {
    const contents = readWholeFile(io, path.join(journalDirectory, name));
    const generation = contents === null ? null : firstRecordGeneration(contents);
    if (contents !== null && generation !== null) found.push({ slot: slot as JournalSlot, generation, contents });
  });
  found.sort((a, b) => a.generation - b.generation);
  const targets = new ReplayTargets(io);
  let records = 0;
  let bytes = 0;
  for (const { generation, contents } of found) {
    for (const record of decodeJournalRecords(contents, generation)) {
      const file = path.resolve(dataDirectory, record.path);
      records += 1;
      if (record.op === JournalOp.write) {
        io.writev(targets.descriptor(file), [record.data], record.position);
        bytes += record.data.length;
      } else if (record.op === JournalOp.truncate) {
        // A file that is gone was removed later on (its removal is journaled after this).
        if (io.exists(file)) io.truncate(targets.descriptor(file), record.length);
      } else {
        targets.forget(file, record.op === JournalOp.removeTree);
        if (record.op === JournalOp.remove) io.remove(file);
        else io.removeTree(file);
      }
    }
  }
  targets.syncAndClose();
  // Everything replayed is in place now. The journal is emptied so it is never replayed again: a
  // later start would otherwise cut or overwrite what this run wrote and synced in place since.
  for (const { slot } of found) emptyJournalFile(io, path.join(journalDirectory, JOURNAL_SLOT_NAMES[slot]));
  const newest = found[found.length - 1];
  if (records > 0) logger.info({ records, bytes, generations: found.map((f) => f.generation) }, 'journal replayed');
  return { generation: newest?.generation ?? 0, slot: newest?.slot ?? null, records, bytes };
}
