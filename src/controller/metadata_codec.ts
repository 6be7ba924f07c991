/**
 * The protobuf runtime for metadata.proto: one protobufjs Root built from the JSON descriptor, and
 * field readers that turn a decoded message into checked TypeScript values.
 *
 * Decoding takes untrusted bytes (a corrupt log entry, a snapshot from a peer), so every reader
 * checks the field's type and range and throws MalformedMetadataError instead of an assertion.
 * uint64 fields decode to JavaScript numbers: protobufjs is configured without Long (by
 * src/protocol/protobuf_setup.ts, shared with the generated client messages), and a value at or
 * above 2^53 is rejected rather than rounded.
 *
 * Reflection, not the generated static module: the controller then needs no build step, and the
 * bytes are the same (test/unit/controller/commands.test.ts decodes them with the generated code).
 */
import '../protocol/protobuf_setup.js'; // numbers, not Long, for every 64-bit field
import protobuf from 'protobufjs';

import { assert } from '../../raft/core/assert.js';
import { TributaryError } from '../common/errors.js';
import { METADATA_SCHEMA } from './metadata_schema.js';

const ROOT = protobuf.Root.fromJSON(METADATA_SCHEMA);
const PACKAGE = 'tributary.metadata';

export const UINT32_MAX = 0xffff_ffff;

/** The reflected type of one message of metadata.proto, e.g. `metadataType('MetadataCommand')`. */
export function metadataType(name: string): protobuf.Type {
  return ROOT.lookupType(`${PACKAGE}.${name}`);
}

/** Bytes that are not a valid metadata message: a corrupt log entry or snapshot. */
export class MalformedMetadataError extends TributaryError<'INVALID_REQUEST'> {
  override readonly name = 'MalformedMetadataError';
  constructor(detail: string, options?: { readonly cause?: unknown }) {
    super('INVALID_REQUEST', `Malformed metadata: ${detail}`, options);
  }
}

export type DecodedFields = Readonly<Record<string, unknown>>;

/** Encodes a plain object as message `name`, after protobufjs' own verification. */
export function encodeMessage(name: string, value: Record<string, unknown>): Uint8Array {
  const type = metadataType(name);
  const problem = type.verify(value);
  assert(problem === null, () => `metadata ${name} does not fit the schema: ${problem ?? ''}`);
  return type.encode(value).finish();
}

/** Decodes message `name` into a plain object with defaults filled in and the oneof named. */
export function decodeMessage(name: string, bytes: Uint8Array): DecodedFields {
  const type = metadataType(name);
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (error: unknown) {
    throw new MalformedMetadataError(`${name} does not decode`, { cause: error });
  }
  return type.toObject(message, { defaults: true, arrays: true, objects: true, oneofs: true });
}

export function readUint32(fields: DecodedFields, key: string): number {
  return asUint32(fields[key], key);
}

export function readUint64(fields: DecodedFields, key: string): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MalformedMetadataError(`${key} is not a uint64 below 2^53`);
  }
  return value;
}

export function readString(fields: DecodedFields, key: string): string {
  const value = fields[key];
  if (typeof value !== 'string') {
    throw new MalformedMetadataError(`${key} is not a string`);
  }
  return value;
}

export function readBool(fields: DecodedFields, key: string): boolean {
  const value = fields[key];
  if (typeof value !== 'boolean') {
    throw new MalformedMetadataError(`${key} is not a bool`);
  }
  return value;
}

export function readStringList(fields: DecodedFields, key: string): readonly string[] {
  return asList(fields[key], key).map((item) => {
    if (typeof item !== 'string') {
      throw new MalformedMetadataError(`${key} is not a list of strings`);
    }
    return item;
  });
}

export function readMessage(fields: DecodedFields, key: string): DecodedFields {
  return asMessage(fields[key], key);
}

export function readMessageList(fields: DecodedFields, key: string): readonly DecodedFields[] {
  return asList(fields[key], key).map((item) => asMessage(item, key));
}

/** A repeated uint32 field (broker ids). */
export function readUint32List(fields: DecodedFields, key: string): readonly number[] {
  return asList(fields[key], key).map((item) => asUint32(item, key));
}

/** The replica lists of repeated PartitionAssignment field key. */
export function readAssignments(fields: DecodedFields, key: string): readonly (readonly number[])[] {
  return readMessageList(fields, key).map((assignment) =>
    asList(assignment['replicas'], `${key}.replicas`).map((replica) => asUint32(replica, `${key}.replicas`)));
}

function asUint32(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    throw new MalformedMetadataError(`${what} is not a uint32`);
  }
  return value;
}

function asList(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new MalformedMetadataError(`${what} is not a list`);
  }
  return value as unknown[];
}

function asMessage(value: unknown, what: string): DecodedFields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedMetadataError(`${what} is not a message`);
  }
  return value as DecodedFields;
}

/** A map<string, string> field, with its keys sorted so equal maps compare and encode equally. */
export function readStringMap(fields: DecodedFields, key: string): Readonly<Record<string, string>> {
  const map = readMessage(fields, key);
  const entries = Object.entries(map);
  if (!entries.every(([, value]) => typeof value === 'string')) {
    throw new MalformedMetadataError(`${key} is not a map of strings`);
  }
  return sortedStringMap(entries as [string, string][]);
}

/** A fresh record of entries in key order (protobufjs writes map entries in insertion order). */
export function sortedStringMap(entries: Iterable<readonly [string, string]>): Readonly<Record<string, string>> {
  const sorted = [...entries].sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
  return Object.fromEntries(sorted);
}

/** Asserts that n fits a uint32 field before it is encoded. */
export function checkUint32(n: number, what: string): number {
  assert(Number.isInteger(n) && n >= 0 && n <= UINT32_MAX, () => `${what} must be a uint32, got ${n}`);
  return n;
}

/** Asserts that n fits a uint64 field and decodes back exactly. */
export function checkUint64(n: number, what: string): number {
  assert(Number.isSafeInteger(n) && n >= 0, () => `${what} must be a safe integer >= 0, got ${n}`);
  return n;
}
