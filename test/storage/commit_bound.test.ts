/**
 * Goal: a log whose persisted commit index runs past the entries on disk (committed entries lost in
 * a crash or a damaged tail) keeps that commit as a durable mark of the loss when fsync is on (the
 * replica recovers the entries from peers before it votes), and opens with the commit clamped to the
 * log (persisted, and reported as a durability violation) when fsync is skipped (test mode).
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

  it('with fsync on, keeps the stored commit as the mark of lost entries until they are back', async () => {
    const logger = new RecordingLogger();
    let manager = openManager(directory, logger, false);
    let log = await manager.openLog(LOG);
    assert.equal(log.lastIndex, 5);
    assert.deepEqual(log.recoveredHardState(), { hardState: { term: 3, vote: 2, commit: 5 }, lostThrough: 10 });
    assert.ok(logger.lines.some((line) => line.level === 'error' && /lost entries it had made durable/.test(line.message)));
    // A new term and vote are saved, but the mark survives them and a restart.
    await log.saveHardState({ term: 4, vote: 1, commit: 5 });
    await manager.close();
    manager = openManager(directory, new RecordingLogger(), false);
    log = await manager.openLog(LOG);
    assert.deepEqual(log.recoveredHardState(), { hardState: { term: 4, vote: 1, commit: 5 }, lostThrough: 10 });
    // Once a leader has brought the entries back, the commit is saved as usual again.
    log.append(entriesFrom(6, 5, 4));
    await log.sync();
    await log.saveHardState({ term: 4, vote: 1, commit: 10 });
    assert.deepEqual(log.recoveredHardState(), { hardState: { term: 4, vote: 1, commit: 10 }, lostThrough: null });
    await manager.close();
  });

  it('also marks durable entries above the commit as lost, and forgets entries a Raft conflict removed', async () => {
    let manager = openManager(directory, new RecordingLogger(), false);
    let log = await manager.openLog(LOG);
    log.append(entriesFrom(6, 10, 3));
    await log.sync();
    await log.saveHardState({ term: 3, vote: 2, commit: 8 });
    await manager.close();
    const segment = segmentPaths(directory, LOG)[0]!;
    fs.truncateSync(segment, framePositions(segment).find((frame) => frame.index === 13)!.position);
    manager = openManager(directory, new RecordingLogger(), false);
    log = await manager.openLog(LOG);
    assert.equal(log.lastIndex, 12);
    assert.deepEqual(log.recoveredHardState(), { hardState: { term: 3, vote: 2, commit: 8 }, lostThrough: 15 },
      'entries 13-15 were durable when the hard state was saved: they may have been acknowledged');
    // Entries 10-15 give way to a new leader's: that loss is Raft's own, not damage.
    log.append(entriesFrom(13, 3, 3));
    await log.sync();
    await log.truncateSuffix(10);
    await manager.close();
    manager = openManager(directory, new RecordingLogger(), false);
    log = await manager.openLog(LOG);
    assert.deepEqual(log.recoveredHardState(), { hardState: { term: 3, vote: 2, commit: 8 }, lostThrough: null });
    await manager.close();
  });

  it('clamps the commit to the log and reports the violation with fsync skipped', async () => {
    const logger = new RecordingLogger();
    const manager = openManager(directory, logger, true);
    const log = await manager.openLog(LOG);
    assert.equal(log.lastIndex, 5);
    assert.deepEqual(log.hardState(), { term: 3, vote: 2, commit: 5 }, 'term and vote kept, commit clamped');
    assert.equal(log.recoveredHardState().lostThrough, null, 'nothing to recover: the loss is accepted');
    const reported = logger.lines.filter((line) => line.level === 'error' && /DURABILITY VIOLATED/.test(line.message));
    assert.equal(reported.length, 1);
    assert.deepEqual(reported[0]?.object, { log: LOG, commit: 10, lastIndex: 5, lostEntries: 5 });
    await manager.close();
    // The clamp is persisted: even a normal open now finds a consistent log.
    const again = openManager(directory, new RecordingLogger(), false);
    const reopened = await again.openLog(LOG);
    assert.deepEqual(reopened.recoveredHardState(), { hardState: { term: 3, vote: 2, commit: 5 }, lostThrough: null });
    await again.close();
  });
});
