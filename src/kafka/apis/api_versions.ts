/**
 * ApiVersions (key 18), v0-3: the API keys and version ranges this listener serves. v3 is the one
 * flexible message served (compact array, tagged fields) but its response header stays v0
 * (KIP-511). A version above 3 gets UNSUPPORTED_VERSION in the v0 body format with our list, so
 * each client retries at a version we know (research kafka-protocol.md §2); a v3 request with an
 * invalid client software name or version gets INVALID_REQUEST, as from Kafka.
 */
import { ERROR_TABLE } from '../../common/errors.js';
import { KafkaWriter } from '../codec.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { respond } from '../kafka_api.js';
import { API_VERSIONS_KEY } from '../request_header.js';

const VERSION_MAX = 3;
/** Kafka's rule for client_software_name and client_software_version (ApiVersionsRequest.isValid). */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export interface VersionRange { readonly key: number; readonly minVersion: number; readonly maxVersion: number }

function writeV0Body(writer: KafkaWriter, errorCode: number, ranges: readonly VersionRange[]): KafkaWriter {
  return writer.int16(errorCode).array(ranges, (w, range) => w.int16(range.key).int16(range.minVersion)
    .int16(range.maxVersion));
}

/** The ApiVersions body for a version; `ranges` includes ApiVersions itself. */
export function apiVersionsBody(version: number, errorCode: number, ranges: readonly VersionRange[]): KafkaWriter {
  const writer = new KafkaWriter();
  if (version > VERSION_MAX) return writeV0Body(writer, ERROR_TABLE.UNSUPPORTED_VERSION.wire, ranges);
  if (version < 3) {
    writeV0Body(writer, errorCode, ranges);
    if (version >= 1) writer.int32(0); // throttle_time_ms
    return writer;
  }
  return writer.int16(errorCode)
    .compactArray(ranges, (w, range) => w.int16(range.key).int16(range.minVersion).int16(range.maxVersion)
      .noTaggedFields())
    .int32(0) // throttle_time_ms
    .noTaggedFields();
}

export function apiVersionsApi(ranges: () => readonly VersionRange[]): KafkaApi {
  return {
    key: API_VERSIONS_KEY, name: 'ApiVersions', minVersion: 0, maxVersion: VERSION_MAX,
    handle(call: KafkaCall): KafkaOutcome {
      const version = call.header.apiVersion;
      let errorCode = 0;
      if (version === 3) {
        const name = call.body.compactNullableString();
        const softwareVersion = call.body.compactNullableString();
        call.body.taggedFields();
        if (name === null || softwareVersion === null || !SOFTWARE_PATTERN.test(name)
          || !SOFTWARE_PATTERN.test(softwareVersion)) {
          errorCode = ERROR_TABLE.INVALID_REQUEST.wire;
        }
      }
      return respond(apiVersionsBody(version, errorCode, ranges()));
    },
  };
}
