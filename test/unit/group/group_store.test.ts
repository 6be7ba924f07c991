/**
 * Goal: the group records round-trip through RecordBatch v2, and the group store of an offsets
 * partition is a function of its applied log: replaying the whole log gives the same image as
 * restoring an image taken part-way and replaying the rest. Tombstones delete, undecodable records
 * are skipped and counted, and a batch out of log order is a programmer error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AssertionError } from '../../../raft/core/assert.js';
import { assignOffsets, encodeRecordBatch } from '../../../src/protocol/record_batch.js';
import { GroupStore } from '../../../src/group/group_store.js';
import { decodeGroupRecords, encodeGroupRecords, MalformedGroupRecordError } from '../../../src/group/records.js';
import type { GroupRecord, StoredGroupMetadata } from '../../../src/group/records.js';
import { TestPrng } from '../../helpers/test_prng.js';

function metadata(generation: number, members: readonly string[]): StoredGroupMetadata {
  return {
    protocolType: 'consumer', generation, protocolName: members.length === 0 ? '' : 'range',
    leader: members[0] ?? '', stateTimestampMs: 1000 + generation,
    members: members.map((memberId, i) => ({
      memberId, groupInstanceId: i === 0 ? `instance-${memberId}` : null, clientId: 'c', clientHost: '/127.0.0.1',
      sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, subscription: Uint8Array.of(1, 2, i),
      assignment: Uint8Array.of(9, generation & 0xff, i),
    })),
  };
}

function offsetRecord(group: string, topic: string, partition: number, offset: number | null): GroupRecord {
  return { key: { kind: 'offset', group, topic, partition },
    value: offset === null ? null : { offset, leaderEpoch: 3, metadata: `m${offset}`, commitTimestampMs: 5000 } };
}

/** A log of batches at their offsets, as the partition stores them. */
function logOf(batches: readonly (readonly GroupRecord[])[]): { batch: Buffer; baseOffset: number }[] {
  let next = 0;
  return batches.map((records) => {
    const batch = encodeGroupRecords(records, 1_700_000_000_000);
    const baseOffset = next;
    assignOffsets(batch, baseOffset, 1);
    next += records.length;
    return { batch, baseOffset };
  });
}

describe('group records', () => {
  test('every kind of record round-trips through a batch', () => {
    const records: GroupRecord[] = [
      offsetRecord('g', 't', 3, 42),
      offsetRecord('g', 't', 4, null),
      { key: { kind: 'group', group: 'g' }, value: metadata(7, ['a', 'b']) },
      { key: { kind: 'group', group: 'h' }, value: null },
    ];
    const decoded = decodeGroupRecords(encodeGroupRecords(records, 123));
    assert.deepEqual(decoded, records);
  });

  test('a record that is not a group record decodes to its error', () => {
    const batch = encodeRecordBatch({ baseTimestamp: 1, records: [
      { key: Uint8Array.of(0xff, 0xff), value: null },
      { key: null, value: Uint8Array.of(1) },
    ] });
    const decoded = decodeGroupRecords(batch);
    assert.equal(decoded.length, 2);
    for (const item of decoded) assert.ok(item instanceof MalformedGroupRecordError);
  });
});

describe('group store', () => {
  test('latest value per key wins; tombstones delete offsets and groups', () => {
    const store = new GroupStore();
    for (const { batch, baseOffset } of logOf([
      [offsetRecord('g', 't', 0, 10), offsetRecord('g', 't', 1, 20)],
      [{ key: { kind: 'group', group: 'g' }, value: metadata(1, ['a']) }],
      [offsetRecord('g', 't', 0, 11), offsetRecord('g', 't', 1, null)],
      [offsetRecord('h', 'u', 0, 5), { key: { kind: 'group', group: 'h' }, value: null }],
    ])) store.applyBatch(batch, baseOffset);
    assert.equal(store.offset('g', 't', 0)?.offset, 11);
    assert.equal(store.offset('g', 't', 1), null);
    assert.equal(store.metadata('g')?.generation, 1);
    assert.deepEqual(store.groupIds(), ['g', 'h']);
    assert.equal(store.metadata('h'), null);
    assert.equal(store.nextOffset, 7);
    // Deleting the last fact of a group forgets the group.
    const [tombstones] = logOf([[offsetRecord('h', 'u', 0, null)]]);
    assert.ok(tombstones !== undefined);
    store.applyBatch(tombstones.batch, 7);
    assert.deepEqual(store.groupIds(), ['g']);
  });

  test('undecodable records are skipped and counted, the rest applied', () => {
    const store = new GroupStore();
    const batch = encodeRecordBatch({ baseTimestamp: 1, records: [
      { key: Uint8Array.of(0xff), value: null },
      { key: (encodeGroupRecords([offsetRecord('g', 't', 0, 1)], 1)), value: null },
    ] });
    store.applyBatch(batch, 0);
    assert.equal(store.skippedRecords, 2);
    const good = encodeGroupRecords([offsetRecord('g', 't', 0, 1)], 1);
    store.applyBatch(good, 2);
    assert.equal(store.offset('g', 't', 0)?.offset, 1);
    assert.equal(store.nextOffset, 3);
  });

  test('a batch the store already holds is skipped; one straddling its next offset is a programmer error', () => {
    const store = new GroupStore();
    const [first, second] = logOf([[offsetRecord('g', 't', 0, 1)], [offsetRecord('g', 't', 0, 2)]]);
    assert.ok(first !== undefined && second !== undefined);
    store.applyBatch(first.batch, first.baseOffset);
    store.applyBatch(second.batch, second.baseOffset);
    store.applyBatch(first.batch, first.baseOffset);
    assert.equal(store.offset('g', 't', 0)?.offset, 2, 'the old batch changed nothing');
    const [wide] = logOf([[offsetRecord('g', 't', 0, 3), offsetRecord('g', 't', 0, 4), offsetRecord('g', 't', 0, 5)]]);
    assert.ok(wide !== undefined);
    assert.throws(() => { store.applyBatch(wide.batch, 1); }, AssertionError);
  });

  test('an image ahead of its snapshot offset, replayed from that offset, equals the full replay', () => {
    const log = logOf([[offsetRecord('g', 't', 0, 1)], [offsetRecord('g', 't', 0, 2), offsetRecord('g', 't', 1, 7)],
      [offsetRecord('g', 't', 1, null)], [{ key: { kind: 'group', group: 'g' }, value: metadata(2, ['a']) }]]);
    const full = new GroupStore();
    for (const { batch, baseOffset } of log) full.applyBatch(batch, baseOffset);
    const restored = new GroupStore();
    restored.restore(full.image());
    for (const { batch, baseOffset } of log.slice(1)) restored.applyBatch(batch, baseOffset);
    assert.deepEqual(Buffer.from(restored.image()), Buffer.from(full.image()));
  });

  test('replay equals restore-from-image then replay of the rest (random logs, every cut)', () => {
    const prng = new TestPrng(12);
    for (let round = 0; round < 20; round++) {
      const batches: GroupRecord[][] = [];
      for (let b = 0; b < 30; b++) {
        const records: GroupRecord[] = [];
        const count = 1 + prng.int(0, 4 - 1);
        for (let r = 0; r < count; r++) {
          const group = `g${prng.int(0, 4 - 1)}`;
          const roll = prng.int(0, 10 - 1);
          if (roll < 6) records.push(offsetRecord(group, `t${prng.int(0, 2 - 1)}`, prng.int(0, 3 - 1), roll < 1 ? null : prng.int(0, 1000 - 1)));
          else if (roll < 9) records.push({ key: { kind: 'group', group }, value: metadata(prng.int(0, 50 - 1), ['a', 'b', 'c'].slice(0, prng.int(0, 4 - 1))) });
          else records.push({ key: { kind: 'group', group }, value: null });
        }
        batches.push(records);
      }
      const log = logOf(batches);
      const full = new GroupStore();
      for (const { batch, baseOffset } of log) full.applyBatch(batch, baseOffset);
      const fullImage = Buffer.from(full.image());
      for (let cut = 0; cut <= log.length; cut++) {
        const prefix = new GroupStore();
        for (const { batch, baseOffset } of log.slice(0, cut)) prefix.applyBatch(batch, baseOffset);
        const restored = new GroupStore();
        restored.restore(prefix.image());
        assert.deepEqual(Buffer.from(restored.image()), Buffer.from(prefix.image()), 'image is a fixed point');
        for (const { batch, baseOffset } of log.slice(cut)) restored.applyBatch(batch, baseOffset);
        assert.deepEqual(Buffer.from(restored.image()), fullImage, `round ${round} cut ${cut}`);
        assert.deepEqual(restored.groupIds(), full.groupIds());
        for (const group of full.groupIds()) {
          assert.deepEqual(restored.offsets(group), full.offsets(group));
          assert.deepEqual(restored.metadata(group), full.metadata(group));
        }
      }
    }
  });

  test('a corrupt image is a typed error', () => {
    const store = new GroupStore();
    assert.throws(() => { store.restore(Uint8Array.of(0x0a, 0xff, 0xff)); }, MalformedGroupRecordError);
  });
});
