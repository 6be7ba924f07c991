/**
 * Kafka's variable-length integers (protobuf style): ZigZag, then 7-bit groups, least significant
 * first, with the high bit of each byte set when more bytes follow ([K] utils/ByteUtils.java).
 *
 *   zigzag(n) = (n << 1) ^ (n >> 31)    varint:  int32, at most 5 bytes
 *   zigzag(n) = (n << 1) ^ (n >> 63)    varlong: int64, at most 10 bytes
 *
 *   0 -> 00, -1 -> 01, 1 -> 02, 63 -> 7e, -64 -> 7f, 64 -> 80 01, 8191 -> fe 7f, 8192 -> 80 80 01
 *
 * Varlongs are plain numbers here: Tributary only needs them for timestamp deltas, so values must
 * lie in [VARLONG_MIN, VARLONG_MAX] (|n| <= 2^52, where the ZigZag form is still a safe integer).
 * Encoding out of range is a caller bug (assert); decoding out of range is bad input
 * (InvalidRecordError), as are over-long or truncated encodings.
 */
import { assert, AssertionError } from '../../raft/core/assert.js';
import { InvalidRecordError } from '../common/errors.js';

export const VARINT_BYTES_MAX = 5;
export const VARLONG_BYTES_MAX = 10;
export const VARLONG_MAX = 2 ** 52 - 1;
export const VARLONG_MIN = -(2 ** 52);

const TWO_POW_31 = 2 ** 31;

function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

/** ZigZag of a varlong-range number using float arithmetic, exact because the result is < 2^53. */
function zigzag64(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unsignedVarintBytes(z: number): number {
  let bytes = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    bytes += 1;
  }
  return bytes;
}

/**
 * Bytes of a ZigZag'd int32 (an unsigned 32-bit value). Unrolled: the producer sizes several
 * varints per record, nearly all of one byte.
 */
function unsignedVarint32Bytes(z: number): number {
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  return z < 0x10000000 ? 4 : 5;
}

/** True for an int32 (-0 included): the one test the fast paths below need. */
function isInt32(n: number): boolean {
  return (n | 0) === n;
}

export function varintBytes(n: number): number {
  if (!isInt32(n)) failInt32(n);
  return unsignedVarint32Bytes(zigzag32(n));
}

export function varlongBytes(n: number): number {
  // Timestamp deltas are nearly always small: the int32 ZigZag form is the same number.
  if (isInt32(n)) return unsignedVarint32Bytes(zigzag32(n));
  assertVarlong(n);
  return unsignedVarintBytes(zigzag64(n));
}

/** Writes z (an unsigned safe integer) as 7-bit groups at position; returns the next position. */
function writeUnsigned(bytes: Uint8Array, position: number, z: number): number {
  while (z >= TWO_POW_31) {
    bytes[position++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  while (z >= 0x80) {
    bytes[position++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  bytes[position++] = z;
  return position;
}

/** writeUnsigned for a ZigZag'd int32: 32-bit shifts only. */
function writeUnsigned32(bytes: Uint8Array, position: number, z: number): number {
  while (z >= 0x80) {
    bytes[position++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  bytes[position++] = z;
  return position;
}

export function writeVarint(bytes: Uint8Array, position: number, n: number): number {
  if (!isInt32(n)) failInt32(n);
  return writeUnsigned32(bytes, position, zigzag32(n));
}

export function writeVarlong(bytes: Uint8Array, position: number, n: number): number {
  if (isInt32(n)) return writeUnsigned32(bytes, position, zigzag32(n));
  assertVarlong(n);
  return writeUnsigned(bytes, position, zigzag64(n));
}

/** The assertion failure of a varint outside int32 (out of line: the callers run per record). */
function failInt32(n: number): never {
  throw new AssertionError(`varint out of int32 range: ${n}`);
}

function assertVarlong(n: number): void {
  assert(Number.isInteger(n) && n >= VARLONG_MIN && n <= VARLONG_MAX,
    () => `varlong out of range [-2^52, 2^52 - 1]: ${n}`);
}

/**
 * A bounds-checked cursor over bytes[position, end). Every read past end, and every malformed
 * varint, throws InvalidRecordError('MALFORMED_RECORD'): the bytes come from the network or disk.
 */
export class ByteReader {
  constructor(
    private readonly bytes: Uint8Array,
    public position: number,
    readonly end: number,
  ) {
    assert(position >= 0 && position <= end && end <= bytes.length, 'ByteReader window out of bounds');
  }

  get remaining(): number {
    return this.end - this.position;
  }

  readInt8(): number {
    const byte = this.nextByte();
    return byte >= 0x80 ? byte - 0x100 : byte;
  }

  readVarint(): number {
    let z = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.nextByte();
      if (shift === 28 && byte > 0x0f) {
        throw malformed('varint does not fit in 32 bits');
      }
      z |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        return (z >>> 1) ^ -(z & 1);
      }
    }
    throw malformed(`varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  readVarlong(): number {
    let z = 0;
    let scale = 1;
    for (let count = 0; count < VARLONG_BYTES_MAX; count++) {
      const byte = this.nextByte();
      // Each term is exact; a sum that rounds is above 2^53 and is rejected below.
      z += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (byte < 0x80) {
        return unzigzag64(z);
      }
    }
    throw malformed(`varlong longer than ${VARLONG_BYTES_MAX} bytes`);
  }

  /** Moves past the next length bytes (bounds-checked) and returns where they start; no view is made. */
  skip(length: number): number {
    if (length < 0 || length > this.remaining) {
      throw malformed(`length ${length} runs past the end (${this.remaining} bytes left)`);
    }
    const start = this.position;
    this.position += length;
    return start;
  }

  /** A view of the next length bytes (no copy). */
  readBytes(length: number): Uint8Array {
    const start = this.skip(length);
    return this.bytes.subarray(start, start + length);
  }

  /** A reader over the next length bytes; this reader skips past them. */
  readWindow(length: number): ByteReader {
    const start = this.skip(length);
    return new ByteReader(this.bytes, start, this.position);
  }

  private nextByte(): number {
    if (this.position >= this.end) {
      throw malformed('unexpected end of record data');
    }
    const byte = this.bytes[this.position++];
    assert(byte !== undefined, 'position checked against end');
    return byte;
  }
}

function unzigzag64(z: number): number {
  if (z > 2 * VARLONG_MAX + 1) {
    throw malformed('varlong outside [-2^52, 2^52 - 1]');
  }
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function malformed(detail: string): InvalidRecordError {
  return new InvalidRecordError('MALFORMED_RECORD', detail);
}
