/**
 * Writes a run's report into its folder: latency.svg, throughput.svg, index.html, and meta.json
 * (the RunMeta the page was made from, so `cli.js <folder>` can render it again). The folder
 * already holds history.jsonl and verdict.json from the runner; they are only linked, never rewritten.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HistoryEvent } from '../history.js';
import type { Verdict } from '../verdict.js';
import { faultWindows } from './fault_windows.js';
import { reportHtml } from './html.js';
import { latencyPlot } from './latency_plot.js';
import { countErrors, countOperations, pairOperations, secondsOf } from './operations.js';
import { renderSvg } from './render_svg.js';
import type { RunMeta } from './run_meta.js';
import { throughputPlot } from './throughput_plot.js';

export async function writeReport(
  folder: string, history: readonly HistoryEvent[], verdict: Verdict, meta: RunMeta,
): Promise<void> {
  const endSeconds = history.length === 0 ? 0 : secondsOf(history[history.length - 1] as HistoryEvent);
  const { completed, unfinishedCount } = pairOperations(history);
  const windows = faultWindows(history);
  const latency = latencyPlot(completed, windows, endSeconds);
  const throughput = throughputPlot(completed, windows, endSeconds);
  const [latencySvg, throughputSvg] = [await renderSvg(latency.spec), await renderSvg(throughput.spec)];
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'latency.svg'), latencySvg);
  fs.writeFileSync(path.join(folder, 'throughput.svg'), throughputSvg);
  fs.writeFileSync(path.join(folder, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  fs.writeFileSync(path.join(folder, 'index.html'), reportHtml({
    meta, verdict, historyEventCount: history.length, operationCounts: countOperations(completed), unfinishedCount,
    errorCounts: countErrors(completed),
    windows, latencySvg, latencyShownCount: latency.shownCount, latencyTotalCount: latency.totalCount,
    throughputSvg, throughputBucketSeconds: throughput.bucketSeconds,
  }));
}
