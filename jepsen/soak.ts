/**
 * `npm run jepsen -- --soak N`: N runs back to back on seeds seed, seed + 1, ..., each in its own
 * folder (<out>/seed-<seed>), then one table of verdicts, operations and faults. The exit code is
 * the worst run's: 1 if any found an anomaly, else 2 if any was unknown or failed, else 0.
 */
import path from 'node:path';
import type { RunOptions } from './options.js';
import type { RunOutcome } from './run.js';

export interface SoakRow {
  readonly seed: number;
  /** The run's outcome, or the harness error that ended it. */
  readonly outcome: RunOutcome | { readonly error: string };
}

/** The options of the soak's i-th run. */
export function soakRunOptions(options: RunOptions, i: number): RunOptions {
  const seed = options.seed + i;
  return { ...options, seed, soak: 1, out: path.join(options.out, `seed-${seed}`) };
}

/** 1 if any run found an anomaly, else 2 if any was unknown or ended in an error, else 0. */
export function soakExitCode(rows: readonly SoakRow[]): 0 | 1 | 2 {
  const codes = rows.map((row) => ('error' in row.outcome ? 2 : row.outcome.exitCode));
  if (codes.includes(1)) return 1;
  return codes.includes(2) ? 2 : 0;
}

/** One line per run, then the totals: what a soak is cited by. */
export function soakTable(rows: readonly SoakRow[]): string {
  const lines = ['seed\tverdict\tsends ok/info\tpolls ok\tfaults\tanomalies\tfolder'];
  let sendsOk = 0;
  let faults = 0;
  for (const { seed, outcome } of rows) {
    if ('error' in outcome) {
      lines.push(`${seed}\terror\t-\t-\t-\t${outcome.error}\t-`);
      continue;
    }
    const { verdict } = outcome;
    sendsOk += verdict.stats.sends.ok;
    faults += outcome.faults.started;
    const families = Object.entries(outcome.faults.byFamily).map(([family, n]) => `${family} ${n}`).join(', ');
    lines.push([seed, String(verdict.valid), `${verdict.stats.sends.ok}/${verdict.stats.sends.info}`,
      verdict.stats.polls.ok, `${outcome.faults.started} (${families})`,
      verdict.anomalyTypes.length === 0 ? '-' : verdict.anomalyTypes.join(','), outcome.folder].join('\t'));
  }
  const valid = rows.filter((row) => !('error' in row.outcome) && row.outcome.verdict.valid === true).length;
  lines.push(`${rows.length} runs: ${valid} valid; ${sendsOk} acknowledged sends, ${faults} faults`);
  return `${lines.join('\n')}\n`;
}
