/**
 * A broker's write-ahead journal, as a FileIo under its logs: one fdatasync per round for every
 * log, instead of one per log per Raft Ready.
 *
 * Every write to a file opened for appending (a segment) goes to the page cache as before, and a
 * copy of it is staged as a journal record (journal_record.ts). A datasync of such a file no longer
 * syncs the file: it waits for the journal's next flush, which writes everything staged with one
 * write and one fdatasync of the journal file, shared by every log that asked during the round
 * (group commit across logs). Truncations and removals are journaled and flushed before they are
 * done, so the journal always holds an operation before its effect can reach the disk. A large
 * write is not copied: its file is synced in place instead (see IN_PLACE_WRITE_BYTES_MIN and
 * mayWriteInPlace).
 *
 * The journal is two files of `fileBytes`, used in turn. When the current one is full the next
 * generation starts in the other, and the files written during the full one are fdatasynced in the
 * background (the checkpoint); the other file is only reused once its own checkpoint is done, so
 * the two files always cover everything not yet synced in place. A file closed while it has writes
 * no checkpoint covered is synced first. At start, journal_replay.ts writes the journal back into
 * the files and empties it; a clean shutdown empties it too. Journal files are zero-filled ahead
 * of the writes, and reused, so a flush's fdatasync seldom changes the file's size (no metadata for
 * the file system to journal).
 */
import path from 'node:path';
import { assert } from '../../raft/core/assert.js';
import { StorageFullError, StorageIoError } from '../errors.js';
import type { FileIo } from '../file_io.js';
import type { StorageLogger } from '../types.js';
import { JOURNAL_HEADER_BYTES, JournalOp, encodeJournalRecord, journalRecordBytes, sealJournalRecords }
  from './journal_record.js';
import { JOURNAL_SLOT_NAMES, emptyJournalFile, replayJournal } from './journal_replay.js';
import type { JournalSlot } from './journal_replay.js';

export interface JournalOptions {
  /** The broker's data folder: journal records name files relative to it. */
  readonly dataDirectory: string;
  /** Where the two journal files live. */
  readonly directory: string;
  /** Size of each journal file (a flush larger than this still goes whole into one file). */
  readonly fileBytes: number;
  readonly logger: StorageLogger;
  /** See INLINE_SYNC_MS_MAX_DEFAULT. */
  readonly inlineSyncMsMax?: number;
}

export const JOURNAL_FILE_BYTES_DEFAULT = 64 * 1024 * 1024;
/** How far ahead of the writes a new journal file is zero-filled (and with it, allocated). */
const ZERO_AHEAD_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(ZERO_AHEAD_BYTES);
/**
 * Writes this large are not journaled; the file is fdatasynced in place instead, as without a journal.
 * Under load a log's Ready carries many records, its own sync costs little next to them, and copying
 * them a second time (into the journal) would cost more than the syncs it saves.
 */
const IN_PLACE_WRITE_BYTES_MIN = 8 * 1024;
/** fdatasyncs of the journal file under way at once, at most. */
const SYNCS_IN_FLIGHT_MAX = 4;
/**
 * A flush with no other sync under way makes its fdatasync on the event loop's own thread while
 * the journal's recent syncs took less than this on average. A fast sync costs less than handing it
 * to Node's thread pool and being woken for its result (two thread wake-ups on a write's path, on
 * every replica); slower syncs (a slow disk, or several brokers' syncs queued on one) go to the
 * pool, so that the loop goes on with other work meanwhile and is never stalled for long.
 */
const INLINE_SYNC_MS_MAX_DEFAULT = 0.3;
/** Weight of the latest sync in the running mean of sync times. */
const SYNC_MS_WEIGHT = 0.2;
/** Flushes larger than this grow the journal file without zero-filling ahead. */
const ZERO_AHEAD_FLUSH_BYTES_MAX = 64 * 1024;
const STAGING_BYTES_INITIAL = 64 * 1024;

/** A file opened for appending, whose writes are journaled. */
interface TrackedFile {
  /** Its path relative to the data folder, as records name it. */
  readonly name: Buffer;
  /** The generation of its last write, and of its oldest write no sync has covered (null: none). */
  lastWriteGeneration: number;
  unsyncedSince: number | null;
  /** A write too large to journal was made since the file's last sync: its next sync is its own. */
  syncInPlace: boolean;
  /** The last generation that journaled a truncation of the file, or a removal of its path (or -1). */
  destroyedGeneration: number;
}

/** A journaled removal of a file or folder, remembered while its generation may still be replayed. */
interface Removal {
  readonly path: string;
  readonly tree: boolean;
  readonly generation: number;
}

interface JournalFile {
  readonly slot: JournalSlot;
  readonly fd: number;
  readonly generation: number;
  position: number;
  /** Bytes of the file already allocated (zero-filled or written before). */
  allocated: number;
}

interface Waiter {
  readonly sequence: number;
  resolve(): void;
  reject(error: unknown): void;
}

export class JournaledFileIo implements FileIo {
  private readonly tracked = new Map<number, TrackedFile>();
  /** Removals journaled in a generation that may still be replayed (see mayWriteInPlace). */
  private removals: Removal[] = [];
  private file: JournalFile;
  private staging = Buffer.allocUnsafe(STAGING_BYTES_INITIAL);
  private stagedBytes = 0;
  /** Records staged so far, how many of them are written to the journal file, and how many synced. */
  private recorded = 0;
  private written = 0;
  private durable = 0;
  private readonly waiters: Waiter[] = [];
  private flushScheduled = false;
  private readonly syncsInFlight = new Set<Promise<void>>();
  /** Running mean of the journal's fdatasync times, inline or in the pool (see INLINE_SYNC_MS_MAX_DEFAULT). */
  private syncMsMean = 0;
  private rotating = false;
  /** The background sync of the files written during the previous generation. */
  private checkpoint: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;

  private constructor(private readonly inner: FileIo, private readonly options: JournalOptions,
    slot: JournalSlot, generation: number) {
    this.file = this.openJournalFile(slot, generation);
  }

  /** Replays what the journal holds into the files, then starts its next generation. */
  static open(inner: FileIo, options: JournalOptions): JournaledFileIo {
    assert(Number.isSafeInteger(options.fileBytes) && options.fileBytes >= JOURNAL_HEADER_BYTES,
      () => `journal file size ${options.fileBytes} is too small`);
    inner.makeDirectory(options.directory);
    const replayed = replayJournal(inner, options.dataDirectory, options.directory, options.logger);
    const slot: JournalSlot = replayed.slot === 0 ? 1 : 0;
    return new JournaledFileIo(inner, options, slot, replayed.generation + 1);
  }

  private openJournalFile(slot: JournalSlot, generation: number): JournalFile {
    assert(generation <= 0xffff_ffff, 'journal generations fit in 32 bits');
    const fd = this.inner.openAppend(path.join(this.options.directory, JOURNAL_SLOT_NAMES[slot]));
    return { slot, fd, generation, position: 0, allocated: this.inner.sizeOf(fd) };
  }

  openAppend(file: string): number {
    const fd = this.inner.openAppend(file);
    const removed = this.removals.findLast((removal) => removal.path === file
      || (removal.tree && file.startsWith(`${removal.path}${path.sep}`)));
    this.tracked.set(fd, { name: this.nameOf(file), lastWriteGeneration: 0, unsyncedSince: null, syncInPlace: false,
      destroyedGeneration: removed?.generation ?? -1 });
    return fd;
  }

  writev(fd: number, buffers: readonly Uint8Array[], position: number): number {
    const written = this.inner.writev(fd, buffers, position);
    const file = this.tracked.get(fd);
    if (file !== undefined && written > 0) {
      if (written >= IN_PLACE_WRITE_BYTES_MIN && this.mayWriteInPlace(file)) file.syncInPlace = true;
      else this.stage(JournalOp.write, file.name, position, buffers, written);
      this.noteWrite(file);
    }
    return written;
  }

  /**
   * Whether a write to the file may skip the journal (and be synced in place). Not while a journaled
   * truncation or removal of it may still be replayed: the replay would cut away or delete bytes it
   * never wrote back. (Replay also rewrites older journaled writes of the file, but those bytes are
   * only ever overwritten after a truncation.)
   */
  private mayWriteInPlace(file: TrackedFile): boolean {
    return file.destroyedGeneration < this.oldestReplayableGeneration();
  }

  /** The journal file not being written holds the previous generation until it is reused. */
  private oldestReplayableGeneration(): number {
    return this.file.generation - 1;
  }

  truncate(fd: number, length: number): void {
    const file = this.tracked.get(fd);
    if (file !== undefined) {
      this.journalFirst(JournalOp.truncate, file.name, length);
      this.noteWrite(file);
      file.destroyedGeneration = this.file.generation;
    }
    this.inner.truncate(fd, length);
  }

  remove(file: string): void {
    this.journalFirst(JournalOp.remove, this.nameOf(file), 0);
    this.noteRemoval(file, false);
    this.inner.remove(file);
  }

  removeTree(folder: string): void {
    this.journalFirst(JournalOp.removeTree, this.nameOf(folder), 0);
    this.noteRemoval(folder, true);
    this.inner.removeTree(folder);
  }

  private noteRemoval(removed: string, tree: boolean): void {
    const oldest = this.oldestReplayableGeneration();
    this.removals = this.removals.filter((removal) => removal.generation >= oldest);
    this.removals.push({ path: removed, tree, generation: this.file.generation });
  }

  /** For a journaled file: resolves once every write staged before the call is in the journal on disk. */
  datasync(fd: number): Promise<void> {
    const file = this.tracked.get(fd);
    if (file === undefined) return this.inner.datasync(fd);
    if (this.failure !== null) return Promise.reject(this.failure);
    if (file.syncInPlace) {
      // A large write was not journaled: the file's own fdatasync covers it, and every write before it.
      file.syncInPlace = false;
      return this.inner.datasync(fd);
    }
    const sequence = this.recorded;
    if (sequence <= this.durable) return Promise.resolve();
    return new Promise((resolve, reject) => {
      assert(sequence >= (this.waiters.at(-1)?.sequence ?? 0), 'journal waiters are in sequence order');
      this.waiters.push({ sequence, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Syncs the file itself (a segment rolled or cut): the journal then no longer needs its writes. */
  datasyncNow(fd: number): void {
    this.inner.datasyncNow(fd);
    const file = this.tracked.get(fd);
    if (file !== undefined) file.unsyncedSince = null;
  }

  close(fd: number): void {
    const file = this.tracked.get(fd);
    // Its writes must be in place before the journal may forget them: a checkpoint cannot sync it later.
    if (file !== undefined && file.unsyncedSince !== null) this.inner.datasyncNow(fd);
    this.tracked.delete(fd);
    this.inner.close(fd);
  }

  openRead(file: string): number { return this.inner.openRead(file); }
  read(fd: number, into: Buffer, offsetInto: number, length: number, position: number): number {
    return this.inner.read(fd, into, offsetInto, length, position);
  }
  sizeOf(fd: number): number { return this.inner.sizeOf(fd); }
  syncDirectory(folder: string): void { this.inner.syncDirectory(folder); }
  listDirectory(folder: string): string[] { return this.inner.listDirectory(folder); }
  makeDirectory(folder: string): void { this.inner.makeDirectory(folder); }
  exists(file: string): boolean { return this.inner.exists(file); }
  readText(file: string): string | null { return this.inner.readText(file); }

  /**
   * Writes and syncs what is staged, waits for the checkpoint, and closes the journal. When every
   * journaled file was closed first (each synced in place), the journal holds nothing needed and is
   * emptied, so the next start has nothing to replay.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    while (this.flushScheduled || this.rotating || this.syncsInFlight.size > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.failure === null && this.stagedBytes > 0) this.flushNow();
    await this.checkpoint.catch(() => undefined);
    this.closed = true;
    this.inner.close(this.file.fd);
    if (this.failure !== null || this.tracked.size > 0) return;
    for (const name of JOURNAL_SLOT_NAMES) emptyJournalFile(this.inner, path.join(this.options.directory, name));
  }

  private nameOf(file: string): Buffer {
    return Buffer.from(path.relative(this.options.dataDirectory, file));
  }

  /**
   * Journals an operation and makes it durable before the caller does it. When the journal cannot
   * be written (a full disk) the record is dropped again and the error thrown: the operation is not done.
   */
  private journalFirst(op: JournalOp, name: Buffer, value: number): void {
    const stagedBefore = this.stagedBytes;
    this.stage(op, name, value);
    try {
      this.flushNow();
    } catch (error) {
      if (this.stagedBytes > stagedBefore) {
        this.stagedBytes = stagedBefore;
        this.recorded -= 1;
      }
      throw error;
    }
  }

  private noteWrite(file: TrackedFile): void {
    file.lastWriteGeneration = this.file.generation;
    file.unsyncedSince ??= this.file.generation;
  }

  /** Copies one record into the staging buffer; its generation and CRC are set when it is written. */
  private stage(op: JournalOp, name: Buffer, value: number, data: readonly Uint8Array[] = [], dataBytes = 0): void {
    assert(!this.closed, 'the journal is closed');
    const bytes = journalRecordBytes(name.length, dataBytes);
    if (this.stagedBytes + bytes > this.staging.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.staging.length * 2, this.stagedBytes + bytes));
      this.staging.copy(grown, 0, 0, this.stagedBytes);
      this.staging = grown;
    }
    const encoded = encodeJournalRecord(this.staging, this.stagedBytes, op, name, value, data);
    assert(encoded === bytes, () => `journal record of ${encoded} bytes, ${bytes} expected`);
    this.stagedBytes += bytes;
    this.recorded += 1;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // At the end of the round: every log that appends in this turn of the event loop shares the sync.
    setImmediate(() => {
      this.flushScheduled = false;
      this.startFlush();
    });
  }

  /**
   * Writes what is staged and starts an fdatasync of the journal file for it, if a caller waits for
   * records no flush has written yet. Up to SYNCS_IN_FLIGHT_MAX run at once (the disk works on
   * several, as it did on every log's own), all on one file: when one completes, every write made
   * before it started is durable, whatever the order the others complete in. With none under way
   * and fast syncs, the sync is made here and now instead (INLINE_SYNC_MS_MAX_DEFAULT).
   */
  private startFlush(): void {
    if (this.failure !== null || this.rotating || this.syncsInFlight.size >= SYNCS_IN_FLIGHT_MAX) return;
    // Waiters are in order of their sequence (it only grows), so the last one asks for the most.
    if ((this.waiters.at(-1)?.sequence ?? 0) <= this.written) return;
    if (this.file.position > 0 && this.file.position + this.stagedBytes > this.options.fileBytes) {
      this.rotating = true;
      this.rotate().then(() => {
        this.rotating = false;
        this.startFlush();
      }, (error: unknown) => { this.fail(error); });
      return;
    }
    const sequence = this.recorded;
    try {
      this.writeStaged();
    } catch (error) {
      // Not written (a full disk): the records stay staged for the next flush; their callers fail.
      this.rejectWaiters(error, (waiter) => waiter.sequence > this.written);
      return;
    }
    this.written = sequence;
    const startedMs = performance.now();
    const inlineSyncMsMax = this.options.inlineSyncMsMax ?? INLINE_SYNC_MS_MAX_DEFAULT;
    if (this.syncsInFlight.size === 0 && this.syncMsMean < inlineSyncMsMax) {
      try {
        this.inner.datasyncNow(this.file.fd);
      } catch (error) {
        this.fail(error);
        return;
      }
      this.noteSyncTime(performance.now() - startedMs);
      this.markDurable(sequence);
      return;
    }
    const sync = this.inner.datasync(this.file.fd).then(() => {
      this.noteSyncTime(performance.now() - startedMs);
      this.markDurable(sequence);
    }, (error: unknown) => { this.fail(error); });
    this.syncsInFlight.add(sync);
    void sync.finally(() => {
      this.syncsInFlight.delete(sync);
      this.startFlush();
    });
  }

  /** Writes and syncs what is staged at once (before a truncation or removal is done). */
  private flushNow(): void {
    if (this.failure !== null) throw this.failure;
    const sequence = this.recorded;
    this.writeStaged();
    this.written = sequence;
    try {
      this.inner.datasyncNow(this.file.fd);
    } catch (error) {
      throw this.fail(error);
    }
    this.markDurable(sequence);
  }

  /** Seals the staged records with the current generation and writes them, zero-filling ahead. */
  private writeStaged(): void {
    const journal = this.file;
    const bytes = this.stagedBytes;
    if (bytes === 0) return;
    sealJournalRecords(this.staging, bytes, journal.generation);
    const buffers: Uint8Array[] = [this.staging.subarray(0, bytes)];
    const end = journal.position + bytes;
    // Only small flushes pay for zeroing ahead: under load a flush's sync is shared by many writes,
    // and zeroing every byte before writing it would double the copying into the page cache.
    if (end > journal.allocated && bytes <= ZERO_AHEAD_FLUSH_BYTES_MAX) {
      const zeroTo = Math.min(end + ZERO_AHEAD_BYTES, Math.max(this.options.fileBytes, end));
      if (zeroTo > end) buffers.push(ZEROS.subarray(0, zeroTo - end));
    }
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    try {
      const written = this.inner.writev(journal.fd, buffers, journal.position);
      assert(written === total, () => `journal write of ${written} of ${total} bytes`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new StorageFullError(this.journalPath(), { cause: error });
      throw new StorageIoError(this.journalPath(), 'write', { cause: error });
    }
    journal.allocated = Math.max(journal.allocated, journal.position + total);
    journal.position = end;
    this.stagedBytes = 0;
  }

  /**
   * Starts the next generation in the other file, once that file's own checkpoint is done, and
   * checkpoints the generation just ended in the background.
   */
  private async rotate(): Promise<void> {
    // Every record of this file is durable before the next file takes any: replay reads the two
    // files in turn, so a later record must never be on disk where an earlier one is not.
    while (this.syncsInFlight.size > 0) await Promise.all(this.syncsInFlight);
    await this.checkpoint;
    const ended = this.file;
    const next = this.openJournalFile(ended.slot === 0 ? 1 : 0, ended.generation + 1);
    if (next.allocated > 0) {
      // The reused file's first record is made invalid before the new generation begins, so a
      // replay never takes the older generation left in it for a live one (its truncations and
      // removals would be replayed over what was since written in place).
      this.inner.writev(next.fd, [ZEROS.subarray(0, JOURNAL_HEADER_BYTES)], 0);
      await this.inner.datasync(next.fd);
    }
    this.file = next;
    this.checkpoint = this.checkpointFiles(ended);
    this.checkpoint.catch((error: unknown) => { this.fail(error); });
  }

  /** Syncs in place every file written during `ended` (or before), then lets go of its journal file. */
  private async checkpointFiles(ended: JournalFile): Promise<void> {
    const syncs: Promise<void>[] = [];
    for (const [fd, file] of this.tracked) {
      if (file.unsyncedSince === null || file.unsyncedSince > ended.generation) continue;
      file.unsyncedSince = file.lastWriteGeneration > ended.generation ? file.lastWriteGeneration : null;
      // A file closed meanwhile was synced by close(); an error on its old descriptor means nothing.
      syncs.push(this.inner.datasync(fd).catch((error: unknown) => {
        if (this.tracked.get(fd) === file) throw error;
      }));
    }
    await Promise.all(syncs);
    this.inner.close(ended.fd);
  }

  private noteSyncTime(ms: number): void {
    this.syncMsMean += (ms - this.syncMsMean) * SYNC_MS_WEIGHT;
  }

  private markDurable(sequence: number): void {
    this.durable = Math.max(this.durable, sequence);
    let kept = 0;
    for (const waiter of this.waiters) {
      if (waiter.sequence <= this.durable) waiter.resolve();
      else this.waiters[kept++] = waiter;
    }
    this.waiters.length = kept;
  }

  private rejectWaiters(error: unknown, which: (waiter: Waiter) => boolean = () => true): void {
    let kept = 0;
    for (const waiter of this.waiters) {
      if (which(waiter)) waiter.reject(error);
      else this.waiters[kept++] = waiter;
    }
    this.waiters.length = kept;
  }

  /** An fdatasync failed: nothing can be promised durable any more (the page cache may have dropped the bytes). */
  private fail(error: unknown): Error {
    this.failure ??= error instanceof StorageIoError ? error
      : new StorageIoError(this.journalPath(), 'fdatasync', { cause: error });
    this.rejectWaiters(this.failure);
    return this.failure;
  }

  private journalPath(): string {
    return path.join(this.options.directory, JOURNAL_SLOT_NAMES[this.file.slot]);
  }
}
