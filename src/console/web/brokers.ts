/** The Brokers section: each broker's liveness, role, partition counts and disk use. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';

import type { ClusterOverview } from '../api_types.js';
import { bytesText } from './format.js';

export function Brokers({ overview }: { overview: ClusterOverview }): VNode {
  return html`<section>
    <h2>Brokers</h2>
    <table data-test="brokers">
      <thead><tr><th>ID</th><th>Address</th><th>State</th><th>Role</th><th class="num">Leaders</th>
        <th class="num">Replicas</th><th class="num">Disk</th><th>Metrics</th></tr></thead>
      <tbody>${overview.brokers.map((b) => html`<tr data-broker=${b.id}>
        <td>${b.id}</td><td>${b.address}</td>
        <td class=${b.up ? 'up' : 'down'} data-test="broker-state">${b.up ? 'up' : 'down (fenced)'}</td>
        <td>${b.controller ? 'controller leader' : ''}</td>
        <td class="num">${b.leaderPartitions}</td><td class="num">${b.replicaPartitions}</td>
        <td class="num">${bytesText(b.diskBytes)}</td>
        <td>${b.metrics === null ? html`<span class="muted">not scraped</span>`
    : html`<span class=${b.metrics.up ? 'up' : 'down'}>${b.metrics.address} ${b.metrics.up ? 'up' : 'no answer'}</span>`}</td>
      </tr>`)}</tbody>
    </table>
    <p class="muted">A broker that stops is fenced by the controller once its session times out (6 s); until then it
      shows as up.</p>
  </section>`;
}
