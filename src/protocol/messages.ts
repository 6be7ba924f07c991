/**
 * The protobuf messages of the client <-> broker protocol and the table tying each API key to its
 * request and response types. Every protocol user imports this module (directly or through
 * envelope.ts), which is why it is the one place that configures protobufjs.
 *
 * Code generation (`npm run proto`, run by `npm run build`): pbjs compiles every
 * src/protocol/proto/*.proto into one static ES module, src/protocol/generated/messages.js, with
 * `--force-number` and its .d.ts next to it; the .js is copied to dist/. Nothing generated is
 * committed.
 *
 * `--force-number` only changes the generated types: protobufjs still decodes 64-bit fields to
 * Long objects unless `util.Long` is unset, which protobuf_setup.ts does before the generated
 * module loads. 64-bit values are then plain numbers, exact up to 2^53 (research/stack.md §3).
 *
 * Types: `RequestOf<A>`/`ResponseOf<A>` are what a sender passes (generated `$Properties`: every
 * field optional). `DecodedRequestOf<A>`/`DecodedResponseOf<A>` are what a receiver reads: the
 * generated types mark nested fields optional and nullable, but a decoded proto3 message reads
 * every scalar, repeated and map field as a value (defaults live on the prototype), so
 * `DecodedMessage` says so; only singular message fields may be null (absent).
 */
import './protobuf_setup.js'; // first: the generated module reads util.Long as it loads
import type protobuf from 'protobufjs/minimal.js';

import { tributary } from './generated/messages.js';
import { assert } from '../../raft/core/assert.js';
import { API_KEYS } from './api_keys.js';
import type { ApiKey } from './api_keys.js';

assert(typeof tributary.client.ProducePartitionResponse.prototype.baseOffset === 'number',
  'protobufjs was configured after the generated messages loaded: int64 defaults are Long objects');

/**
 * The generated messages of package tributary.client, as values (`pb.ProduceRequest.decode`) and
 * as types (`pb.ProduceRequest` decoded, `pb.ProduceRequest.$Properties` to encode).
 */
export import pb = tributary.client;

/**
 * The whole generated root, for the other packages compiled from src/protocol/proto/ (such as the
 * controller's). Import it from here, never from generated/ directly (see protobuf_setup.ts).
 */
export { tributary };

/** The encode/decode pair of one generated message class. */
export interface MessageCodec<Properties, Decoded> {
  encode(message: Properties, writer?: protobuf.Writer): protobuf.Writer;
  decode(reader: protobuf.Reader | Uint8Array, length?: number): Decoded;
}

/** For each API: the request and response message classes. */
export const API_MESSAGES = {
  [API_KEYS.PRODUCE]: { request: pb.ProduceRequest, response: pb.ProduceResponse },
  [API_KEYS.FETCH]: { request: pb.FetchRequest, response: pb.FetchResponse },
  [API_KEYS.LIST_OFFSETS]: { request: pb.ListOffsetsRequest, response: pb.ListOffsetsResponse },
  [API_KEYS.METADATA]: { request: pb.MetadataRequest, response: pb.MetadataResponse },
  [API_KEYS.CREATE_TOPICS]: { request: pb.CreateTopicsRequest, response: pb.CreateTopicsResponse },
  [API_KEYS.DELETE_TOPICS]: { request: pb.DeleteTopicsRequest, response: pb.DeleteTopicsResponse },
  [API_KEYS.DESCRIBE_CLUSTER]: { request: pb.DescribeClusterRequest, response: pb.DescribeClusterResponse },
  [API_KEYS.INIT_PRODUCER_ID]: { request: pb.InitProducerIdRequest, response: pb.InitProducerIdResponse },
  [API_KEYS.FIND_COORDINATOR]: { request: pb.FindCoordinatorRequest, response: pb.FindCoordinatorResponse },
  [API_KEYS.OFFSET_COMMIT]: { request: pb.OffsetCommitRequest, response: pb.OffsetCommitResponse },
  [API_KEYS.OFFSET_FETCH]: { request: pb.OffsetFetchRequest, response: pb.OffsetFetchResponse },
  [API_KEYS.JOIN_GROUP]: { request: pb.JoinGroupRequest, response: pb.JoinGroupResponse },
  [API_KEYS.SYNC_GROUP]: { request: pb.SyncGroupRequest, response: pb.SyncGroupResponse },
  [API_KEYS.HEARTBEAT]: { request: pb.HeartbeatRequest, response: pb.HeartbeatResponse },
  [API_KEYS.LEAVE_GROUP]: { request: pb.LeaveGroupRequest, response: pb.LeaveGroupResponse },
  [API_KEYS.DESCRIBE_GROUPS]: { request: pb.DescribeGroupsRequest, response: pb.DescribeGroupsResponse },
  [API_KEYS.LIST_GROUPS]: { request: pb.ListGroupsRequest, response: pb.ListGroupsResponse },
  [API_KEYS.DELETE_GROUPS]: { request: pb.DeleteGroupsRequest, response: pb.DeleteGroupsResponse },
  [API_KEYS.CREATE_PARTITIONS]: { request: pb.CreatePartitionsRequest, response: pb.CreatePartitionsResponse },
  [API_KEYS.ELECT_LEADERS]: { request: pb.ElectLeadersRequest, response: pb.ElectLeadersResponse },
  [API_KEYS.ALTER_PARTITION_REASSIGNMENTS]: { request: pb.AlterPartitionReassignmentsRequest,
    response: pb.AlterPartitionReassignmentsResponse },
  [API_KEYS.LIST_PARTITION_REASSIGNMENTS]: { request: pb.ListPartitionReassignmentsRequest,
    response: pb.ListPartitionReassignmentsResponse },
  [API_KEYS.DESCRIBE_QUORUM]: { request: pb.DescribeQuorumRequest, response: pb.DescribeQuorumResponse },
  [API_KEYS.ADD_RAFT_VOTER]: { request: pb.AddRaftVoterRequest, response: pb.AddRaftVoterResponse },
  [API_KEYS.REMOVE_RAFT_VOTER]: { request: pb.RemoveRaftVoterRequest, response: pb.RemoveRaftVoterResponse },
  [API_KEYS.DECOMMISSION_BROKER]: { request: pb.DecommissionBrokerRequest, response: pb.DecommissionBrokerResponse },
  [API_KEYS.CREATE_ACLS]: { request: pb.CreateAclsRequest, response: pb.CreateAclsResponse },
  [API_KEYS.DELETE_ACLS]: { request: pb.DeleteAclsRequest, response: pb.DeleteAclsResponse },
  [API_KEYS.DESCRIBE_ACLS]: { request: pb.DescribeAclsRequest, response: pb.DescribeAclsResponse },
  [API_KEYS.ALTER_CLIENT_QUOTAS]: { request: pb.AlterClientQuotasRequest, response: pb.AlterClientQuotasResponse },
  [API_KEYS.DESCRIBE_CLIENT_QUOTAS]: { request: pb.DescribeClientQuotasRequest,
    response: pb.DescribeClientQuotasResponse },
} as const;

type Messages<A extends ApiKey> = (typeof API_MESSAGES)[A];

/** A decoded message of properties type P (see the header). Do not mutate it: bytes fields are views. */
export type DecodedMessage<P> = {
  readonly [K in keyof P as K extends '$unknowns' ? never : K]-?: DecodedField<Exclude<P[K], null | undefined>>;
};
type DecodedField<V> = V extends readonly (infer E)[]
  ? readonly DecodedElement<Exclude<E, null | undefined>>[]
  : V extends string | number | boolean | Uint8Array
    ? V
    : string extends keyof V
      ? Readonly<V> // map<string, scalar>
      : DecodedMessage<V> | null;
type DecodedElement<E> = E extends string | number | boolean | Uint8Array ? E : DecodedMessage<E>;

/** What a client passes for api A (the `$Properties` shape: every field optional, proto3 defaults). */
export type RequestOf<A extends ApiKey> = Parameters<Messages<A>['request']['encode']>[0];
/** What a handler receives for api A. */
export type DecodedRequestOf<A extends ApiKey> = DecodedMessage<RequestOf<A>>;
/** What a handler returns for api A. */
export type ResponseOf<A extends ApiKey> = Parameters<Messages<A>['response']['encode']>[0];
/** What a client receives for api A. */
export type DecodedResponseOf<A extends ApiKey> = DecodedMessage<ResponseOf<A>>;

/** Encodes a request body of api A; the result is a Buffer in Node, ready for zeromq. */
export function encodeRequestBody<A extends ApiKey>(api: A, message: RequestOf<A>): Uint8Array {
  const codec = API_MESSAGES[api].request as unknown as MessageCodec<RequestOf<A>, unknown>;
  return codec.encode(message).finish();
}

/** Decodes a request body of api A; throws on malformed input (callers map that to INVALID_REQUEST). */
export function decodeRequestBody<A extends ApiKey>(api: A, body: Uint8Array): DecodedRequestOf<A> {
  const codec = API_MESSAGES[api].request as unknown as MessageCodec<unknown, DecodedRequestOf<A>>;
  return codec.decode(body);
}

export function encodeResponseBody<A extends ApiKey>(api: A, message: ResponseOf<A>): Uint8Array {
  const codec = API_MESSAGES[api].response as unknown as MessageCodec<ResponseOf<A>, unknown>;
  return codec.encode(message).finish();
}

export function decodeResponseBody<A extends ApiKey>(api: A, body: Uint8Array): DecodedResponseOf<A> {
  const codec = API_MESSAGES[api].response as unknown as MessageCodec<unknown, DecodedResponseOf<A>>;
  return codec.decode(body);
}

/**
 * Produce with acks = 0 is one-way: the broker never replies and the client waits for nothing.
 * An unset acks is 0 on the wire (proto3 default), so it counts as 0 on both sides.
 */
export function isOneWay(api: ApiKey, request: object): boolean {
  return api === API_KEYS.PRODUCE && ((request as { readonly acks?: number | null }).acks ?? 0) === 0;
}

/**
 * Checks the raw frame indexes a decoded request names against the raw frames that came with it;
 * returns why the request is malformed, or null. Only Produce names raw frames.
 */
export function rawFrameProblemOfRequest(api: ApiKey, request: unknown, rawFrameCount: number): string | null {
  if (api !== API_KEYS.PRODUCE) return rawFrameCount === 0 ? null : `${rawFrameCount} raw frames on an API without any`;
  const produce = request as DecodedRequestOf<typeof API_KEYS.PRODUCE>;
  const used = new Set<number>();
  for (const partition of produce.partitions) {
    const index = partition.rawFrameIndex;
    if (index >= rawFrameCount) {
      return `${partition.topic}/${partition.partition} names raw frame ${index} of ${rawFrameCount}`;
    }
    if (used.has(index)) return `raw frame ${index} is named twice`;
    used.add(index);
  }
  return null;
}

/** Same check for a decoded response: only Fetch names raw frames. */
export function rawFrameProblemOfResponse(api: ApiKey, response: unknown, rawFrameCount: number): string | null {
  if (api !== API_KEYS.FETCH) return rawFrameCount === 0 ? null : `${rawFrameCount} raw frames on an API without any`;
  const fetch = response as DecodedResponseOf<typeof API_KEYS.FETCH>;
  for (const partition of fetch.partitions) {
    for (const index of partition.rawFrameIndexes) {
      if (index >= rawFrameCount) {
        return `${partition.topic}/${partition.partition} names raw frame ${index} of ${rawFrameCount}`;
      }
    }
  }
  return null;
}
