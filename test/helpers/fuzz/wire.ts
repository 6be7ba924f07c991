/**
 * A hand-rolled protobuf writer for the fuzzer. The generated encoders clamp or reject values a
 * hostile client can still put on the wire (2^31 in an int32 field, 2^64 - 1 in a uint64, a bool
 * of 7, the wrong wire type, an overlong varint), so the fuzzer writes fields itself: a field is a
 * tag and a payload, and values are BigInts so every 64-bit pattern is reachable.
 */
import { API_KEYS } from '../../../src/protocol/api_keys.js';

export const WIRE = { VARINT: 0, FIXED64: 1, BYTES: 2, FIXED32: 5 } as const;
type WireType = (typeof WIRE)[keyof typeof WIRE];

const MASK_64 = (1n << 64n) - 1n;

/** The base-128 varint of value taken as 64 bits (negative numbers as two's complement: 10 bytes). */
export function varint(value: bigint): Buffer {
  let rest = value & MASK_64;
  const out: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return Buffer.from(out);
}

/** A varint padded with continuation bytes to `length` bytes (legal up to 10, overlong beyond). */
export function paddedVarint(value: bigint, length: number): Buffer {
  const plain = varint(value);
  if (plain.length >= length) return plain;
  const out = Buffer.alloc(length, 0x80);
  plain.copy(out);
  for (let i = 0; i < plain.length; i++) out[i] = (out[i] ?? 0) | 0x80;
  out[length - 1] = 0;
  return out;
}

export function zigzag(value: bigint): bigint {
  return value >= 0n ? value * 2n : -value * 2n - 1n;
}

export function tag(field: number, wire: WireType): Buffer {
  return varint(BigInt((field << 3) | wire));
}

export function varintField(field: number, value: bigint): Buffer {
  return Buffer.concat([tag(field, WIRE.VARINT), varint(value)]);
}

export function bytesField(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([tag(field, WIRE.BYTES), varint(BigInt(payload.length)), payload]);
}

export function stringField(field: number, text: string): Buffer {
  return bytesField(field, Buffer.from(text, 'utf8'));
}

/** A RequestEnvelope written field by field (so any api key or frame count can be claimed). */
export function envelope(fields: { correlationId: bigint | number; apiKey: bigint | number; clientId?: Uint8Array;
  rawFrameCount?: bigint | number }): Buffer {
  const parts = [varintField(1, BigInt(fields.correlationId)), varintField(2, BigInt(fields.apiKey))];
  if (fields.clientId !== undefined) parts.push(bytesField(3, fields.clientId));
  if (fields.rawFrameCount !== undefined) parts.push(varintField(4, BigInt(fields.rawFrameCount)));
  return Buffer.concat(parts);
}

/** The API keys the protocol defines, for generators that pick one. */
export const API_KEY_LIST: readonly number[] = Object.values(API_KEYS);
