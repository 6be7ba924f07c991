/**
 * Checks that what was written was read, and only that (Jepsen kafka.clj `lost-write-cases`,
 * `unseen`, `g1a-cases`).
 *
 * Only ok polls carry records in our histories, so an info send "proven visible by a read" has
 * always been read by an ok poll: it can be neither lost nor unseen, and the loss checks need only
 * the ok sends.
 */
import type { Anomaly } from '../verdict.js';
import type { SendOperation } from './operations.js';
import type { VersionOrders } from './version_order.js';
import { versionIndexOf } from './version_order.js';

/**
 * Per key, every ok-sent value whose version-order index is at or below the highest index any ok
 * poll read, but which no ok poll read: a later value was visible, so this one should have been.
 * A value seen at several offsets is judged by its last one, as Jepsen does.
 */
export function lostWrites(sends: readonly SendOperation[], orders: VersionOrders): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const send of sends) {
    if (send.outcome !== 'ok') continue;
    const log = orders.get(send.key);
    if (log === undefined || log.highestRead === null || log.readers.has(send.value)) continue;
    const offsets = [...(log.offsetsByValue.get(send.value)?.keys() ?? [])];
    const versionIndex = Math.max(...offsets.map((offset) => versionIndexOf(log, offset)));
    if (versionIndex > log.highestRead.versionIndex) continue;
    anomalies.push({
      type: 'lost-write', key: send.key,
      description: `key ${send.key} value ${send.value} (offset ${send.offset}, sent ok at ${send.completeIndex}) ` +
        `was never read, though poll ${log.highestRead.pollIndex} read offset ${log.highestRead.offset}`,
      evidence: { key: send.key, value: send.value, offset: send.offset, invokeIndex: send.invokeIndex,
        completeIndex: send.completeIndex, versionIndex, highestRead: log.highestRead },
    });
  }
  return anomalies;
}

/** Per key, the ok-sent values no ok poll read by the end of the history. */
export function unseen(sends: readonly SendOperation[], orders: VersionOrders): Anomaly[] {
  const unreadByKey = new Map<number, SendOperation[]>();
  for (const send of sends) {
    if (send.outcome !== 'ok' || orders.get(send.key)?.readers.has(send.value) === true) continue;
    const unread = unreadByKey.get(send.key) ?? [];
    unread.push(send);
    unreadByKey.set(send.key, unread);
  }
  return [...unreadByKey].map(([key, unread]) => ({
    type: 'unseen', key,
    description: `key ${key}: ${unread.length} ok-sent values never read, first ${unread[0]?.value}`,
    evidence: { key, count: unread.length, values: unread.map((send) =>
      ({ value: send.value, offset: send.offset, completeIndex: send.completeIndex })) },
  }));
}

/** Values whose send definitely failed, yet an ok poll read them (aborted read). */
export function abortedReads(sends: readonly SendOperation[], orders: VersionOrders): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const send of sends) {
    if (send.outcome !== 'fail') continue;
    const readers = orders.get(send.key)?.readers.get(send.value);
    if (readers === undefined) continue;
    const offsets = [...(orders.get(send.key)?.offsetsByValue.get(send.value)?.keys() ?? [])];
    anomalies.push({
      type: 'G1a', key: send.key,
      description: `key ${send.key} value ${send.value} failed at ${send.completeIndex} but poll ${readers[0]} read it`,
      evidence: { key: send.key, value: send.value, offsets, invokeIndex: send.invokeIndex,
        completeIndex: send.completeIndex, readers },
    });
  }
  return anomalies;
}
