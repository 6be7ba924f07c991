/**
 * The Kafka primitive codec: round trips, and every malformed length a frame can lie with is a
 * KafkaDecodeError (INVALID_REQUEST), never a read past the frame or a crash.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KafkaDecodeError, KafkaReader, KafkaWriter } from '../../../src/kafka/codec.js';

function readerOf(hex: string): KafkaReader {
  return new KafkaReader(Buffer.from(hex.replace(/\s/g, ''), 'hex'));
}

void describe('Kafka codec', () => {
  void it('round-trips the fixed and variable types', () => {
    const bytes = new KafkaWriter(4).int8(-3).int16(-2).int32(0x7fff_ffff).int64(-(2 ** 53) + 1).boolean(true)
      .string('héllo').nullableString(null).nullableBytesOf([Buffer.from('ab'), Buffer.from('c')])
      .nullableBytesOf(null).int32Array([1, -1]).array(null, () => undefined).uvarint(300).compactString('rk')
      .compactArray([7], (w, n) => w.int16(n)).noTaggedFields().finish();
    const r = new KafkaReader(bytes);
    assert.equal(r.int8(), -3);
    assert.equal(r.int16(), -2);
    assert.equal(r.int32(), 0x7fff_ffff);
    assert.equal(r.int64(), -(2 ** 53) + 1);
    assert.equal(r.boolean(), true);
    assert.equal(r.string(), 'héllo');
    assert.equal(r.nullableString(), null);
    assert.deepEqual(r.nullableBytes(), Buffer.from('abc'));
    assert.equal(r.nullableBytes(), null);
    assert.deepEqual(r.array((x) => x.int32()), [1, -1]);
    assert.equal(r.nullableArray((x) => x.int32()), null);
    assert.equal(r.uvarint(), 300);
    assert.equal(r.compactNullableString(), 'rk');
    assert.deepEqual(r.compactArray((x) => x.int16()), [7]);
    r.taggedFields();
    assert.equal(r.remaining, 0);
  });

  void it('encodes unsigned varints as Kafka does (7 bits, least significant group first)', () => {
    assert.equal(new KafkaWriter().uvarint(0).finish().toString('hex'), '00');
    assert.equal(new KafkaWriter().uvarint(127).finish().toString('hex'), '7f');
    assert.equal(new KafkaWriter().uvarint(128).finish().toString('hex'), '8001');
    assert.equal(new KafkaWriter().uvarint(0xffff_ffff).finish().toString('hex'), 'ffffffff0f');
  });

  void it('refuses every length that lies about the bytes left', () => {
    const lies: [string, (r: KafkaReader) => unknown][] = [
      ['00', (r) => r.int16()],
      ['0005 6162', (r) => r.string()],
      ['fffe', (r) => r.nullableString()],
      ['ffff', (r) => r.string()],
      ['0000000a 00', (r) => r.nullableBytes()],
      ['fffffff0', (r) => r.nullableBytes()],
      ['7fffffff', (r) => r.array((x) => x.int8())],
      ['fffffffe', (r) => r.array((x) => x.int8())],
      ['ffffffff', (r) => r.array((x) => x.int8())],
      ['00000002 01', (r) => r.array((x) => x.int8())],
      ['ffffffffff0f', (r) => r.uvarint()],
      ['8080808080', (r) => r.uvarint()],
      ['ff', (r) => r.uvarint()],
      ['05 61', (r) => r.compactNullableString()],
      ['ffffff0f', (r) => r.compactArray((x) => x.int8())],
      ['01 00 09', (r) => { r.taggedFields(); }],
      ['7fffffffffffffff', (r) => r.int64()],
    ];
    for (const [hex, read] of lies) {
      assert.throws(() => read(readerOf(hex)), (error: unknown) => {
        assert.ok(error instanceof KafkaDecodeError, `${hex}: ${String(error)}`);
        assert.equal(error.code, 'INVALID_REQUEST');
        return true;
      }, hex);
    }
  });
});
