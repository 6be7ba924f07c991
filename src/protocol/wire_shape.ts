/**
 * Checks protobuf bytes against the schema of package tributary.client before protobufjs decodes
 * them, for what the generated decoders let through or cannot bound:
 *
 * - a known field sent with another wire type (the decoders skip it as if it were unknown, so the
 *   field silently read as its default: a Produce `acks` sent length-delimited became acks = 0);
 * - how many entries the message holds (elements of repeated and map fields, at any depth), so that
 *   a small frame cannot decode into millions of objects that a handler then holds;
 * - nesting depth, and truncated or impossible encodings (groups, wire types 6 and 7).
 *
 * Unknown field numbers are skipped (a newer client may send fields this broker does not know).
 * The schema is `pbjs -t json` of client.proto (src/protocol/generated/client.json, made by
 * `npm run proto`). The walk reads each tag and length once; it allocates nothing per field.
 *
 * readVarintField() is for an envelope that protobufjs refused (for example a client_id that is
 * not UTF-8): it reads one varint field, such as the correlation id, so the request can still be
 * answered.
 */
import { readFileSync } from 'node:fs';

import { assert } from '../../raft/core/assert.js';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32',
  'invalid (6)', 'invalid (7)'];

const VARINT_SCALARS = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_SCALARS = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_SCALARS = new Set(['fixed32', 'sfixed32', 'float']);

interface FieldShape {
  readonly name: string;
  /** The wire type the schema gives the field; a repeated scalar also accepts the packed form. */
  readonly wireType: number;
  readonly packable: boolean;
  readonly repeated: boolean;
  /** Set for message and map fields: the shape of the nested message (a map's entry). */
  message: MessageShape | null;
}

export interface MessageShape {
  readonly name: string;
  readonly fields: ReadonlyMap<number, FieldShape>;
}

export interface ShapeLimits {
  /** Elements of repeated and map fields, summed over the whole message. */
  readonly entriesMax: number;
  readonly depthMax: number;
}

export const SHAPE_LIMITS_DEFAULT: ShapeLimits = { entriesMax: 50_000, depthMax: 16 };

interface JsonField {
  readonly type: string;
  readonly id: number;
  readonly rule?: string;
  readonly keyType?: string;
}
interface JsonNamespace {
  readonly nested?: Record<string, JsonNamespace>;
  readonly fields?: Record<string, JsonField>;
  readonly values?: Record<string, number>;
}

/** The shapes of every message of tributary.client, by name. */
export const CLIENT_SHAPES: ReadonlyMap<string, MessageShape> = loadShapes(
  JSON.parse(readFileSync(new URL('./generated/client.json', import.meta.url), 'utf8')) as JsonNamespace);

export function clientShape(name: string): MessageShape {
  const shape = CLIENT_SHAPES.get(name);
  assert(shape !== undefined, () => `no message ${name} in client.proto`);
  return shape;
}

function loadShapes(root: JsonNamespace): ReadonlyMap<string, MessageShape> {
  const namespace = root.nested?.tributary?.nested?.client?.nested;
  assert(namespace !== undefined, 'client.json describes package tributary.client');
  const enums = new Set(Object.entries(namespace).filter(([, t]) => t.values !== undefined).map(([n]) => n));
  const shapes = new Map<string, MessageShape>();
  const pending: [FieldShape, string][] = [];
  for (const [typeName, type] of Object.entries(namespace)) {
    if (type.fields === undefined) continue;
    const fields = new Map<number, FieldShape>();
    for (const [fieldName, field] of Object.entries(type.fields)) {
      const repeated = field.rule === 'repeated';
      if (field.keyType !== undefined) {
        // map<K, V>: a repeated entry message { K key = 1; V value = 2; }.
        const entry = new Map<number, FieldShape>([
          [1, scalarOrMessage('key', field.keyType, false, enums, pending)],
          [2, scalarOrMessage('value', field.type, false, enums, pending)],
        ]);
        fields.set(field.id, { name: fieldName, wireType: WIRE_LENGTH, packable: false, repeated: true,
          message: { name: `${typeName}.${fieldName} entry`, fields: entry } });
      } else {
        fields.set(field.id, scalarOrMessage(fieldName, field.type, repeated, enums, pending));
      }
    }
    shapes.set(typeName, { name: typeName, fields });
  }
  for (const [field, typeName] of pending) {
    const nested = shapes.get(typeName);
    assert(nested !== undefined, () => `field ${field.name} names unknown type ${typeName}`);
    field.message = nested;
  }
  return shapes;
}

function scalarOrMessage(name: string, type: string, repeated: boolean, enums: ReadonlySet<string>,
  pending: [FieldShape, string][]): FieldShape {
  const scalar = (wireType: number): FieldShape => ({ name, wireType, packable: repeated, repeated, message: null });
  if (VARINT_SCALARS.has(type) || enums.has(type)) return scalar(WIRE_VARINT);
  if (FIXED64_SCALARS.has(type)) return scalar(WIRE_FIXED64);
  if (FIXED32_SCALARS.has(type)) return scalar(WIRE_FIXED32);
  if (type === 'string' || type === 'bytes') return { name, wireType: WIRE_LENGTH, packable: false, repeated, message: null };
  const field: FieldShape = { name, wireType: WIRE_LENGTH, packable: false, repeated, message: null };
  pending.push([field, type]);
  return field;
}

/** Why `bytes` does not fit `shape` within `limits`, or null when it does. Never throws. */
export function shapeProblem(shape: MessageShape, bytes: Uint8Array, limits: ShapeLimits = SHAPE_LIMITS_DEFAULT):
  string | null {
  const walk = new ShapeWalk(bytes, limits);
  return walk.message(shape, 0, bytes.length, 0);
}

/**
 * The value of the last varint field `fieldNumber` at the top level of `bytes`, read up to the
 * first byte that does not parse; null when there is none. Values above 2^53 lose precision (the
 * caller checks Number.isSafeInteger).
 */
export function readVarintField(bytes: Uint8Array, fieldNumber: number): number | null {
  const reader = new ShapeWalk(bytes, SHAPE_LIMITS_DEFAULT);
  let found: number | null = null;
  while (reader.pos < bytes.length) {
    const tag = reader.varint(bytes.length);
    if (tag === null) break;
    const wireType = tag % 8;
    if (wireType === WIRE_VARINT) {
      const value = reader.varint(bytes.length);
      if (value === null) break;
      if (Math.floor(tag / 8) === fieldNumber) found = value;
    } else if (!reader.skip(wireType, bytes.length)) {
      break;
    }
  }
  return found;
}

class ShapeWalk {
  pos = 0;
  private entries = 0;

  constructor(private readonly bytes: Uint8Array, private readonly limits: ShapeLimits) {}

  message(shape: MessageShape, start: number, end: number, depth: number): string | null {
    if (depth > this.limits.depthMax) return `messages nested deeper than ${this.limits.depthMax}`;
    this.pos = start;
    while (this.pos < end) {
      const tag = this.varint(end);
      if (tag === null) return `${shape.name}: truncated field tag`;
      const fieldNumber = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (fieldNumber === 0) return `${shape.name}: field number 0`;
      const field = shape.fields.get(fieldNumber);
      if (field !== undefined && wireType !== field.wireType && !(field.packable && wireType === WIRE_LENGTH)) {
        return `${shape.name} field ${fieldNumber} (${field.name}) has wire type ${wireTypeName(wireType)}, `
          + `expected ${wireTypeName(field.wireType)}`;
      }
      if (field?.repeated === true && wireType !== WIRE_LENGTH) this.entries += 1;
      if (wireType !== WIRE_LENGTH) {
        if (!this.skip(wireType, end)) return `${shape.name} field ${fieldNumber}: truncated or invalid encoding`;
      } else {
        const length = this.varint(end);
        if (length === null || length > end - this.pos) return `${shape.name} field ${fieldNumber}: truncated`;
        const valueStart = this.pos;
        const valueEnd = valueStart + length;
        if (field?.repeated === true) {
          this.entries += field.packable ? this.packedCount(field.wireType, valueStart, valueEnd) : 1;
        }
        if (field?.message != null) {
          const problem = this.message(field.message, valueStart, valueEnd, depth + 1);
          if (problem !== null) return problem;
        }
        this.pos = valueEnd;
      }
      if (this.entries > this.limits.entriesMax) {
        return `more than ${this.limits.entriesMax} entries in repeated fields`;
      }
    }
    return this.pos === end ? null : `${shape.name}: truncated`;
  }

  /** An unsigned varint of at most 10 bytes ending before `end`, as a number; null when truncated or longer. */
  varint(end: number): number | null {
    if (this.pos < end) { // most tags and lengths are one byte
      const first = this.bytes[this.pos] ?? 0x80;
      if (first < 0x80) {
        this.pos += 1;
        return first;
      }
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      if (this.pos >= end) return null;
      const byte = this.bytes[this.pos++] ?? 0;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return null;
  }

  /** Skips a value of a non-length wire type (or a length-delimited one); false when it cannot. */
  skip(wireType: number, end: number): boolean {
    switch (wireType) {
      case WIRE_VARINT: return this.varint(end) !== null;
      case WIRE_FIXED64: return this.advance(8, end);
      case WIRE_FIXED32: return this.advance(4, end);
      case WIRE_LENGTH: {
        const length = this.varint(end);
        return length !== null && this.advance(length, end);
      }
      default: return false; // groups are not proto3; 6 and 7 are not wire types
    }
  }

  private advance(bytes: number, end: number): boolean {
    if (bytes > end - this.pos) return false;
    this.pos += bytes;
    return true;
  }

  private packedCount(wireType: number, start: number, end: number): number {
    if (wireType === WIRE_FIXED64) return Math.ceil((end - start) / 8);
    if (wireType === WIRE_FIXED32) return Math.ceil((end - start) / 4);
    let count = 0;
    for (let i = start; i < end; i += 1) if ((this.bytes[i] ?? 0) < 0x80) count += 1;
    return count;
  }
}

function wireTypeName(wireType: number): string {
  return `${wireType} (${WIRE_TYPE_NAMES[wireType] ?? '?'})`;
}
