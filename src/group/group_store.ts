/**
 * The replicated state of one `__consumer_offsets` partition: per group, its last completed
 * generation and its committed offsets. Every replica feeds it the partition's applied entries in
 * log order (`applyBatch`), so every replica holds the same store; the coordinator (the partition's
 * leader) loads its groups from it. `image()` is the latest value of every live key, the part of the
 * partition's Raft snapshot that lets retention delete any applied prefix of the log.
 *
 * Records are written only by coordinators, so one that does not decode is a bug elsewhere; it is
 * skipped and counted (the same on every replica) rather than stopping the partition for good.
 */
import { tributary } from '../protocol/messages.js';
import type { DecodedMessage } from '../protocol/messages.js';
import { readBatchHeader } from '../protocol/record_batch.js';
import { assert } from '../../raft/core/assert.js';
import { TributaryError } from '../common/errors.js';
import {
  MalformedGroupRecordError, committedOffsetOf, decodeGroupRecords, groupMetadataOf, offsetValueMessage,
  groupValueMessage,
} from './records.js';
import type { CommittedOffset, GroupRecord, StoredGroupMetadata } from './records.js';

const pbg = tributary.group;

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly value: CommittedOffset;
}

interface GroupEntry {
  metadata: StoredGroupMetadata | null;
  /** Keyed by offsetKey(topic, partition). */
  readonly offsets: Map<string, TopicPartitionOffset>;
}

function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

export class GroupStore {
  private readonly groups = new Map<string, GroupEntry>();
  private nextOffsetValue = 0;
  private skipped = 0;

  /** The log offset after the last record applied. */
  get nextOffset(): number { return this.nextOffsetValue; }
  /** Records that did not decode and were skipped. */
  get skippedRecords(): number { return this.skipped; }

  /**
   * Applies one committed batch of the partition, at its log offset; batches come in log order. A
   * batch below `nextOffset` is already in the store (a snapshot image can be ahead of the offset it
   * is filed under, and the entries after that offset are applied again): it is skipped. Returns
   * the groups whose records the batch held.
   */
  applyBatch(batch: Uint8Array, baseOffset: number): ReadonlySet<string> {
    const header = readBatchHeader(batch);
    const touched = new Set<string>();
    if (baseOffset < this.nextOffsetValue) {
      assert(baseOffset + header.lastOffsetDelta < this.nextOffsetValue,
        () => `batch at ${baseOffset} straddles the store's next offset ${this.nextOffsetValue}`);
      return touched;
    }
    let records: ReturnType<typeof decodeGroupRecords>;
    try {
      records = decodeGroupRecords(batch);
    } catch (error: unknown) {
      if (!(error instanceof TributaryError)) throw error;
      // The batch itself does not decode (compressed, malformed): none of its records count.
      this.skipped += Math.max(0, header.recordCount);
      records = [];
    }
    for (const record of records) {
      if (record instanceof MalformedGroupRecordError) {
        this.skipped += 1;
      } else {
        this.applyRecord(record);
        touched.add(record.key.group);
      }
    }
    this.nextOffsetValue = baseOffset + header.lastOffsetDelta + 1;
    return touched;
  }

  private applyRecord(record: GroupRecord): void {
    const group = record.key.group;
    let entry = this.groups.get(group);
    if (record.key.kind === 'offset') {
      const key = offsetKey(record.key.topic, record.key.partition);
      if (record.value === null) {
        entry?.offsets.delete(key);
      } else {
        entry ??= this.createEntry(group);
        entry.offsets.set(key, { topic: record.key.topic, partition: record.key.partition,
          value: record.value as CommittedOffset });
      }
    } else if (record.value === null) {
      if (entry !== undefined) entry.metadata = null;
    } else {
      entry ??= this.createEntry(group);
      entry.metadata = record.value as StoredGroupMetadata;
    }
    if (entry !== undefined && entry.metadata === null && entry.offsets.size === 0) this.groups.delete(group);
  }

  private createEntry(group: string): GroupEntry {
    const entry: GroupEntry = { metadata: null, offsets: new Map() };
    this.groups.set(group, entry);
    return entry;
  }

  // ---- reads ----

  /** Every group with a generation or an offset, sorted. */
  groupIds(): string[] {
    return [...this.groups.keys()].sort(compareStrings);
  }

  /** Whether the store holds a generation or an offset of the group. */
  hasGroup(group: string): boolean {
    return this.groups.has(group);
  }

  metadata(group: string): StoredGroupMetadata | null {
    return this.groups.get(group)?.metadata ?? null;
  }

  offset(group: string, topic: string, partition: number): CommittedOffset | null {
    return this.groups.get(group)?.offsets.get(offsetKey(topic, partition))?.value ?? null;
  }

  /** The group's committed offsets, sorted by topic then partition. */
  offsets(group: string): TopicPartitionOffset[] {
    const entry = this.groups.get(group);
    if (entry === undefined) return [];
    return [...entry.offsets.values()].sort((left, right) =>
      compareStrings(left.topic, right.topic) || left.partition - right.partition);
  }

  // ---- snapshot image ----

  /** The latest value of every live key; equal stores give equal bytes. */
  image(): Uint8Array {
    return pbg.GroupStoreImage.encode({
      nextOffset: this.nextOffsetValue,
      skippedRecords: this.skipped,
      groups: this.groupIds().map((group) => {
        const metadata = this.metadata(group);
        return {
          group,
          value: metadata === null ? null : groupValueMessage(metadata),
          offsets: this.offsets(group).map((stored) => ({
            topic: stored.topic, partition: stored.partition, value: offsetValueMessage(stored.value),
          })),
        };
      }),
    }).finish();
  }

  /** Replaces the whole store by an image (a Raft snapshot was installed or loaded). */
  restore(image: Uint8Array): void {
    let decoded: DecodedMessage<tributary.group.GroupStoreImage.$Properties>;
    try {
      decoded = pbg.GroupStoreImage.decode(image) as unknown as typeof decoded;
    } catch (error: unknown) {
      throw new MalformedGroupRecordError('the group store image does not decode', { cause: error });
    }
    this.groups.clear();
    this.nextOffsetValue = decoded.nextOffset;
    this.skipped = decoded.skippedRecords;
    for (const stored of decoded.groups) {
      const entry = this.createEntry(stored.group);
      if (stored.value !== null) entry.metadata = groupMetadataOf(stored.value);
      for (const offset of stored.offsets) {
        if (offset.value === null) {
          throw new MalformedGroupRecordError(`image offset ${offset.topic}/${offset.partition} has no value`);
        }
        entry.offsets.set(offsetKey(offset.topic, offset.partition),
          { topic: offset.topic, partition: offset.partition, value: committedOffsetOf(offset.value) });
      }
    }
  }
}
