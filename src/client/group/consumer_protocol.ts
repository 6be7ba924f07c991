/**
 * Kafka's ConsumerProtocol bytes ([K] clients/.../consumer/internals/ConsumerProtocol.java): the
 * opaque member metadata (Subscription) a consumer sends in JoinGroup and the assignment the
 * leader sends each member in SyncGroup. The coordinator never reads them; every member of a
 * group must, so they are byte for byte Kafka's, and kafkajs' AssignerProtocol reads ours.
 *
 * Big-endian: int16 version, arrays as an int32 count (-1: null) then the items, strings as an
 * int16 length (-1: null) then UTF-8, bytes as an int32 length (-1: null) then the bytes.
 * - Subscription v0: version, topics [string], userData bytes; v1 adds ownedPartitions
 *   [{ topic string, partitions [int32] }]. Later versions (generation, rack) append fields a
 *   v1 reader skips, as Kafka's readers do.
 * - Assignment v0/v1: version, assigned [{ topic string, partitions [int32] }], userData bytes.
 */
import { TributaryError } from '../../common/errors.js';

/** JoinGroup's protocol_type of consumers. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';
/** The subscription version this client writes (v1: with owned partitions, for sticky). */
export const SUBSCRIPTION_VERSION = 1;
export const ASSIGNMENT_VERSION = 1;

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface Subscription {
  readonly version: number;
  readonly topics: readonly string[];
  readonly userData: Buffer | null;
  /** The partitions the member holds now (v1 and later; empty for v0). */
  readonly ownedPartitions: readonly TopicPartitions[];
}

export interface Assignment {
  readonly version: number;
  readonly partitions: readonly TopicPartitions[];
  readonly userData: Buffer | null;
}

class Writer {
  private readonly chunks: Buffer[] = [];

  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value);
    this.chunks.push(b);
    return this;
  }

  int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value);
    this.chunks.push(b);
    return this;
  }

  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length > 0x7fff) throw new TributaryError('INVALID_REQUEST', `string of ${bytes.length} bytes is too long`);
    this.int16(bytes.length);
    this.chunks.push(bytes);
    return this;
  }

  bytes(value: Buffer | null): this {
    if (value === null) return this.int32(-1);
    this.int32(value.length);
    this.chunks.push(value);
    return this;
  }

  array<T>(items: readonly T[], write: (item: T) => void): this {
    this.int32(items.length);
    for (const item of items) write(item);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  private offset = 0;

  constructor(private readonly buffer: Buffer, private readonly what: string) {}

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  string(): string {
    const length = this.int16();
    if (length < 0) throw this.bad('a null string');
    this.need(length);
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    this.need(length);
    const value = Buffer.from(this.buffer.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  /** An array; a null one (-1) reads as empty, as Kafka's readers treat it. */
  array<T>(read: () => T): T[] {
    const count = this.int32();
    if (count < 0) return [];
    // Each item takes at least one byte: a count past the end is garbage, not a huge allocation.
    if (count > this.buffer.length - this.offset) throw this.bad(`an array of ${count} items`);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(read());
    return items;
  }

  atEnd(): boolean {
    return this.offset >= this.buffer.length;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw this.bad('truncated bytes');
  }

  private bad(detail: string): TributaryError {
    return new TributaryError('INVALID_REQUEST', `Malformed consumer protocol ${this.what}: ${detail}`);
  }
}

function writeTopicPartitions(writer: Writer, list: readonly TopicPartitions[]): void {
  writer.array(list, (tp) => {
    writer.string(tp.topic).array(tp.partitions, (p) => writer.int32(p));
  });
}

function readTopicPartitions(reader: Reader): TopicPartitions[] {
  return reader.array(() => ({ topic: reader.string(), partitions: reader.array(() => reader.int32()) }));
}

function checkVersion(version: number, what: string): void {
  if (!Number.isInteger(version) || version < 0 || version > 0x7fff) {
    throw new TributaryError('INVALID_REQUEST', `${what} version ${version} is not an int16 >= 0`);
  }
}

export function encodeSubscription(subscription: Subscription): Buffer {
  checkVersion(subscription.version, 'subscription');
  const writer = new Writer().int16(subscription.version);
  writer.array(subscription.topics, (topic) => writer.string(topic)).bytes(subscription.userData);
  if (subscription.version >= 1) writeTopicPartitions(writer, subscription.ownedPartitions);
  // Versions this client does not write (2: generation id, 3: rack id) would need their fields.
  if (subscription.version >= 2) throw new TributaryError('UNSUPPORTED_VERSION', `subscription version ${subscription.version}`);
  return writer.done();
}

export function decodeSubscription(bytes: Buffer): Subscription {
  const reader = new Reader(bytes, 'subscription');
  const version = reader.int16();
  if (version < 0) throw new TributaryError('INVALID_REQUEST', `subscription version ${version}`);
  const topics = reader.array(() => reader.string());
  const userData = reader.bytes();
  // Owned partitions came with v1; a v0 sender (kafkajs) may end right after the user data.
  const ownedPartitions = version >= 1 && !reader.atEnd() ? readTopicPartitions(reader) : [];
  return { version, topics, userData, ownedPartitions };
}

export function encodeAssignment(assignment: Assignment): Buffer {
  checkVersion(assignment.version, 'assignment');
  const writer = new Writer().int16(assignment.version);
  writeTopicPartitions(writer, assignment.partitions);
  return writer.bytes(assignment.userData).done();
}

/** An empty buffer is an empty assignment (Kafka sends one to a member the leader left out). */
export function decodeAssignment(bytes: Buffer): Assignment {
  if (bytes.length === 0) return { version: 0, partitions: [], userData: null };
  const reader = new Reader(bytes, 'assignment');
  const version = reader.int16();
  if (version < 0) throw new TributaryError('INVALID_REQUEST', `assignment version ${version}`);
  const partitions = readTopicPartitions(reader);
  const userData = reader.atEnd() ? null : reader.bytes();
  return { version, partitions, userData };
}
