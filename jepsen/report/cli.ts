/**
 * Renders a run's report again from its folder alone:
 *   node dist/jepsen/report/cli.js <folder>
 * reads history.jsonl, verdict.json and meta.json there and rewrites the SVGs and index.html.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readHistory } from '../history.js';
import type { Verdict } from '../verdict.js';
import { parseRunMeta } from './run_meta.js';
import { writeReport } from './write_report.js';

async function main(argv: readonly string[]): Promise<void> {
  const [folder] = argv;
  if (folder === undefined || argv.length !== 1) {
    process.stderr.write('usage: node dist/jepsen/report/cli.js <run folder>\n');
    process.exitCode = 2;
    return;
  }
  const history = readHistory(path.join(folder, 'history.jsonl'));
  const verdict = JSON.parse(fs.readFileSync(path.join(folder, 'verdict.json'), 'utf8')) as Verdict;
  const meta = parseRunMeta(JSON.parse(fs.readFileSync(path.join(folder, 'meta.json'), 'utf8')));
  const started = performance.now();
  await writeReport(folder, history, verdict, meta);
  const elapsedSeconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`report written to ${path.join(folder, 'index.html')} in ${elapsedSeconds} s\n`);
}

await main(process.argv.slice(2));
