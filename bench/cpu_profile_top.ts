/**
 * Summarises V8 CPU profiles (node --cpu-prof, or `bench --broker-cpu-prof-dir`) as text: the
 * functions with the most self time, as a share of all samples. Used to write down where the
 * produce and fetch paths spend their time, as figures rather than profile files.
 * Usage: node dist/bench/cpu_profile_top.js FILE.cpuprofile [FILE...] [--top N]
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function nameOf(node: ProfileNode): string {
  const frame = node.callFrame;
  const file = frame.url === '' ? '' : ` ${path.basename(frame.url)}:${frame.lineNumber + 1}`;
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${file}`;
}

export function selfTimeByFunction(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const micros = profile.timeDeltas[i] ?? 0;
    if (node !== undefined) totals.set(nameOf(node), (totals.get(nameOf(node)) ?? 0) + micros);
  });
  return totals;
}

function main(): void {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 20;
  const files = topAt >= 0 ? args.filter((_, i) => i !== topAt && i !== topAt + 1) : args;
  for (const file of files) {
    const totals = selfTimeByFunction(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
    const all = [...totals.values()].reduce((sum, micros) => sum + micros, 0);
    const idle = totals.get('(idle)') ?? 0;
    process.stdout.write(`${path.basename(file)}: ${(all / 1e6).toFixed(1)} s sampled, ` +
      `${(100 * (all - idle) / all).toFixed(0)}% busy\n`);
    for (const [name, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`  ${(100 * micros / all).toFixed(1).padStart(5)}%  ${(micros / 1e3).toFixed(0).padStart(6)} ms  ${name}\n`);
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
