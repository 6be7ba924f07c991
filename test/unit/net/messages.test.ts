/**
 * Goal: the generated messages and the framing behave as envelope.ts documents: API keys mirror
 * the .proto enum, 64-bit fields are plain numbers (also when absent or negative), raw frames are
 * passed through untouched, and every malformed frame set is classified instead of throwing.
 * Method: encode/decode without sockets, plus hand-made broken frames.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ERROR_TABLE } from '../../../src/common/errors.js';
import { API_KEYS, apiName, isApiKey } from '../../../src/protocol/api_keys.js';
import type { ApiKey } from '../../../src/protocol/api_keys.js';
import {
  decodeRequest,
  decodeResponseBodyFrames,
  decodeResponseHead,
  encodeErrorResponse,
  encodeRequest,
  encodeResponse,
} from '../../../src/protocol/envelope.js';
import { API_MESSAGES, decodeResponseBody, encodeResponseBody, isOneWay, pb } from '../../../src/protocol/messages.js';

const asBuffers = (frames: readonly Uint8Array[]): Buffer[] =>
  frames.map((frame) => Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));

void describe('messages', () => {
  void test('API_KEYS mirrors the ApiKey enum of client.proto, and every api has its messages', () => {
    const generated = Object.entries(pb.ApiKey).filter(([name]) => name !== 'API_KEY_UNSPECIFIED');
    assert.deepEqual(Object.fromEntries(generated), API_KEYS);
    for (const key of Object.values(API_KEYS)) {
      assert.ok(API_MESSAGES[key].request.name.endsWith('Request'), apiName(key));
      assert.ok(API_MESSAGES[key].response.name.endsWith('Response'), apiName(key));
    }
    assert.equal(isApiKey(0), false);
    assert.equal(isApiKey(99), false);
    assert.equal(apiName(99), 'API_99');
  });

  void test('64-bit fields decode to numbers: set, absent (prototype default) and negative', () => {
    const body = encodeResponseBody(API_KEYS.PRODUCE, { partitions: [
      { topic: 't', partition: 0, baseOffset: 2 ** 40 + 3, logStartOffset: -1 },
      { topic: 't', partition: 1 },
    ] });
    const decoded = decodeResponseBody(API_KEYS.PRODUCE, body);
    const [first, second] = decoded.partitions;
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.baseOffset, 2 ** 40 + 3);
    assert.equal(first.logStartOffset, -1);
    assert.equal(typeof second.baseOffset, 'number');
    assert.equal(second.baseOffset, 0);
    assert.equal(second.currentLeader, null);
    const envelope = pb.RequestEnvelope.decode(pb.RequestEnvelope.encode({ correlationId: 2 ** 53 - 1 }).finish());
    assert.equal(envelope.correlationId, 2 ** 53 - 1);
  });

  void test('Produce with acks 0 (or unset) is one-way; other acks and apis are not', () => {
    assert.equal(isOneWay(API_KEYS.PRODUCE, { acks: 0 }), true);
    assert.equal(isOneWay(API_KEYS.PRODUCE, {}), true);
    assert.equal(isOneWay(API_KEYS.PRODUCE, { acks: -1 }), false);
    assert.equal(isOneWay(API_KEYS.PRODUCE, { acks: 1 }), false);
    assert.equal(isOneWay(API_KEYS.FETCH, {}), false);
  });
});

void describe('framing', () => {
  void test('a request round-trips; raw frames are the very buffers given, not copied into the body', () => {
    const batch = Buffer.alloc(1 << 20, 7);
    const frames = encodeRequest(42, API_KEYS.PRODUCE, 'client-a', {
      acks: -1, timeoutMs: 1000, partitions: [{ topic: 'events', partition: 5, rawFrameIndex: 0 }],
    }, [batch]);
    assert.equal(frames.length, 3);
    assert.equal(frames[2], batch);
    assert.ok((frames[1]?.length ?? 0) < 64);
    const decoded = decodeRequest(asBuffers(frames));
    assert.equal(decoded.type, 'request');
    assert.equal(decoded.api, API_KEYS.PRODUCE);
    assert.equal(decoded.correlationId, 42);
    assert.equal(decoded.clientId, 'client-a');
    assert.equal(decoded.body.acks, -1);
    assert.deepEqual(decoded.body.partitions.map((p) => [p.topic, p.partition, p.rawFrameIndex]), [['events', 5, 0]]);
    assert.equal(decoded.rawFrames[0]?.buffer, batch.buffer);
  });

  void test('a response round-trips, and an error response carries the wire number and an empty body', () => {
    const frames = asBuffers(encodeResponse(9, API_KEYS.FETCH, { partitions: [
      { topic: 't', partition: 0, highWatermark: 10, rawFrameIndexes: [0, 1] },
    ] }, [Buffer.from('a'), Buffer.from('b')]));
    const head = decodeResponseHead(frames);
    assert.deepEqual(head, { correlationId: 9, api: API_KEYS.FETCH, errorCode: 0, errorMessage: '' });
    const body = decodeResponseBodyFrames(API_KEYS.FETCH, frames);
    assert.ok(typeof body !== 'string');
    assert.equal(body.body.partitions[0]?.highWatermark, 10);
    assert.deepEqual(body.rawFrames.map(String), ['a', 'b']);

    const error = asBuffers(encodeErrorResponse(3, API_KEYS.METADATA, 'NOT_LEADER_OR_FOLLOWER', 'go to 2'));
    assert.equal(error.length, 2);
    assert.equal(error[1]?.length, 0);
    assert.deepEqual(decodeResponseHead(error), {
      correlationId: 3, api: API_KEYS.METADATA, errorCode: ERROR_TABLE.NOT_LEADER_OR_FOLLOWER.wire,
      errorMessage: 'go to 2',
    });
  });

  void test('a Fetch response naming a raw frame that is not there is refused', () => {
    const frames = asBuffers(encodeResponse(1, API_KEYS.FETCH, { partitions: [{ rawFrameIndexes: [1] }] },
      [Buffer.from('x')]));
    const decoded = decodeResponseBodyFrames(API_KEYS.FETCH, frames);
    assert.equal(typeof decoded, 'string');
    assert.match(decoded as string, /raw frame 1 of 1/);
  });

  void test('malformed requests are classified, with the correlation id when the envelope reads', () => {
    // Written with plain numbers for api keys, as a foreign client would.
    const envelope = (fields: { correlationId?: number; apiKey?: number; rawFrameCount?: number }): Buffer =>
      Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject(fields)).finish());
    const good = (api: ApiKey, raw = 0): Buffer => envelope({ correlationId: 7, apiKey: api, rawFrameCount: raw });
    const produce = Buffer.from(pb.ProduceRequest.encode({
      acks: 1, partitions: [{ topic: 'averyveryverylongtopicname', partition: 0, rawFrameIndex: 0 }],
    }).finish());
    const cases: [string, Buffer[], number | null, RegExp][] = [
      ['no frames', [], null, /empty/],
      ['garbage envelope', [Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(0)], null, /request envelope/],
      ['unknown api key', [envelope({ correlationId: 7, apiKey: 99 }), Buffer.alloc(0)], 7, /unknown api/],
      ['api key 0', [envelope({ correlationId: 7 }), Buffer.alloc(0)], 7, /unknown api key 0/],
      ['envelope only', [good(API_KEYS.METADATA)], 7, /1 frames/],
      ['raw count mismatch', [good(API_KEYS.PRODUCE, 2), produce, Buffer.from('x')], 7, /raw_frame_count 2/],
      ['truncated body', [good(API_KEYS.PRODUCE, 1), produce.subarray(0, produce.length - 5), Buffer.from('x')], 7,
        /request body/],
      ['raw index out of range', [good(API_KEYS.PRODUCE), produce], 7, /raw frame 0 of 0/],
      ['raw frames on metadata', [good(API_KEYS.METADATA, 1), Buffer.alloc(0), Buffer.from('x')], 7, /1 raw frames/],
    ];
    for (const [name, frames, correlationId, reason] of cases) {
      const decoded = decodeRequest(frames);
      assert.equal(decoded.type, 'malformed', name);
      assert.equal(decoded.correlationId, correlationId, name);
      assert.match(decoded.reason, reason, name);
    }
  });

  void test('regression: a client_id that is not UTF-8 is refused with the correlation id, not dropped', () => {
    const envelope = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: 41,
      apiKey: API_KEYS.METADATA, clientId: 'client-é' })).finish());
    envelope[envelope.length - 1] = 0xff; // the second byte of é: the string is no longer UTF-8
    const decoded = decodeRequest([envelope, Buffer.alloc(0)]);
    assert.ok(decoded.type === 'malformed');
    assert.deepEqual([decoded.code, decoded.correlationId, decoded.api], ['INVALID_REQUEST', 41, API_KEYS.METADATA]);
    assert.match(decoded.reason, /envelope does not decode/);
  });

  void test('regression: a known field with the wrong wire type is refused, an unknown field is skipped', () => {
    const envelope = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: 8,
      apiKey: API_KEYS.PRODUCE, rawFrameCount: 1 })).finish());
    // ProduceRequest field 1 (acks) as a length-delimited field: protobufjs skipped it, acks read as 0.
    const acksAsBytes = Buffer.from([0x0a, 0x01, 0x01]);
    const decoded = decodeRequest([envelope, acksAsBytes, Buffer.from('batch')]);
    assert.ok(decoded.type === 'malformed');
    assert.equal(decoded.correlationId, 8);
    assert.match(decoded.reason, /ProduceRequest field 1 \(acks\) has wire type 2 \(length-delimited\), expected 0/);
    // Nested: FetchPartition field 2 (partition) as fixed32.
    const fetchEnvelope = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: 9,
      apiKey: API_KEYS.FETCH })).finish());
    const nested = Buffer.from([0x22, 0x05, 0x15, 0x01, 0x00, 0x00, 0x00]);
    const fetch = decodeRequest([fetchEnvelope, nested]);
    assert.ok(fetch.type === 'malformed');
    assert.match(fetch.reason, /FetchPartition field 2 \(partition\) has wire type 5/);
    // The envelope's correlation id itself with the wrong wire type: nothing to answer to.
    const badEnvelope = decodeRequest([Buffer.from([0x0a, 0x01, 0x07, 0x10, 0x04]), Buffer.alloc(0)]);
    assert.ok(badEnvelope.type === 'malformed');
    assert.equal(badEnvelope.correlationId, null);
    // An unknown field number (a newer client) is skipped.
    const withUnknown = Buffer.concat([Buffer.from(pb.MetadataRequest.encode({ topics: ['t'] }).finish()),
      Buffer.from([0xf8, 0x07, 0x01])]); // field 127, varint 1
    const metadataEnvelope = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: 10,
      apiKey: API_KEYS.METADATA })).finish());
    const served = decodeRequest([metadataEnvelope, withUnknown]);
    assert.ok(served.type === 'request' && served.api === API_KEYS.METADATA);
    assert.deepEqual(served.body.topics, ['t']);
  });

  void test('regression: oversized frames and too many entries are refused before decoding', () => {
    const envelope = (api: ApiKey): Buffer => Buffer.from(pb.RequestEnvelope.encode(
      pb.RequestEnvelope.fromObject({ correlationId: 5, apiKey: api })).finish());
    // 2 MiB of empty FetchPartition entries (2 bytes each) would decode to a million objects.
    const hugeFetch = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < hugeFetch.length; i += 2) hugeFetch[i] = 0x22;
    const tooLarge = decodeRequest([envelope(API_KEYS.FETCH), hugeFetch]);
    assert.ok(tooLarge.type === 'malformed');
    assert.deepEqual([tooLarge.code, tooLarge.correlationId], ['MESSAGE_TOO_LARGE', 5]);
    // Under the byte limit but over the entry limit: 60,000 entries in 120 KB.
    const manyEntries = decodeRequest([envelope(API_KEYS.FETCH), hugeFetch.subarray(0, 120_000)]);
    assert.ok(manyEntries.type === 'malformed');
    assert.equal(manyEntries.code, 'INVALID_REQUEST');
    assert.match(manyEntries.reason, /more than 50000 entries/);
    const fine = decodeRequest([envelope(API_KEYS.FETCH), hugeFetch.subarray(0, 20_000)]);
    assert.ok(fine.type === 'request' && fine.api === API_KEYS.FETCH);
    assert.equal(fine.body.partitions.length, 10_000);
    const bigEnvelope = Buffer.concat([envelope(API_KEYS.METADATA), Buffer.from(pb.RequestEnvelope.encode({
      clientId: 'x'.repeat(70_000) }).finish())]);
    const envelopeTooLarge = decodeRequest([bigEnvelope, Buffer.alloc(0)]);
    assert.ok(envelopeTooLarge.type === 'malformed');
    assert.deepEqual([envelopeTooLarge.code, envelopeTooLarge.correlationId], ['MESSAGE_TOO_LARGE', 5]);
  });
});
