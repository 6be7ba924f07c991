/**
 * Goal: varints and varlongs match Kafka's ZigZag + 7-bit-group encoding and reject malformed
 * input with typed errors. Method: known encodings, boundary round trips, and a cross-check of
 * every written byte against kafkajs 2.2.4's Encoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AssertionError } from '../../../raft/core/assert.js';
import { InvalidRecordError } from '../../../src/common/errors.js';
import {
  ByteReader,
  VARLONG_MAX,
  VARLONG_MIN,
  varintBytes,
  varlongBytes,
  writeVarint,
  writeVarlong,
} from '../../../src/protocol/varint.js';
import { KafkajsEncoderClass, TestPrng } from './helpers.js';

const INT32_BOUNDARIES = [0, -1, 1, 63, -64, 64, -65, 8191, -8192, 8192, -8193, 1_048_575, 1_048_576,
  2 ** 31 - 1, -(2 ** 31)];
const VARLONG_BOUNDARIES = [...INT32_BOUNDARIES, 2 ** 31, -(2 ** 31) - 1, 2 ** 35, -(2 ** 35),
  1_700_000_000_000, -1_700_000_000_000, VARLONG_MAX, VARLONG_MIN];

function varintHex(n: number): string {
  const out = Buffer.alloc(10);
  return out.subarray(0, writeVarint(out, 0, n)).toString('hex');
}

function varlongHex(n: number): string {
  const out = Buffer.alloc(10);
  return out.subarray(0, writeVarlong(out, 0, n)).toString('hex');
}

function reader(hex: string): ByteReader {
  const bytes = Buffer.from(hex, 'hex');
  return new ByteReader(bytes, 0, bytes.length);
}

void describe('varint', () => {
  void test('known encodings', () => {
    const cases: [number, string][] = [
      [0, '00'], [-1, '01'], [1, '02'], [63, '7e'], [-64, '7f'], [64, '8001'], [8191, 'fe7f'],
      [-8192, 'ff7f'], [8192, '808001'], [2 ** 31 - 1, 'feffffff0f'], [-(2 ** 31), 'ffffffff0f'],
    ];
    for (const [n, hex] of cases) {
      assert.equal(varintHex(n), hex, `varint ${n}`);
      assert.equal(varlongHex(n), hex, `varlong ${n}`);
      assert.equal(varintBytes(n), hex.length / 2);
      assert.equal(reader(hex).readVarint(), n);
    }
    assert.equal(varlongHex(VARLONG_MAX), 'feffffffffffff0f');
    assert.equal(varlongHex(VARLONG_MIN), 'ffffffffffffff0f');
  });

  void test('boundaries round-trip and agree with kafkajs byte for byte', () => {
    for (const n of INT32_BOUNDARIES) {
      const theirs = new KafkajsEncoderClass();
      theirs.writeVarInt(n);
      assert.equal(varintHex(n), theirs.buffer.toString('hex'), `varint ${n}`);
      assert.equal(reader(varintHex(n)).readVarint(), n);
    }
    for (const n of VARLONG_BOUNDARIES) {
      const theirs = new KafkajsEncoderClass();
      theirs.writeVarLong(n);
      assert.equal(varlongHex(n), theirs.buffer.toString('hex'), `varlong ${n}`);
      assert.equal(varlongBytes(n), theirs.buffer.length);
      assert.equal(reader(varlongHex(n)).readVarlong(), n);
    }
  });

  void test('random values round-trip (seeded)', () => {
    const prng = new TestPrng(7);
    for (let i = 0; i < 20_000; i++) {
      const n32 = prng.int(-(2 ** 31), 2 ** 31 - 1);
      assert.equal(reader(varintHex(n32)).readVarint(), n32);
      // `|| 0` turns -0 into 0: encoding loses the sign of zero, as it should.
      const n52 = Math.round((prng.next() * 2 - 1) * 2 ** 52 / 2 ** prng.int(0, 50)) || 0;
      assert.equal(reader(varlongHex(n52)).readVarlong(), n52);
    }
  });

  void test('malformed input is InvalidRecordError', () => {
    const bad = ['', '80', 'ffffffffff01', 'ffffffff1f'];
    for (const hex of bad) {
      assert.throws(() => reader(hex).readVarint(), InvalidRecordError, hex);
    }
    // 2^53 after ZigZag is beyond what a number holds exactly; 11 bytes is too long.
    assert.throws(() => reader('8080808080808010').readVarlong(), InvalidRecordError);
    assert.throws(() => reader('8080808080808080808001').readVarlong(), InvalidRecordError);
    assert.throws(() => reader('ff').readVarlong(), InvalidRecordError);
  });

  void test('readBytes and readWindow stay inside the window', () => {
    const r = reader('0102030405');
    assert.deepEqual([...r.readBytes(2)], [1, 2]);
    const w = r.readWindow(2);
    assert.equal(w.readInt8(), 3);
    assert.equal(w.readInt8(), 4);
    assert.throws(() => w.readInt8(), InvalidRecordError);
    assert.equal(r.remaining, 1);
    assert.throws(() => r.readBytes(2), InvalidRecordError);
    assert.throws(() => r.readBytes(-1), InvalidRecordError);
    assert.equal(reader('ff').readInt8(), -1);
  });

  void test('encoding out of range is an assertion', () => {
    assert.throws(() => varintBytes(2 ** 31), AssertionError);
    assert.throws(() => varintBytes(1.5), AssertionError);
    assert.throws(() => varlongBytes(VARLONG_MAX + 1), AssertionError);
    assert.throws(() => writeVarlong(Buffer.alloc(10), 0, VARLONG_MIN - 1), AssertionError);
    // The int32 fast paths let nothing else through either.
    for (const bad of [-(2 ** 31) - 1, 2 ** 32, 0.5, -1.5, NaN, Infinity]) {
      assert.throws(() => writeVarint(Buffer.alloc(10), 0, bad), AssertionError, String(bad));
      assert.throws(() => varintBytes(bad), AssertionError, String(bad));
    }
    for (const bad of [0.5, NaN, -Infinity]) {
      assert.throws(() => writeVarlong(Buffer.alloc(10), 0, bad), AssertionError, String(bad));
      assert.throws(() => varlongBytes(bad), AssertionError, String(bad));
    }
  });
});
