/**
 * The only storage module that touches node:fs: a narrow seam of synchronous positional I/O plus an
 * asynchronous fdatasync for group commit. Tests and fault injection can wrap it.
 */
import fs from 'node:fs';

export interface FileIo {
  openAppend(path: string): number;
  openRead(path: string): number;
  close(fd: number): void;
  /** Writes every buffer at `position`; returns the bytes written. */
  writev(fd: number, buffers: readonly Uint8Array[], position: number): number;
  read(fd: number, into: Buffer, offsetInto: number, length: number, position: number): number;
  truncate(fd: number, length: number): void;
  sizeOf(fd: number): number;
  datasync(fd: number): Promise<void>;
  datasyncNow(fd: number): void;
  syncDirectory(path: string): void;
  listDirectory(path: string): string[];
  makeDirectory(path: string): void;
  remove(path: string): void;
  exists(path: string): boolean;
  /** Removes a folder and everything in it. */
  removeTree(path: string): void;
  /** The text of a small file, or null when it cannot be read. */
  readText(path: string): string | null;
}

/** Linux caps one writev at IOV_MAX (1024) buffers. */
const IOV_MAX = 1024;

function writevAll(fd: number, buffers: readonly Uint8Array[], position: number): number {
  let written = 0;
  for (let start = 0; start < buffers.length; start += IOV_MAX) {
    const slice = buffers.slice(start, start + IOV_MAX);
    const expected = slice.reduce((sum, buffer) => sum + buffer.length, 0);
    let done = fs.writevSync(fd, slice, position + written);
    // A short write is legal; finish the remainder buffer by buffer.
    if (done < expected) done += finishShortWrite(fd, slice, done, position + written + done);
    written += done;
  }
  return written;
}

function finishShortWrite(fd: number, buffers: Uint8Array[], skip: number, position: number): number {
  let remainingSkip = skip;
  let written = 0;
  for (const buffer of buffers) {
    if (remainingSkip >= buffer.length) {
      remainingSkip -= buffer.length;
      continue;
    }
    let view = buffer.subarray(remainingSkip);
    remainingSkip = 0;
    while (view.length > 0) {
      const n = fs.writeSync(fd, view, 0, view.length, position + written);
      written += n;
      view = view.subarray(n);
    }
  }
  return written;
}

export const nodeFileIo: FileIo = {
  openAppend: (path) => fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644),
  openRead: (path) => fs.openSync(path, 'r'),
  close: (fd) => { fs.closeSync(fd); },
  writev: writevAll,
  read: (fd, into, offsetInto, length, position) => fs.readSync(fd, into, offsetInto, length, position),
  truncate: (fd, length) => { fs.ftruncateSync(fd, length); },
  sizeOf: (fd) => fs.fstatSync(fd).size,
  datasync: (fd) => new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => { if (error) reject(error); else resolve(); });
  }),
  datasyncNow: (fd) => { fs.fdatasyncSync(fd); },
  syncDirectory: (path) => {
    const fd = fs.openSync(path, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  },
  listDirectory: (path) => fs.readdirSync(path),
  makeDirectory: (path) => { fs.mkdirSync(path, { recursive: true }); },
  remove: (path) => { fs.rmSync(path, { force: true }); },
  exists: (path) => fs.existsSync(path),
  removeTree: (path) => { fs.rmSync(path, { recursive: true, force: true }); },
  readText: (path) => {
    try { return fs.readFileSync(path, 'utf8'); } catch { return null; }
  },
};
