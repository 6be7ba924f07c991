/**
 * On opening a log, the persisted commit index must not run past the entries on disk. A host saves
 * a commit index only after the entries it covers are durable, so with real fsyncs a shorter log
 * means acknowledged, committed entries were lost: the disk lied or the files were damaged, and the
 * replica must not serve or vote as if it still held them. That fails loudly.
 *
 * With fsyncs skipped (a test mode, the fault harness's positive control) such a loss is the
 * expected outcome of a crash: the commit index is clamped to the log and persisted, and the
 * violation logged, so the broker comes back and the harness can observe the lost data instead of
 * a crash loop.
 */
import { assert } from '../raft/core/assert.js';
import type { LogContext } from './log_context.js';

export async function boundCommitByLog(context: LogContext, lastIndex: number): Promise<void> {
  const state = context.hardStates.load(context.logId);
  if (state.commit <= lastIndex) return;
  assert(context.fsyncSkipped === true, () => `log ${context.name}: the persisted commit index ${state.commit} is `
    + `beyond the last entry on disk (${lastIndex}): committed entries that were synced are gone (a datasync that `
    + 'did not persist, or damaged segment files); refusing to run on a log that lost acknowledged data');
  context.logger.error({ log: context.name, commit: state.commit, lastIndex, lostEntries: state.commit - lastIndex },
    'DURABILITY VIOLATED (fsync is off): committed entries were lost in a crash; clamping the commit index to the log');
  await context.hardStates.save(context.logId, { ...state, commit: lastIndex });
}
