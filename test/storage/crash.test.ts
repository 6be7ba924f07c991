/**
 * (d) A writer process killed with SIGKILL while appending in a loop: after each kill every entry it
 * reported durable is present and intact, and the log resumes cleanly. Then, to stand for power
 * loss of what was never synced, the test also cuts the last file at a random byte past the last
 * durable frame: nothing after the torn frame may be served.
 * Method: spawn crash_writer.js on 127.0.0.1-free local files, read its `durable N` lines, kill it
 * by PID after a bounded random delay, reopen in this process, verify, repeat with a seeded PRNG.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { SeededPrng } from '../../raft/core/index.js';
import { openManager, payloadIntact, RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';
import { framePositions, segmentPaths } from '../helpers/segment_files.js';

const writerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash_writer.js');
const LOG = 'crash-0';
const ROUNDS = 6;

/** A seeded generator, so a failing schedule can be replayed. */
function prng(seed: number): () => number {
  const generator = new SeededPrng(seed);
  return () => generator.nextFloat();
}

interface WriterRun { durableIndex: number; durableTerm: number; openedAt: number; truncations: number }

/** Runs the writer until it has reported some durable entries, then SIGKILLs it after `delayMs`. */
async function runAndKill(directory: string, delayMs: number, mode: 'plain' | 'power-loss' = 'plain'):
  Promise<WriterRun> {
  const child = spawn(process.execPath, [writerScript, directory, LOG, ...(mode === 'plain' ? [] : [mode])],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  assert.ok(pid !== undefined, 'the writer started');
  let durableIndex = 0;
  let durableTerm = 0;
  let openedAt = -1;
  let truncations = 0;
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (data: Buffer) => { stderr += data.toString(); });
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [word, value, term] = line.split(' ');
      if (word === 'durable' && Number(value) > durableIndex) {
        durableIndex = Number(value);
        durableTerm = Number(term);
      }
      if (word === 'opened') openedAt = Number(value);
      if (word === 'truncated') truncations += 1;
    }
  });
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve(); }); });
  const deadline = Date.now() + 20_000;
  while (durableIndex === 0 && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  process.kill(pid, 'SIGKILL');
  await exited;
  assert.ok(durableIndex > 0, `the writer reported durable entries (stderr: ${stderr})`);
  return { durableIndex, durableTerm, openedAt, truncations };
}

/** Cuts the last segment at a random byte after the last durable frame (power loss of unsynced data). */
function tearUnsyncedTail(directory: string, durableIndex: number, random: () => number): number | null {
  const last = segmentPaths(directory, LOG).at(-1)!;
  const frames = framePositions(last);
  const durableFrame = frames.find((frame) => frame.index === durableIndex);
  const size = fs.statSync(last).size;
  const safeEnd = durableFrame === undefined ? (frames[0]?.index ?? 0) > durableIndex ? 0 : null
    : durableFrame.position + durableFrame.frameBytes;
  if (safeEnd === null || safeEnd >= size) return null;
  const cutAt = safeEnd + Math.floor(random() * (size - safeEnd));
  fs.truncateSync(last, cutAt);
  return cutAt;
}

describe('Log crash safety', () => {
  const directory = temporaryDirectory('crash');
  after(() => { fs.rmSync(directory, { recursive: true, force: true }); });

  it('keeps every entry reported durable across SIGKILLs and torn tails', async () => {
    const seed = 20261125;
    const random = prng(seed);
    let previousDurable = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const run = await runAndKill(directory, Math.floor(random() * 150));
      assert.ok(run.openedAt >= previousDurable, `round ${round}: reopened at ${run.openedAt} < ${previousDurable}`);
      const tornAt = round % 2 === 1 ? tearUnsyncedTail(directory, run.durableIndex, random) : null;
      const logger = new RecordingLogger();
      const manager = openManager(directory, logger);
      const log = await manager.openLog(LOG);
      const context = `seed ${seed} round ${round}: durable ${run.durableIndex}, last ${log.lastIndex}, torn ${tornAt}`;
      assert.ok(log.lastIndex >= run.durableIndex, context);
      const entries = log.entries(1, log.lastIndex + 1);
      assert.equal(entries.length, log.lastIndex, context);
      for (const entry of entries) assert.ok(payloadIntact(entry), `${context}: entry ${entry.index} damaged`);
      let offset = 0;
      for (const entry of entries) {
        assert.equal(entry.baseOffset, offset, context);
        offset += entry.recordCount;
      }
      previousDurable = log.lastIndex;
      await manager.close();
    }
  });

  // Only the journal holds what was synced here: the segments themselves are fdatasynced only when
  // a journal file fills (every 64 KiB in this writer) or a segment rolls, so without its replay
  // the entries reported durable since then would be gone.
  it('keeps every entry reported durable across power losses, truncations and journal turnovers', async () => {
    const powerDirectory = temporaryDirectory('crash-power');
    try {
      const seed = 20261207;
      const random = prng(seed);
      let truncations = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        const run = await runAndKill(powerDirectory, 50 + Math.floor(random() * 250), 'power-loss');
        truncations += run.truncations;
        const logger = new RecordingLogger();
        const manager = openManager(powerDirectory, logger);
        const log = await manager.openLog(LOG);
        const context = `seed ${seed} round ${round}: durable ${run.durableIndex} (term ${run.durableTerm}), `
          + `last ${log.lastIndex}`;
        assert.ok(log.lastIndex >= run.durableIndex, context);
        // A truncated suffix brought back by the replay would show here as an older term.
        assert.equal(log.termAt(run.durableIndex), run.durableTerm, context);
        const entries = log.entries(1, log.lastIndex + 1);
        assert.equal(entries.length, log.lastIndex, context);
        for (const entry of entries) assert.ok(payloadIntact(entry), `${context}: entry ${entry.index} damaged`);
        assert.ok(logger.lines.some((line) => line.message === 'journal replayed'), `${context}: the journal was replayed`);
        await manager.close();
      }
      assert.ok(truncations > 0, 'the writers truncated their logs');
    } finally {
      fs.rmSync(powerDirectory, { recursive: true, force: true });
    }
  });
});
