/**
 * Lines up the brokers' event traces (TRIBUTARY_TRACE_DIR, src/common/event_trace.ts) into where
 * an acks=all write spends its time, stage by stage, as p50 / p90 / p99 over every write traced
 * (and each stage's mean over the slowest 1% of writes):
 *
 *   request -> propose          the Produce request decoded, checked and proposed (leader)
 *   propose -> Ready            until the leader's Raft group hands out the entry
 *   leader persist              its append and fdatasync
 *   hop to follower             the AppendEntries over ZeroMQ (the first follower to receive it)
 *   follower wait               until the follower's group takes it (a persist of its own in the way)
 *   follower persist            the follower's append and fdatasync
 *   hop back                    its response over ZeroMQ to the leader
 *   response -> applied         the leader commits and applies the entry
 *   applied -> reply            the reply handed to the client socket
 *   propose -> reply            the whole, on the leader
 *
 * Each stage is matched to the next event of its kind in the same process and group, and the
 * follower is the one whose response reached the leader first, so figures are exact with one
 * write in flight and approximate under load (writes of one partition overlap).
 * Usage: node dist/bench/trace_breakdown.js DIR
 */
import fs from 'node:fs';
import path from 'node:path';

interface TraceEvent { readonly ms: number; readonly pid: string; readonly what: string }

/** Sorted times per "pid group kind" key, and the next one after a time. */
class Timeline {
  private readonly times = new Map<string, number[]>();

  add(key: string, ms: number): void {
    const list = this.times.get(key);
    if (list === undefined) this.times.set(key, [ms]);
    else list.push(ms);
  }

  keys(): IterableIterator<string> {
    return this.times.keys();
  }

  all(key: string): readonly number[] {
    return this.times.get(key) ?? [];
  }

  /** The first time after afterMs. */
  next(key: string, afterMs: number): number | undefined {
    const list = this.times.get(key);
    return list?.[firstAfter(list, afterMs)];
  }

  /** The last time at or before atMs. */
  previous(key: string, atMs: number): number | undefined {
    const list = this.times.get(key);
    return list?.[firstAfter(list, atMs) - 1];
  }
}

function firstAfter(list: readonly number[], ms: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((list[middle] ?? 0) <= ms) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function readTraces(directory: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const file of fs.readdirSync(directory).filter((name) => /^trace-\d+\.txt$/.test(name))) {
    for (const line of fs.readFileSync(path.join(directory, file), 'utf8').split('\n')) {
      const match = /^(\d+\.\d+) (\d+) (.*)$/.exec(line);
      if (match !== null) events.push({ ms: Number(match[1]), pid: match[2] ?? '', what: match[3] ?? '' });
    }
  }
  return events.sort((a, b) => a.ms - b.ms);
}

function timelineOf(events: readonly TraceEvent[]): Timeline {
  const timeline = new Timeline();
  for (const { ms, pid, what } of events) {
    if (what === 'request' || what === 'reply') {
      timeline.add(`${pid} - ${what}`, ms);
      continue;
    }
    if (what.startsWith('deliver ')) {
      for (const item of what.slice('deliver '.length).split(',')) {
        const [group, type] = item.split(':');
        timeline.add(`${pid} ${group} in:${type}`, ms);
      }
      continue;
    }
    const ready = /^(g\d+) ready entries=(\d+) committed=(\d+) send=(.*)$/.exec(what);
    if (ready !== null) {
      const [, group, entries, committed, sent] = ready;
      if (Number(entries) > 0) timeline.add(`${pid} ${group} ready-entries`, ms);
      if (Number(committed) > 0) timeline.add(`${pid} ${group} ready-committed`, ms);
      if (sent?.includes('append_response') === true) timeline.add(`${pid} ${group} ready-response`, ms);
      continue;
    }
    const step = /^(g\d+) (propose|persisted|applied)$/.exec(what);
    if (step !== null) timeline.add(`${pid} ${step[1]} ${step[2]}`, ms);
  }
  return timeline;
}

export const STAGES = ['request -> propose', 'propose -> Ready', 'leader persist', 'hop to follower',
  'follower wait', 'follower persist', 'hop back', 'response -> applied', 'applied -> reply',
  'propose -> reply'] as const;

/** Each traced write's stage durations (ms), in STAGES order. */
export function breakdown(events: readonly TraceEvent[]): number[][] {
  const timeline = timelineOf(events);
  const pids = [...new Set(events.map((event) => event.pid))];
  const rows: number[][] = [];
  for (const key of timeline.keys()) {
    const [pid, group, kind] = key.split(' ');
    // Group 0 is the controller: its proposals are the brokers' own, not produced records.
    if (kind !== 'propose' || pid === undefined || group === undefined || group === 'g0') continue;
    const at = (what: string, afterMs: number | undefined, where = pid): number | undefined =>
      afterMs === undefined ? undefined : timeline.next(`${where} ${group} ${what}`, afterMs);
    for (const proposed of timeline.all(key)) {
      const readyMs = at('ready-entries', proposed - 1e-6);
      const leaderPersisted = at('persisted', readyMs);
      let fastest: { hop: number; wait: number; persist: number; back: number; backMs: number } | undefined;
      for (const follower of pids.filter((other) => other !== pid)) {
        const received = at('in:append_request', readyMs, follower);
        const taken = at('ready-entries', received === undefined ? undefined : received - 1e-6, follower);
        const persisted = at('persisted', taken, follower);
        const responded = at('ready-response', persisted === undefined ? undefined : persisted - 1e-6, follower);
        const back = at('in:append_response', responded);
        if (readyMs === undefined || received === undefined || taken === undefined || persisted === undefined
          || responded === undefined || back === undefined) continue;
        if (fastest === undefined || back < fastest.backMs) {
          fastest = { hop: received - readyMs, wait: taken - received, persist: persisted - taken,
            back: back - responded, backMs: back };
        }
      }
      const applied = at('applied', fastest?.backMs);
      const reply = applied === undefined ? undefined : timeline.next(`${pid} - reply`, applied);
      const request = timeline.previous(`${pid} - request`, proposed);
      if (readyMs === undefined || leaderPersisted === undefined || fastest === undefined || applied === undefined
        || reply === undefined || request === undefined) continue;
      rows.push([proposed - request, readyMs - proposed, leaderPersisted - readyMs, fastest.hop, fastest.wait,
        fastest.persist, fastest.back, applied - fastest.backMs, reply - applied, reply - proposed]);
    }
  }
  return rows;
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

/** Each stage's mean over the writes whose whole time (the last stage) is at or above its p99: where a tail goes. */
export function tailMeans(rows: readonly (readonly number[])[]): number[] {
  const total = STAGES.length - 1;
  const threshold = percentile(rows.map((row) => row[total] ?? 0), 0.99);
  const tail = rows.filter((row) => (row[total] ?? 0) >= threshold);
  return STAGES.map((_, i) => tail.reduce((sum, row) => sum + (row[i] ?? 0), 0) / Math.max(1, tail.length));
}

function main(): void {
  const directory = process.argv[2];
  if (directory === undefined) throw new Error('usage: node dist/bench/trace_breakdown.js DIR');
  const rows = breakdown(readTraces(directory));
  const tail = tailMeans(rows);
  process.stdout.write(`${rows.length} writes traced\n${'stage'.padEnd(22)} p50 ms   p90 ms   p99 ms`
    + '   mean in the slowest 1%\n');
  STAGES.forEach((stage, i) => {
    const column = rows.map((row) => row[i] ?? 0);
    const cells = [percentile(column, 0.5), percentile(column, 0.9), percentile(column, 0.99), tail[i] ?? 0];
    process.stdout.write(`${stage.padEnd(22)} ${cells.map((ms) => ms.toFixed(2).padStart(6)).join('   ')}\n`);
  });
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
