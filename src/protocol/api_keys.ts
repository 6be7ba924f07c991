/**
 * API keys of the client <-> broker protocol, mirrored from `enum ApiKey` in proto/client.proto as
 * an `as const` object (STYLE.md §7: no TS enums). test/unit/net/messages.test.ts checks the two
 * agree. 0 (API_KEY_UNSPECIFIED) is not an API: an envelope without a key is INVALID_REQUEST.
 */
export const API_KEYS = {
  PRODUCE: 1,
  FETCH: 2,
  LIST_OFFSETS: 3,
  METADATA: 4,
  CREATE_TOPICS: 5,
  DELETE_TOPICS: 6,
  DESCRIBE_CLUSTER: 7,
  INIT_PRODUCER_ID: 8,
  FIND_COORDINATOR: 9,
  OFFSET_COMMIT: 10,
  OFFSET_FETCH: 11,
  JOIN_GROUP: 12,
  SYNC_GROUP: 13,
  HEARTBEAT: 14,
  LEAVE_GROUP: 15,
  DESCRIBE_GROUPS: 16,
  LIST_GROUPS: 17,
  DELETE_GROUPS: 18,
  CREATE_PARTITIONS: 19,
  ELECT_LEADERS: 20,
  ALTER_PARTITION_REASSIGNMENTS: 21,
  LIST_PARTITION_REASSIGNMENTS: 22,
  DESCRIBE_QUORUM: 23,
  ADD_RAFT_VOTER: 24,
  REMOVE_RAFT_VOTER: 25,
  DECOMMISSION_BROKER: 26,
  CREATE_ACLS: 27,
  DELETE_ACLS: 28,
  DESCRIBE_ACLS: 29,
  ALTER_CLIENT_QUOTAS: 30,
  DESCRIBE_CLIENT_QUOTAS: 31,
} as const;

export type ApiName = keyof typeof API_KEYS;
export type ApiKey = (typeof API_KEYS)[ApiName];

const NAMES_BY_KEY: ReadonlyMap<number, ApiName> = new Map(
  (Object.keys(API_KEYS) as ApiName[]).map((name) => [API_KEYS[name], name]),
);

/** Narrows a number read off the wire to an ApiKey. */
export function isApiKey(value: number): value is ApiKey {
  return NAMES_BY_KEY.has(value);
}

/** The name of a key for logs and errors; unknown numbers print as `API_<n>`. */
export function apiName(key: number): string {
  return NAMES_BY_KEY.get(key) ?? `API_${key}`;
}

/** Acks values of Produce: every voter of the Raft group (-1), none (0), the leader alone (1). */
export const ACKS = { ALL: -1, NONE: 0, LEADER: 1 } as const;

/** ListOffsets timestamp sentinels (Kafka's): latest is the high watermark, earliest the log start. */
export const LIST_OFFSETS_LATEST = -1;
export const LIST_OFFSETS_EARLIEST = -2;

/** Broker id meaning "none" or "unknown" (leader, controller, coordinator). */
export const NO_BROKER_ID = -1;
