/**
 * How busy the machine's cores were over a bench's measured part, and how much of their time the
 * hypervisor took for other guests (steal), from the first line of /proc/stat (Linux). On a shared
 * VM the same command's figures move with the host's load; printing both next to every result says
 * which runs can be compared.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Shares of all CPU time of the machine (every core) over the interval, each in [0, 1]. */
export interface HostCpuFigures {
  readonly cpus: number;
  /** Running anything: user, nice, system, irq and softirq time. */
  readonly busy: number;
  /** Taken by the hypervisor while this machine had work to run. */
  readonly steal: number;
}

/** The aggregate `cpu` line's counters, in clock ticks since boot. */
export interface CpuTimes {
  readonly busy: number;
  readonly steal: number;
  readonly total: number;
}

/** Parses the aggregate `cpu` line of /proc/stat; null when the text has none. */
export function parseCpuTimes(statText: string): CpuTimes | null {
  const line = /^cpu\s+([\d\s]+)$/m.exec(statText)?.[1];
  if (line === undefined) return null;
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    line.trim().split(/\s+/).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

/** The shares between two readings; null when no time passed. */
export function hostCpuBetween(before: CpuTimes, after: CpuTimes, cpus: number): HostCpuFigures | null {
  const total = after.total - before.total;
  if (!(total > 0)) return null;
  return { cpus, busy: (after.busy - before.busy) / total, steal: (after.steal - before.steal) / total };
}

function readCpuTimes(): CpuTimes | null {
  try {
    return parseCpuTimes(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null; // not Linux
  }
}

/** Started at the beginning of a measured part; stop() gives its figures, or null off Linux. */
export class HostCpuMeter {
  private readonly startedAt = readCpuTimes();

  stop(): HostCpuFigures | null {
    const now = readCpuTimes();
    return this.startedAt === null || now === null ? null : hostCpuBetween(this.startedAt, now, os.cpus().length);
  }
}

/** "2 CPUs 81% busy, steal 0.4%", as the bench prints it. */
export function formatHostCpu(figures: HostCpuFigures): string {
  return `${figures.cpus} CPUs ${(figures.busy * 100).toFixed(0)}% busy, steal ${(figures.steal * 100).toFixed(1)}%`;
}
