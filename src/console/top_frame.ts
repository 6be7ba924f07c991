/**
 * One frame of `tributary top` as plain text: brokers, topics with their produce rate (from how
 * far the high watermarks moved since the previous frame), and consumer groups with their lag.
 * Pure: the command reads the cluster and redraws; tests check the text.
 */
import type { ClusterOverview, GroupSummary, TopicView } from './api_types.js';

/** The sum of the known high watermarks of each topic's partitions, by topic and partition. */
export type HighWatermarks = ReadonlyMap<string, number>;

export function highWatermarksOf(topics: readonly TopicView[]): HighWatermarks {
  const marks = new Map<string, number>();
  for (const topic of topics) {
    for (const p of topic.partitions) {
      if (p.highWatermark !== null) marks.set(`${topic.name}/${p.partition}`, p.highWatermark);
    }
  }
  return marks;
}

/**
 * Records per second each topic took in between two readings: the high watermark deltas of the
 * partitions known in both, over the time between them. A watermark that went down (a topic
 * deleted and created again) counts from 0.
 */
export function topicRates(previous: HighWatermarks, current: HighWatermarks, seconds: number): Map<string, number> {
  const rates = new Map<string, number>();
  if (seconds <= 0) return rates;
  for (const [key, now] of current) {
    const before = previous.get(key);
    if (before === undefined) continue;
    const topic = key.slice(0, key.lastIndexOf('/'));
    rates.set(topic, (rates.get(topic) ?? 0) + (now >= before ? now - before : now) / seconds);
  }
  return rates;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
    .join('  ')}`.trimEnd());
}

const rateText = (rate: number | undefined): string => (rate === undefined ? '-' : rate.toFixed(1));

export function formatTopFrame(overview: ClusterOverview, groups: readonly GroupSummary[],
  rates: ReadonlyMap<string, number>): string {
  const time = new Date(overview.readAtMs).toISOString().replace('T', ' ').slice(0, 19);
  const lines = [`tributary top   cluster ${overview.clusterId}   controller ${overview.controllerId ?? 'none'}   ` +
    `${time} UTC`, '', 'BROKERS'];
  lines.push(...table([['ID', 'ADDRESS', 'STATE', 'LEADERS', 'REPLICAS'],
    ...overview.brokers.map((b) => [String(b.id), b.address, b.up ? (b.controller ? 'up (controller)' : 'up')
      : 'DOWN (fenced)', String(b.leaderPartitions), String(b.replicaPartitions)])]));
  lines.push('', 'TOPICS');
  if (overview.topics.length === 0) lines.push('  (no topics)');
  else {
    lines.push(...table([['TOPIC', 'PARTITIONS', 'RF', 'UNDER-REPLICATED', 'OFFLINE', 'RECORDS', 'IN/S'],
      ...overview.topics.map((t) => [t.name, String(t.partitions), String(t.replicationFactor),
        String(t.underReplicated), String(t.offline), String(t.records), rateText(rates.get(t.name))])]));
  }
  lines.push('', 'GROUPS');
  if (groups.length === 0) lines.push('  (no groups)');
  else {
    lines.push(...table([['GROUP', 'STATE', 'MEMBERS', 'LAG'],
      ...groups.map((g) => [g.groupId, g.state, String(g.members), g.lag === null ? '-' : String(g.lag)])]));
  }
  return lines.join('\n');
}
