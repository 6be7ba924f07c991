/**
 * The largest resident set of some processes over a run, sampled from /proc/<pid>/status (Linux):
 * the memory target is about each broker's RSS while producers flood it.
 */
import fs from 'node:fs';

const SAMPLE_EVERY_MS = 250;
const KIB = 1024;

function residentBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) * KIB;
  } catch {
    return null;
  }
}

export class ResidentSetSampler {
  private readonly maxBytes = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  /** pids: process id by a name to report it under (the broker id). */
  constructor(private readonly pids: ReadonlyMap<number, number>) {
    this.timer = setInterval(() => { this.sample(); }, SAMPLE_EVERY_MS);
    this.sample();
  }

  /** Stops sampling; the largest RSS seen per name, in MiB. */
  stop(): Record<string, number> {
    clearInterval(this.timer);
    this.sample();
    return Object.fromEntries([...this.maxBytes].map(([name, bytes]) => [String(name), bytes / 2 ** 20]));
  }

  private sample(): void {
    for (const [name, pid] of this.pids) {
      const bytes = residentBytes(pid);
      if (bytes !== null) this.maxBytes.set(name, Math.max(bytes, this.maxBytes.get(name) ?? 0));
    }
  }
}
