/**
 * The anomalies section: one table per anomaly type, at most ANOMALIES_SHOWN_PER_TYPE rows each
 * with a count of the rest, evidence as (truncated) JSON. verdict.json keeps everything.
 */
import type { Anomaly, AnomalyType } from '../verdict.js';
import { escapeHtml } from './escape_html.js';

export const ANOMALIES_SHOWN_PER_TYPE = 50;
export const EVIDENCE_CHARS_MAX = 2_000;

function evidenceJson(evidence: unknown): string {
  // JSON.stringify gives undefined (despite its type) for undefined evidence.
  const json = evidence === undefined ? 'undefined' : JSON.stringify(evidence);
  return json.length <= EVIDENCE_CHARS_MAX ? json
    : `${json.slice(0, EVIDENCE_CHARS_MAX)}\n... (${json.length - EVIDENCE_CHARS_MAX} more characters in verdict.json)`;
}

function anomalyRow(anomaly: Anomaly): string {
  return `<tr><td>${escapeHtml(anomaly.type)}</td><td>${anomaly.key ?? '&mdash;'}</td>`
    + `<td>${escapeHtml(anomaly.description)}</td><td><pre>${escapeHtml(evidenceJson(anomaly.evidence))}</pre></td></tr>`;
}

function groupByType(anomalies: readonly Anomaly[]): Map<AnomalyType, Anomaly[]> {
  const groups = new Map<AnomalyType, Anomaly[]>();
  for (const anomaly of anomalies) {
    const group = groups.get(anomaly.type);
    if (group === undefined) groups.set(anomaly.type, [anomaly]);
    else group.push(anomaly);
  }
  return groups;
}

export function anomalySection(anomalies: readonly Anomaly[]): string {
  if (anomalies.length === 0) return '<h2>Anomalies</h2>\n<p>None found.</p>';
  const tables = [...groupByType(anomalies)].map(([type, group]) => {
    const hidden = group.length - ANOMALIES_SHOWN_PER_TYPE;
    const rest = hidden > 0 ? `<p class="note">... and ${hidden} more ${escapeHtml(type)} (see verdict.json)</p>` : '';
    return `<h3>${escapeHtml(type)} (${group.length})</h3>\n<table class="anomalies">`
      + '<tr><th>type</th><th>key</th><th>description</th><th>evidence</th></tr>\n'
      + `${group.slice(0, ANOMALIES_SHOWN_PER_TYPE).map(anomalyRow).join('\n')}\n</table>${rest}`;
  });
  return `<h2>Anomalies (${anomalies.length})</h2>\n${tables.join('\n')}`;
}
