/**
 * The records of `__consumer_offsets` (docs/groups.md, src/protocol/proto/group.proto): one record
 * per fact, a committed offset or a group's completed generation, keyed so that the latest record
 * of a key is its value and a null value deletes it. Coordinators encode them into RecordBatch v2
 * batches (no producer id: the partition's Raft log orders them); every replica decodes them into
 * its group store.
 *
 * Decoding reads bytes from a log, so it checks what it reads and throws MalformedGroupRecordError
 * rather than an assertion. Bytes fields are copied: decoded batches can be views of pooled memory.
 */
import { tributary } from '../protocol/messages.js';
import type { DecodedMessage } from '../protocol/messages.js';
import { decodeRecordBatch, encodeRecordBatch } from '../protocol/record_batch.js';
import type { RecordInput } from '../protocol/record_batch.js';
import { TributaryError } from '../common/errors.js';
import { assert } from '../../raft/core/assert.js';

const pbg = tributary.group;

/** Decoded group.proto messages: scalars read as values, nested messages may be null. */
export type DecodedOffsetValue = DecodedMessage<tributary.group.OffsetValue.$Properties>;
export type DecodedGroupValue = DecodedMessage<tributary.group.GroupValue.$Properties>;
type DecodedRecordKey = DecodedMessage<tributary.group.GroupRecordKey.$Properties>;

export interface OffsetRecordKey {
  readonly kind: 'offset';
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

export interface GroupRecordKey {
  readonly kind: 'group';
  readonly group: string;
}

export type RecordKey = OffsetRecordKey | GroupRecordKey;

export interface CommittedOffset {
  readonly offset: number;
  /** -1: unknown. */
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
}

export interface StoredMember {
  readonly memberId: string;
  /** null: a dynamic member. */
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** The member's metadata for the group's protocol. */
  readonly subscription: Uint8Array;
  readonly assignment: Uint8Array;
}

/** A group's last completed generation, as persisted. */
export interface StoredGroupMetadata {
  readonly protocolType: string;
  readonly generation: number;
  /** Empty when the group has no members. */
  readonly protocolName: string;
  readonly leader: string;
  readonly members: readonly StoredMember[];
  readonly stateTimestampMs: number;
}

export type GroupRecord =
  | { readonly key: OffsetRecordKey; readonly value: CommittedOffset | null }
  | { readonly key: GroupRecordKey; readonly value: StoredGroupMetadata | null };

/** Bytes in `__consumer_offsets` that are not a group record. */
export class MalformedGroupRecordError extends TributaryError<'INVALID_RECORD'> {
  override readonly name = 'MalformedGroupRecordError';
  constructor(detail: string, options?: { readonly cause?: unknown }) {
    super('INVALID_RECORD', `Malformed group record: ${detail}`, options);
  }
}

// ---- encoding ----

export function encodeRecordKey(key: RecordKey): Uint8Array {
  const message = key.kind === 'offset'
    ? { offset: { group: key.group, topic: key.topic, partition: key.partition } }
    : { group: { group: key.group } };
  return pbg.GroupRecordKey.encode(message).finish();
}

export function offsetValueMessage(value: CommittedOffset): tributary.group.OffsetValue.$Properties {
  assert(Number.isSafeInteger(value.offset) && Number.isSafeInteger(value.leaderEpoch)
    && Number.isSafeInteger(value.commitTimestampMs), 'offset value fields must be safe integers');
  return { offset: value.offset, leaderEpoch: value.leaderEpoch, metadata: value.metadata,
    commitTimestampMs: value.commitTimestampMs };
}

export function groupValueMessage(value: StoredGroupMetadata): tributary.group.GroupValue.$Properties {
  assert(Number.isInteger(value.generation) && value.generation >= 0 && value.generation <= 0x7fffffff,
    () => `bad generation ${value.generation}`);
  return {
    protocolType: value.protocolType, generation: value.generation, protocolName: value.protocolName,
    leader: value.leader, stateTimestampMs: value.stateTimestampMs,
    members: value.members.map((member) => ({
      memberId: member.memberId, groupInstanceId: member.groupInstanceId ?? '', clientId: member.clientId,
      clientHost: member.clientHost, sessionTimeoutMs: member.sessionTimeoutMs,
      rebalanceTimeoutMs: member.rebalanceTimeoutMs, subscription: member.subscription, assignment: member.assignment,
    })),
  };
}

function encodeRecordValue(record: GroupRecord): Uint8Array | null {
  if (record.value === null) return null;
  return record.key.kind === 'offset'
    ? pbg.OffsetValue.encode(offsetValueMessage(record.value as CommittedOffset)).finish()
    : pbg.GroupValue.encode(groupValueMessage(record.value as StoredGroupMetadata)).finish();
}

/** One RecordBatch v2 (producer id -1, uncompressed) holding `records` in order. */
export function encodeGroupRecords(records: readonly GroupRecord[], timestampMs: number): Buffer {
  assert(records.length > 0, 'a group record batch holds at least one record');
  const inputs: RecordInput[] = records.map((record) => ({
    key: encodeRecordKey(record.key), value: encodeRecordValue(record),
  }));
  return encodeRecordBatch({ records: inputs, baseTimestamp: timestampMs, producerId: -1 });
}

// ---- decoding ----

function decodeWith<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (error: unknown) {
    throw new MalformedGroupRecordError(`${what} does not decode`, { cause: error });
  }
}

function checkInt(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new MalformedGroupRecordError(`${what} ${value} is out of range`);
  }
  return value;
}

export function decodeRecordKey(bytes: Uint8Array): RecordKey {
  const key = decodeWith('key', () => pbg.GroupRecordKey.decode(bytes) as unknown as DecodedRecordKey);
  if (key.offset !== null) {
    const { group, topic, partition } = key.offset;
    if (group === '' || topic === '') throw new MalformedGroupRecordError('offset key without group or topic');
    return { kind: 'offset', group, topic, partition };
  }
  if (key.group !== null) {
    if (key.group.group === '') throw new MalformedGroupRecordError('group key without group');
    return { kind: 'group', group: key.group.group };
  }
  throw new MalformedGroupRecordError('key is neither an offset key nor a group key');
}

export function committedOffsetOf(value: DecodedOffsetValue): CommittedOffset {
  return {
    offset: checkInt(value.offset, 'offset', -1, Number.MAX_SAFE_INTEGER),
    leaderEpoch: checkInt(value.leaderEpoch, 'leader epoch', -1, Number.MAX_SAFE_INTEGER),
    metadata: value.metadata,
    commitTimestampMs: checkInt(value.commitTimestampMs, 'commit timestamp', Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER),
  };
}

export function groupMetadataOf(value: DecodedGroupValue): StoredGroupMetadata {
  return {
    protocolType: value.protocolType,
    generation: checkInt(value.generation, 'generation', 0, 0x7fffffff),
    protocolName: value.protocolName,
    leader: value.leader,
    stateTimestampMs: checkInt(value.stateTimestampMs, 'state timestamp', Number.MIN_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER),
    members: value.members.map((member) => {
      if (member.memberId === '') throw new MalformedGroupRecordError('a group member without a member id');
      return {
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId === '' ? null : member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        sessionTimeoutMs: member.sessionTimeoutMs,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        subscription: Uint8Array.from(member.subscription),
        assignment: Uint8Array.from(member.assignment),
      };
    }),
  };
}

/** One record from its key and value bytes (value null: a tombstone). */
export function decodeGroupRecord(keyBytes: Uint8Array | null, valueBytes: Uint8Array | null): GroupRecord {
  if (keyBytes === null) throw new MalformedGroupRecordError('record without a key');
  const key = decodeRecordKey(keyBytes);
  if (key.kind === 'offset') {
    return { key, value: valueBytes === null ? null
      : committedOffsetOf(decodeWith('offset value', () => pbg.OffsetValue.decode(valueBytes))) };
  }
  return { key, value: valueBytes === null ? null
    : groupMetadataOf(decodeWith('group value', () => pbg.GroupValue.decode(valueBytes) as unknown as DecodedGroupValue)) };
}

/**
 * The records of one batch, each decoded on its own: a record that does not decode is returned as
 * its error so the caller can skip it and keep the rest. The batch itself must decode.
 */
export function decodeGroupRecords(batch: Uint8Array): (GroupRecord | MalformedGroupRecordError)[] {
  const decoded = decodeRecordBatch(batch, { verifyCrc: false });
  return decoded.records.map((record) => {
    try {
      return decodeGroupRecord(record.key, record.value);
    } catch (error: unknown) {
      if (error instanceof MalformedGroupRecordError) return error;
      throw error;
    }
  });
}
