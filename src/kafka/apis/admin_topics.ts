/**
 * CreateTopics (key 19), v0-4, and DeleteTopics (key 20), v0-3, onto the native Admin handlers
 * (the same validation, placement and controller commands). Kafka's -1 for a topic's partition
 * count or replication factor (v4's "broker default") means 1 partition and a replication factor
 * of min(3, live brokers). Manual replica assignments are refused with INVALID_REQUEST.
 * Tributary answers admin requests on any broker (it forwards to the controller), so there is no
 * NOT_CONTROLLER here.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';

const DEFAULT_PARTITIONS = 1;
const DEFAULT_REPLICATION_FACTOR_MAX = 3;

interface TopicAnswer { readonly name: string; readonly errorCode: number; readonly errorMessage: string | null }

interface WantedTopic {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly assigned: boolean;
  readonly configs: Record<string, string>;
}

function readWantedTopic(call: KafkaCall): WantedTopic {
  const r = call.body;
  const name = r.string();
  const numPartitions = r.int32();
  const replicationFactor = r.int16();
  const assignments = r.array((a) => ({ partition: a.int32(), brokers: a.array((b) => b.int32()) }));
  const configs: Record<string, string> = {};
  for (const { key, value } of r.array((c) => ({ key: c.string(), value: c.nullableString() }))) {
    if (value !== null) configs[key] = value;
  }
  return { name, numPartitions, replicationFactor, assigned: assignments.length > 0, configs };
}

export const createTopicsApi: KafkaApi = {
  key: 19, name: 'CreateTopics', minVersion: 0, maxVersion: 4,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const wanted = call.body.array(() => readWantedTopic(call));
    const timeoutMs = Math.max(0, call.body.int32());
    const validateOnly = version >= 1 ? call.body.boolean() : false;
    const liveBrokers = call.broker.brokers().filter((broker) => !broker.fenced).length;
    const refused = new Map<string, TopicAnswer>();
    const creatable = wanted.filter((topic) => {
      const negative = topic.numPartitions < -1 || topic.numPartitions === 0 ? 'INVALID_PARTITIONS'
        : topic.replicationFactor < -1 || topic.replicationFactor === 0 ? 'INVALID_REPLICATION_FACTOR' : null;
      if (topic.assigned) {
        refused.set(topic.name, { name: topic.name, errorCode: ERROR_TABLE.INVALID_REQUEST.wire,
          errorMessage: 'manual replica assignments are not supported; Tributary places replicas' });
      } else if (negative !== null) {
        refused.set(topic.name, { name: topic.name, errorCode: ERROR_TABLE[negative].wire, errorMessage: null });
      }
      return !refused.has(topic.name);
    });
    const { response } = creatable.length === 0 ? { response: { topics: [] } }
      : await callNative(call, API_KEYS.CREATE_TOPICS, { timeoutMs, validateOnly, topics: creatable.map((topic) => ({
        name: topic.name, configs: topic.configs,
        numPartitions: topic.numPartitions === -1 ? DEFAULT_PARTITIONS : topic.numPartitions,
        replicationFactor: topic.replicationFactor === -1
          ? Math.max(1, Math.min(DEFAULT_REPLICATION_FACTOR_MAX, liveBrokers)) : topic.replicationFactor })) });
    let next = 0;
    const answers = wanted.map((topic): TopicAnswer => {
      const early = refused.get(topic.name);
      if (early !== undefined) return early;
      const answer = response.topics[next++];
      if (answer === undefined) {
        return { name: topic.name, errorCode: ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire, errorMessage: null };
      }
      return { name: answer.name, errorCode: kafkaErrorCode(answer.errorCode),
        errorMessage: answer.errorMessage === '' ? null : answer.errorMessage };
    });
    const writer = new KafkaWriter();
    if (version >= 2) writer.int32(0); // throttle_time_ms
    writer.array(answers, (w, answer) => {
      w.string(answer.name).int16(answer.errorCode);
      if (version >= 1) w.nullableString(answer.errorMessage);
    });
    return respond(writer);
  },
};

export const deleteTopicsApi: KafkaApi = {
  key: 20, name: 'DeleteTopics', minVersion: 0, maxVersion: 3,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const names = call.body.array((r) => r.string());
    const timeoutMs = Math.max(0, call.body.int32());
    const { response } = await callNative(call, API_KEYS.DELETE_TOPICS, { topicNames: names, timeoutMs });
    const writer = new KafkaWriter();
    if (version >= 1) writer.int32(0); // throttle_time_ms
    writer.array(response.topics, (w, topic) => w.string(topic.name).int16(kafkaErrorCode(topic.errorCode)));
    return respond(writer);
  },
};
