/**
 * Goal: a log whose persisted commit index runs past the entries on disk (committed entries lost in
 * a crash) fails to open with a clear message when fsync is on, and opens with the commit clamped to
 * the log (persisted, and reported as a durability violation) when fsync is skipped (test mode).
 * Method: real files and LMDB; commit ten entries, then cut the segment file after the fifth frame
 * behind the storage layer's back, as a power loss with a lying disk would.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LogManager } from '../../storage/index.js';
import { framePositions, segmentPaths } from '../helpers/segment_files.js';
import { entriesFrom, RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

const LOG = 'orders-0';

function openManager(directory: string, logger: RecordingLogger, fsyncSkipped: boolean): LogManager {
  return LogManager.open({ dataDirectory: directory, logger, fsyncSkipped });
}

describe('the commit index on opening a log that lost entries', () => {
  let directory: string;
  beforeEach(async () => {
    directory = temporaryDirectory('commit-bound');
    const manager = openManager(directory, new RecordingLogger(), false);
    const log = await manager.openLog(LOG);
    log.append(entriesFrom(1, 10, 3));
    await log.sync();
    await log.saveHardState({ term: 3, vote: 2, commit: 10 });
    await manager.close();
    const [segment] = segmentPaths(directory, LOG);
    const sixth = framePositions(segment!).find((frame) => frame.index === 6);
    assert.ok(sixth !== undefined);
    fs.truncateSync(segment!, sixth.position);
  });
  afterEach(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('fails loudly with fsync on', async () => {
    const manager = openManager(directory, new RecordingLogger(), false);
    try {
      await assert.rejects(manager.openLog(LOG), (error: unknown) => error instanceof Error
        && error.name === 'AssertionError'
        && /the persisted commit index 10 is beyond the last entry on disk \(5\)/.test(error.message));
    } finally {
      await manager.close();
    }
  });

  it('clamps the commit to the log and reports the violation with fsync skipped', async () => {
    const logger = new RecordingLogger();
    const manager = openManager(directory, logger, true);
    const log = await manager.openLog(LOG);
    assert.equal(log.lastIndex, 5);
    assert.deepEqual(log.hardState(), { term: 3, vote: 2, commit: 5 }, 'term and vote kept, commit clamped');
    const reported = logger.lines.filter((line) => line.level === 'error' && /DURABILITY VIOLATED/.test(line.message));
    assert.equal(reported.length, 1);
    assert.deepEqual(reported[0]?.object, { log: LOG, commit: 10, lastIndex: 5, lostEntries: 5 });
    await manager.close();
    // The clamp is persisted: even a normal open now finds a consistent log.
    const again = openManager(directory, new RecordingLogger(), false);
    assert.equal((await again.openLog(LOG)).hardState().commit, 5);
    await again.close();
  });
});
