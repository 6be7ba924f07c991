/**
 * The group offset and admin APIs onto the native group coordinator: OffsetCommit 2-7 (also the
 * "simple" commit of a consumer outside group management: generation -1, empty member),
 * OffsetFetch 1-5 (a null topic list, v2+, is every partition the group committed; a partition
 * without a commit is offset -1 with no error), DescribeGroups 0-2, ListGroups 0-2 and
 * DeleteGroups 0-1.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';
import { flatten, regroup } from './topic_partitions.js';
import type { TopicGroup } from './topic_partitions.js';

/** Groups flat answers under their topics, in the order the topics first appear. */
function byTopic<P extends { readonly topic: string }>(answers: readonly P[]): TopicGroup<P>[] {
  const groups = new Map<string, P[]>();
  for (const answer of answers) {
    const list = groups.get(answer.topic);
    if (list === undefined) groups.set(answer.topic, [answer]);
    else list.push(answer);
  }
  return [...groups].map(([topic, partitions]) => ({ topic, partitions }));
}

export const offsetCommitApi: KafkaApi = {
  key: 8, name: 'OffsetCommit', minVersion: 2, maxVersion: 7,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const r = call.body;
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    if (version <= 4) r.int64(); // retention_time_ms: offsets are kept as the offsets topic's retention says
    const groupInstanceId = version >= 7 ? r.nullableString() ?? '' : '';
    const topics = r.array((t) => ({ topic: t.string(), partitions: t.array((p) => {
      const partition = p.int32();
      const committedOffset = p.int64();
      const committedLeaderEpoch = version >= 6 ? p.int32() : -1;
      return { partition, committedOffset, committedLeaderEpoch, metadata: p.nullableString() ?? '' };
    }) }));
    const wanted = flatten(topics, (topic, p) => ({ topic, ...p }));
    const valid = wanted.filter((p) => p.partition >= 0);
    const { response } = valid.length === 0 ? { response: { partitions: [] } }
      : await callNative(call, API_KEYS.OFFSET_COMMIT, { groupId, generationId, memberId, groupInstanceId,
        partitions: valid });
    let next = 0;
    const answers = wanted.map((p) => {
      if (p.partition < 0) return { partition: p.partition, errorCode: ERROR_TABLE.UNKNOWN_TOPIC_OR_PARTITION.wire };
      const answer = response.partitions[next++];
      return { partition: p.partition,
        errorCode: answer === undefined ? ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire : kafkaErrorCode(answer.errorCode) };
    });
    const writer = new KafkaWriter();
    if (version >= 3) writer.int32(0);
    writer.array(regroup(topics, answers), (w, group) => w.string(group.topic).array(group.partitions,
      (pw, answer) => pw.int32(answer.partition).int16(answer.errorCode)));
    return respond(writer);
  },
};

export const offsetFetchApi: KafkaApi = {
  key: 9, name: 'OffsetFetch', minVersion: 1, maxVersion: 5,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const groupId = call.body.string();
    const topics = call.body.nullableArray((t) => ({ topic: t.string(), partitions: t.array((p) => p.int32()) }));
    const partitions = (topics ?? []).flatMap((t) => t.partitions.filter((p) => p >= 0)
      .map((partition) => ({ topic: t.topic, partition })));
    const asked = topics === null || partitions.length > 0;
    const { response } = asked ? await callNative(call, API_KEYS.OFFSET_FETCH, { groupId, partitions })
      : { response: { errorCode: 0, partitions: [] } };
    const writer = new KafkaWriter();
    if (version >= 3) writer.int32(0);
    writer.array(byTopic(response.partitions), (w, group) => w.string(group.topic).array(group.partitions,
      (pw, p) => {
        pw.int32(p.partition).int64(p.committedOffset);
        if (version >= 5) pw.int32(p.committedLeaderEpoch);
        pw.nullableString(p.metadata).int16(kafkaErrorCode(p.errorCode));
      }));
    if (version >= 2) writer.int16(kafkaErrorCode(response.errorCode));
    return respond(writer);
  },
};

export const describeGroupsApi: KafkaApi = {
  key: 15, name: 'DescribeGroups', minVersion: 0, maxVersion: 2,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const groupIds = call.body.array((r) => r.string());
    const { response } = await callNative(call, API_KEYS.DESCRIBE_GROUPS, { groupIds });
    const writer = new KafkaWriter();
    if (version >= 1) writer.int32(0);
    writer.array(response.groups, (w, group) => {
      w.int16(kafkaErrorCode(group.errorCode)).string(group.groupId).string(group.groupState)
        .string(group.protocolType).string(group.protocolName);
      w.array(group.members, (mw, member) => mw.string(member.memberId).string(member.clientId)
        .string(member.clientHost).nullableBytesOf([member.memberMetadata]).nullableBytesOf([member.memberAssignment]));
    });
    return respond(writer);
  },
};

export const listGroupsApi: KafkaApi = {
  key: 16, name: 'ListGroups', minVersion: 0, maxVersion: 2,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const { response } = await callNative(call, API_KEYS.LIST_GROUPS, {});
    const writer = new KafkaWriter();
    if (call.header.apiVersion >= 1) writer.int32(0);
    writer.int16(kafkaErrorCode(response.errorCode))
      .array(response.groups, (w, group) => w.string(group.groupId).string(group.protocolType));
    return respond(writer);
  },
};

export const deleteGroupsApi: KafkaApi = {
  key: 42, name: 'DeleteGroups', minVersion: 0, maxVersion: 1,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const groupIds = call.body.array((r) => r.string());
    const { response } = await callNative(call, API_KEYS.DELETE_GROUPS, { groupIds });
    const writer = new KafkaWriter().int32(0);
    writer.array(response.results, (w, result) => w.string(result.groupId).int16(kafkaErrorCode(result.errorCode)));
    return respond(writer);
  },
};
