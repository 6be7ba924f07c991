/**
 * Metadata (key 3), v1-6, from the native Metadata handler: the same topics, partitions, Raft
 * leaders and in-sync replicas, with the brokers given by their Kafka listeners (each broker
 * registers its advertised Kafka address with the controller, so every broker knows all of them).
 *
 * A broker without a replica of a partition does not know its leader (the native handler says -1):
 * it asks a replica broker (remote_leaders.ts). A leader still unknown (an election, or no replica
 * broker answering) is LEADER_NOT_AVAILABLE, which every client answers by asking again. A null
 * topic list means every topic and an empty one none (v1+); topics are never auto-created.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';
import { kafkaErrorCode } from '../error_codes.js';
import { RemoteLeaders } from '../remote_leaders.js';

export interface KafkaBrokerAddress { readonly nodeId: number; readonly host: string; readonly port: number }

/** Live brokers that run a Kafka listener, by id. */
export function kafkaBrokers(call: KafkaCall): KafkaBrokerAddress[] {
  return call.broker.brokers().filter((broker) => !broker.fenced && broker.kafkaHost !== undefined)
    .map((broker) => ({ nodeId: broker.brokerId, host: broker.kafkaHost ?? '', port: broker.kafkaPort ?? 0 }))
    .sort((left, right) => left.nodeId - right.nodeId);
}

export const metadataApi: KafkaApi = {
  key: 3, name: 'Metadata', minVersion: 1, maxVersion: 6,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const names = call.body.nullableArray((r) => r.string());
    if (version >= 4) call.body.boolean(); // allow_auto_topic_creation: topics are never auto-created
    const { response } = await callNative(call, API_KEYS.METADATA,
      names === null || names.length === 0 ? { allTopics: true } : { topics: names });
    const brokers = kafkaBrokers(call);
    const reachable = new Set(brokers.map((broker) => broker.nodeId));
    const topics = names !== null && names.length === 0 ? [] : response.topics;
    const unseen = topics.flatMap((topic) => topic.partitions.filter((p) => p.errorCode === 0 && p.leaderId < 0
      && !p.replicaIds.includes(call.broker.brokerId))
      .map((p) => ({ topic: topic.name, partition: p.partition, replicas: p.replicaIds })));
    const remote = unseen.length === 0 ? new Map<string, number>() : await call.lookUpLeaders(unseen);
    const writer = new KafkaWriter();
    if (version >= 3) writer.int32(0); // throttle_time_ms
    writer.array(brokers, (w, broker) => w.int32(broker.nodeId).string(broker.host).int32(broker.port)
      .nullableString(null));
    if (version >= 2) writer.nullableString(response.clusterId);
    writer.int32(reachable.has(response.controllerId) ? response.controllerId : -1);
    writer.array(topics, (w, topic) => {
      w.int16(kafkaErrorCode(topic.errorCode)).string(topic.name).boolean(topic.name.startsWith('__'));
      w.array(topic.partitions, (pw, partition) => {
        const leaderId = partition.leaderId >= 0 ? partition.leaderId
          : remote.get(RemoteLeaders.key(topic.name, partition.partition)) ?? -1;
        const leaderKnown = leaderId >= 0 && reachable.has(leaderId);
        const errorCode = partition.errorCode !== 0 ? kafkaErrorCode(partition.errorCode)
          : leaderKnown ? 0 : ERROR_TABLE.LEADER_NOT_AVAILABLE.wire;
        pw.int16(errorCode).int32(partition.partition).int32(leaderKnown ? leaderId : -1)
          .int32Array(partition.replicaIds).int32Array(partition.isrIds);
        if (version >= 5) pw.int32Array(partition.offlineReplicaIds);
      });
    });
    return respond(writer);
  },
};
