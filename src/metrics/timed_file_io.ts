/**
 * A FileIo that times every asynchronous fdatasync under the logs, the write-ahead journal's and
 * the segments' (the fsync latency histogram; it sits under the journal). Only
 * datasync is measured; every other call is passed to the wrapped FileIo as it is (which may be a
 * class instance, such as the power-loss test mode's, so its methods are called on it, not copied).
 */
import type { FileIo } from '../../storage/file_io.js';

export function timedFileIo(inner: FileIo, observe: (seconds: number) => void): FileIo {
  return {
    openAppend: (path) => inner.openAppend(path),
    openRead: (path) => inner.openRead(path),
    close: (fd) => { inner.close(fd); },
    writev: (fd, buffers, position) => inner.writev(fd, buffers, position),
    read: (fd, into, offsetInto, length, position) => inner.read(fd, into, offsetInto, length, position),
    truncate: (fd, length) => { inner.truncate(fd, length); },
    sizeOf: (fd) => inner.sizeOf(fd),
    datasync: async (fd) => {
      const startedMs = performance.now();
      await inner.datasync(fd);
      observe((performance.now() - startedMs) / 1000);
    },
    datasyncNow: (fd) => { inner.datasyncNow(fd); },
    syncDirectory: (path) => { inner.syncDirectory(path); },
    listDirectory: (path) => inner.listDirectory(path),
    makeDirectory: (path) => { inner.makeDirectory(path); },
    remove: (path) => { inner.remove(path); },
    exists: (path) => inner.exists(path),
    removeTree: (path) => { inner.removeTree(path); },
    readText: (path) => inner.readText(path),
  };
}
