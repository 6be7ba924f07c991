/**
 * Where the machine's CPU went over a bench's measured part, per process (each local broker and the
 * bench itself), from /proc (Linux): each process's CPU over all its threads, and its main thread's
 * time running and waiting on the run queue for a core (/proc/<pid>/task/<pid>/schedstat). On two
 * cores shared by three brokers and the bench, a light load's latency is mostly the main threads'
 * wait for a core (docs/performance.md, "The floor under load"); printed next to every produce
 * result, that wait shows without a profiler.
 */
import fs from 'node:fs';

export interface ProcessCpuFigures {
  /** Cores the process used over the interval: all its threads, user and system time. */
  readonly cores: number;
  /** Cores' worth of time its main thread ran, and spent runnable but waiting for a core. */
  readonly mainRunning: number;
  readonly mainWaiting: number;
}

/** One reading of a process's counters. */
export interface ProcessCpuReading {
  /** utime + stime of every thread, in clock ticks. */
  readonly ticks: number;
  readonly mainRunNs: number;
  readonly mainWaitNs: number;
}

/** USER_HZ, the unit of /proc's tick counters: 100 on every Linux ABI Node runs on. */
const TICKS_PER_SECOND = 100;

/** utime + stime from /proc/<pid>/stat (fields 14 and 15); null when the text is not such a line. */
export function parseProcessTicks(statText: string): number | null {
  // The command name (field 2) is in parentheses and may hold spaces: count from its closing one.
  const close = statText.lastIndexOf(')');
  if (close < 0) return null;
  const fields = statText.slice(close + 2).trim().split(/\s+/); // fields[0] is field 3 (the state)
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isSafeInteger(utime) && Number.isSafeInteger(stime) ? utime + stime : null;
}

/** Time on a core and time waiting on a run queue from a schedstat line, in nanoseconds. */
export function parseSchedstat(text: string): { readonly runNs: number; readonly waitNs: number } | null {
  const [runNs, waitNs] = text.trim().split(/\s+/).map(Number);
  return runNs !== undefined && waitNs !== undefined && Number.isSafeInteger(runNs) && Number.isSafeInteger(waitNs)
    ? { runNs, waitNs } : null;
}

/** The figures between two readings `seconds` apart. */
export function processCpuBetween(before: ProcessCpuReading, after: ProcessCpuReading, seconds: number):
  ProcessCpuFigures {
  const nsPerSecond = 1e9;
  return { cores: (after.ticks - before.ticks) / TICKS_PER_SECOND / seconds,
    mainRunning: (after.mainRunNs - before.mainRunNs) / nsPerSecond / seconds,
    mainWaiting: (after.mainWaitNs - before.mainWaitNs) / nsPerSecond / seconds };
}

function readProcess(pid: number): ProcessCpuReading | null {
  try {
    const ticks = parseProcessTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const main = parseSchedstat(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8'));
    return ticks === null || main === null ? null : { ticks, mainRunNs: main.runNs, mainWaitNs: main.waitNs };
  } catch {
    return null; // not Linux, or the process is gone
  }
}

/** Started at the beginning of a measured part; stop() gives each process's figures, or null off Linux. */
export class ProcessCpuMeter {
  private readonly startedAt = performance.now();
  private readonly before = new Map<string, ProcessCpuReading>();

  /** pids: process id by the name to report it under ("broker 1", "bench"). */
  constructor(private readonly pids: ReadonlyMap<string, number>) {
    for (const [name, pid] of pids) {
      const reading = readProcess(pid);
      if (reading !== null) this.before.set(name, reading);
    }
  }

  stop(): Record<string, ProcessCpuFigures> | null {
    const seconds = (performance.now() - this.startedAt) / 1_000;
    const figures: Record<string, ProcessCpuFigures> = {};
    for (const [name, pid] of this.pids) {
      const before = this.before.get(name);
      const after = readProcess(pid);
      if (before === undefined || after === null || !(seconds > 0)) continue;
      figures[name] = processCpuBetween(before, after, seconds);
    }
    return Object.keys(figures).length === 0 ? null : figures;
  }
}

/** "broker 1 0.42 (0.29 / 0.40), ..., bench 0.33 (0.30 / 0.33)": cores, then the main thread's run / wait. */
export function formatProcessCpu(figures: Readonly<Record<string, ProcessCpuFigures>>): string {
  return Object.entries(figures).map(([name, f]) =>
    `${name} ${f.cores.toFixed(2)} (${f.mainRunning.toFixed(2)} / ${f.mainWaiting.toFixed(2)})`).join(', ');
}
