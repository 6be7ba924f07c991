/** The Groups section: every consumer group with its lag, and one group's members and partitions. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';

import type { GroupSummary, GroupView } from '../api_types.js';
import { usePoll } from './api.js';
import { numberText } from './format.js';

export function Groups(): VNode {
  const groups = usePoll<GroupSummary[]>('api/groups', 2_000);
  return html`<section>
    <h2>Consumer groups</h2>
    ${groups.error === null ? null : html`<div class="error">${groups.error}</div>`}
    ${groups.data === null ? html`<p class="muted">Loading…</p>` : groups.data.length === 0
    ? html`<p class="muted">No consumer groups.</p>`
    : html`<table data-test="groups">
      <thead><tr><th>Group</th><th>State</th><th class="num">Members</th><th class="num">Lag</th></tr></thead>
      <tbody>${groups.data.map((g) => html`<tr data-group=${g.groupId}>
        <td><a href=${`#/groups/${encodeURIComponent(g.groupId)}`}>${g.groupId}</a></td><td>${g.state}</td>
        <td class="num">${g.members}</td><td class="num" data-test="group-lag">${numberText(g.lag)}</td></tr>`)}
      </tbody></table>`}
  </section>`;
}

export function Group({ groupId }: { groupId: string }): VNode {
  const group = usePoll<GroupView>(`api/groups/${encodeURIComponent(groupId)}`, 2_000);
  const data = group.data;
  return html`<section>
    <h2><a href="#/groups">Groups</a> / ${groupId}</h2>
    ${group.error === null ? null : html`<div class="error">${group.error}</div>`}
    ${data === null ? html`<p class="muted">Loading…</p>` : html`
      <p>State: <b>${data.state}</b> · Protocol: ${data.protocolName || '-'} · Generation: ${data.generationId}
        · Members: ${data.members.length}</p>
      <h2>Members</h2>
      ${data.members.length === 0 ? html`<p class="muted">No members.</p>` : html`<table>
        <thead><tr><th>Member</th><th>Client</th><th>Host</th><th>Assignment</th></tr></thead>
        <tbody>${data.members.map((m) => html`<tr><td>${m.memberId}</td><td>${m.clientId}</td><td>${m.clientHost}</td>
          <td>${m.assignment.map((a) => `${a.topic}/${a.partition}`).join(', ')}</td></tr>`)}</tbody></table>`}
      <h2>Offsets and lag</h2>
      <table data-test="group-partitions">
        <thead><tr><th>Topic</th><th class="num">Partition</th><th>Member</th><th class="num">Committed</th>
          <th class="num">Log end</th><th class="num">Lag</th></tr></thead>
        <tbody>${data.partitions.map((p) => html`<tr>
          <td>${p.topic}</td><td class="num">${p.partition}</td><td>${p.memberId ?? '-'}</td>
          <td class="num">${numberText(p.committedOffset)}</td>
          <td class="num">${p.logEndOffset >= 0 ? numberText(p.logEndOffset) : '-'}</td>
          <td class=${`num${(p.lag ?? 0) > 0 ? ' behind' : ''}`}>${numberText(p.lag)}</td></tr>`)}</tbody>
      </table>`}
  </section>`;
}
