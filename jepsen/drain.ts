/**
 * The final drain (Jepsen's final-polls): on the healed cluster, fresh consumers assign every key
 * ever used, seek to the beginning and poll until each key is read up to its target: the highest
 * offset seen during the run, or the partition's high watermark - 1 if that is higher (so that
 * records of `info` sends are read too). Bounded in time; the summary says what was not reached.
 * Drain operations are ordinary history events marked final: true. Last, a `log-ends` operation
 * records each key's high watermark as its leader reports it then: the end of the committed log, so
 * the checkers can tell a record missing at the tail from one the drain had no time to reach.
 */
import type { Admin } from '../src/client/index.js';
import type { ClientOptions } from './client.js';
import { withTimeout } from './client.js';
import { openSession } from './sessions.js';
import type { HistoryRecorder } from './history.js';
import { topicOfKey } from './history.js';
import type { KeyOffsets } from './workload.js';

const POLL_TIMEOUT_MS = 500;
const HIGH_WATERMARK_WAIT_MS = 10_000;
/** The log ends are read twice this far apart and the higher kept (a leader just elected may lag). */
const LOG_END_REREAD_MS = 500;

export interface DrainContext {
  readonly history: HistoryRecorder;
  readonly admin: Admin;
  readonly offsets: KeyOffsets;
  readonly client: ClientOptions;
  readonly nextProcess: () => number;
  readonly consumers: number;
}

export interface DrainResult {
  readonly complete: boolean;
  /** One paragraph for meta.json and the console. */
  readonly text: string;
}

/** Each key's target offset: the highest seen, or the high watermark - 1 when the leader says more. */
export async function drainTargets(admin: Admin, offsets: KeyOffsets, keys: readonly number[]):
  Promise<Map<number, number>> {
  const targets = new Map<number, number>();
  await Promise.all(keys.map(async (key) => {
    const { topic, partition } = topicOfKey(key);
    let highWatermark = 0;
    try {
      highWatermark = await withTimeout(admin.listOffset(topic, partition, 'latest'), HIGH_WATERMARK_WAIT_MS);
    } catch {
      // Unknown: the offsets seen during the run are the target.
    }
    targets.set(key, Math.max(offsets.highestOf(key), highWatermark - 1));
  }));
  return targets;
}

/** One drain consumer: reads its keys from the beginning until each reaches its target or time is up. */
async function drainKeys(context: DrainContext, keys: readonly number[], targets: ReadonlyMap<number, number>,
  deadlineMs: number): Promise<number[]> {
  const { history } = context;
  const session = openSession(context.nextProcess(), context.client);
  // A key with nothing to read (target -1) is never behind; the others until read past their target.
  const behind = (): number[] => keys.filter((key) => {
    const target = targets.get(key) ?? -1;
    return target >= 0 && session.positionOf(key) <= target;
  });
  try {
    const process = session.process;
    const value = { keys: [...keys], seekToBeginning: true };
    history.record({ process, type: 'invoke', f: 'assign', value, final: true });
    session.assign(keys, true);
    history.record({ process, type: 'ok', f: 'assign', value, final: true });
    while (behind().length > 0 && Date.now() < deadlineMs) {
      history.record({ process, type: 'invoke', f: 'poll', value: {}, final: true });
      const outcome = await session.poll(POLL_TIMEOUT_MS);
      if (outcome.type === 'fail') {
        history.record({ process, type: 'fail', f: 'poll', value: {}, error: outcome.error, final: true });
        continue;
      }
      for (const [key, records] of Object.entries(outcome.records)) {
        for (const [offset] of records) context.offsets.observe(Number(key), offset);
      }
      history.record({ process, type: 'ok', f: 'poll', value: { records: outcome.records }, final: true });
    }
    return behind();
  } finally {
    await session.close();
  }
}

/** Each key's high watermark now, or nothing for a key whose leader does not answer in time. */
async function highWatermarks(admin: Admin, keys: readonly number[]): Promise<Map<number, number>> {
  const ends = new Map<number, number>();
  await Promise.all(keys.map(async (key) => {
    const { topic, partition } = topicOfKey(key);
    try {
      ends.set(key, await withTimeout(admin.listOffset(topic, partition, 'latest'), HIGH_WATERMARK_WAIT_MS));
    } catch {
      // Unknown: the checkers judge this key by what the drain read alone.
    }
  }));
  return ends;
}

/** Records the `log-ends` operation: each key's end of log once the drain is over. */
async function recordLogEnds(context: DrainContext, keys: readonly number[]): Promise<void> {
  const process = context.nextProcess();
  context.history.record({ process, type: 'invoke', f: 'log-ends', value: {}, final: true });
  const first = await highWatermarks(context.admin, keys);
  await new Promise((resolve) => setTimeout(resolve, LOG_END_REREAD_MS));
  const second = await highWatermarks(context.admin, keys);
  const ends: Record<string, number> = {};
  for (const key of keys) {
    const end = Math.max(first.get(key) ?? -1, second.get(key) ?? -1);
    if (end >= 0) ends[String(key)] = end;
  }
  context.history.record({ process, type: 'ok', f: 'log-ends', value: { ends }, final: true });
}

export async function drain(context: DrainContext, keys: readonly number[], timeMs: number): Promise<DrainResult> {
  const startedMs = Date.now();
  const deadlineMs = startedMs + timeMs;
  const targets = await drainTargets(context.admin, context.offsets, keys);
  const groups: number[][] = Array.from({ length: Math.max(1, Math.min(context.consumers, keys.length)) }, () => []);
  keys.forEach((key, i) => { groups[i % groups.length]?.push(key); });
  const behind = (await Promise.all(groups.filter((group) => group.length > 0)
    .map((group) => drainKeys(context, group, targets, deadlineMs)))).flat().sort((a, b) => a - b);
  await recordLogEnds(context, keys);
  const seconds = ((Date.now() - startedMs) / 1000).toFixed(1);
  if (behind.length === 0) {
    return { complete: true, text: `drained ${keys.length} keys to their highest offsets in ${seconds} s` };
  }
  const detail = behind.map((key) => `${key} (target ${targets.get(key) ?? -1})`).join(', ');
  return { complete: false, text: `drain gave up after ${seconds} s; keys not read to their target: ${detail}` };
}
