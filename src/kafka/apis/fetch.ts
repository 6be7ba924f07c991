/**
 * Fetch (key 1), v4-11, through the native fetch handler: the stored batches pass through as they
 * are (whole batches from the one holding fetch_offset, never past the high watermark, at least
 * one batch even over max_bytes), and max_wait_ms, min_bytes, max_bytes and partition_max_bytes
 * mean what they mean natively (long poll included). Without transactions the last stable offset
 * is the high watermark and aborted_transactions is empty. Fetch sessions (v7+) are not kept:
 * every answer is a full one with session_id 0, which clients read as "no session".
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';
import { flatten, regroup } from './topic_partitions.js';

interface PartitionAnswer {
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly records: readonly Uint8Array[];
}

export const fetchApi: KafkaApi = {
  key: 1, name: 'Fetch', minVersion: 4, maxVersion: 11,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const r = call.body;
    r.int32(); // replica_id: consumers send -1; followers replicate through Raft, not Fetch
    const maxWaitMs = Math.max(0, r.int32());
    const minBytes = Math.max(0, r.int32());
    const maxBytes = Math.max(0, r.int32());
    r.int8(); // isolation_level: both levels read up to the high watermark (no transactions)
    if (version >= 7) {
      r.int32(); // session_id
      r.int32(); // session_epoch
    }
    const topics = r.array((t) => ({ topic: t.string(), partitions: t.array((p) => {
      const partition = p.int32();
      if (version >= 9) p.int32(); // current_leader_epoch
      const fetchOffset = p.int64();
      if (version >= 5) p.int64(); // log_start_offset (a follower's)
      return { partition, fetchOffset, partitionMaxBytes: Math.max(0, p.int32()) };
    }) }));
    if (version >= 7) r.array((t) => ({ topic: t.string(), partitions: t.array((p) => p.int32()) })); // forgotten
    if (version >= 11) r.string(); // rack_id
    const wanted = flatten(topics, (topic, fetch) => ({ topic, ...fetch }));
    const valid = wanted.filter((fetch) => fetch.partition >= 0 && fetch.fetchOffset >= 0);
    const { response, rawFrames } = valid.length === 0
      ? { response: { partitions: [], throttleTimeMs: 0 }, rawFrames: [] }
      : await callNative(call, API_KEYS.FETCH, { maxWaitMs, minBytes, maxBytes, partitions: valid });
    let next = 0;
    const answers = wanted.map((fetch): PartitionAnswer => {
      if (fetch.partition < 0 || fetch.fetchOffset < 0) {
        return { partition: fetch.partition, highWatermark: -1, logStartOffset: -1, records: [],
          errorCode: fetch.partition < 0 ? ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire
            : ERROR_TABLE.OFFSET_OUT_OF_RANGE.wire };
      }
      const answer = response.partitions[next++];
      if (answer === undefined) {
        return { partition: fetch.partition, errorCode: ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire, highWatermark: -1,
          logStartOffset: -1, records: [] };
      }
      const records = answer.rawFrameIndexes.map((index) => rawFrames[index] ?? Buffer.alloc(0));
      return { partition: fetch.partition, errorCode: kafkaErrorCode(answer.errorCode),
        highWatermark: answer.highWatermark, logStartOffset: answer.logStartOffset, records };
    });
    const size = answers.reduce((sum, answer) => sum + answer.records.reduce((s, chunk) => s + chunk.length, 0), 0);
    const writer = new KafkaWriter(size + 64 * answers.length + 64);
    // Held already for a quota: told only before KIP-219 (v8), as for Produce (apis/produce.ts).
    writer.int32(version < 8 ? response.throttleTimeMs : 0); // throttle_time_ms
    if (version >= 7) writer.int16(0).int32(0); // error_code, session_id
    writer.array(regroup(topics, answers), (w, group) => w.string(group.topic).array(group.partitions, (pw, answer) => {
      pw.int32(answer.partition).int16(answer.errorCode).int64(answer.highWatermark)
        .int64(answer.highWatermark); // last_stable_offset: the high watermark, without transactions
      if (version >= 5) pw.int64(answer.logStartOffset);
      pw.int32(0); // aborted_transactions: none
      if (version >= 11) pw.int32(-1); // preferred_read_replica: none
      pw.nullableBytesOf(answer.records);
    }));
    return respond(writer);
  },
};
