/**
 * The group workload's final drain: on the healed cluster, fresh members of the same group (so
 * they resume at the group's committed offsets, which is what is being checked) poll, process and
 * commit until every key has been processed up to its target (drain.ts's: the highest offset seen,
 * or the high watermark - 1), then leave; last, the group's committed offsets are read once
 * (a `committed` operation). Bounded in time; every event is marked final: true.
 */
import type { Admin } from '../../src/client/index.js';
import { withTimeout } from '../client.js';
import type { DrainResult } from '../drain.js';
import { drainTargets } from '../drain.js';
import type { KeyOffsetMap } from '../history.js';
import { keyOf } from '../history.js';
import type { KeyOffsets } from '../workload.js';
import type { GroupSettings } from './group_worker.js';
import { memberConfig, offsetsAfter, rebalanceValue, requestBoundMs } from './group_worker.js';
import type { MemberHandleContext } from './member_handle.js';
import { MemberHandle } from './member_handle.js';

const POLL_TIMEOUT_MS = 500;
const ADMIN_WAIT_MS = 10_000;
const CLOSE_BOUND_MS = 15_000;

export interface GroupDrainContext extends Omit<MemberHandleContext, 'final'> {
  readonly admin: Admin;
  readonly settings: GroupSettings;
  readonly offsets: KeyOffsets;
  readonly members: number;
}

/** The group's committed offsets by key, as the coordinator answers them now. */
async function committedOffsets(admin: Admin, groupId: string): Promise<Map<number, number>> {
  const described = await withTimeout(admin.describeGroup(groupId), ADMIN_WAIT_MS);
  const committed = new Map<number, number>();
  for (const p of described.partitions) {
    const key = keyOf(p.topic, p.partition);
    if (key !== null && p.committedOffset !== null) committed.set(key, p.committedOffset);
  }
  return committed;
}

/** One drain member slot: polls, processes and commits until nothing is behind or time is up. */
async function drainMember(context: GroupDrainContext, behind: Set<number>, targets: ReadonlyMap<number, number>,
  deadlineMs: number): Promise<void> {
  const { history, settings } = context;
  const member = await MemberHandle.start(memberConfig(settings, context.nextProcess(), null, 'after'),
    { ...context, final: true }).catch(() => null);
  if (member === null) return;
  try {
    while (behind.size > 0 && Date.now() < deadlineMs && member.alive) {
      const process = member.process;
      history.record({ process, type: 'invoke', f: 'poll', value: {}, final: true });
      const reply = await member.poll(POLL_TIMEOUT_MS, requestBoundMs(settings));
      if (!reply.ok || reply.poll === undefined) {
        history.record({ process, type: 'info', f: 'poll', value: reply.poll === undefined ? {} : rebalanceValue(reply.poll),
          error: reply.ok ? 'no poll result' : reply.error, final: true });
        member.kill();
        return;
      }
      const { records } = reply.poll;
      history.record({ process, type: 'ok', f: 'poll', value: { records, ...rebalanceValue(reply.poll) }, final: true });
      for (const [key, read] of Object.entries(records)) {
        for (const [offset] of read) context.offsets.observe(Number(key), offset);
        const last = read.at(-1);
        if (last !== undefined && last[0] >= (targets.get(Number(key)) ?? -1)) behind.delete(Number(key));
      }
      if (Object.keys(records).length > 0) await commit(context, member, offsetsAfter(records));
    }
  } finally {
    await member.close(CLOSE_BOUND_MS);
    await member.exit();
  }
}

async function commit(context: GroupDrainContext, member: MemberHandle, offsets: KeyOffsetMap): Promise<void> {
  const process = context.nextProcess();
  context.history.record({ process, type: 'invoke', f: 'commit', value: { member: member.process, reason: 'processed',
    offsets }, final: true });
  const reply = await member.commit(offsets, requestBoundMs(context.settings));
  context.history.record({ process, type: reply.ok ? 'ok' : 'info', f: 'commit', value: null,
    ...(reply.ok ? {} : { error: reply.error }), final: true });
}

/** Reads the committed offsets once, as a `committed` operation. */
async function readCommitted(context: GroupDrainContext): Promise<Map<number, number> | null> {
  const process = context.nextProcess();
  context.history.record({ process, type: 'invoke', f: 'committed', value: {}, final: true });
  try {
    const committed = await committedOffsets(context.admin, context.settings.groupId);
    const offsets: Record<string, number> = {};
    for (const [key, offset] of committed) offsets[String(key)] = offset;
    context.history.record({ process, type: 'ok', f: 'committed', value: { offsets }, final: true });
    return committed;
  } catch (error) {
    context.history.record({ process, type: 'fail', f: 'committed', value: {}, final: true,
      error: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

export async function drainGroup(context: GroupDrainContext, keys: readonly number[], timeMs: number):
  Promise<DrainResult> {
  const startedMs = Date.now();
  const deadlineMs = startedMs + timeMs;
  const targets = await drainTargets(context.admin, context.offsets, keys);
  // Keys with nothing to read, and keys the group has already committed past their target, are done.
  const committedBefore = await committedOffsets(context.admin, context.settings.groupId)
    .catch(() => new Map<number, number>());
  const behind = new Set(keys.filter((key) => {
    const target = targets.get(key) ?? -1;
    return target >= 0 && (committedBefore.get(key) ?? 0) <= target;
  }));
  const slots = Math.max(1, Math.min(context.members, behind.size));
  // A member that died is replaced until the deadline.
  await Promise.all(Array.from({ length: slots }, async () => {
    while (behind.size > 0 && Date.now() < deadlineMs) await drainMember(context, behind, targets, deadlineMs);
  }));
  const committed = await readCommitted(context);
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  const short = keys.filter((key) => (targets.get(key) ?? -1) >= 0
    && (committed === null || (committed.get(key) ?? 0) <= (targets.get(key) ?? -1)));
  if (behind.size === 0 && short.length === 0) {
    return { complete: true, text: `the group processed and committed ${keys.length} keys to their highest offsets in ${seconds} s` };
  }
  const detail = [...new Set([...behind, ...short])].sort((a, b) => a - b)
    .map((key) => `${key} (target ${targets.get(key) ?? -1}, committed ${committed?.get(key) ?? 'unknown'})`).join(', ');
  return { complete: false, text: `drain gave up after ${seconds} s; keys not processed and committed to their target: ${detail}` };
}
