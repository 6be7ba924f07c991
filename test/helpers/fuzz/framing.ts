/**
 * Framing fuzzing: garbage frames, no envelope, truncated protobuf, raw frame counts that lie,
 * wrong wire types, overlong and huge varints, non-UTF-8 client ids, unknown api keys, correlation
 * ids past 2^53, raw frames on APIs without any. Whether each must be answered follows from the
 * protocol's own decodeRequest (see driver.ts): a readable correlation id gets INVALID_REQUEST.
 */
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { encodeRequestBody } from '../../../src/protocol/messages.js';
import { encodeRecordBatch } from '../../../src/protocol/record_batch.js';
import type { FuzzContext } from './context.js';
import type { FuzzRequest, RequestSource } from './driver.js';
import { API_KEY_LIST, bytesField, envelope, paddedVarint, tag, varint, varintField, WIRE } from './wire.js';

const INVALID_UTF8 = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('ok\u0000nul')];

export class FramingFuzzer implements RequestSource {
  readonly kinds: Record<string, number> = {};

  constructor(private readonly context: FuzzContext) {}

  next(cid: () => number): FuzzRequest {
    const prng = this.context.prng;
    const kinds = [
      'garbage', 'garbage-multi', 'no-envelope', 'empty-frame', 'truncated-body', 'truncated-envelope', 'raw-count-lies',
      'raw-frames-without-api', 'wrong-wire-type-envelope', 'wrong-wire-type-body', 'non-utf8-client-id',
      'unknown-api', 'huge-correlation-id', 'overlong-varint', 'many-frames', 'duplicate-fields', 'valid',
    ] as const;
    const kind = this.context.pick(kinds);
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    const api = this.context.pick(API_KEY_LIST);
    const metadataBody = Buffer.from(encodeRequestBody(API_KEYS.METADATA,
      { topics: [this.context.topics.canary, 'no-such-topic'] }));
    const good = (): Buffer => envelope({ correlationId: cid(), apiKey: API_KEYS.METADATA, clientId: Buffer.from('f'),
      rawFrameCount: 0 });
    let frames: Buffer[];
    switch (kind) {
      case 'garbage': frames = [prng.bytes(prng.int(1, 64))]; break;
      case 'garbage-multi': frames = Array.from({ length: prng.int(2, 6) }, () => prng.bytes(prng.int(0, 64))); break;
      case 'no-envelope': frames = [metadataBody]; break;
      case 'empty-frame': frames = [Buffer.alloc(0)]; break;
      case 'truncated-body':
        frames = [good(), metadataBody.subarray(0, prng.int(1, Math.max(1, metadataBody.length - 1)))]; break;
      case 'truncated-envelope': {
        const full = good();
        frames = [full.subarray(0, prng.int(1, full.length - 1)), metadataBody]; break;
      }
      case 'raw-count-lies': {
        const actual = prng.int(0, 3);
        const claimed = this.context.pick([actual + 1, Math.max(0, actual - 1), 65_537, 2 ** 32 - 1]);
        frames = [envelope({ correlationId: cid(), apiKey: API_KEYS.PRODUCE, rawFrameCount: claimed }),
          Buffer.from(encodeRequestBody(API_KEYS.PRODUCE, { acks: 1, timeoutMs: 1_000,
            partitions: [{ topic: this.context.topics.fields, partition: 0, rawFrameIndex: 0 }] })),
          ...Array.from({ length: actual }, () => this.smallBatch())];
        break;
      }
      case 'raw-frames-without-api':
        frames = [envelope({ correlationId: cid(), apiKey: API_KEYS.METADATA, rawFrameCount: 1 }), metadataBody,
          this.smallBatch()];
        break;
      case 'wrong-wire-type-envelope':
        frames = [Buffer.concat([bytesField(1, prng.bytes(8)), varintField(2, BigInt(api)),
          tag(3, WIRE.VARINT), varint(5n), tag(4, WIRE.FIXED32), prng.bytes(4)]), Buffer.alloc(0)];
        break;
      case 'wrong-wire-type-body':
        // topics (field 1, a string) as a varint, all_topics (field 2, a bool) as bytes, then a fixed64.
        frames = [good(), Buffer.concat([varintField(1, this.context.boundary()), bytesField(2, prng.bytes(3)),
          tag(1, WIRE.FIXED64), prng.bytes(8)])];
        break;
      case 'non-utf8-client-id':
        frames = [envelope({ correlationId: cid(), apiKey: API_KEYS.METADATA, clientId: this.context.pick(INVALID_UTF8),
          rawFrameCount: 0 }), metadataBody];
        break;
      case 'unknown-api':
        frames = [envelope({ correlationId: cid(), rawFrameCount: 0,
          apiKey: this.context.pick([0n, 16n, 99n, 2n ** 31n, -1n, 2n ** 64n - 1n]) }), Buffer.alloc(0)];
        break;
      case 'huge-correlation-id':
        frames = [envelope({ correlationId: this.context.pick([2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 63n]),
          apiKey: API_KEYS.METADATA }), metadataBody];
        break;
      case 'overlong-varint':
        // A correlation id written in 10 bytes is legal; 11 or more is not.
        frames = [Buffer.concat([tag(1, WIRE.VARINT), paddedVarint(BigInt(cid()), prng.int(9, 12)),
          varintField(2, BigInt(API_KEYS.METADATA))]), metadataBody];
        break;
      case 'many-frames':
        frames = [envelope({ correlationId: cid(), apiKey: API_KEYS.DESCRIBE_CLUSTER, rawFrameCount: 500 }),
          Buffer.alloc(0), ...Array.from({ length: 500 }, () => Buffer.alloc(0))];
        break;
      case 'duplicate-fields':
        frames = [Buffer.concat([good(), varintField(2, BigInt(api)), varintField(1, BigInt(cid()))]), Buffer.alloc(0)];
        break;
      case 'valid':
        frames = [good(), metadataBody];
        break;
    }
    // One empty frame is what ZeroMQ's connect and disconnect notices look like (ZMQ_ROUTER_NOTIFY,
    // the connection limits): the broker takes it as one and never answers it, though it decodes
    // as an envelope of correlation id 0.
    return { broker: this.context.anyBroker(), frames, ...(kind === 'empty-frame' ? { expect: 'maybe' as const } : {}) };
  }

  private smallBatch(): Buffer {
    return encodeRecordBatch({ baseTimestamp: Date.now(), records: [{ key: null, value: Buffer.from('f') }] });
  }
}
