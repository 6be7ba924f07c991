/**
 * Size limits of the protobuf frames of a request, checked before they are decoded. The envelope
 * and bodies carry names and numbers only (record batches travel in raw frames), so none has a
 * reason to be megabytes; a bigger frame is answered MESSAGE_TOO_LARGE instead of being decoded
 * into objects a handler would then hold. With SHAPE_LIMITS_DEFAULT (50,000 entries) this bounds
 * what one decoded request can hold to a few MiB.
 */
import { API_KEYS } from './api_keys.js';
import type { ApiKey } from './api_keys.js';
import { API_MESSAGES } from './messages.js';
import { clientShape } from './wire_shape.js';
import type { MessageShape } from './wire_shape.js';

/** The envelope: a correlation id, an api key, a client id and a count. */
export const ENVELOPE_BYTES_MAX = 64 * 1024;

/** Bodies of every api but those below: 10,000 partitions of 60-character topic names fit. */
export const REQUEST_BODY_BYTES_MAX_DEFAULT = 1024 * 1024;

/** Group membership carries opaque member metadata and assignments, one per member. */
const GROUP_BODY_BYTES_MAX = 8 * 1024 * 1024;

const BODY_BYTES_MAX_BY_API: ReadonlyMap<ApiKey, number> = new Map([
  [API_KEYS.JOIN_GROUP, GROUP_BODY_BYTES_MAX],
  [API_KEYS.SYNC_GROUP, GROUP_BODY_BYTES_MAX],
]);

export function requestBodyBytesMax(api: ApiKey): number {
  return BODY_BYTES_MAX_BY_API.get(api) ?? REQUEST_BODY_BYTES_MAX_DEFAULT;
}

export const REQUEST_ENVELOPE_SHAPE: MessageShape = clientShape('RequestEnvelope');

// The generated classes are named constructors (function ProduceRequest ...), named as in client.proto.
const REQUEST_SHAPES: ReadonlyMap<number, MessageShape> = new Map(Object.entries(API_MESSAGES)
  .map(([api, messages]) => [Number(api), clientShape(messages.request.name)]));

export function requestShapeOf(api: ApiKey): MessageShape {
  return REQUEST_SHAPES.get(api) ?? clientShape('unreachable: every api has a request message');
}
