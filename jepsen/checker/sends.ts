/**
 * Producer order check (Jepsen kafka.clj `nonmonotonic-send-cases`): one process sends one record
 * at a time, so each of its ok sends to a key began after the previous one was acknowledged and
 * must land at a higher offset. Comparing offsets is comparing version-order indexes, the rank of
 * an offset being monotonic in the offset.
 */
import type { ProcessId } from '../history.js';
import type { Anomaly } from '../verdict.js';
import type { SendOperation } from './operations.js';

export function nonmonotonicSends(sends: readonly SendOperation[]): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const lastSends = new Map<ProcessId, Map<number, SendOperation>>();
  const inHistoryOrder = sends.filter((send) => send.outcome === 'ok').sort((a, b) => a.invokeIndex - b.invokeIndex);
  for (const send of inHistoryOrder) {
    const byKey = lastSends.get(send.process) ?? new Map<number, SendOperation>();
    lastSends.set(send.process, byKey);
    const previous = byKey.get(send.key);
    byKey.set(send.key, send);
    if (previous?.offset == null || send.offset === null || send.offset > previous.offset) continue;
    anomalies.push({
      type: 'nonmonotonic-send', key: send.key,
      description: `process ${send.process} sent key ${send.key} to offset ${previous.offset} ` +
        `(at ${previous.completeIndex}), then to offset ${send.offset} (at ${send.completeIndex})`,
      evidence: {
        key: send.key, process: send.process,
        previous: { value: previous.value, offset: previous.offset, completeIndex: previous.completeIndex },
        next: { value: send.value, offset: send.offset, completeIndex: send.completeIndex },
      },
    });
  }
  return anomalies;
}
