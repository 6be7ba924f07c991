/**
 * A real Kafka listener on a TCP port, driven with hand-made bytes: pipelined requests are answered
 * in order with their correlation ids; ApiVersions at every version (v3 flexible, a too-high
 * version answered in the v0 format with UNSUPPORTED_VERSION, a bad software name INVALID_REQUEST);
 * and every request that cannot be answered (unknown key, version out of range, a size above
 * socket.request.max.bytes, a header or body lying about a length) closes the connection without
 * hurting the listener, which goes on serving new connections. Produce's own rules (zstd below v7,
 * acks, transactional ids, partitions, null records) answer per partition before any broker work,
 * and a failed acks=0 produce closes the connection unanswered.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';

import { KafkaReader, KafkaWriter } from '../../../src/kafka/codec.js';
import { KafkaListener } from '../../../src/kafka/listener.js';

const REQUEST_BYTES_MAX = 4096;

function request(apiKey: number, version: number, correlationId: number, body: Buffer = Buffer.alloc(0),
  flexible = false): Buffer {
  const header = new KafkaWriter().int16(apiKey).int16(version).int32(correlationId).nullableString('test');
  if (flexible) header.noTaggedFields();
  const payload = Buffer.concat([header.finish(), body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

interface Exchange { readonly responses: Buffer[]; readonly closed: boolean }

/** Sends bytes, collects response frames until `count` came or the server closed (bounded by time). */
function exchange(port: number, bytes: Buffer, count: number, timeoutMs = 3_000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    const responses: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses, closed });
    };
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        responses.push(buffered.subarray(4, 4 + buffered.readInt32BE(0)));
        buffered = buffered.subarray(4 + buffered.readInt32BE(0));
      }
      if (responses.length >= count) finish(false);
    });
    socket.on('close', () => { finish(true); });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

void describe('Kafka connection', () => {
  let listener: KafkaListener;
  before(async () => {
    listener = await KafkaListener.start({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }),
      requestBytesMax: REQUEST_BYTES_MAX, broker: { brokerId: 1, handlers: {}, brokers: () => [] } });
  });
  after(async () => { await listener.close(); });

  void it('answers pipelined ApiVersions v0, v2 and v3 in order, v3 flexible with a v0 response header', async () => {
    const v3Body = new KafkaWriter().compactString('librdkafka').compactString('2.0.2').noTaggedFields().finish();
    const { responses } = await exchange(listener.port, Buffer.concat([request(18, 0, 7), request(18, 2, 8),
      request(18, 3, 9, v3Body, true)]), 3);
    assert.deepEqual(responses.map((r) => r.readInt32BE(0)), [7, 8, 9]);
    const v0 = new KafkaReader(responses[0]?.subarray(4) ?? Buffer.alloc(0));
    assert.equal(v0.int16(), 0);
    const ranges = v0.array((r) => [r.int16(), r.int16(), r.int16()]);
    assert.equal(v0.remaining, 0);
    const byKey = new Map(ranges.map(([key, min, max]) => [key, [min, max]]));
    assert.deepEqual(byKey.get(0), [3, 7], 'Produce 3-7');
    assert.deepEqual(byKey.get(1), [4, 11], 'Fetch 4-11');
    assert.deepEqual(byKey.get(3), [1, 6], 'Metadata 1-6');
    assert.deepEqual(byKey.get(18), [0, 3], 'ApiVersions 0-3');
    assert.deepEqual(byKey.get(22), [0, 1], 'InitProducerId 0-1');
    const v2 = new KafkaReader(responses[1]?.subarray(4) ?? Buffer.alloc(0));
    assert.equal(v2.int16(), 0);
    assert.equal(v2.array((r) => [r.int16(), r.int16(), r.int16()]).length, ranges.length);
    assert.equal(v2.int32(), 0, 'throttle_time_ms');
    assert.equal(v2.remaining, 0);
    const v3 = new KafkaReader(responses[2]?.subarray(4) ?? Buffer.alloc(0));
    assert.equal(v3.int16(), 0);
    const compact = v3.compactArray((r) => {
      const range = [r.int16(), r.int16(), r.int16()];
      r.taggedFields();
      return range;
    });
    assert.deepEqual(compact, ranges);
    assert.equal(v3.int32(), 0);
    v3.taggedFields();
    assert.equal(v3.remaining, 0);
  });

  void it('answers 300 pipelined requests in order across pauses for room', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => i + 100);
    const { responses } = await exchange(listener.port, Buffer.concat(ids.map((id) => request(18, 1, id))), ids.length);
    assert.deepEqual(responses.map((r) => r.readInt32BE(0)), ids);
  });

  void it('answers a too-high ApiVersions in the v0 format with UNSUPPORTED_VERSION and the list', async () => {
    const { responses, closed } = await exchange(listener.port, request(18, 9, 1, Buffer.from([0, 0, 0]), true), 1);
    assert.equal(closed, false);
    const r = new KafkaReader(responses[0]?.subarray(4) ?? Buffer.alloc(0));
    assert.equal(r.int16(), 35);
    assert.ok(r.array((x) => [x.int16(), x.int16(), x.int16()]).some(([key]) => key === 18));
  });

  void it('answers an ApiVersions v3 with an invalid software name with INVALID_REQUEST', async () => {
    const body = new KafkaWriter().compactString('-bad name').compactString('1.0').noTaggedFields().finish();
    const { responses } = await exchange(listener.port, request(18, 3, 1, body, true), 1);
    assert.equal(new KafkaReader(responses[0]?.subarray(4) ?? Buffer.alloc(0)).int16(), 42);
  });

  void it('closes the connection on what it cannot answer, after answering what came before', async () => {
    // A header whose client_id claims 500 bytes of a 10-byte frame.
    const lyingHeader = Buffer.from('0000000a' + '0012' + '0000' + '00000001' + '01f4', 'hex');
    const lyingBody = request(19, 0, 2, new KafkaWriter().int32(1_000_000).finish()); // CreateTopics: 1e6 topics
    const tooLarge = Buffer.alloc(4);
    tooLarge.writeInt32BE(REQUEST_BYTES_MAX + 1);
    const cases: [string, Buffer][] = [
      ['an unknown API key', request(99, 0, 2)],
      ['a version below the range', request(3, 0, 2, new KafkaWriter().int32(-1).finish())],
      ['a version above the range', request(0, 8, 2)],
      ['a frame above socket.request.max.bytes', tooLarge],
      ['a negative frame size', Buffer.from('ffffffff', 'hex')],
      ['a header lying about its client id', lyingHeader],
      ['a body lying about an array', lyingBody],
    ];
    for (const [what, bytes] of cases) {
      const { responses, closed } = await exchange(listener.port, Buffer.concat([request(18, 0, 1), bytes]), 2);
      assert.equal(closed, true, what);
      assert.deepEqual(responses.map((r) => r.readInt32BE(0)), [1], `${what}: what came before is answered`);
    }
    const { responses } = await exchange(listener.port, request(18, 1, 5), 1);
    assert.equal(responses[0]?.readInt32BE(0), 5, 'the listener serves new connections');
  });

  void it('refuses by Kafka\'s produce rules per partition; a failed acks=0 produce closes the connection', async () => {
    const zstdBatch = Buffer.alloc(70);
    zstdBatch.writeInt16BE(4, 21); // attributes: codec 4, zstd
    const produce = (correlationId: number, options: { transactionalId?: string; acks?: number; partition?: number;
      records?: Buffer | null }): Buffer => {
      const body = new KafkaWriter().nullableString(options.transactionalId ?? null).int16(options.acks ?? -1)
        .int32(1_000).array([0], (w) => w.string('t').array([0], (pw) => pw.int32(options.partition ?? 0)
          .nullableBytesOf(options.records === null ? null : [options.records ?? zstdBatch])));
      return request(0, 3, correlationId, body.finish());
    };
    const cases: [number, Buffer][] = [
      [76, produce(1, {})], // zstd below Produce v7
      [21, produce(2, { acks: 2 })],
      [42, produce(3, { transactionalId: 'tx' })],
      [3, produce(4, { partition: -1 })],
      [87, produce(5, { records: null })],
    ];
    const { responses } = await exchange(listener.port, Buffer.concat(cases.map(([, bytes]) => bytes)), cases.length);
    assert.deepEqual(responses.map((r) => r.readInt32BE(0)), [1, 2, 3, 4, 5]);
    responses.forEach((response, i) => {
      const r = new KafkaReader(response.subarray(4));
      const [topic] = r.array((t) => ({ name: t.string(), partitions: t.array((p) => ({ index: p.int32(),
        errorCode: p.int16(), baseOffset: p.int64(), logAppendTime: p.int64() })) }));
      assert.equal(r.int32(), 0, 'throttle_time_ms comes after the responses');
      assert.equal(r.remaining, 0);
      assert.equal(topic?.name, 't');
      assert.equal(topic.partitions[0]?.errorCode, cases[i]?.[0]);
      assert.equal(topic.partitions[0]?.baseOffset, -1);
    });
    const silentFailure = await exchange(listener.port, Buffer.concat([request(18, 0, 1),
      produce(2, { acks: 0, partition: -1 }), request(18, 0, 3)]), 3);
    assert.equal(silentFailure.closed, true);
    assert.deepEqual(silentFailure.responses.map((r) => r.readInt32BE(0)), [1]);
  });
});
