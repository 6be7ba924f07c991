/**
 * Kafka's protocol primitive types, by hand: a bounds-checked reader over one request body and a
 * growing writer for one response. Integers are big-endian; STRING is an int16 length and UTF-8,
 * BYTES an int32 length, ARRAY an int32 count (-1: null); the compact (flexible) forms store
 * length + 1 as an unsigned varint, and a flexible struct ends with a tagged-field section
 * (research kafka-protocol.md §2).
 *
 * Every read checks the bytes are there and every length is sane, and throws KafkaDecodeError
 * otherwise, so a frame that lies about a length is a typed error and never a crash or a read
 * past the frame.
 */
import { assert } from '../../raft/core/assert.js';
import { TributaryError } from '../common/errors.js';

/** A request body that does not parse: INVALID_REQUEST, or a closed connection when unanswerable. */
export class KafkaDecodeError extends TributaryError<'INVALID_REQUEST'> {
  override readonly name = 'KafkaDecodeError';
  constructor(detail: string) {
    super('INVALID_REQUEST', `malformed Kafka request: ${detail}`);
  }
}

/** The most elements any array in a request may claim; each needs at least one byte anyway. */
function checkCount(count: number, remaining: number, what: string): void {
  if (count > remaining) throw new KafkaDecodeError(`${what} claims ${count} elements with ${remaining} bytes left`);
}

export class KafkaReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  get remaining(): number { return this.bytes.length - this.offset; }

  private take(size: number, what: string): number {
    if (size < 0 || size > this.remaining) {
      throw new KafkaDecodeError(`${what} needs ${size} bytes, ${this.remaining} left`);
    }
    const at = this.offset;
    this.offset += size;
    return at;
  }

  int8(): number { return this.bytes.readInt8(this.take(1, 'int8')); }
  int16(): number { return this.bytes.readInt16BE(this.take(2, 'int16')); }
  int32(): number { return this.bytes.readInt32BE(this.take(4, 'int32')); }
  boolean(): boolean { return this.int8() !== 0; }

  /** An int64 as a number; values outside the safe integers are refused (offsets, ids and times fit). */
  int64(): number {
    const value = this.bytes.readBigInt64BE(this.take(8, 'int64'));
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new KafkaDecodeError(`int64 ${value} is outside the safe integers`);
    }
    return Number(value);
  }

  /** Unsigned varint, at most 5 bytes (a uint32). */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.bytes.readUInt8(this.take(1, 'varint'));
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > 0xffff_ffff) throw new KafkaDecodeError('varint above uint32');
        return value;
      }
    }
    throw new KafkaDecodeError('varint longer than 5 bytes');
  }

  private utf8(length: number, what: string): string {
    const at = this.take(length, what);
    return this.bytes.toString('utf8', at, at + length);
  }

  string(): string {
    const value = this.nullableString();
    if (value === null) throw new KafkaDecodeError('null where a string is required');
    return value;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length === -1) return null;
    if (length < 0) throw new KafkaDecodeError(`string length ${length}`);
    return this.utf8(length, 'string');
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.uvarint();
    return lengthPlusOne === 0 ? null : this.utf8(lengthPlusOne - 1, 'compact string');
  }

  /** BYTES as a view of the request (callers copy what they keep past the request). */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    if (length < 0) throw new KafkaDecodeError(`bytes length ${length}`);
    const at = this.take(length, 'bytes');
    return this.bytes.subarray(at, at + length);
  }

  /** COMPACT_BYTES (length + 1 as a varint) as a view of the request; null is refused. */
  compactBytes(): Buffer {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) throw new KafkaDecodeError('null where bytes are required');
    const at = this.take(lengthPlusOne - 1, 'compact bytes');
    return this.bytes.subarray(at, at + lengthPlusOne - 1);
  }

  /** ARRAY of elements; null (-1) reads as null. */
  nullableArray<T>(element: (reader: KafkaReader) => T): T[] | null {
    const count = this.int32();
    if (count === -1) return null;
    if (count < 0) throw new KafkaDecodeError(`array count ${count}`);
    checkCount(count, this.remaining, 'array');
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(element(this));
    return items;
  }

  array<T>(element: (reader: KafkaReader) => T): T[] {
    const items = this.nullableArray(element);
    if (items === null) throw new KafkaDecodeError('null where an array is required');
    return items;
  }

  compactArray<T>(element: (reader: KafkaReader) => T): T[] | null {
    const countPlusOne = this.uvarint();
    if (countPlusOne === 0) return null;
    checkCount(countPlusOne - 1, this.remaining, 'compact array');
    const items: T[] = [];
    for (let i = 0; i < countPlusOne - 1; i++) items.push(element(this));
    return items;
  }

  /** Skips a tagged-field section (we know no tags). */
  taggedFields(): void {
    const count = this.uvarint();
    checkCount(count, this.remaining, 'tagged fields');
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      this.take(this.uvarint(), 'tagged field');
    }
  }
}

/** A response under construction; grows by doubling. */
export class KafkaWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private room(size: number): number {
    if (this.length + size > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + size));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    const at = this.length;
    this.length += size;
    return at;
  }

  int8(value: number): this { const at = this.room(1); this.buffer.writeInt8(value, at); return this; }
  int16(value: number): this { const at = this.room(2); this.buffer.writeInt16BE(value, at); return this; }
  int32(value: number): this { const at = this.room(4); this.buffer.writeInt32BE(value, at); return this; }
  boolean(value: boolean): this { return this.int8(value ? 1 : 0); }

  int64(value: number): this {
    assert(Number.isSafeInteger(value), () => `int64 ${value} is not a safe integer`);
    const at = this.room(8); // first: room() may replace the buffer
    this.buffer.writeBigInt64BE(BigInt(value), at);
    return this;
  }

  uvarint(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, () => `uvarint ${value}`);
    let rest = value;
    while (rest >= 0x80) {
      const at = this.room(1);
      this.buffer.writeUInt8((rest & 0x7f) | 0x80, at);
      rest = Math.floor(rest / 128);
    }
    const last = this.room(1);
    this.buffer.writeUInt8(rest, last);
    return this;
  }

  private raw(bytes: Uint8Array): this {
    const at = this.room(bytes.length);
    this.buffer.set(bytes, at);
    return this;
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = Buffer.from(value, 'utf8');
    assert(bytes.length <= 0x7fff, 'string too long for int16');
    return this.int16(bytes.length).raw(bytes);
  }

  string(value: string): this { return this.nullableString(value); }

  compactString(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    return this.uvarint(bytes.length + 1).raw(bytes);
  }

  compactNullableString(value: string | null): this {
    return value === null ? this.uvarint(0) : this.compactString(value);
  }

  bytes(value: Uint8Array): this { return this.int32(value.length).raw(value); }

  compactBytes(value: Uint8Array): this { return this.uvarint(value.length + 1).raw(value); }

  /** BYTES made of several pieces (stored batches), copied in; null writes -1. */
  nullableBytesOf(pieces: readonly Uint8Array[] | null): this {
    if (pieces === null) return this.int32(-1);
    const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
    this.int32(total);
    for (const piece of pieces) this.raw(piece);
    return this;
  }

  array<T>(items: readonly T[] | null, element: (writer: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) element(this, item);
    return this;
  }

  int32Array(items: readonly number[]): this {
    return this.array(items, (writer, item) => writer.int32(item));
  }

  compactArray<T>(items: readonly T[], element: (writer: this, item: T) => void): this {
    this.uvarint(items.length + 1);
    for (const item of items) element(this, item);
    return this;
  }

  /** An empty tagged-field section. */
  noTaggedFields(): this { return this.uvarint(0); }

  get size(): number { return this.length; }

  /** The bytes written so far (a view; the writer is not used after). */
  finish(): Buffer { return this.buffer.subarray(0, this.length); }
}
