/**
 * The client/broker-facing error table and the TributaryError class tree (Kafka `Errors.java`,
 * kafkajs `protocol/error.js`, nats.js `errors.ts`).
 *
 * ERROR_TABLE is the one place mapping a code to its Kafka wire number, its retriable flag and a
 * default message. Wire numbers and retriable flags follow Kafka's Errors.java, so clients react
 * the same way they would against Kafka. Codes with a negative number below -1 are private to
 * Tributary; kafkaWireCode() maps them to the Kafka code a Kafka client should see.
 *
 * storage/ may not import src/, so it defines its own storage errors; the broker translates them
 * into these codes (CORRUPT_SEGMENT, KAFKA_STORAGE_ERROR, OFFSET_OUT_OF_RANGE) at the boundary.
 * This file has no node imports so that clients and tools can use it anywhere.
 */

interface ErrorSpec {
  /** The number in Kafka responses; below -1 means private to Tributary (see kafkaWireCode). */
  readonly wire: number;
  readonly retriable: boolean;
  readonly message: string;
}

export const ERROR_TABLE = {
  UNKNOWN_SERVER_ERROR: { wire: -1, retriable: false, message: 'Unexpected server error' },
  OFFSET_OUT_OF_RANGE: { wire: 1, retriable: false, message: 'Offset is outside the log range' },
  CORRUPT_MESSAGE: { wire: 2, retriable: true, message: 'Record batch failed its CRC check' },
  UNKNOWN_TOPIC_OR_PARTITION: { wire: 3, retriable: true, message: 'Unknown topic or partition' },
  LEADER_NOT_AVAILABLE: { wire: 5, retriable: true, message: 'The partition has no leader yet' },
  NOT_LEADER_OR_FOLLOWER: { wire: 6, retriable: true, message: 'This broker does not lead the partition' },
  REQUEST_TIMED_OUT: { wire: 7, retriable: true, message: 'The request timed out' },
  BROKER_NOT_AVAILABLE: { wire: 8, retriable: false, message: 'The broker is not available' },
  MESSAGE_TOO_LARGE: { wire: 10, retriable: false, message: 'The record batch is over the size limit' },
  OFFSET_METADATA_TOO_LARGE: { wire: 12, retriable: false, message: 'The committed offset\'s metadata is too large' },
  NETWORK_EXCEPTION: { wire: 13, retriable: true, message: 'The connection to the broker was closed or lost' },
  COORDINATOR_LOAD_IN_PROGRESS: { wire: 14, retriable: true,
    message: 'The broker is still loading what the request needs (group state, producer ids); retry' },
  COORDINATOR_NOT_AVAILABLE: { wire: 15, retriable: true, message: 'The group coordinator is not available' },
  NOT_COORDINATOR: { wire: 16, retriable: true, message: 'This broker is not the coordinator of the group' },
  INVALID_TOPIC_EXCEPTION: { wire: 17, retriable: false, message: 'The topic name is invalid' },
  NOT_ENOUGH_REPLICAS: { wire: 19, retriable: true, message: 'No majority of replicas is reachable' },
  INVALID_REQUIRED_ACKS: { wire: 21, retriable: false, message: 'acks must be -1, 0 or 1' },
  ILLEGAL_GENERATION: { wire: 22, retriable: false, message: 'The group generation is stale' },
  INCONSISTENT_GROUP_PROTOCOL: { wire: 23, retriable: false,
    message: 'The member supports no protocol of the group\'s protocol type' },
  INVALID_GROUP_ID: { wire: 24, retriable: false, message: 'The group id is invalid' },
  UNKNOWN_MEMBER_ID: { wire: 25, retriable: false, message: 'The member id is not known to the coordinator' },
  INVALID_SESSION_TIMEOUT: { wire: 26, retriable: false, message: 'The session timeout is out of the allowed range' },
  REBALANCE_IN_PROGRESS: { wire: 27, retriable: false, message: 'The group is rebalancing' },
  TOPIC_AUTHORIZATION_FAILED: { wire: 29, retriable: false, message: 'Not authorized to access the topic' },
  GROUP_AUTHORIZATION_FAILED: { wire: 30, retriable: false, message: 'Not authorized to access the group' },
  CLUSTER_AUTHORIZATION_FAILED: { wire: 31, retriable: false,
    message: 'Not authorized for this cluster operation' },
  UNSUPPORTED_SASL_MECHANISM: { wire: 33, retriable: false, message: 'The SASL mechanism is not enabled' },
  ILLEGAL_SASL_STATE: { wire: 34, retriable: false, message: 'The SASL request is out of order' },
  UNSUPPORTED_VERSION: { wire: 35, retriable: false, message: 'Unsupported API version' },
  TOPIC_ALREADY_EXISTS: { wire: 36, retriable: false, message: 'The topic already exists' },
  INVALID_PARTITIONS: { wire: 37, retriable: false, message: 'The number of partitions is invalid' },
  INVALID_REPLICATION_FACTOR: { wire: 38, retriable: false,
    message: 'The replication factor is below 1 or above the number of live brokers' },
  INVALID_REPLICA_ASSIGNMENT: { wire: 39, retriable: false, message: 'The replica assignment is invalid' },
  INVALID_CONFIG: { wire: 40, retriable: false, message: 'The configuration is invalid' },
  NOT_CONTROLLER: { wire: 41, retriable: true, message: 'This broker does not lead the controller' },
  INVALID_REQUEST: { wire: 42, retriable: false, message: 'The request is malformed' },
  OUT_OF_ORDER_SEQUENCE_NUMBER: { wire: 45, retriable: false, message: 'Producer sequence number gap' },
  INVALID_PRODUCER_EPOCH: { wire: 47, retriable: false, message: 'The producer epoch is stale' },
  KAFKA_STORAGE_ERROR: { wire: 56, retriable: true, message: 'The broker storage failed' },
  SASL_AUTHENTICATION_FAILED: { wire: 58, retriable: false,
    message: 'The request proves no principal this broker knows (its key is not in --client-keys)' },
  REASSIGNMENT_IN_PROGRESS: { wire: 60, retriable: false, message: 'A reassignment of the partition is under way' },
  NON_EMPTY_GROUP: { wire: 68, retriable: false, message: 'The group has members' },
  GROUP_ID_NOT_FOUND: { wire: 69, retriable: false, message: 'The group does not exist' },
  MEMBER_ID_REQUIRED: { wire: 79, retriable: false, message: 'Join again with the member id given' },
  PREFERRED_LEADER_NOT_AVAILABLE: { wire: 80, retriable: true,
    message: 'The preferred leader cannot take over the partition now' },
  GROUP_MAX_SIZE_REACHED: { wire: 81, retriable: false, message: 'The group is at its maximum size' },
  FENCED_INSTANCE_ID: { wire: 82, retriable: false,
    message: 'Another member with the same group instance id took this one\'s place' },
  ELECTION_NOT_NEEDED: { wire: 84, retriable: true, message: 'The preferred leader leads the partition already' },
  NO_REASSIGNMENT_IN_PROGRESS: { wire: 85, retriable: false, message: 'No reassignment of the partition is under way' },
  UNSUPPORTED_COMPRESSION_TYPE: { wire: 76, retriable: false, message: 'Unsupported compression type' },
  STALE_BROKER_EPOCH: { wire: 77, retriable: false, message: 'The broker incarnation is stale' },
  INVALID_RECORD: { wire: 87, retriable: false, message: 'The record batch is malformed' },
  DUPLICATE_BROKER_REGISTRATION: { wire: 101, retriable: false, message: 'This broker id is already in use' },
  BROKER_ID_NOT_REGISTERED: { wire: 102, retriable: false, message: 'The broker id is not registered' },
  DUPLICATE_VOTER: { wire: 126, retriable: false, message: 'The broker is a controller voter already' },
  VOTER_NOT_FOUND: { wire: 127, retriable: false, message: 'The broker is not a controller voter' },
  // Private: a segment frame failed its checksum. Kafka clients see KAFKA_STORAGE_ERROR.
  CORRUPT_SEGMENT: { wire: -1001, retriable: false, message: 'A log segment is corrupt' },
  // Private: too many requests in flight (a broker's request server, or a client connection's
  // waiting queue); retry after a back-off. Kafka clients see REQUEST_TIMED_OUT.
  TOO_MANY_REQUESTS: { wire: -1002, retriable: true, message: 'Too many requests in flight; retry later' },
  // Private: the connection is over a connection limit of the listener (--max-connections,
  // --max-connections-per-principal). Not retriable: the refusal holds for the connection's whole
  // life, so a retry on it gets the same answer; a client must close it and connect again once
  // others have closed. Kafka has no code for it (it closes the socket): a Kafka client is sent
  // NETWORK_EXCEPTION, which is what a closed connection looks like to it, and it reconnects.
  CONNECTION_LIMIT_EXCEEDED: { wire: -1003, retriable: false,
    message: 'The connection is over the broker\'s connection limits; close it and connect again later' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** What a Kafka client is sent for each private code. */
const KAFKA_ALIASES: Readonly<Partial<Record<ErrorCode, ErrorCode>>> = {
  CORRUPT_SEGMENT: 'KAFKA_STORAGE_ERROR',
  TOO_MANY_REQUESTS: 'REQUEST_TIMED_OUT',
  CONNECTION_LIMIT_EXCEEDED: 'NETWORK_EXCEPTION',
};

const CODES_BY_WIRE: ReadonlyMap<number, ErrorCode> = new Map(
  (Object.keys(ERROR_TABLE) as ErrorCode[]).map((code) => [ERROR_TABLE[code].wire, code]),
);

/** The number to put in a Kafka response for code; private codes map to their Kafka alias. */
export function kafkaWireCode(code: ErrorCode): number {
  return ERROR_TABLE[KAFKA_ALIASES[code] ?? code].wire;
}

/** The code for a wire number, or undefined when the number is not in the table. */
export function errorCodeFromWire(wire: number): ErrorCode | undefined {
  return CODES_BY_WIRE.get(wire);
}

export interface TributaryErrorOptions {
  readonly cause?: unknown;
}

/** Base of every typed operating error. Programmer errors are AssertionError instead. */
export class TributaryError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'TributaryError';
  readonly code: C;
  readonly retriable: boolean;

  constructor(code: C, message?: string, options?: TributaryErrorOptions) {
    super(message ?? ERROR_TABLE[code].message, options?.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.retriable = ERROR_TABLE[code].retriable;
  }

  /** The number to send to a Kafka client for this error. */
  get wireCode(): number {
    return kafkaWireCode(this.code);
  }
}

/** The wire number for anything caught: unknown throwables become UNKNOWN_SERVER_ERROR. */
export function wireCodeOf(error: unknown): number {
  return error instanceof TributaryError ? error.wireCode : ERROR_TABLE.UNKNOWN_SERVER_ERROR.wire;
}

/** A client-side error from a wire number in a response; unknown numbers keep the number in the text. */
export function errorFromWire(wire: number, message?: string): TributaryError {
  const code = errorCodeFromWire(wire);
  if (code === undefined) {
    return new TributaryError('UNKNOWN_SERVER_ERROR', message ?? `Unknown Kafka error code ${wire}`);
  }
  return new TributaryError(code, message);
}

export class CorruptMessageError extends TributaryError<'CORRUPT_MESSAGE'> {
  override readonly name = 'CorruptMessageError';
  constructor(
    readonly expectedCrc: number,
    readonly actualCrc: number,
    options?: TributaryErrorOptions,
  ) {
    super('CORRUPT_MESSAGE', `Record batch CRC mismatch: stored ${hex32(expectedCrc)}, ` +
      `computed ${hex32(actualCrc)}`, options);
  }
}

/** Why a batch is INVALID_RECORD; lets tests and logs tell the cases apart without parsing text. */
export type InvalidRecordReason =
  | 'TRUNCATED'
  | 'BAD_MAGIC'
  | 'BAD_LENGTH'
  | 'BAD_RECORD_COUNT'
  | 'CONTROL_BATCH'
  | 'NONZERO_BASE_OFFSET'
  | 'BAD_SEQUENCE'
  | 'UNSAFE_INTEGER'
  | 'MALFORMED_RECORD'
  | 'BAD_OFFSET_DELTA'
  | 'BAD_TIMESTAMP'
  | 'INFLATED_TOO_LARGE';

export class InvalidRecordError extends TributaryError<'INVALID_RECORD'> {
  override readonly name = 'InvalidRecordError';
  constructor(
    readonly reason: InvalidRecordReason,
    /** The message without its prefix, so a caller can add where in the batch it happened. */
    readonly detail: string,
    options?: TributaryErrorOptions,
  ) {
    super('INVALID_RECORD', `Invalid record batch (${reason}): ${detail}`, options);
  }
}

export class MessageTooLargeError extends TributaryError<'MESSAGE_TOO_LARGE'> {
  override readonly name = 'MessageTooLargeError';
  constructor(
    readonly sizeBytes: number,
    readonly sizeBytesMax: number,
  ) {
    super('MESSAGE_TOO_LARGE', `Record batch of ${sizeBytes} bytes is over the limit of ${sizeBytesMax}`);
  }
}

export class UnsupportedCompressionError extends TributaryError<'UNSUPPORTED_COMPRESSION_TYPE'> {
  override readonly name = 'UnsupportedCompressionError';
  constructor(
    readonly codecId: number,
    detail: string,
  ) {
    super('UNSUPPORTED_COMPRESSION_TYPE', `Compression codec ${codecId}: ${detail}`);
  }
}

export class OffsetOutOfRangeError extends TributaryError<'OFFSET_OUT_OF_RANGE'> {
  override readonly name = 'OffsetOutOfRangeError';
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly highWatermark: number,
  ) {
    super('OFFSET_OUT_OF_RANGE', `Offset ${offset} is outside [${logStartOffset}, ${highWatermark}]`);
  }
}

export class NotLeaderOrFollowerError extends TributaryError<'NOT_LEADER_OR_FOLLOWER'> {
  override readonly name = 'NotLeaderOrFollowerError';
  /** leaderHint: the broker id believed to lead, or null when unknown (an election is running). */
  constructor(readonly leaderHint: number | null) {
    super('NOT_LEADER_OR_FOLLOWER', leaderHint === null
      ? 'Not the leader; no leader is known'
      : `Not the leader; broker ${leaderHint} is believed to lead`);
  }
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
