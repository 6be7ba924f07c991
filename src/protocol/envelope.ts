/**
 * Framing of the client <-> broker protocol over ZeroMQ (client DEALER, broker ROUTER).
 *
 * Request, a multipart message:
 *
 *     [ envelope, body, raw0, raw1, ... ]
 *
 * - envelope: protobuf RequestEnvelope { correlation_id (uint64), api_key (ApiKey), client_id,
 *   raw_frame_count, auth_token }. raw_frame_count must equal the number of frames after the body.
 *   auth_token is empty in plaintext; on a broker with CURVE it names the client's principal
 *   (src/security/auth_token.ts, docs/security.md).
 * - body: the protobuf request message of that api (API_MESSAGES in messages.ts). An empty frame
 *   is a valid body (every field at its default).
 * - raw frames: record-batch bytes, never protobuf-encoded, so they are never copied: the sender
 *   hands its buffers to zeromq (zero-copy above 128 bytes; never mutate them afterwards) and the
 *   receiver gets them as separate Buffers. Produce names a raw frame per partition
 *   (`raw_frame_index`, 0 = the first frame after the body); no other request carries raw frames.
 *
 * The ROUTER sees a routing-id frame in front of these; it is not part of the protocol.
 *
 * Response: [ envelope, body, raw0, raw1, ... ] with ResponseEnvelope { correlation_id, api_key,
 * error_code, error_message, raw_frame_count }. error_code 0: the body is the response message of
 * the api. Non-zero (a wire number of ERROR_TABLE, src/common/errors.ts): the whole request failed,
 * the body frame is empty and there are no raw frames. Errors about one partition, topic or group
 * are not whole-request failures: they are error_code fields inside the response body. Fetch
 * responses name each partition's raw frames in `raw_frame_indexes`.
 *
 * Correlation ids are chosen by the client, unique among its requests in flight on one
 * connection, and echoed by the broker, which may answer out of order. They travel as uint64 and
 * are numbers in memory (exact up to 2^53).
 *
 * One-way requests: a Produce with acks = 0 is never answered, not even with an error, and the
 * client registers no pending entry for it. (A request whose body cannot be decoded cannot be
 * known to be one-way and is answered with INVALID_REQUEST; the client drops that reply as an
 * unknown correlation id.)
 *
 * Malformed requests (garbage or truncated protobuf, a known field with the wrong wire type, a
 * string that is not UTF-8, unknown api key, wrong frame count, raw frame index out of range, more
 * entries than SHAPE_LIMITS_DEFAULT) are answered with INVALID_REQUEST when a correlation id can be
 * read, even from an envelope protobufjs refuses, and dropped and logged otherwise. An envelope or
 * body frame over its limit (request_limits.ts) is answered with MESSAGE_TOO_LARGE without being
 * decoded. Frames over the ROUTER's maxMessageSize make libzmq drop the connection (the client
 * reconnects); a request whose frames add up to more than the server's request limit is answered
 * with MESSAGE_TOO_LARGE. The README's "What malformed input gets" lists every case.
 */
import { ERROR_TABLE } from '../common/errors.js';
import type { ErrorCode } from '../common/errors.js';
import { isApiKey } from './api_keys.js';
import type { ApiKey } from './api_keys.js';
import {
  decodeRequestBody,
  decodeResponseBody,
  encodeRequestBody,
  encodeResponseBody,
  pb,
  rawFrameProblemOfRequest,
  rawFrameProblemOfResponse,
} from './messages.js';
import type { DecodedRequestOf, DecodedResponseOf, RequestOf, ResponseOf } from './messages.js';
import { ENVELOPE_BYTES_MAX, REQUEST_ENVELOPE_SHAPE, requestBodyBytesMax, requestShapeOf } from './request_limits.js';
import { readVarintField, shapeProblem } from './wire_shape.js';

/** Frames before the raw frames: envelope and body. */
export const HEADER_FRAME_COUNT = 2;
/** Upper bound on raw frames in one message (one per partition in a Produce or Fetch). */
export const RAW_FRAME_COUNT_MAX = 65_536;

/** A frame as zeromq accepts it for sending. */
export type OutgoingFrame = Uint8Array;

// ------------------------------------------------------------------------------------------------
// Requests

export function encodeRequest<A extends ApiKey>(
  correlationId: number,
  api: A,
  clientId: string,
  request: RequestOf<A>,
  rawFrames: readonly OutgoingFrame[],
  authToken?: Uint8Array,
): OutgoingFrame[] {
  const fields: pb.RequestEnvelope.$Properties = {
    correlationId, apiKey: wireApiKey(api), clientId, rawFrameCount: rawFrames.length,
  };
  if (authToken !== undefined) fields.authToken = authToken;
  const envelope = pb.RequestEnvelope.encode(fields).finish();
  return [envelope, encodeRequestBody(api, request), ...rawFrames];
}

/** A request decoded from its frames; `api` ties `body` to its type. */
export type DecodedRequest = {
  [A in ApiKey]: {
    readonly type: 'request';
    readonly correlationId: number;
    readonly api: A;
    readonly clientId: string;
    /** Empty when the client sent none (plaintext). */
    readonly authToken: Uint8Array;
    readonly body: DecodedRequestOf<A>;
    readonly rawFrames: readonly Buffer[];
  };
}[ApiKey];

/**
 * Why a request was refused and with which code; correlationId is null when none could be read (the
 * request is then dropped).
 */
export interface MalformedRequest {
  readonly type: 'malformed';
  readonly code: 'INVALID_REQUEST' | 'MESSAGE_TOO_LARGE';
  readonly correlationId: number | null;
  readonly api: number;
  readonly reason: string;
}

/** Decodes [envelope, body, ...raw] (the ROUTER's routing id already removed). Never throws. */
export function decodeRequest(frames: readonly Buffer[]): DecodedRequest | MalformedRequest {
  const envelopeFrame = frames[0];
  if (envelopeFrame === undefined) return malformed(null, 0, 'empty message');
  if (envelopeFrame.length > ENVELOPE_BYTES_MAX) {
    return refusedEnvelope(envelopeFrame, `request envelope of ${envelopeFrame.length} bytes is over `
      + `${ENVELOPE_BYTES_MAX}`, 'MESSAGE_TOO_LARGE');
  }
  const envelopeProblem = shapeProblem(REQUEST_ENVELOPE_SHAPE, envelopeFrame);
  if (envelopeProblem !== null) return refusedEnvelope(envelopeFrame, `request envelope: ${envelopeProblem}`);
  let envelope: pb.RequestEnvelope;
  try {
    envelope = pb.RequestEnvelope.decode(envelopeFrame);
  } catch (error) {
    // For example a client_id that is not UTF-8: the correlation id may still be readable.
    return refusedEnvelope(envelopeFrame, `request envelope does not decode: ${describe(error)}`);
  }
  const correlationId = envelope.correlationId;
  if (!Number.isSafeInteger(correlationId)) {
    return malformed(null, 0, `correlation id ${correlationId} is not a safe integer`);
  }
  const api: number = envelope.apiKey;
  if (!isApiKey(api)) return malformed(correlationId, api, `unknown api key ${api}`);
  const rawFrameCount = frames.length - HEADER_FRAME_COUNT;
  if (rawFrameCount < 0 || rawFrameCount !== envelope.rawFrameCount || rawFrameCount > RAW_FRAME_COUNT_MAX) {
    return malformed(correlationId, api,
      `${frames.length} frames, expected ${HEADER_FRAME_COUNT} + raw_frame_count ${envelope.rawFrameCount}`);
  }
  const bodyFrame = frames[1] ?? Buffer.alloc(0);
  const bodyBytesMax = requestBodyBytesMax(api);
  if (bodyFrame.length > bodyBytesMax) {
    return malformed(correlationId, api, `request body of ${bodyFrame.length} bytes is over ${bodyBytesMax}`,
      'MESSAGE_TOO_LARGE');
  }
  const bodyProblem = shapeProblem(requestShapeOf(api), bodyFrame);
  if (bodyProblem !== null) return malformed(correlationId, api, `request body: ${bodyProblem}`);
  let body: unknown;
  try {
    body = decodeRequestBody(api, bodyFrame);
  } catch (error) {
    return malformed(correlationId, api, `request body does not decode: ${describe(error)}`);
  }
  const problem = rawFrameProblemOfRequest(api, body, rawFrameCount);
  if (problem !== null) return malformed(correlationId, api, problem);
  return {
    type: 'request', correlationId, api, clientId: envelope.clientId, authToken: envelope.authToken, body,
    rawFrames: frames.slice(HEADER_FRAME_COUNT),
  } as DecodedRequest;
}

/** An envelope that cannot be used: answered when its correlation id (field 1) can still be read. */
function refusedEnvelope(envelopeFrame: Buffer, reason: string,
  code: MalformedRequest['code'] = 'INVALID_REQUEST'): MalformedRequest {
  const correlationId = readVarintField(envelopeFrame, 1);
  const api = readVarintField(envelopeFrame, 2) ?? 0;
  const readable = correlationId !== null && Number.isSafeInteger(correlationId);
  return malformed(readable ? correlationId : null, Number.isSafeInteger(api) && api < 2 ** 31 ? api : 0, reason, code);
}

// ------------------------------------------------------------------------------------------------
// Responses

export function encodeResponse<A extends ApiKey>(
  correlationId: number,
  api: A,
  response: ResponseOf<A>,
  rawFrames: readonly OutgoingFrame[],
): OutgoingFrame[] {
  const envelope = pb.ResponseEnvelope.encode({
    correlationId, apiKey: wireApiKey(api), rawFrameCount: rawFrames.length,
  }).finish();
  return [envelope, encodeResponseBody(api, response), ...rawFrames];
}

const EMPTY_FRAME = new Uint8Array(0);

/** A whole-request failure: error code in the envelope, empty body, no raw frames. */
export function encodeErrorResponse(
  correlationId: number,
  api: number,
  code: ErrorCode,
  message: string,
): OutgoingFrame[] {
  const envelope = pb.ResponseEnvelope.encode({
    correlationId, apiKey: wireApiKey(api), errorCode: ERROR_TABLE[code].wire, errorMessage: message,
  }).finish();
  return [envelope, EMPTY_FRAME];
}

/** The envelope of a response, read before the body so that the pending request can be found. */
export interface ResponseHead {
  readonly correlationId: number;
  readonly api: number;
  readonly errorCode: number;
  readonly errorMessage: string;
}

/** Reads the envelope of [envelope, body, ...raw]; returns a string saying why when it cannot. */
export function decodeResponseHead(frames: readonly Buffer[]): ResponseHead | string {
  const envelopeFrame = frames[0];
  if (envelopeFrame === undefined) return 'empty message';
  let envelope: pb.ResponseEnvelope;
  try {
    envelope = pb.ResponseEnvelope.decode(envelopeFrame);
  } catch (error) {
    return `response envelope does not decode: ${describe(error)}`;
  }
  if (!Number.isSafeInteger(envelope.correlationId)) {
    return `correlation id ${envelope.correlationId} is not a safe integer`;
  }
  const rawFrameCount = frames.length - HEADER_FRAME_COUNT;
  if (rawFrameCount < 0 || rawFrameCount !== envelope.rawFrameCount) {
    return `${frames.length} frames, expected ${HEADER_FRAME_COUNT} + raw_frame_count ${envelope.rawFrameCount}`;
  }
  return {
    correlationId: envelope.correlationId,
    api: envelope.apiKey,
    errorCode: envelope.errorCode,
    errorMessage: envelope.errorMessage,
  };
}

/** Decodes the body of a successful response of api; returns a string saying why when it cannot. */
export function decodeResponseBodyFrames<A extends ApiKey>(
  api: A,
  frames: readonly Buffer[],
): { readonly body: DecodedResponseOf<A>; readonly rawFrames: Buffer[] } | string {
  let body: DecodedResponseOf<A>;
  try {
    body = decodeResponseBody(api, frames[1] ?? Buffer.alloc(0));
  } catch (error) {
    return `response body does not decode: ${describe(error)}`;
  }
  const rawFrames = frames.slice(HEADER_FRAME_COUNT);
  const problem = rawFrameProblemOfResponse(api, body, rawFrames.length);
  return problem ?? { body, rawFrames };
}

/** API_KEYS mirrors the generated enum number for number (a test checks it). */
function wireApiKey(api: number): pb.ApiKey {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- see above
  return api;
}

function malformed(correlationId: number | null, api: number, reason: string,
  code: MalformedRequest['code'] = 'INVALID_REQUEST'): MalformedRequest {
  return { type: 'malformed', code, correlationId, api, reason };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
