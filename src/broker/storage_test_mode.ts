/**
 * Test-only storage modes for the fault harness; never for production, and the broker says so
 * loudly at start. They swap the FileIo under the broker's segment files:
 *  - powerLoss: bytes written since a file's last datasync stay in process memory
 *    (storage/PowerLossFileIo), so a kill -9 loses exactly them, as a power loss would;
 *  - fsync off: datasyncs are skipped, so writes are acknowledged before they are durable. With
 *    powerLoss too, unsynced bytes reach the files only by a simulated OS write-back every
 *    writebackMs, so a kill -9 loses up to that much acknowledged data: the harness's positive control.
 * LMDB is not covered: state.lmdb syncs itself, and index.lmdb is derived and checked on recovery.
 */
import { assert } from '../../raft/core/assert.js';
import { PowerLossFileIo, nodeFileIo, withoutFsync } from '../../storage/index.js';
import type { FileIo } from '../../storage/index.js';

export interface StorageTestMode {
  readonly powerLoss: boolean;
  readonly fsync: boolean;
  /** With powerLoss and fsync off: how often the simulated OS writes unsynced bytes to the files. */
  readonly writebackMs: number;
}

export interface StorageTestIo {
  readonly io: FileIo;
  /** Whether a crash may lose committed entries (storage then clamps the commit instead of failing). */
  readonly fsyncSkipped: boolean;
  /** What the broker warns about at start. */
  readonly warning: string;
  /** Stops the simulated write-back (after the logs are closed: closing hands their bytes to the files). */
  stop(): void;
}

export function openStorageTestIo(mode: StorageTestMode): StorageTestIo {
  assert(mode.powerLoss || !mode.fsync, 'a storage test mode needs power loss or fsync off');
  if (!mode.powerLoss) {
    return { io: withoutFsync(nodeFileIo), fsyncSkipped: true, stop: () => undefined, warning: 'TEST MODE '
      + 'TRIBUTARY_TEST_FSYNC=off: fsync is skipped, acknowledged writes are NOT durable against power loss. Never '
      + 'use this in production.' };
  }
  const io = new PowerLossFileIo(nodeFileIo, { fsync: mode.fsync });
  if (mode.fsync) {
    return { io, fsyncSkipped: false, stop: () => undefined, warning: 'TEST MODE TRIBUTARY_TEST_POWER_LOSS=1: '
      + 'unsynced segment bytes are held in process memory, so a kill -9 acts as a power loss. Never use this in '
      + 'production.' };
  }
  if (!Number.isSafeInteger(mode.writebackMs) || mode.writebackMs < 1) {
    throw new RangeError(`the write-back interval must be a positive integer, got ${mode.writebackMs}`);
  }
  const timer = setInterval(() => { io.writeBack(); }, mode.writebackMs);
  timer.unref();
  return { io, fsyncSkipped: true, stop: () => { clearInterval(timer); }, warning: 'TEST MODE '
    + 'TRIBUTARY_TEST_POWER_LOSS=1 TRIBUTARY_TEST_FSYNC=off: fsync is skipped and unsynced segment bytes stay in '
    + `process memory for up to ${mode.writebackMs} ms: a kill -9 LOSES ACKNOWLEDGED DATA. Never use this in production.` };
}
