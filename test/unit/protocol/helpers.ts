/**
 * Shared pieces for the protocol tests: a seeded PRNG, random record generation, and typed
 * access to kafkajs 2.2.4's internal RecordBatch encoder and decoder (CommonJS, loaded with
 * createRequire) so our bytes can be checked against a real client's.
 */
import { createRequire } from 'node:module';

import type { RecordHeaderInput, RecordInput } from '../../../src/protocol/record_batch.js';

export { TestPrng } from '../../helpers/test_prng.js';
import type { TestPrng } from '../../helpers/test_prng.js';

const HEADER_KEY_ALPHABET = ['a', 'b', 'Z', '-', '_', '9', 'é', '☃', '😀'];

/** Lengths cluster around the varint size steps (63/64, 8191/8192) to cover both encodings. */
function randomLength(prng: TestPrng): number {
  const pick = prng.int(0, 9);
  if (pick < 5) {
    return prng.int(0, 10);
  }
  const boundaries = [63, 64, 65, 127, 128, 300];
  if (pick < 9) {
    return boundaries[prng.int(0, boundaries.length - 1)] ?? 0;
  }
  return prng.chance(0.5) ? 8191 : 8192;
}

function randomNullableBytes(prng: TestPrng): Buffer | null {
  return prng.chance(0.15) ? null : prng.bytes(randomLength(prng));
}

function randomHeaderKey(prng: TestPrng): string {
  let key = '';
  const length = prng.int(0, 6);
  for (let i = 0; i < length; i++) {
    key += HEADER_KEY_ALPHABET[prng.int(0, HEADER_KEY_ALPHABET.length - 1)] ?? '';
  }
  return key;
}

export function randomHeaders(prng: TestPrng, allowNullValues: boolean): RecordHeaderInput[] {
  const headers: RecordHeaderInput[] = [];
  const count = prng.chance(0.5) ? 0 : prng.int(1, 5);
  for (let i = 0; i < count; i++) {
    const value = allowNullValues && prng.chance(0.2) ? null : prng.bytes(prng.int(0, 20));
    headers.push({ key: randomHeaderKey(prng), value });
  }
  return headers;
}

/** Timestamps near baseTimestamp, some before it (negative deltas), some far away. */
export function randomRecords(prng: TestPrng, count: number, baseTimestamp: number): RecordInput[] {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const spread = [0, 63, 64, 8192, 2 ** 31, 2 ** 40][prng.int(0, 5)] ?? 0;
    records.push({
      key: randomNullableBytes(prng),
      value: randomNullableBytes(prng),
      headers: randomHeaders(prng, true),
      timestamp: baseTimestamp + prng.int(-spread, spread),
    });
  }
  return records;
}

// ---------------------------------------------------------------------------------------------
// kafkajs internals (shapes as used here, from reading node_modules/kafkajs/src/protocol)

const requireCjs = createRequire(import.meta.url);

interface KafkajsEncoder {
  readonly buffer: Buffer;
}

export interface KafkajsRecordArgs {
  readonly offsetDelta: number;
  readonly timestampDelta: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer>>;
}

export interface KafkajsBatchArgs {
  readonly compression?: number;
  readonly firstTimestamp: number;
  readonly maxTimestamp: number;
  readonly partitionLeaderEpoch: number;
  readonly lastOffsetDelta: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly records: readonly KafkajsEncoder[];
}

export interface KafkajsDecodedRecord {
  readonly timestamp: string;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | null | (Buffer | null)[]>>;
}

export interface KafkajsDecodedBatch {
  readonly firstOffset: string;
  readonly firstTimestamp: string;
  readonly maxTimestamp: string;
  readonly partitionLeaderEpoch: number;
  readonly lastOffsetDelta: number;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly firstSequence: number;
  readonly inTransaction: boolean;
  readonly records: readonly KafkajsDecodedRecord[];
}

type KafkajsRecordFn = (args: KafkajsRecordArgs) => KafkajsEncoder;
type KafkajsDecoderClass = new (buffer: Buffer) => object;
type KafkajsBatchDecoderFn = (decoder: object) => Promise<KafkajsDecodedBatch>;
interface KafkajsBatchModule {
  RecordBatch(args: KafkajsBatchArgs): Promise<KafkajsEncoder>;
}
interface KafkajsEncoderClass {
  new (): KafkajsEncoder & { writeVarInt(n: number): unknown; writeVarLong(n: number): unknown };
}

const kafkajsRecord = requireCjs('kafkajs/src/protocol/recordBatch/record/v0/index.js') as KafkajsRecordFn;
const kafkajsBatch = requireCjs('kafkajs/src/protocol/recordBatch/v0/index.js') as KafkajsBatchModule;
const kafkajsBatchDecoder =
  requireCjs('kafkajs/src/protocol/recordBatch/v0/decoder.js') as KafkajsBatchDecoderFn;
const KafkajsDecoder = requireCjs('kafkajs/src/protocol/decoder.js') as KafkajsDecoderClass;
export const KafkajsEncoderClass = requireCjs('kafkajs/src/protocol/encoder.js') as KafkajsEncoderClass;

/** Bytes of a v2 batch as kafkajs' producer builds it (kafkajs uses Date.now() only for defaults). */
export async function kafkajsEncodeBatch(args: Omit<KafkajsBatchArgs, 'records'>,
  records: readonly KafkajsRecordArgs[]): Promise<Buffer> {
  const encoded = await kafkajsBatch.RecordBatch({ ...args, records: records.map(kafkajsRecord) });
  return encoded.buffer;
}

/** kafkajs' fetch-path decoder run over one batch. */
export async function kafkajsDecodeBatch(bytes: Buffer): Promise<KafkajsDecodedBatch> {
  return kafkajsBatchDecoder(new KafkajsDecoder(bytes));
}
