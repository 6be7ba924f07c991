/**
 * The Topics section: every topic with its health and size, a form that creates one, and a topic's
 * page: its partitions (leader, replicas, in-sync replicas, offsets, size) and a record browser.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';

import type { BrowseResult, ClusterOverview, TopicView } from '../api_types.js';
import { getJson, postJson, usePoll } from './api.js';
import { bytesText, bytesViewText, numberText, timeText } from './format.js';
import type { BytesFormat } from './format.js';

const topicLink = (name: string): string => `#/topics/${encodeURIComponent(name)}`;

/** A text field of a submitted form (a file field, which these forms have none of, reads as the fallback). */
function field(form: FormData, name: string, fallback = ''): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : fallback;
}

function CreateTopic({ brokerCount }: { brokerCount: number }): VNode {
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const configs: Record<string, string> = {};
    for (const line of field(form, 'configs').split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) configs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    const name = field(form, 'name').trim();
    postJson('api/topics', { name, partitions: Number(field(form, 'partitions')),
      replicationFactor: Number(field(form, 'replicationFactor')), configs })
      .then(() => { setStatus({ ok: true, text: `Created topic ${name}.` }); }, (error: unknown) => {
        setStatus({ ok: false, text: error instanceof Error ? error.message : String(error) });
      });
  };
  return html`<form onSubmit=${submit} data-test="create-topic">
    <label>Name<input name="name" required pattern="[a-zA-Z0-9._\\-]+" /></label>
    <label>Partitions<input name="partitions" type="number" min="1" defaultValue="3" /></label>
    <label>Replication factor<input name="replicationFactor" type="number" min="1"
      defaultValue=${Math.max(1, Math.min(3, brokerCount))} /></label>
    <label>Configs (key=value per line)<textarea name="configs" rows="1" cols="28"></textarea></label>
    <button type="submit">Create topic</button>
    ${status === null ? null : html`<span class=${status.ok ? 'up' : 'down'}>${status.text}</span>`}
  </form>`;
}

export function Topics({ overview }: { overview: ClusterOverview }): VNode {
  return html`<section>
    <h2>Topics</h2>
    ${overview.topics.length === 0 ? html`<p class="muted">No topics yet.</p>` : html`<table data-test="topics">
      <thead><tr><th>Topic</th><th class="num">Partitions</th><th class="num">Replication</th>
        <th class="num">Under-replicated</th><th class="num">Offline</th><th class="num">Records</th>
        <th class="num">Size (leaders)</th></tr></thead>
      <tbody>${overview.topics.map((t) => html`<tr data-topic=${t.name}>
        <td><a href=${topicLink(t.name)}>${t.name}</a></td><td class="num">${t.partitions}</td>
        <td class="num">${t.replicationFactor}</td>
        <td class=${`num${t.underReplicated > 0 ? ' behind' : ''}`}>${t.underReplicated}</td>
        <td class=${`num${t.offline > 0 ? ' behind' : ''}`}>${t.offline}</td>
        <td class="num">${numberText(t.records)}</td><td class="num">${bytesText(t.sizeBytes)}</td></tr>`)}
      </tbody></table>`}
    <h2>Create a topic</h2>
    <${CreateTopic} brokerCount=${overview.brokers.filter((b) => b.up).length} />
  </section>`;
}

function browseSummary(result: BrowseResult): string {
  const from = result.startOffset === null ? 'none: no record is that late' : `from offset ${result.startOffset}`;
  return `Partition ${result.partition}: log start ${numberText(result.logStartOffset)}, high watermark ` +
    `${numberText(result.highWatermark)}; ${result.records.length} records ${from}.`;
}

function RecordBrowser({ topic }: { topic: TopicView }): VNode {
  const [result, setResult] = useState<BrowseResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [format, setFormat] = useState<BytesFormat>('text');
  const [from, setFrom] = useState<'offset' | 'time'>('offset');
  const submit = (event: Event): void => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const query = new URLSearchParams({ topic: topic.name, partition: field(form, 'partition', '0'),
      limit: field(form, 'limit', '20') });
    if (from === 'offset') query.set('offset', field(form, 'offset', '0'));
    else query.set('time', String(new Date(field(form, 'time')).getTime()));
    setError(null);
    getJson<BrowseResult>(`api/records?${query.toString()}`)
      .then(setResult, (e: unknown) => { setResult(null); setError(e instanceof Error ? e.message : String(e)); });
  };
  return html`<section>
    <h2>Browse records</h2>
    <form onSubmit=${submit} data-test="browse">
      <label>Partition<select name="partition">${topic.partitions.map((p) =>
    html`<option value=${p.partition}>${p.partition}</option>`)}</select></label>
      <label>From<select value=${from} onChange=${(e: Event) => {
    setFrom((e.target as HTMLSelectElement).value === 'time' ? 'time' : 'offset');
  }}><option value="offset">offset</option><option value="time">time</option></select></label>
      ${from === 'offset' ? html`<label>Offset<input name="offset" type="number" min="0" defaultValue="0" /></label>`
    : html`<label>Time (local)<input name="time" type="datetime-local" step="1" required /></label>`}
      <label>Records<input name="limit" type="number" min="1" max="200" defaultValue="20" /></label>
      <label>Show values as<select value=${format} onChange=${(e: Event) => {
    setFormat((e.target as HTMLSelectElement).value as BytesFormat);
  }}><option value="text">text</option><option value="json">JSON</option><option value="hex">hex</option></select></label>
      <button type="submit">Browse</button>
    </form>
    ${error === null ? null : html`<div class="error">${error}</div>`}
    ${result === null ? null : html`<p class="muted" data-test="browse-summary">${browseSummary(result)}</p>
      <table data-test="records">
        <thead><tr><th class="num">Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead>
        <tbody>${result.records.map((r) => html`<tr>
          <td class="num">${r.offset}</td><td>${timeText(r.timestamp)}</td>
          <td><pre>${bytesViewText(r.key, format)}</pre></td>
          <td data-test="record-value"><pre>${bytesViewText(r.value, format)}</pre></td>
          <td><pre>${r.headers.map((h) => `${h.key}: ${bytesViewText(h.value, format)}`).join('\n')}</pre></td>
        </tr>`)}</tbody>
      </table>`}
  </section>`;
}

export function Topic({ name }: { name: string }): VNode {
  const topic = usePoll<TopicView>(`api/topics/${encodeURIComponent(name)}`, 2_000);
  const data = topic.data;
  return html`<section>
    <h2><a href="#/topics">Topics</a> / ${name}</h2>
    ${topic.error === null ? null : html`<div class="error">${topic.error}</div>`}
    ${data === null ? html`<p class="muted">Loading…</p>` : html`
      <p>Replication factor ${data.replicationFactor}${Object.keys(data.configs).length === 0 ? ''
    : ` · ${Object.entries(data.configs).map(([k, v]) => `${k}=${v}`).join(', ')}`}</p>
      <table data-test="partitions">
        <thead><tr><th class="num">Partition</th><th class="num">Leader</th><th>Replicas</th><th>In sync</th>
          <th class="num">Log start</th><th class="num">High watermark</th><th class="num">Size</th></tr></thead>
        <tbody>${data.partitions.map((p) => html`<tr data-partition=${p.partition}>
          <td class="num">${p.partition}</td>
          <td class=${`num${p.leaderId === null ? ' behind' : ''}`} data-test="leader">${p.leaderId ?? 'none'}</td>
          <td>${p.replicaIds.join(', ')}</td>
          <td class=${p.replicaIds.every((id) => p.isrIds.includes(id)) ? '' : 'behind'}>${p.isrIds.join(', ')}</td>
          <td class="num">${numberText(p.logStartOffset)}</td><td class="num">${numberText(p.highWatermark)}</td>
          <td class="num">${bytesText(p.sizeBytes)}</td></tr>`)}</tbody>
      </table>
      <${RecordBrowser} topic=${data} />`}
  </section>`;
}
