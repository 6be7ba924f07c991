/**
 * The group membership APIs onto the native group coordinator (src/group/coordinator.ts), which
 * already speaks Kafka's group protocol: FindCoordinator 0-2 (the coordinator named by its Kafka
 * listener), JoinGroup 0-5, SyncGroup 0-3, Heartbeat 0-3 and LeaveGroup 0-3. Subscriptions and
 * assignments are opaque bytes both ways.
 *
 * The coordinator answers a first join without a member id with MEMBER_ID_REQUIRED and the id to
 * use (KIP-394), which clients understand from JoinGroup v4 on; for v0-3 the join is made again at
 * once with that id, as a Kafka broker would have accepted it directly.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import { KafkaWriter } from '../codec.js';
import { kafkaErrorCode } from '../error_codes.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { callNative } from '../native_call.js';
import { kafkaBrokers } from './metadata.js';

const GROUP_KEY_TYPE = 0;
const MEMBER_ID_REQUIRED_VERSION_MIN = 4;

export const findCoordinatorApi: KafkaApi = {
  key: 10, name: 'FindCoordinator', minVersion: 0, maxVersion: 2,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const key = call.body.string();
    const keyType = version >= 1 ? call.body.int8() : GROUP_KEY_TYPE;
    let answer: { errorCode: number; errorMessage: string | null; nodeId: number; host: string; port: number };
    if (keyType !== GROUP_KEY_TYPE) {
      answer = { errorCode: ERROR_TABLE.INVALID_REQUEST.wire, errorMessage: 'transactions are not supported',
        nodeId: -1, host: '', port: -1 };
    } else {
      const { response } = await callNative(call, API_KEYS.FIND_COORDINATOR, { key });
      const broker = kafkaBrokers(call).find((b) => b.nodeId === response.nodeId);
      answer = response.errorCode !== 0
        ? { errorCode: kafkaErrorCode(response.errorCode), errorMessage: response.errorMessage, nodeId: -1, host: '',
          port: -1 }
        : broker === undefined
          ? { errorCode: ERROR_TABLE.COORDINATOR_NOT_AVAILABLE.wire,
            errorMessage: `broker ${String(response.nodeId)} has no Kafka listener`, nodeId: -1, host: '', port: -1 }
          : { errorCode: 0, errorMessage: null, nodeId: broker.nodeId, host: broker.host, port: broker.port };
    }
    const writer = new KafkaWriter();
    if (version >= 1) writer.int32(0);
    writer.int16(answer.errorCode);
    if (version >= 1) writer.nullableString(answer.errorMessage);
    writer.int32(answer.nodeId).string(answer.host).int32(answer.port);
    return respond(writer);
  },
};

export const joinGroupApi: KafkaApi = {
  key: 11, name: 'JoinGroup', minVersion: 0, maxVersion: 5,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const r = call.body;
    const groupId = r.string();
    const sessionTimeoutMs = Math.max(0, r.int32());
    const rebalanceTimeoutMs = version >= 1 ? Math.max(0, r.int32()) : sessionTimeoutMs;
    const memberId = r.string();
    const groupInstanceId = version >= 5 ? r.nullableString() ?? '' : '';
    const protocolType = r.string();
    const protocols = r.array((p) => ({ name: p.string(),
      metadata: Buffer.from(p.nullableBytes() ?? Buffer.alloc(0)) }));
    const join = (id: string): ReturnType<typeof callNative<typeof API_KEYS.JOIN_GROUP>> => callNative(call,
      API_KEYS.JOIN_GROUP, { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId: id, groupInstanceId,
        protocolType, protocols });
    let { response } = await join(memberId);
    if (version < MEMBER_ID_REQUIRED_VERSION_MIN && response.errorCode === ERROR_TABLE.MEMBER_ID_REQUIRED.wire) {
      ({ response } = await join(response.memberId));
    }
    const writer = new KafkaWriter();
    if (version >= 2) writer.int32(0);
    writer.int16(kafkaErrorCode(response.errorCode)).int32(response.generationId).string(response.protocolName)
      .string(response.leader).string(response.memberId);
    writer.array(response.members, (w, member) => {
      w.string(member.memberId);
      if (version >= 5) w.nullableString(member.groupInstanceId === '' ? null : member.groupInstanceId);
      w.nullableBytesOf([member.metadata]);
    });
    return respond(writer);
  },
};

export const syncGroupApi: KafkaApi = {
  key: 14, name: 'SyncGroup', minVersion: 0, maxVersion: 3,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const r = call.body;
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() ?? '' : '';
    const assignments = r.array((a) => ({ memberId: a.string(),
      assignment: Buffer.from(a.nullableBytes() ?? Buffer.alloc(0)) }));
    const { response } = await callNative(call, API_KEYS.SYNC_GROUP, { groupId, generationId, memberId,
      groupInstanceId, assignments });
    const writer = new KafkaWriter();
    if (version >= 1) writer.int32(0);
    writer.int16(kafkaErrorCode(response.errorCode)).nullableBytesOf([response.assignment]);
    return respond(writer);
  },
};

export const heartbeatApi: KafkaApi = {
  key: 12, name: 'Heartbeat', minVersion: 0, maxVersion: 3,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const r = call.body;
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = version >= 3 ? r.nullableString() ?? '' : '';
    const { response } = await callNative(call, API_KEYS.HEARTBEAT, { groupId, generationId, memberId,
      groupInstanceId });
    const writer = new KafkaWriter();
    if (version >= 1) writer.int32(0);
    return respond(writer.int16(kafkaErrorCode(response.errorCode)));
  },
};

export const leaveGroupApi: KafkaApi = {
  key: 13, name: 'LeaveGroup', minVersion: 0, maxVersion: 3,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    const r = call.body;
    const groupId = r.string();
    const members = version >= 3
      ? r.array((m) => ({ memberId: m.string(), groupInstanceId: m.nullableString() ?? '' }))
      : [{ memberId: r.string(), groupInstanceId: '' }];
    const { response } = await callNative(call, API_KEYS.LEAVE_GROUP, { groupId, members });
    const writer = new KafkaWriter();
    if (version >= 1) writer.int32(0);
    // Before v3 one member left: its own error is the request's.
    const memberError = response.members[0]?.errorCode ?? 0;
    writer.int16(kafkaErrorCode(version < 3 && response.errorCode === 0 ? memberError : response.errorCode));
    if (version >= 3) {
      writer.array(response.members, (w, member) => w.string(member.memberId)
        .nullableString(member.groupInstanceId === '' ? null : member.groupInstanceId)
        .int16(kafkaErrorCode(member.errorCode)));
    }
    return respond(writer);
  },
};
