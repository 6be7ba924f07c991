/**
 * A test-only FileIo that makes a process crash behave like a power loss: every byte written since a
 * file's last datasync stays in this process's memory (reads, sizes and truncates see it) and reaches
 * the file only when the file is synced. A kill -9 then loses exactly the unsynced bytes, where the
 * real page cache would have kept them.
 *
 * With `fsync: false` (the harness's positive control) datasync resolves at once and moves nothing:
 * unsynced bytes leave memory only when writeBack() (a simulated OS write-back, run on a timer by the
 * broker) or close() hands them to the file, without fsync.
 *
 * Only segment and journal files go through FileIo. The LMDB environments do not: state.lmdb is synced by LMDB
 * itself on every commit, and index.lmdb is derived from the segments and checked (and rebuilt) by
 * recovery, so neither needs this simulation.
 */
import { assert } from '../raft/core/assert.js';
import type { FileIo } from './file_io.js';

export interface PowerLossFileIoOptions {
  /** False: datasync does nothing; only writeBack() and close() move bytes to the files. */
  readonly fsync: boolean;
}

/** Bytes written at `position` and not yet in the file. */
interface UnsyncedWrite {
  readonly position: number;
  bytes: Buffer;
}

/** What this process knows about one open file. */
interface OpenFile {
  readonly path: string;
  /** Size of the real file. */
  fileSizeBytes: number;
  /** Size as reads see it: the real file with the unsynced writes laid over it. */
  sizeBytes: number;
  /** In write order; a later write wins where two overlap. */
  writes: UnsyncedWrite[];
}

export class PowerLossFileIo implements FileIo {
  private readonly files = new Map<number, OpenFile>();
  private crashed = false;

  constructor(private readonly inner: FileIo, private readonly options: PowerLossFileIoOptions) {}

  /** Bytes held in memory across all files: what a crash now would lose. */
  get unsyncedBytes(): number {
    let total = 0;
    for (const file of this.files.values()) for (const write of file.writes) total += write.bytes.length;
    return total;
  }

  openAppend(path: string): number {
    this.alive();
    assert(![...this.files.values()].some((file) => file.path === path),
      () => `${path} is already open: a second descriptor would not see the unsynced bytes`);
    const fd = this.inner.openAppend(path);
    assert(!this.files.has(fd), () => `descriptor ${fd} is already tracked`);
    const sizeBytes = this.inner.sizeOf(fd);
    this.files.set(fd, { path, fileSizeBytes: sizeBytes, sizeBytes, writes: [] });
    return fd;
  }

  openRead(path: string): number {
    this.alive();
    assert(![...this.files.values()].some((file) => file.path === path),
      () => `${path} is open for writing: a read-only descriptor would not see the unsynced bytes`);
    return this.inner.openRead(path);
  }

  /** Hands the unsynced bytes to the file (the kernel keeps them after a close), then closes. */
  close(fd: number): void {
    this.alive();
    if (this.files.has(fd)) this.writeToFile(fd, this.fileOf(fd));
    this.files.delete(fd);
    this.inner.close(fd);
  }

  writev(fd: number, buffers: readonly Uint8Array[], position: number): number {
    this.alive();
    const file = this.fileOf(fd);
    assert(Number.isSafeInteger(position) && position >= 0, () => `bad write position ${position}`);
    // A copy: the caller may reuse its buffers once the call returns, as it may after a real write.
    const bytes = Buffer.concat(buffers);
    if (bytes.length === 0) return 0;
    file.writes.push({ position, bytes });
    file.sizeBytes = Math.max(file.sizeBytes, position + bytes.length);
    return bytes.length;
  }

  read(fd: number, into: Buffer, offsetInto: number, length: number, position: number): number {
    this.alive();
    const file = this.files.get(fd);
    if (file === undefined) return this.inner.read(fd, into, offsetInto, length, position);
    const end = Math.min(position + length, file.sizeBytes);
    if (position >= end) return 0;
    const fromFileEnd = Math.min(end, file.fileSizeBytes);
    let done = 0;
    while (position + done < fromFileEnd) {
      const n = this.inner.read(fd, into, offsetInto + done, fromFileEnd - position - done, position + done);
      assert(n > 0, () => `${file.path} ended at ${position + done}, before its size ${file.fileSizeBytes}`);
      done += n;
    }
    // Past the real file and not covered by a write: a hole, which reads as zeros.
    into.fill(0, offsetInto + done, offsetInto + end - position);
    for (const write of file.writes) {
      const from = Math.max(position, write.position);
      const to = Math.min(end, write.position + write.bytes.length);
      if (from < to) write.bytes.copy(into, offsetInto + from - position, from - write.position, to - write.position);
    }
    return end - position;
  }

  truncate(fd: number, length: number): void {
    this.alive();
    const file = this.fileOf(fd);
    assert(Number.isSafeInteger(length) && length >= 0, () => `bad truncate length ${length}`);
    file.writes = file.writes.filter((write) => write.position < length);
    for (const write of file.writes) {
      if (write.position + write.bytes.length > length) write.bytes = write.bytes.subarray(0, length - write.position);
    }
    // Cutting into the real file is a metadata change the kernel keeps through a process crash.
    if (length < file.fileSizeBytes) {
      this.inner.truncate(fd, length);
      file.fileSizeBytes = length;
    }
    // Growing a file leaves a hole that reads as zeros until it reaches the file.
    file.sizeBytes = length;
  }

  sizeOf(fd: number): number {
    this.alive();
    return this.files.get(fd)?.sizeBytes ?? this.inner.sizeOf(fd);
  }

  async datasync(fd: number): Promise<void> {
    this.alive();
    if (!this.options.fsync) return;
    // Bytes written after this call are not covered: they stay in memory, as they would stay unsynced.
    if (this.files.has(fd)) this.writeToFile(fd, this.fileOf(fd));
    await this.inner.datasync(fd);
  }

  datasyncNow(fd: number): void {
    this.alive();
    if (!this.options.fsync) return;
    if (this.files.has(fd)) this.writeToFile(fd, this.fileOf(fd));
    this.inner.datasyncNow(fd);
  }

  /**
   * The process dies: every descriptor goes, and with it every byte not yet synced. Nothing works
   * after: every call throws, since work still under way on it (a journal's background checkpoint)
   * would otherwise close, write or sync descriptor numbers the kernel has since given to other files.
   */
  crash(): void {
    this.alive();
    for (const fd of this.files.keys()) this.inner.close(fd);
    this.files.clear();
    this.crashed = true;
  }

  private alive(): void {
    assert(!this.crashed, 'this FileIo crashed (a simulated power loss): nothing works after');
  }

  /** The simulated OS write-back: every unsynced byte goes to its file, without fsync. */
  writeBack(): void {
    this.alive();
    for (const [fd, file] of this.files) this.writeToFile(fd, file);
  }

  syncDirectory(path: string): void { this.alive(); this.inner.syncDirectory(path); }
  listDirectory(path: string): string[] { this.alive(); return this.inner.listDirectory(path); }
  makeDirectory(path: string): void { this.alive(); this.inner.makeDirectory(path); }
  exists(path: string): boolean { this.alive(); return this.inner.exists(path); }
  readText(path: string): string | null { this.alive(); return this.inner.readText(path); }

  remove(path: string): void {
    this.alive();
    assert(![...this.files.values()].some((file) => file.path === path), () => `${path} is removed while open`);
    this.inner.remove(path);
  }

  removeTree(path: string): void {
    this.alive();
    assert(![...this.files.values()].some((file) => file.path.startsWith(`${path}/`)),
      () => `${path} is removed while a file in it is open`);
    this.inner.removeTree(path);
  }

  private fileOf(fd: number): OpenFile {
    const file = this.files.get(fd);
    assert(file !== undefined, () => `descriptor ${fd} was not opened for writing through this FileIo`);
    return file;
  }

  private writeToFile(fd: number, file: OpenFile): void {
    for (const write of file.writes) {
      const written = this.inner.writev(fd, [write.bytes], write.position);
      assert(written === write.bytes.length, () => `wrote ${written} of ${write.bytes.length} bytes to ${file.path}`);
      file.fileSizeBytes = Math.max(file.fileSizeBytes, write.position + write.bytes.length);
    }
    file.writes = [];
    if (file.fileSizeBytes < file.sizeBytes) {
      // A hole at the end (a file grown by truncate): the real file grows the same way.
      this.inner.truncate(fd, file.sizeBytes);
      file.fileSizeBytes = file.sizeBytes;
    }
    assert(file.fileSizeBytes === file.sizeBytes, () => `${file.path} holds ${file.fileSizeBytes} bytes, not the ${
      file.sizeBytes} its readers saw`);
  }
}
