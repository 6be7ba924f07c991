/**
 * Kafka's request header (RequestHeader.json): v1 is api_key, api_version, correlation_id and a
 * nullable client_id (an int16 string even in v2); v2 adds a tagged-field section and is used
 * exactly when the request's version is flexible. Of the versions served here only ApiVersions v3
 * and later and SaslAuthenticate v2 are flexible (research kafka-protocol.md §0.1, §2).
 */
import type { KafkaReader } from './codec.js';

export const API_VERSIONS_KEY = 18;
export const SASL_HANDSHAKE_KEY = 17;
export const SASL_AUTHENTICATE_KEY = 36;
/** The first flexible version of each API served that has one. */
const FLEXIBLE_MIN = new Map([[API_VERSIONS_KEY, 3], [SASL_AUTHENTICATE_KEY, 2]]);

export interface KafkaRequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** Kafka reads a null client_id as "". */
  readonly clientId: string;
}

/** Whether the request (and, but for ApiVersions, its response) uses the flexible encoding. */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const flexibleMin = FLEXIBLE_MIN.get(apiKey);
  return flexibleMin !== undefined && apiVersion >= flexibleMin;
}

/** Whether the response header is v1 (tagged fields after the correlation id): flexible, but not ApiVersions. */
export function hasFlexibleResponseHeader(apiKey: number, apiVersion: number): boolean {
  return apiKey !== API_VERSIONS_KEY && isFlexible(apiKey, apiVersion);
}

/** Reads the header off a frame; the reader is left at the body. Throws KafkaDecodeError. */
export function readRequestHeader(reader: KafkaReader): KafkaRequestHeader {
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const clientId = reader.nullableString() ?? '';
  if (isFlexible(apiKey, apiVersion)) reader.taggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}
