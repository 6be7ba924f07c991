/**
 * Record batch fuzzing: Produce requests whose RecordBatch has a VALID CRC and a well-formed header
 * but malformed records (negative or overlong varints, lengths past the end, negative header counts,
 * trailing bytes, non-sequential offset deltas, lying record counts, garbage or bomb gzip bodies),
 * mixed with valid batches so that the partition keeps growing. A CRC only proves the bytes arrived
 * as sent, so a broker that checks nothing else stores these and every consumer fails on them.
 *
 * Accounting for the check after the class: records of batches acknowledged with acks = all are
 * `acked`; records whose fate is unknown are `ambiguous`: acks = 0, timed out, unanswered, answered
 * NOT_LEADER_OR_FOLLOWER (a leader that stepped down with the batch proposed: its successor may still
 * commit it), and acknowledged with acks = 1 (a leader change can lose those, as in Kafka). So the
 * high watermark must end within [acked, acked + ambiguous], and every stored batch must decode.
 */
import { gzipSync } from 'node:zlib';

import { ERROR_TABLE } from '../../../src/common/errors.js';
import { ACKS, API_KEYS } from '../../../src/protocol/api_keys.js';
import { decodeResponseBodyFrames, encodeRequest } from '../../../src/protocol/envelope.js';
import { BATCH_HEADER_BYTES, writeBatchHeader } from '../../../src/protocol/record_batch.js';
import type { CompressionCodec } from '../../../src/protocol/record_batch.js';
import type { FuzzContext } from './context.js';
import type { FuzzReply, FuzzRequest, RequestSource } from './driver.js';
import { varint, zigzag } from './wire.js';

/** Kafka's record varints: zigzag. */
function kvarint(value: number | bigint): Buffer {
  return varint(zigzag(BigInt(value)));
}

/** A byte run no varint reader may accept: 11 continuation bytes. */
const OVERLONG_VARINT = Buffer.alloc(11, 0xff);
/** Inflates past the client's 64 MiB decompression bound (compression.ts DECOMPRESSED_BYTES_MAX). */
const BOMB_INFLATED_BYTES = 80 * 1024 * 1024;
let bombBlob: Buffer | null = null;
/**
 * Bombs per fuzzer: a stored bomb costs the check after the class 64 MiB of inflating, so a broker
 * that stores them all would make the check, not the fuzz, take the time.
 */
const BOMBS_MAX = 8;

interface RecordParts {
  lengthOverride?: Buffer;
  timestampDelta?: bigint;
  offsetDelta: number;
  keyLength?: Buffer;
  key: Buffer | null;
  value: Buffer | null;
  headerCount?: Buffer;
  headers?: readonly { key: Buffer; value: Buffer | null }[];
}

function nullable(bytes: Buffer | null): Buffer {
  return bytes === null ? kvarint(-1) : Buffer.concat([kvarint(bytes.length), bytes]);
}

function record(parts: RecordParts): Buffer {
  const headers = parts.headers ?? [];
  const body = Buffer.concat([
    Buffer.from([0]), kvarint(parts.timestampDelta ?? 0n), kvarint(parts.offsetDelta),
    parts.keyLength === undefined ? nullable(parts.key)
      : Buffer.concat([parts.keyLength, parts.key ?? Buffer.alloc(0)]),
    nullable(parts.value),
    parts.headerCount ?? kvarint(headers.length),
    ...headers.map((h) => Buffer.concat([kvarint(h.key.length), h.key, nullable(h.value)])),
  ]);
  return Buffer.concat([parts.lengthOverride ?? kvarint(body.length), body]);
}

/** A batch around `records` (plain or already compressed) claiming recordCount records; CRC valid. */
function seal(records: Buffer, recordCount: number, compression: CompressionCodec = 'none'): Buffer {
  const out = Buffer.alloc(BATCH_HEADER_BYTES + records.length);
  records.copy(out, BATCH_HEADER_BYTES);
  const now = Date.now();
  writeBatchHeader(out, { compression, transactional: false, baseOffset: 0, partitionLeaderEpoch: -1, recordCount,
    baseTimestamp: now, maxTimestamp: now, producerId: -1, producerEpoch: -1, baseSequence: -1 });
  return out;
}

export interface BatchCase {
  readonly kind: string;
  readonly batch: Buffer;
  /** The record count the header claims (what the partition grows by if it is stored). */
  readonly recordCount: number;
  readonly valid: boolean;
}

export class BatchFuzzer implements RequestSource {
  acked = 0;
  ambiguous = 0;
  private bombs = 0;
  /** Per kind: how many were sent and how many the broker took without error. */
  readonly outcomes: Record<string, { sent: number; accepted: number }> = {};

  constructor(private readonly context: FuzzContext) {}

  next(cid: () => number): FuzzRequest {
    const prng = this.context.prng;
    const testCase = this.generate();
    const acks = testCase.valid || prng.chance(0.9) ? this.context.pick([ACKS.ALL, ACKS.LEADER]) : ACKS.NONE;
    const topic = this.context.topics.batches;
    const frames = encodeRequest(cid(), API_KEYS.PRODUCE, 'fuzz-batches', { acks, timeoutMs: 5_000,
      partitions: [{ topic, partition: 0, rawFrameIndex: 0 }] }, [testCase.batch]) as Buffer[];
    const outcome = this.outcomes[testCase.kind] ??= { sent: 0, accepted: 0 };
    outcome.sent += 1;
    return {
      broker: this.context.leaderOf(topic),
      frames: frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)),
      onReply: (reply) => { this.settle(testCase, acks, reply); },
      onNoReply: () => { this.ambiguous += testCase.recordCount; },
    };
  }

  private settle(testCase: BatchCase, acks: number, reply: FuzzReply): void {
    if (reply.head.errorCode !== 0) return;
    const body = decodeResponseBodyFrames(API_KEYS.PRODUCE, reply.frames);
    if (typeof body === 'string') return;
    const code = body.body.partitions[0]?.errorCode;
    if (code === 0) {
      if (acks === ACKS.ALL) this.acked += testCase.recordCount;
      else this.ambiguous += testCase.recordCount;
      const outcome = this.outcomes[testCase.kind];
      if (outcome !== undefined) outcome.accepted += 1;
    } else if (code === ERROR_TABLE.REQUEST_TIMED_OUT.wire || code === ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire) {
      this.ambiguous += testCase.recordCount; // proposed, maybe committed later
    }
  }

  /** Kinds whose batches the broker stored although they are malformed (empty when it validates). */
  acceptedMalformed(): string[] {
    return Object.entries(this.outcomes).filter(([kind, o]) => !kind.startsWith('valid') && o.accepted > 0)
      .map(([kind, o]) => `${kind} ${o.accepted}/${o.sent}`);
  }

  generate(): BatchCase {
    const prng = this.context.prng;
    const count = prng.int(1, 4);
    const good = (i: number): RecordParts => ({ offsetDelta: i,
      key: prng.chance(0.5) ? null : prng.bytes(prng.int(0, 8)),
      value: prng.bytes(prng.int(0, 40)), headers: prng.chance(0.2) ? [{ key: Buffer.from('h'), value: null }] : [] });
    const records = (mutate: (parts: RecordParts, i: number) => void = () => undefined): Buffer =>
      Buffer.concat(Array.from({ length: count }, (_, i) => {
        const parts = good(i);
        if (i === count - 1) mutate(parts, i);
        return record(parts);
      }));
    const malformed = (kind: string, bytes: Buffer, claimed = count): BatchCase =>
      ({ kind, batch: seal(bytes, claimed), recordCount: claimed, valid: false });
    const roll = prng.int(0, 19);
    switch (roll) {
      case 0: case 1: case 2: case 3: return { kind: 'valid', batch: seal(records(), count), recordCount: count, valid: true };
      case 4: return { kind: 'valid-gzip', batch: seal(gzipSync(records()), count, 'gzip'), recordCount: count, valid: true };
      case 5: return malformed('negative-length', records((p) => { p.lengthOverride = kvarint(-prng.int(1, 1000)); }));
      case 6: return malformed('overlong-varint', records((p) => { p.lengthOverride = OVERLONG_VARINT; }));
      case 7: return malformed('length-past-end', records((p) => { p.lengthOverride = kvarint(prng.int(200, 2 ** 31 - 1)); }));
      case 8: return malformed('negative-header-count', records((p) => { p.headerCount = kvarint(-prng.int(1, 2 ** 31)); }));
      case 9: return malformed('huge-header-count', records((p) => { p.headerCount = kvarint(2 ** 31 - 1); }));
      case 10: return malformed('trailing-bytes', Buffer.concat([records(), prng.bytes(prng.int(1, 20))]));
      case 11: {
        // Claims more records than are there, yet few enough for the header-only size check.
        const bytes = records();
        const claimed = Math.max(count + 1, Math.min(Math.floor(bytes.length / 7), count + prng.int(1, 5)));
        return malformed('lying-record-count', bytes, claimed);
      }
      case 12: return malformed('negative-key-length', records((p) => { p.keyLength = kvarint(-prng.int(2, 1000)); }));
      case 13: return malformed('key-past-end', records((p) => { p.keyLength = kvarint(prng.int(10_000, 2 ** 31 - 1)); }));
      case 14: return malformed('offset-delta-not-sequential', records((p, i) => { p.offsetDelta = i + prng.int(1, 1000); }));
      case 15: return malformed('timestamp-overflow', records((p) => { p.timestampDelta = 2n ** 62n; }));
      case 16: {
        const bytes = records();
        return malformed('truncated-record', bytes.subarray(0, bytes.length - prng.int(1, Math.min(5, bytes.length - 1))));
      }
      case 17: return { kind: 'garbage-gzip', batch: seal(prng.bytes(prng.int(1, 200)), count, 'gzip'),
        recordCount: count, valid: false };
      case 18: return { kind: 'gzip-of-malformed-records',
        batch: seal(gzipSync(records((p) => { p.headerCount = kvarint(-1); })), count, 'gzip'), recordCount: count, valid: false };
      default:
        if (this.bombs >= BOMBS_MAX) return malformed('trailing-bytes', Buffer.concat([records(), prng.bytes(1)]));
        this.bombs += 1;
        return { kind: 'gzip-bomb', batch: seal(gzipBomb(), 1, 'gzip'), recordCount: 1, valid: false };
    }
  }
}

function gzipBomb(): Buffer {
  bombBlob ??= gzipSync(Buffer.alloc(BOMB_INFLATED_BYTES), { level: 9 });
  return bombBlob;
}
