/**
 * Produce (key 0), v3-7, through the native produce handler: the same batch validation (header,
 * CRC, records; snappy/lz4/zstd stored as they came), idempotence checks, Raft replication and
 * acks (0: no answer, 1: the leader's durable append, -1: the Raft commit). Kafka's own rules on
 * top: zstd only from v7 (UNSUPPORTED_COMPRESSION_TYPE below), acks other than -1/0/1 is
 * INVALID_REQUIRED_ACKS per partition, and a failed acks=0 produce closes the connection so the
 * client refreshes its metadata (Kafka's KafkaApis does the same). Transactions are not supported:
 * a transactional id gets INVALID_REQUEST for every partition.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import type { ErrorCode } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { ATTRIBUTES_OFFSET, COMPRESSION_CODEC_MASK } from '../../protocol/record_batch.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';
import { flatten, regroup } from './topic_partitions.js';

const ZSTD_CODEC = 4;
const ZSTD_PRODUCE_VERSION_MIN = 7;

interface PartitionAnswer {
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: number;
  readonly logStartOffset: number;
}

/** Why Kafka refuses this partition's records before any broker work, or null. */
function earlyProblem(records: Buffer | null, partition: number, version: number, transactional: boolean,
  acks: number): ErrorCode | null {
  if (transactional) return 'INVALID_REQUEST';
  if (acks !== -1 && acks !== 0 && acks !== 1) return 'INVALID_REQUIRED_ACKS';
  if (partition < 0) return 'UNKNOWN_TOPIC_OR_PARTITION';
  if (records === null || records.length === 0) return 'INVALID_RECORD';
  if (version < ZSTD_PRODUCE_VERSION_MIN && records.length > ATTRIBUTES_OFFSET + 1
    && (records.readInt16BE(ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK) === ZSTD_CODEC) {
    return 'UNSUPPORTED_COMPRESSION_TYPE';
  }
  return null;
}

export const produceApi: KafkaApi = {
  key: 0, name: 'Produce', minVersion: 3, maxVersion: 7,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const body = call.body;
    const transactionalId = body.nullableString();
    const acks = body.int16();
    const timeoutMs = Math.max(0, body.int32());
    const topics = body.array((r) => ({ topic: r.string(), partitions: r.array((p) => ({ partition: p.int32(),
      records: p.nullableBytes() })) }));
    const wanted = flatten(topics, (topic, data) => ({ topic, ...data,
      problem: earlyProblem(data.records, data.partition, version, transactionalId !== null, acks) }));
    const rawFrames: Buffer[] = [];
    const sent = wanted.flatMap((data) => data.problem !== null || data.records === null ? []
      : [{ topic: data.topic, partition: data.partition, rawFrameIndex: rawFrames.push(data.records) - 1 }]);
    const nativeAcks = acks === 0 || acks === 1 ? acks : -1;
    const { response } = sent.length === 0 ? { response: { partitions: [], throttleTimeMs: 0 } }
      : await callNative(call, API_KEYS.PRODUCE, { acks: nativeAcks, timeoutMs, partitions: sent }, rawFrames);
    let next = 0;
    const answers = wanted.map((data): PartitionAnswer => {
      if (data.problem !== null) {
        return { partition: data.partition, errorCode: ERROR_TABLE[data.problem].wire, baseOffset: -1,
          logStartOffset: -1 };
      }
      const answer = response.partitions[next++];
      if (answer === undefined) {
        return { partition: data.partition, errorCode: ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire, baseOffset: -1,
          logStartOffset: -1 };
      }
      return { partition: data.partition, errorCode: kafkaErrorCode(answer.errorCode), baseOffset: answer.baseOffset,
        logStartOffset: answer.logStartOffset };
    });
    if (acks === 0) {
      const failed = answers.find((answer) => answer.errorCode !== 0);
      return failed === undefined ? { kind: 'silent' }
        : { kind: 'close', reason: `an acks=0 produce failed with error ${failed.errorCode}` };
    }
    const writer = new KafkaWriter();
    writer.array(regroup(topics, answers), (w, group) => w.string(group.topic).array(group.partitions, (pw, answer) => {
      pw.int32(answer.partition).int16(answer.errorCode).int64(answer.baseOffset).int64(-1); // log_append_time_ms
      if (version >= 5) pw.int64(answer.logStartOffset);
    }));
    // The reply was held already for a quota (quota/throttling_handlers.ts): the time is told only to
    // versions before KIP-219 (v6), where it is information; from v6 on a client would wait it again.
    writer.int32(version < 6 ? response.throttleTimeMs : 0); // throttle_time_ms
    return respond(writer);
  },
};
