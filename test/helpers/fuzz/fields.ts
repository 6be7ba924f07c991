/**
 * Field fuzzing: every field of every API's request, read off client.proto by reflection so that a
 * field added later is fuzzed too. Values are boundaries (0, -1, 2^31 - 1, 2^31, 2^53, 2^64 - 1, as
 * raw varints, so they reach the broker however the field is typed), huge strings and repeated
 * fields, unknown topics, internal names (`__controller`) and names that look like storage paths.
 * Fields named like topics, partitions or acks mostly get plausible values, so requests get past
 * the first check and into the handlers.
 *
 * Guard rails, so that the fuzzer tests robustness rather than capacity or its own checks:
 * - no DeleteTopics of the session's topics and no Produce to the canary or the other classes' topics;
 * - reserved `__` names are created as often as the fuzz picks them (at most 4 partitions each
 *   still applies): a CreateTopics that says yes to one is reported (reservedAccepted);
 * - real topic creations are budgeted (a small count, at most 4 partitions each): anything beyond is
 *   sent with validate_only. A client creating a 10,000-partition topic is an admin decision, not
 *   hostile input, and would swamp a small machine.
 * - CreatePartitions grows only the fresh topics, to at most 4 partitions (validate_only otherwise).
 * Fetches that may long-poll (max_wait_ms over 2 s) are sent as 'maybe': the protocol lets the
 * broker hold them up to a minute. So are ElectLeaders that may wait over 2 s for a replica to catch up.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import protobuf from 'protobufjs';

import { topicNameProblem } from '../../../src/controller/topic_name.js';
import { TOPIC_CONFIG_KEYS } from '../../../src/controller/topic_config.js';
import { API_KEYS, apiName } from '../../../src/protocol/api_keys.js';
import type { ApiKey } from '../../../src/protocol/api_keys.js';
import { decodeResponseBodyFrames } from '../../../src/protocol/envelope.js';
import { API_MESSAGES } from '../../../src/protocol/messages.js';
import type { DecodedRequestOf } from '../../../src/protocol/messages.js';
import { encodeRecordBatch } from '../../../src/protocol/record_batch.js';
import type { FuzzContext } from './context.js';
import { HOSTILE_NAMES } from './context.js';
import type { FuzzReply, FuzzRequest, RequestSource } from './driver.js';
import { bytesField, envelope, tag, varint, varintField, WIRE, zigzag } from './wire.js';

const PROTO_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../src/protocol/proto/client.proto');
const DEPTH_MAX = 3;
/** Real topic creations per source (each at most CREATED_PARTITIONS_MAX partitions). */
const CREATE_BUDGET = 12;
const CREATED_PARTITIONS_MAX = 4;
const LONG_POLL_MS = 2_000;
const HUGE_STRING_BYTES = 256 * 1024;
const HUGE_REPEATED = 5_000;
/** Chance of a huge string or repeated field: rare, each costs the broker (and the reply decoder) a lot. */
const HUGE_CHANCE = 0.003;
/** Fresh topic names the field class may create (and delete again). */
const FRESH_NAMES = Array.from({ length: 6 }, (_, i) => `fuzz-new-${i}`);

const SIGNED = new Set(['sint32', 'sint64']);
const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'bool', 'sint32', 'sint64']);

let cachedRoot: protobuf.Root | null = null;
function protoRoot(): protobuf.Root {
  if (cachedRoot === null) {
    cachedRoot = protobuf.loadSync(PROTO_FILE);
    cachedRoot.resolveAll();
  }
  return cachedRoot;
}

/** The reflected request type of api: PRODUCE is ProduceRequest, LIST_OFFSETS ListOffsetsRequest. */
export function requestType(api: ApiKey): protobuf.Type {
  const words = apiName(api).toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return protoRoot().lookupType(`tributary.client.${words.join('')}Request`);
}

export class FieldFuzzer implements RequestSource {
  private createBudget = CREATE_BUDGET;
  /** Reserved names a CreateTopics reply said yes to. */
  readonly reservedAccepted = new Set<string>();
  private readonly apis = Object.values(API_KEYS);

  constructor(private readonly context: FuzzContext) {}

  next(cid: () => number): FuzzRequest {
    const api = this.context.pick(this.apis);
    for (let attempt = 0; attempt < 10; attempt++) {
      const request = this.build(api, cid);
      if (request !== null) return request;
    }
    return this.build(API_KEYS.METADATA, cid) ?? assertNever();
  }

  private build(api: ApiKey, cid: () => number): FuzzRequest | null {
    const prng = this.context.prng;
    let body = this.message(requestType(api), 0);
    const rawFrames: Buffer[] = [];
    if (api === API_KEYS.PRODUCE) {
      for (let i = prng.int(0, 3); i > 0; i--) {
        rawFrames.push(encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null,
          value: Buffer.from(this.context.ascii(prng.int(0, 64))) }] }));
      }
    }
    const decoded = safeDecode(api, body);
    let expect: 'maybe' | undefined;
    let onReply: FuzzRequest['onReply'];
    switch (api) {
      case API_KEYS.PRODUCE: {
        const targets = (decoded as DecodedRequestOf<typeof API_KEYS.PRODUCE> | null)?.partitions ?? [];
        if (targets.some((t) => this.guarded(t.topic))) return null;
        break;
      }
      case API_KEYS.DELETE_TOPICS: {
        const names = (decoded as DecodedRequestOf<typeof API_KEYS.DELETE_TOPICS> | null)?.topicNames ?? [];
        if (names.some((name) => this.guarded(name) || name === this.context.topics.fields)) return null;
        break;
      }
      case API_KEYS.ALTER_PARTITION_REASSIGNMENTS: {
        // Moves of the topics the fuzz checks would race its leader lookups; other topics may move.
        const moves = (decoded as DecodedRequestOf<typeof API_KEYS.ALTER_PARTITION_REASSIGNMENTS> | null)?.partitions;
        if ((moves ?? []).some((m) => this.guarded(m.topic) || m.topic === this.context.topics.fields)) return null;
        break;
      }
      case API_KEYS.CREATE_TOPICS:
        body = this.withinCreateBudget(body, decoded as DecodedRequestOf<typeof API_KEYS.CREATE_TOPICS> | null);
        onReply = (reply) => { this.noteReservedCreations(reply); };
        break;
      case API_KEYS.CREATE_PARTITIONS:
        body = this.withinGrowBounds(body, decoded as DecodedRequestOf<typeof API_KEYS.CREATE_PARTITIONS> | null);
        break;
      case API_KEYS.FETCH:
        if (((decoded as DecodedRequestOf<typeof API_KEYS.FETCH> | null)?.maxWaitMs ?? 0) > LONG_POLL_MS) expect = 'maybe';
        break;
      case API_KEYS.ELECT_LEADERS: {
        // A preferred replica that is behind is waited for, up to timeout_ms (0: 10 s), like a long poll.
        const timeoutMs = (decoded as DecodedRequestOf<typeof API_KEYS.ELECT_LEADERS> | null)?.timeoutMs ?? 0;
        if (timeoutMs === 0 || timeoutMs > LONG_POLL_MS) expect = 'maybe';
        break;
      }
      default:
        break;
    }
    const clientId = prng.chance(0.1) ? prng.bytes(prng.int(0, 40)) : Buffer.from(`fuzz-${prng.int(0, 9)}`);
    const frames = [envelope({ correlationId: cid(), apiKey: api, clientId, rawFrameCount: rawFrames.length }), body,
      ...rawFrames];
    const partitionApi = api === API_KEYS.PRODUCE || api === API_KEYS.FETCH || api === API_KEYS.LIST_OFFSETS;
    const broker = partitionApi && prng.chance(0.7) ? this.context.leaderOf(this.context.topics.fields)
      : this.context.anyBroker();
    return { broker, frames, ...(expect === undefined ? {} : { expect }),
      ...(onReply === undefined ? {} : { onReply }) };
  }

  /** A CreateTopics success (validate-only or not) for a name with the reserved `__` prefix. */
  private noteReservedCreations(reply: FuzzReply): void {
    if (reply.head.errorCode !== 0) return;
    const body = decodeResponseBodyFrames(API_KEYS.CREATE_TOPICS, reply.frames);
    if (typeof body === 'string') return;
    for (const topic of body.body.topics) {
      if (topic.errorCode === 0 && topic.name.startsWith('__')) this.reservedAccepted.add(topic.name);
    }
  }

  /** The topics other classes own (the canary is read-only: Produce may not name it either). */
  private guarded(topic: string): boolean {
    const { canary, batches, idempotence } = this.context.topics;
    return topic === canary || topic === batches || topic === idempotence;
  }

  /** Creations that would really happen count against the budget; past it, validate_only is forced. */
  private withinCreateBudget(body: Buffer, decoded: DecodedRequestOf<typeof API_KEYS.CREATE_TOPICS> | null): Buffer {
    if (decoded === null || decoded.validateOnly) return body;
    // Reserved names are not budgeted: creating them must fail, and there are few of them.
    const real = decoded.topics.filter((t) => topicNameProblem(t.name) === null && !t.name.startsWith('__'));
    const small = real.every((t) => t.numPartitions <= CREATED_PARTITIONS_MAX);
    if (real.length > 0 && small && this.createBudget >= real.length) {
      this.createBudget -= real.length;
      return body;
    }
    return real.length === 0 ? body : Buffer.concat([body, varintField(3, 1n)]); // the last value of a field wins
  }

  /**
   * CreatePartitions really grows only the fresh topics, to at most CREATED_PARTITIONS_MAX; anything
   * else goes with validate_only, so the session's topics keep their partitions and no request adds
   * thousands of Raft groups (an admin decision, like a huge CreateTopics).
   */
  private withinGrowBounds(body: Buffer, decoded: DecodedRequestOf<typeof API_KEYS.CREATE_PARTITIONS> | null): Buffer {
    if (decoded === null || decoded.validateOnly) return body;
    const small = decoded.topics.every((t) => FRESH_NAMES.includes(t.name) && t.count <= CREATED_PARTITIONS_MAX);
    return small ? body : Buffer.concat([body, varintField(3, 1n)]); // the last value of a field wins
  }

  private message(type: protobuf.Type, depth: number): Buffer {
    const parts: Buffer[] = [];
    for (const field of type.fieldsArray) {
      if (this.context.prng.chance(0.2)) continue;
      parts.push(...this.field(field, depth));
    }
    // An unknown field now and then: decoders must skip it.
    if (this.context.prng.chance(0.05)) {
      parts.push(varintField(this.context.prng.int(20, 2000), this.context.boundary()));
    }
    if (this.context.prng.chance(0.1)) parts.reverse();
    return Buffer.concat(parts);
  }

  private field(field: protobuf.Field, depth: number): Buffer[] {
    const prng = this.context.prng;
    if (field instanceof protobuf.MapField) {
      const entries = prng.chance(HUGE_CHANCE) ? prng.int(100, 2_000) : prng.int(0, 3);
      return Array.from({ length: entries }, () => bytesField(field.id, Buffer.concat([
        bytesField(1, Buffer.from(prng.chance(0.6) ? this.context.pick(TOPIC_CONFIG_KEYS) : this.text(field.name))),
        bytesField(2, Buffer.from(this.configValue())),
      ])));
    }
    if (!field.repeated) return [this.single(field, depth)];
    const count = prng.chance(HUGE_CHANCE) && depth === 0 ? prng.int(1_000, HUGE_REPEATED) : prng.int(0, 3);
    if (VARINT_TYPES.has(field.type) && prng.chance(0.5)) {
      const packed = Buffer.concat(Array.from({ length: count }, () => varint(this.integer(field))));
      return [bytesField(field.id, packed)];
    }
    // A huge repeated field repeats one element: the broker's work is the point, not the generator's.
    if (count > 3) {
      const one = this.single(field, DEPTH_MAX);
      return Array.from({ length: count }, () => one);
    }
    return Array.from({ length: count }, () => this.single(field, depth));
  }

  private single(field: protobuf.Field, depth: number): Buffer {
    if (VARINT_TYPES.has(field.type)) {
      return Buffer.concat([tag(field.id, WIRE.VARINT), varint(this.integer(field))]);
    }
    if (field.type === 'string') return bytesField(field.id, Buffer.from(this.text(field.name)));
    if (field.type === 'bytes') return bytesField(field.id, this.context.prng.bytes(this.context.prng.int(0, 64)));
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
      return bytesField(field.id, depth >= DEPTH_MAX ? Buffer.alloc(0) : this.message(resolved, depth + 1));
    }
    // Enums: a known value or anything.
    return varintField(field.id, this.context.smallOrBoundary(16));
  }

  private integer(field: protobuf.Field): bigint {
    const prng = this.context.prng;
    let value: bigint;
    switch (field.name) {
      case 'acks': value = prng.chance(0.8) ? BigInt(prng.int(-1, 1)) : this.context.boundary(); break;
      case 'partition': case 'rawFrameIndex': case 'numPartitions': case 'replicationFactor':
        value = this.context.smallOrBoundary(3); break;
      case 'timeoutMs': case 'maxWaitMs':
        value = prng.chance(0.8) ? BigInt(prng.int(0, 500)) : this.context.boundary(); break;
      case 'fetchOffset': case 'timestamp': case 'committedOffset':
        value = prng.chance(0.7) ? BigInt(prng.int(-2, 50)) : this.context.boundary(); break;
      case 'allTopics': case 'validateOnly':
        value = prng.chance(0.9) ? BigInt(prng.int(0, 1)) : this.context.boundary(); break;
      default: value = this.context.smallOrBoundary(100);
    }
    return SIGNED.has(field.type) ? zigzag(BigInt.asIntN(64, value)) : value;
  }

  private text(fieldName: string): string {
    const prng = this.context.prng;
    if (prng.chance(HUGE_CHANCE)) return 'x'.repeat(prng.int(1, HUGE_STRING_BYTES));
    const topical = ['topic', 'topics', 'name', 'topicNames'].includes(fieldName);
    if (topical && prng.chance(0.8)) {
      const { canary, fields, batches } = this.context.topics;
      const roll = prng.int(0, 9);
      if (roll < 3) return fields;
      if (roll < 4) return this.context.pick([canary, batches]);
      if (roll < 6) return this.context.pick(FRESH_NAMES);
      return this.context.pick(HOSTILE_NAMES);
    }
    return prng.chance(0.2) ? this.context.pick(HOSTILE_NAMES) : this.context.ascii(prng.int(0, 12));
  }

  private configValue(): string {
    const prng = this.context.prng;
    return this.context.pick(['-1', '0', '1', '14', '2147483647', '2147483648', '9007199254740993', '1e400', '',
      'NaN', '0x10', ' 5', String(prng.int(0, 1_000_000_000)), 'y'.repeat(prng.int(0, 300))]);
  }
}

function safeDecode(api: ApiKey, body: Buffer): unknown {
  try {
    return (API_MESSAGES[api].request as unknown as { decode(bytes: Uint8Array): unknown }).decode(body);
  } catch {
    return null;
  }
}

function assertNever(): never {
  throw new Error('a Metadata request always builds');
}
