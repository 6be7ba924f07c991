/**
 * A consumer-group member as a child process, for the end-to-end group tests: it subscribes to a
 * topic as a member of a group and writes what happens as JSON lines on stdout:
 *   {"event":"assigned","partitions":[0,3]}   {"event":"revoked","partitions":[...]}
 *   {"event":"lost","partitions":[...]}       {"event":"records","records":[{"partition":0,"offset":5,"value":"v"}]}
 *   {"event":"committed","offsets":[{"partition":0,"offset":6}]}   {"event":"error","code":"...","message":"..."}
 * Records are "processed" (printed) first and committed after (commitSync), so what it committed it
 * has printed: at-least-once. SIGTERM closes the consumer (a dynamic member leaves the group);
 * SIGKILL is the crash the tests use.
 *
 * Usage: node group_member_process.js '<json options>' with bootstrap, groupId, topic and optional
 * groupInstanceId, sessionTimeoutMs, heartbeatIntervalMs, assignor, processingDelayMs.
 */
import { Consumer } from '../../src/client/consumer.js';
import type { ConsumerRecord } from '../../src/client/consumer.js';
import { TributaryError } from '../../src/common/errors.js';

interface MemberOptions {
  readonly bootstrap: string;
  readonly groupId: string;
  readonly topic: string;
  readonly groupInstanceId?: string;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly assignor?: 'range' | 'roundrobin' | 'sticky';
  readonly processingDelayMs?: number;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function partitionsOf(list: { partition: number }[]): number[] {
  return list.map((p) => p.partition).sort((a, b) => a - b);
}

const options = JSON.parse(process.argv[2] ?? '{}') as MemberOptions;
const consumer = new Consumer({
  bootstrap: options.bootstrap, groupId: options.groupId, clientId: `member-${process.pid}`,
  ...(options.groupInstanceId === undefined ? {} : { groupInstanceId: options.groupInstanceId }),
  sessionTimeoutMs: options.sessionTimeoutMs ?? 6_000, heartbeatIntervalMs: options.heartbeatIntervalMs ?? 500,
  partitionAssignors: [options.assignor ?? 'range'], autoCommit: false, autoOffsetReset: 'earliest',
  requestTimeoutMs: 5_000, maxWaitMs: 200,
});

const stop = { requested: false };
process.once('SIGTERM', () => { stop.requested = true; });

consumer.subscribe([options.topic], {
  onPartitionsAssigned: (partitions) => { emit({ event: 'assigned', partitions: partitionsOf(partitions) }); },
  onPartitionsRevoked: (partitions) => { emit({ event: 'revoked', partitions: partitionsOf(partitions) }); },
  onPartitionsLost: (partitions) => { emit({ event: 'lost', partitions: partitionsOf(partitions) }); },
});

async function processAndCommit(records: readonly ConsumerRecord[]): Promise<void> {
  emit({ event: 'records', records: records.map((r) => ({ partition: r.partition, offset: r.offset,
    value: r.value?.toString() ?? null })) });
  if (options.processingDelayMs !== undefined) await new Promise((r) => setTimeout(r, options.processingDelayMs));
  const next = new Map<number, number>();
  for (const r of records) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1));
  const offsets = [...next].map(([partition, offset]) => ({ topic: options.topic, partition, offset }));
  try {
    await consumer.commitSync(offsets);
    emit({ event: 'committed', offsets: offsets.map(({ partition, offset }) => ({ partition, offset })) });
  } catch (error) {
    // A commit refused by a rebalance: the records will be read again by whoever gets the partition.
    emit({ event: 'error', code: error instanceof TributaryError ? (error as TributaryError).code : 'UNKNOWN',
      message: String(error) });
  }
}

// Bounded: the tests stop members long before this.
const deadline = Date.now() + 10 * 60_000;
try {
  while (!stop.requested && Date.now() < deadline) {
    try {
      const records = await consumer.poll({ timeoutMs: 500 });
      if (records.length > 0) await processAndCommit(records);
    } catch (error) {
      const code: string = error instanceof TributaryError ? (error as TributaryError).code : 'UNKNOWN';
      emit({ event: 'error', code, message: String(error) });
      if (code === 'FENCED_INSTANCE_ID') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
} finally {
  await consumer.close();
  emit({ event: 'closed' });
}
