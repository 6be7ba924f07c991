/**
 * index.html: one self-contained page for a run. The verdict comes first and large, then the run's
 * settings, counts, faults, anomalies and linearizability, then the two plots inline. Every piece
 * of run data is escaped; the SVGs are Vega's own output and go in as they are.
 */
import type { ClientFunction } from '../history.js';
import type { LinearizabilityResult, Verdict } from '../verdict.js';
import { anomalySection } from './anomaly_table.js';
import { escapeHtml } from './escape_html.js';
import type { FaultWindow } from './fault_windows.js';
import { OUTCOMES } from './operations.js';
import type { ErrorCount, Outcome } from './operations.js';
import type { RunMeta } from './run_meta.js';

/** Keys listed by name per linearizability result; more are only counted. */
const KEYS_LISTED_MAX = 200;
/** Distinct failure reasons listed; the rest are summed into one row. */
const ERRORS_LISTED_MAX = 30;

export interface ReportPage {
  readonly meta: RunMeta;
  readonly verdict: Verdict;
  readonly historyEventCount: number;
  readonly operationCounts: ReadonlyMap<ClientFunction, Readonly<Record<Outcome, number>>>;
  readonly unfinishedCount: number;
  readonly errorCounts: readonly ErrorCount[];
  readonly windows: readonly FaultWindow[];
  readonly latencySvg: string;
  readonly latencyShownCount: number;
  readonly latencyTotalCount: number;
  readonly throughputSvg: string;
  readonly throughputBucketSeconds: number;
}

const STYLE = `body { font-family: sans-serif; margin: 2em; max-width: 1100px; color: #222; }
.verdict { font-size: 3em; font-weight: bold; margin: 0.2em 0; }
.valid { color: #2ca02c; } .invalid { color: #d62728; } .unknown { color: #ff7f0e; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc; padding: 2px 8px;
text-align: left; vertical-align: top; } th { background: #f4f4f4; }
pre { margin: 0; max-height: 16em; overflow: auto; white-space: pre-wrap; word-break: break-all; font-size: 0.85em; }
.note { color: #666; font-style: italic; }`;

function verdictWord(valid: Verdict['valid']): 'valid' | 'invalid' | 'unknown' {
  if (valid === 'unknown') return 'unknown';
  return valid ? 'valid' : 'invalid';
}

function keyValueTable(rows: readonly (readonly [string, string])[]): string {
  return `<table>\n${rows.map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('\n')}\n</table>`;
}

function metaSection(meta: RunMeta): string {
  const rows: [string, string][] = [
    ['started at', meta.startedAt], ['command line', meta.commandLine], ['seed', String(meta.seed)],
    ['nodes', String(meta.nodes)], ['nemeses', meta.nemeses.join(', ') || 'none'],
    ['duration', `${meta.durationSeconds} s`], ['acks', String(meta.acks)], ['fsync', String(meta.fsync)],
    ['drain', meta.drain],
  ];
  for (const [name, count] of Object.entries(meta.operationCounts ?? {})) rows.push([`runner count: ${name}`, String(count)]);
  return `<h2>Run</h2>\n${keyValueTable(rows)}`;
}

function countsSection(page: ReportPage): string {
  const { stats } = page.verdict;
  const header = `<tr><th>operation</th>${OUTCOMES.map((outcome) => `<th>${outcome}</th>`).join('')}</tr>`;
  const rows = [...page.operationCounts].map(([f, counts]) =>
    `<tr><td>${escapeHtml(f)}</td>${OUTCOMES.map((outcome) => `<td>${counts[outcome]}</td>`).join('')}</tr>`);
  const checked = keyValueTable([
    ['sends (ok / fail / info)', `${stats.sends.ok} / ${stats.sends.fail} / ${stats.sends.info}`],
    ['polls (ok / fail / info)', `${stats.polls.ok} / ${stats.polls.fail} / ${stats.polls.info}`],
    ['keys', String(stats.keys)], ['values read', String(stats.valuesRead)],
  ]);
  return `<h2>Counts</h2>\n<p>${page.historyEventCount} history events; operations by outcome `
    + `(${page.unfinishedCount} invoked but never completed):</p>\n<table>\n${header}\n${rows.join('\n')}\n</table>\n`
    + `<p>As the checkers counted them:</p>\n${checked}`;
}

function errorsSection(errorCounts: readonly ErrorCount[]): string {
  if (errorCounts.length === 0) return '';
  const rows = errorCounts.slice(0, ERRORS_LISTED_MAX).map((row) => `<tr><td>${escapeHtml(row.f)}</td>`
    + `<td>${row.outcome}</td><td>${escapeHtml(row.error)}</td><td>${row.count}</td></tr>`);
  const rest = errorCounts.slice(ERRORS_LISTED_MAX);
  if (rest.length > 0) {
    const restCount = rest.reduce((sum, row) => sum + row.count, 0);
    rows.push(`<tr><td colspan="3">${rest.length} other reasons</td><td>${restCount}</td></tr>`);
  }
  return `<h2>Why operations failed</h2>\n<table>\n<tr><th>operation</th><th>outcome</th><th>error</th>`
    + `<th>count</th></tr>\n${rows.join('\n')}\n</table>`;
}

function faultsSection(windows: readonly FaultWindow[]): string {
  if (windows.length === 0) return '<h2>Faults</h2>\n<p>No faults were injected.</p>';
  const rows = windows.map((window) => `<tr><td>${escapeHtml(window.family)}</td>`
    + `<td>${escapeHtml(window.description)}</td><td>${escapeHtml(window.nodes.join(', '))}</td>`
    + `<td>${window.startSeconds.toFixed(1)}</td>`
    + `<td>${window.healed ? window.endSeconds.toFixed(1) : 'never healed'}</td></tr>`);
  return `<h2>Faults (${windows.length})</h2>\n<table>\n<tr><th>family</th><th>description</th><th>nodes</th>`
    + `<th>start (s)</th><th>end (s)</th></tr>\n${rows.join('\n')}\n</table>`;
}

function linearizabilitySection(results: Readonly<Record<string, LinearizabilityResult>>): string {
  const keysByResult = new Map<LinearizabilityResult, string[]>();
  for (const [key, result] of Object.entries(results)) {
    const keys = keysByResult.get(result);
    if (keys === undefined) keysByResult.set(result, [key]);
    else keys.push(key);
  }
  if (keysByResult.size === 0) return '<h2>Linearizability</h2>\n<p>No key was checked.</p>';
  const resultOrder: LinearizabilityResult[] = ['nonlinearizable', 'unknown', 'linearizable'];
  const rows = resultOrder.filter((result) => keysByResult.has(result)).map((result) => {
    const keys = keysByResult.get(result) ?? [];
    // Linearizable keys are the expected case; naming them would only bury the others.
    const listed = result === 'linearizable' ? ''
      : keys.slice(0, KEYS_LISTED_MAX).join(', ') + (keys.length > KEYS_LISTED_MAX ? ', ...' : '');
    return `<tr><td>${result}</td><td>${keys.length}</td><td>${escapeHtml(listed)}</td></tr>`;
  });
  return `<h2>Linearizability per key</h2>\n<table>\n<tr><th>result</th><th>keys</th><th>which</th></tr>\n`
    + `${rows.join('\n')}\n</table>`;
}

function plotsSection(page: ReportPage): string {
  const sampled = page.latencyShownCount < page.latencyTotalCount
    ? `<p class="note">The latency plot shows ${page.latencyShownCount} of ${page.latencyTotalCount} operations, `
      + 'evenly sampled; failed and indeterminate operations are kept first.</p>' : '';
  return `<h2>Latency</h2>\n${sampled}\n${page.latencySvg}\n<h2>Throughput</h2>\n<p class="note">Completed operations `
    + `per second in ${page.throughputBucketSeconds} s buckets; grey bands are fault windows.</p>\n${page.throughputSvg}`;
}

export function reportHtml(page: ReportPage): string {
  const word = verdictWord(page.verdict.valid);
  const types = page.verdict.anomalyTypes.length === 0 ? ''
    : `<p>Anomaly types: ${escapeHtml(page.verdict.anomalyTypes.join(', '))}</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Jepsen run ${escapeHtml(page.meta.startedAt)}: ${word}</title>
<style>${STYLE}</style></head>
<body>
<h1>Tributary Jepsen run, ${escapeHtml(page.meta.startedAt)}</h1>
<p class="verdict ${word}">${word.toUpperCase()}</p>
${types}
<p>Files: <a href="history.jsonl">history.jsonl</a> | <a href="verdict.json">verdict.json</a> |
<a href="meta.json">meta.json</a> | <a href="latency.svg">latency.svg</a> | <a href="throughput.svg">throughput.svg</a></p>
${metaSection(page.meta)}
${countsSection(page)}
${errorsSection(page.errorCounts)}
${faultsSection(page.windows)}
${anomalySection(page.verdict.anomalies)}
${linearizabilitySection(page.verdict.linearizability)}
${plotsSection(page)}
</body>
</html>
`;
}
