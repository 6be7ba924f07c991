/**
 * ListOffsets (key 2), v1-3, through the native handler: -1 latest (the high watermark, which is
 * also the last stable offset: there are no transactions), -2 earliest, else the first offset
 * whose timestamp is at or after the one asked. isolation_level (v2+) needs nothing more.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';
import { flatten, regroup } from './topic_partitions.js';

interface Answer { readonly partition: number; readonly errorCode: number; readonly timestamp: number;
  readonly offset: number }

export const listOffsetsApi: KafkaApi = {
  key: 2, name: 'ListOffsets', minVersion: 1, maxVersion: 3,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const body = call.body;
    body.int32(); // replica_id
    if (version >= 2) body.int8(); // isolation_level
    const topics = body.array((r) => ({ topic: r.string(), partitions: r.array((p) => ({ partition: p.int32(),
      timestamp: p.int64() })) }));
    const queries = flatten(topics, (topic, query) => ({ topic, ...query }));
    const known = queries.filter((query) => query.partition >= 0);
    const { response } = await callNative(call, API_KEYS.LIST_OFFSETS, { partitions: known });
    let next = 0;
    const answers = queries.map((query): Answer => {
      const failed = (errorCode: number): Answer =>
        ({ partition: query.partition, errorCode, timestamp: -1, offset: -1 });
      if (query.partition < 0) return failed(ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire);
      const answer = response.partitions[next++];
      if (answer === undefined) return failed(ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire);
      return { partition: query.partition, errorCode: kafkaErrorCode(answer.errorCode), timestamp: answer.timestamp,
        offset: answer.offset };
    });
    const writer = new KafkaWriter();
    if (version >= 2) writer.int32(0); // throttle_time_ms
    writer.array(regroup(topics, answers), (w, group) => w.string(group.topic).array(group.partitions,
      (pw, answer) => pw.int32(answer.partition).int16(answer.errorCode).int64(answer.timestamp).int64(answer.offset)));
    return respond(writer);
  },
};
