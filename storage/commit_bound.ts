/**
 * On opening a log, the persisted commit index may run past the entries on disk: committed entries
 * were lost (a damaged segment tail, or, in test modes, writes that never reached the disk).
 *
 * With real fsyncs the stored commit is left as it is: it is the durable record that this replica
 * lost entries it had acknowledged. Log.recoveredHardState() reports it, and the replica keeps out
 * of elections until a leader has restored those entries (InitialState.recoveringThrough).
 *
 * With fsyncs skipped (a test mode, the fault harness's positive control) a whole cluster may have
 * lost data together, and waiting for a peer that still holds it would wait forever: the commit is
 * clamped to the log and persisted, and the violation logged, so the brokers come back and the
 * harness observes the lost data instead of a cluster that never elects a leader.
 */
import type { LogContext } from './log_context.js';

export async function boundCommitByLog(context: LogContext, lastIndex: number): Promise<void> {
  const state = context.hardStates.load(context.logId);
  if (context.fsyncSkipped !== true) return;
  if (state.commit > lastIndex) {
    context.logger.error({ log: context.name, commit: state.commit, lastIndex, lostEntries: state.commit - lastIndex },
      'DURABILITY VIOLATED (fsync is off): committed entries were lost in a crash; clamping the commit index to the log');
    await context.hardStates.save(context.logId, { ...state, commit: lastIndex });
  }
  // After the clamp: the high water never goes below the stored commit.
  await context.hardStates.lowerHighWater(context.logId, lastIndex);
}
