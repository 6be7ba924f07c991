/**
 * A test-only FileIo whose datasyncs do nothing (the harness's positive control): appends are
 * acknowledged as durable while they sit in the page cache, so a power loss, or a process crash
 * under PowerLossFileIo, loses acknowledged data. Directory syncs stay real: they make new segment
 * names durable, which this mode is not about.
 */
import type { FileIo } from './file_io.js';

export function withoutFsync(inner: FileIo): FileIo {
  return {
    ...inner,
    datasync: () => Promise.resolve(),
    datasyncNow: () => undefined,
  };
}
