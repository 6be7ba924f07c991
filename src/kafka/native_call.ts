/**
 * Runs a native handler (the one the ZeroMQ request server runs) for a Kafka request: the request
 * is built as the native message, passed through its protobuf encoding so the handler sees exactly
 * what a decoded native request looks like (defaults filled, 64-bit numbers as numbers), and the
 * response comes back decoded the same way. One path, one set of checks, for both protocols.
 */
import { assert } from '../../raft/core/assert.js';
import type { ApiKey } from '../protocol/api_keys.js';
import { decodeRequestBody, decodeResponseBody, encodeRequestBody, encodeResponseBody } from '../protocol/messages.js';
import type { DecodedResponseOf, RequestOf } from '../protocol/messages.js';
import type { KafkaCall } from './kafka_api.js';

export interface NativeAnswer<A extends ApiKey> {
  readonly response: DecodedResponseOf<A>;
  /** Fetch's stored batches, in the order the response's raw frame indexes name them. */
  readonly rawFrames: readonly Uint8Array[];
}

/** Calls the native handler of api; a TributaryError it throws fails the whole request, as natively. */
export async function callNative<A extends ApiKey>(call: KafkaCall, api: A, request: RequestOf<A>,
  rawFrames: readonly Buffer[] = []): Promise<NativeAnswer<A>> {
  const handler = call.broker.handlers[api];
  assert(handler !== undefined, () => `no native handler for api ${api}`);
  const decoded = decodeRequestBody(api, encodeRequestBody(api, request));
  const result = await handler(decoded, call.nativeContext(api, rawFrames));
  // Fetch's frames are views of pooled read memory (FetchResult): copied now, before anything else runs.
  const rawCopies = (result.rawFrames ?? []).map((frame) => Buffer.from(frame));
  return { response: decodeResponseBody(api, encodeResponseBody(api, result.response)), rawFrames: rawCopies };
}
