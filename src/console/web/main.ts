/**
 * The console page: a header with the cluster, tabs for Brokers, Topics, Groups and Charts (the
 * URL's hash names the view, so views can be linked and reloaded), and the overview polled every
 * two seconds for the header, brokers and topics.
 */
import { html, render } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import type { ClusterOverview } from '../api_types.js';
import { usePoll } from './api.js';
import { Brokers } from './brokers.js';
import { Charts } from './charts.js';
import { timeText } from './format.js';
import { Group, Groups } from './groups.js';
import { Topic, Topics } from './topics.js';

const TABS = [['brokers', 'Brokers'], ['topics', 'Topics'], ['groups', 'Groups'], ['charts', 'Charts']] as const;

/** The hash's path parts: `#/topics/orders` is ['topics', 'orders']. */
function route(): string[] {
  return window.location.hash.replace(/^#\/?/, '').split('/').filter((p) => p !== '').map(decodeURIComponent);
}

function useRoute(): string[] {
  const [parts, setParts] = useState(route());
  useEffect(() => {
    const changed = (): void => { setParts(route()); };
    window.addEventListener('hashchange', changed);
    return () => { window.removeEventListener('hashchange', changed); };
  }, []);
  return parts;
}

function View({ parts, overview }: { parts: string[]; overview: ClusterOverview }): VNode {
  const [tab = 'brokers', id] = parts;
  if (tab === 'topics') return id === undefined ? html`<${Topics} overview=${overview} />` : html`<${Topic} name=${id} />`;
  if (tab === 'groups') return id === undefined ? html`<${Groups} />` : html`<${Group} groupId=${id} />`;
  if (tab === 'charts') return html`<${Charts} />`;
  return html`<${Brokers} overview=${overview} />`;
}

function App(): VNode {
  const parts = useRoute();
  const overview = usePoll<ClusterOverview>('api/overview', 2_000);
  const data = overview.data;
  const tab = parts[0] ?? 'brokers';
  const down = data?.brokers.filter((b) => !b.up).length ?? 0;
  return html`
    <header>
      <h1>Tributary</h1>
      <span class="meta" data-test="cluster">${data === null ? 'connecting…' : `cluster ${data.clusterId}`}</span>
      ${data === null ? null : html`<span class="meta">${`controller ${data.controllerId ?? 'none (election)'} · ` +
        `${data.brokers.length - down} of ${data.brokers.length} brokers up · ${data.topics.length} topics`}</span>`}
      ${overview.atMs === null ? null : html`<span class="meta">updated ${timeText(overview.atMs)}</span>`}
    </header>
    <nav>${TABS.map(([key, label]) => html`<a href=${`#/${key}`} class=${tab === key ? 'active' : ''}>${label}</a>`)}</nav>
    <main>
      ${overview.error === null ? null : html`<div class="error">Cannot read the cluster: ${overview.error}</div>`}
      ${data === null ? html`<p class="muted">Reading the cluster…</p>` : html`<${View} parts=${parts} overview=${data} />`}
    </main>`;
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(html`<${App} />`, root);
}
