/**
 * Goal: the RequestServer answers well-formed requests through its handler table, answers every
 * kind of bad input with a typed error (or drops it when no correlation id can be read) and keeps
 * serving, bounds its in-flight requests and what each connection can make it hold, lets a new
 * connection take over a routing id, rate limits its lines about bad input, never answers acks=0
 * Produce, and closes cleanly.
 * Method: real ROUTER/DEALER sockets on 127.0.0.1 with OS-chosen ports; a Connection for the
 * typed path and a bare DEALER for hand-made frames. Every wait is bounded, every socket closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Dealer } from 'zeromq';

import { Connection } from '../../../src/client/connection.js';
import { ERROR_TABLE, NotLeaderOrFollowerError, TributaryError } from '../../../src/common/errors.js';
import { RequestServer } from '../../../src/net/request_server.js';
import type { HandlerTable } from '../../../src/net/request_server.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { encodeRequest } from '../../../src/protocol/envelope.js';
import { pb } from '../../../src/protocol/messages.js';
import {
  captureLogger,
  connect,
  deferred,
  rawDealer,
  receiveEnvelope,
  receivesWithin,
  SeededPrng,
  startServer,
  waitFor, expectCode } from './helpers.js';

/** Polls until `value` has not changed for `quietMs` (or `timeoutMs` passed); returns its last value. */
async function settled(value: () => number, quietMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = value();
  let since = Date.now();
  while (Date.now() < deadline && Date.now() - since < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

const metadataHandler: HandlerTable = {
  [API_KEYS.METADATA]: (request) => ({
    response: { controllerId: 1, topics: request.topics.map((name) => ({ name })) },
  }),
};

void describe('RequestServer', () => {
  void test('round trip: typed request and response, raw frames both ways', async () => {
    const batches = [Buffer.alloc(300, 1), Buffer.alloc(5000, 2)];
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      [API_KEYS.PRODUCE]: (request, context) => ({ response: { partitions: request.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, baseOffset: context.rawFrames[p.rawFrameIndex]?.length ?? -1,
      })) } }),
      [API_KEYS.FETCH]: (request) => ({
        response: { partitions: request.partitions.map((p, i) => ({
          topic: p.topic, partition: p.partition, highWatermark: p.fetchOffset + 1, rawFrameIndexes: [i],
        })) },
        rawFrames: request.partitions.map((_, i) => batches[i] ?? Buffer.alloc(0)),
      }),
      ...metadataHandler,
    } });
    const connection = connect(server, { clientId: 'round-trip' });
    try {
      const produced = await connection.request(API_KEYS.PRODUCE, { acks: -1, partitions: [
        { topic: 'a', partition: 0, rawFrameIndex: 1 }, { topic: 'b', partition: 3, rawFrameIndex: 0 },
      ] }, batches);
      assert.deepEqual(produced.response.partitions.map((p) => [p.topic, p.partition, p.baseOffset]),
        [['a', 0, 5000], ['b', 3, 300]]);
      assert.equal(produced.rawFrames.length, 0);

      const fetched = await connection.request(API_KEYS.FETCH, { maxWaitMs: 10, partitions: [
        { topic: 'a', partition: 0, fetchOffset: 2 ** 45 }, { topic: 'a', partition: 1, fetchOffset: 0 },
      ] });
      assert.deepEqual(fetched.response.partitions.map((p) => p.highWatermark), [2 ** 45 + 1, 1]);
      const frames = fetched.response.partitions.map((p) => fetched.rawFrames[p.rawFrameIndexes[0] ?? -1]);
      assert.deepEqual(frames, batches);

      const metadata = await connection.request(API_KEYS.METADATA, { topics: ['x', 'y'] });
      assert.equal(metadata.response.controllerId, 1);
      assert.deepEqual(metadata.response.topics.map((t) => t.name), ['x', 'y']);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  void test('handler errors: a TributaryError keeps its code, anything else is UNKNOWN_SERVER_ERROR and logged',
    async () => {
      const { logger, lines } = captureLogger();
      const server = await startServer({ logger, handlers: {
        [API_KEYS.PRODUCE]: () => { throw new NotLeaderOrFollowerError(3); },
        [API_KEYS.FETCH]: () => Promise.reject(new Error('secret internal detail')),
        [API_KEYS.HEARTBEAT]: () => { throw new TributaryError('REBALANCE_IN_PROGRESS'); },
        // A response the encoder cannot handle is a handler bug too.
        [API_KEYS.METADATA]: () => ({ response: { topics: [null as unknown as pb.TopicMetadata.$Properties] } }),
      } });
      const connection = connect(server);
      try {
        const notLeader = await expectCode(connection.request(API_KEYS.PRODUCE, { acks: 1 }), 'NOT_LEADER_OR_FOLLOWER');
        assert.match(notLeader.message, /broker 3/);
        assert.equal(notLeader.retriable, true);
        const unknown = await expectCode(connection.request(API_KEYS.FETCH, {}), 'UNKNOWN_SERVER_ERROR');
        assert.doesNotMatch(unknown.message, /secret/);
        await expectCode(connection.request(API_KEYS.HEARTBEAT, {}), 'REBALANCE_IN_PROGRESS');
        await expectCode(connection.request(API_KEYS.METADATA, {}), 'UNKNOWN_SERVER_ERROR');
        await expectCode(connection.request(API_KEYS.JOIN_GROUP, {}), 'INVALID_REQUEST'); // no handler
        assert.equal(lines.filter((line) => line.msg === 'request handler failed').length, 2);
      } finally {
        await connection.close();
        await server.close();
      }
    });

  void test('bad input gets INVALID_REQUEST or is dropped, and the server keeps serving', async () => {
    const { logger, lines } = captureLogger();
    const server = await startServer({ logger, handlers: metadataHandler });
    const dealer = rawDealer(server.endpoint, 1_000);
    const connection = connect(server);
    // Written with plain numbers for api keys, as a foreign client would.
    const envelope = (fields: { correlationId?: number; apiKey?: number; rawFrameCount?: number }): Buffer =>
      Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject(fields)).finish());
    const produceBody = Buffer.from(pb.ProduceRequest.encode({
      acks: -1, timeoutMs: 1000, partitions: [{ topic: 'some-topic-name', partition: 1, rawFrameIndex: 0 }],
    }).finish());
    try {
      // Garbage without a readable envelope: dropped and logged, no reply.
      await dealer.send([Buffer.from('definitely not protobuf \xff\xff\xff')]);
      await dealer.send([Buffer.from([0x0a, 0xff]), Buffer.alloc(3)]);
      assert.equal(await receivesWithin(dealer), false);
      await waitFor(() => lines.filter((l) => l.msg === 'dropped a request without a readable envelope').length === 2,
        'two dropped-request log lines');

      const cases: [string, Buffer[]][] = [
        ['unknown api', [envelope({ correlationId: 11, apiKey: 77 }), Buffer.alloc(0)]],
        ['wrong frame count', [envelope({ correlationId: 12, apiKey: API_KEYS.METADATA })]],
        ['raw count mismatch', [envelope({ correlationId: 13, apiKey: API_KEYS.PRODUCE, rawFrameCount: 3 }),
          produceBody, Buffer.from('batch')]],
        ['truncated protobuf', [envelope({ correlationId: 14, apiKey: API_KEYS.PRODUCE, rawFrameCount: 1 }),
          produceBody.subarray(0, produceBody.length - 4), Buffer.from('batch')]],
        ['garbage body', [envelope({ correlationId: 15, apiKey: API_KEYS.METADATA }), Buffer.from([0x0f, 0xff])]],
        ['raw index out of range', [envelope({ correlationId: 16, apiKey: API_KEYS.PRODUCE }), produceBody]],
      ];
      for (const [name, frames] of cases) {
        await dealer.send(frames);
        const { envelope: reply, frames: replyFrames } = await receiveEnvelope(dealer);
        assert.equal(reply.errorCode, ERROR_TABLE.INVALID_REQUEST.wire, name);
        assert.equal(replyFrames.length, 2, name);
        assert.notEqual(reply.errorMessage, '', name);
      }
      // Still serving, on the raw socket and on a real connection.
      await dealer.send(encodeRequest(21, API_KEYS.METADATA, 'raw', { topics: ['t'] }, []));
      const { envelope: ok, frames } = await receiveEnvelope(dealer);
      assert.equal(ok.correlationId, 21);
      assert.equal(ok.errorCode, 0);
      assert.equal(pb.MetadataResponse.decode(frames[1] ?? Buffer.alloc(0)).topics[0]?.name, 't');
      const metadata = await connection.request(API_KEYS.METADATA, { topics: ['u'] });
      assert.equal(metadata.response.topics[0]?.name, 'u');
      assert.equal(server.inflightRequests, 0);
    } finally {
      dealer.close();
      await connection.close();
      await server.close();
    }
  });

  void test('seeded fuzz: 500 random multipart messages, then the server still serves', async () => {
    const prng = new SeededPrng(0x5eed);
    const bytes = (length: number): Buffer => Buffer.from(Array.from({ length }, () => prng.int(0, 255)));
    const server = await startServer({ logger: captureLogger().logger, handlers: metadataHandler });
    const dealer = rawDealer(server.endpoint, 1_000);
    let replies = 0;
    try {
      for (let i = 0; i < 500; i += 1) {
        const frameCount = prng.int(1, 4);
        const frames = Array.from({ length: frameCount }, () => bytes(prng.int(0, 40)));
        if (prng.next() < 0.5) {
          // A readable envelope with a random api and raw count, so the body and counts get fuzzed too.
          frames[0] = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({
            correlationId: i + 1, apiKey: prng.int(0, 17), rawFrameCount: prng.int(0, 3),
          })).finish());
        }
        await dealer.send(frames);
      }
      await dealer.send(encodeRequest(100_000, API_KEYS.METADATA, 'raw', { topics: ['after'] }, []));
      for (let i = 0; i <= 500; i += 1) {
        const { envelope } = await receiveEnvelope(dealer);
        replies += 1;
        if (envelope.correlationId === 100_000) break;
      }
      assert.ok(replies > 1, 'some fuzzed messages were answered');
      assert.equal(server.inflightRequests, 0);
    } finally {
      dealer.close();
      await server.close();
    }
  });

  void test('oversized: a frame over maxMessageSize drops the connection, a request over the byte limit gets '
    + 'MESSAGE_TOO_LARGE; the server keeps serving', async () => {
    const server = await startServer({
      logger: captureLogger().logger, handlers: {
        ...metadataHandler,
        [API_KEYS.PRODUCE]: () => ({ response: { partitions: [] } }),
      },
      frameBytesMax: 64 * 1024, requestBytesMax: 100 * 1024,
    });
    const dealer = rawDealer(server.endpoint, 500);
    const connection = connect(server, { requestTimeoutMs: 3_000, reconnectIntervalMs: 20 });
    const produce = (batches: Buffer[]): Buffer[] => encodeRequest(5, API_KEYS.PRODUCE, 'big', {
      acks: 1, partitions: batches.map((_, i) => ({ topic: 't', partition: i, rawFrameIndex: i })),
    }, batches) as Buffer[];
    try {
      // One frame over 64 KiB: libzmq drops the connection; nothing comes back.
      await dealer.send(produce([Buffer.alloc(65 * 1024)]));
      assert.equal(await receivesWithin(dealer), false);
      // Two frames of 60 KiB each pass libzmq but exceed the 100 KiB request limit.
      await connection.request(API_KEYS.METADATA, {}); // the connection is up
      const tooLarge = connection.request(API_KEYS.PRODUCE, { acks: 1, partitions: [
        { topic: 't', partition: 0, rawFrameIndex: 0 }, { topic: 't', partition: 1, rawFrameIndex: 1 },
      ] }, [Buffer.alloc(60 * 1024), Buffer.alloc(60 * 1024)]);
      await expectCode(tooLarge, 'MESSAGE_TOO_LARGE');
      // The raw dealer reconnects by itself and is served again.
      let served = false;
      for (let attempt = 0; attempt < 20 && !served; attempt += 1) {
        await dealer.send(encodeRequest(6 + attempt, API_KEYS.METADATA, 'raw', {}, []));
        served = await receivesWithin(dealer);
      }
      assert.ok(served, 'the dropped peer was served again after reconnecting');
      await connection.request(API_KEYS.PRODUCE, { acks: 1, partitions: [{ topic: 't', partition: 0, rawFrameIndex: 0 }] },
        [Buffer.alloc(1024)]);
    } finally {
      dealer.close();
      await connection.close();
      await server.close();
    }
  });

  void test('in-flight bound: requests beyond it get the retriable TOO_MANY_REQUESTS', async () => {
    const gate = deferred<undefined>();
    let started = 0;
    const server = await startServer({
      logger: captureLogger().logger, inflightRequestsMax: 3, handlers: {
        [API_KEYS.HEARTBEAT]: async () => { started += 1; await gate.promise; return { response: {} }; },
      },
    });
    const connection = connect(server);
    try {
      const held = [1, 2, 3].map(() => connection.request(API_KEYS.HEARTBEAT, {}));
      await waitFor(() => started === 3, 'three handlers running');
      const busy = await expectCode(connection.request(API_KEYS.HEARTBEAT, {}), 'TOO_MANY_REQUESTS');
      assert.equal(busy.retriable, true);
      gate.resolve(undefined);
      await Promise.all(held);
      await connection.request(API_KEYS.HEARTBEAT, {});
      assert.equal(started, 4);
      await waitFor(() => server.inflightRequests === 0, 'slots released');
    } finally {
      await connection.close();
      await server.close();
    }
  });

  void test('regression: a client that sends and never reads gets a bounded share of memory; others are served; '
    + 'disconnecting releases it', async () => {
    const replyBytes = 256 * 1024;
    let handled = 0;
    const server = await startServer({
      logger: captureLogger().logger, peerReplyBytesMax: 8 * 1024 * 1024, peerBacklogMax: 16, peerRejectQueueMax: 16,
      handlers: {
        ...metadataHandler,
        // Every reply is fresh memory, as a Fetch reply read from storage is, sized as the broker's
        // Fetch sizes it: within what the connection may still be sent.
        [API_KEYS.FETCH]: (request, context) => {
          handled += 1;
          const size = context.replyBytes.idle() ? replyBytes : Math.min(replyBytes, context.replyBytes.available());
          context.replyBytes.reserve(size);
          return { response: { partitions: request.partitions.map((p) => ({ topic: p.topic, partition: p.partition,
            rawFrameIndexes: [0] })) }, rawFrames: [Buffer.alloc(size, handled % 251)] };
        },
      },
    });
    // The hostile client: its own libzmq takes a single message off the wire, then stops reading.
    const hostile = new Dealer({ linger: 0, receiveHighWaterMark: 1, sendTimeout: 5_000 });
    hostile.connect(server.endpoint);
    const connection = connect(server, { requestTimeoutMs: 5_000 });
    const bystander = rawDealer(server.endpoint, 2_000);
    try {
      const sent = 3_000;
      for (let i = 1; i <= sent; i += 1) {
        await hostile.send(encodeRequest(i, API_KEYS.FETCH, 'hostile', {
          maxWaitMs: 0, maxBytes: replyBytes, partitions: [{ topic: 't', partition: 0 }] }, []));
      }
      const ran = await settled(() => handled, 500, 15_000);
      // Replies absorbed by the sockets' buffers on loopback (a few MiB), the 16 libzmq holds for
      // the peer, 8 MiB queued by the server (32 replies): well under 200 of 3,000.
      assert.ok(ran < 200, `${ran} of ${sent} requests of a client that does not read were run`);
      const held = server.held;
      assert.ok(held.queuedReplyBytes <= 8 * 1024 * 1024 + replyBytes, `${held.queuedReplyBytes} bytes queued`);
      assert.ok(held.parkedRequests <= 16, `${held.parkedRequests} requests parked`);
      // Meanwhile another client is served.
      const metadata = await connection.request(API_KEYS.METADATA, { topics: ['still-served'] });
      assert.equal(metadata.response.topics[0]?.name, 'still-served');
      // The hostile client's refused requests do not use up the error replies of the others.
      await bystander.send([Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({
        correlationId: 9, apiKey: 77 })).finish()), Buffer.alloc(0)]);
      assert.equal((await receiveEnvelope(bystander)).envelope.errorCode, ERROR_TABLE.INVALID_REQUEST.wire);

      hostile.close();
      await waitFor(() => server.held.peers === 0 && server.held.queuedReplyBytes === 0, 'the peer forgotten', 10_000);
      assert.equal(server.held.parkedRequests, 0);
      assert.equal(server.inflightRequests, 0);
    } finally {
      hostile.close();
      bystander.close();
      await connection.close();
      await server.close();
    }
  });

  void test('per-connection in-flight bound: later requests wait in order, past the backlog TOO_MANY_REQUESTS',
    async () => {
      const gate = deferred<undefined>();
      const order: number[] = [];
      const server = await startServer({
        logger: captureLogger().logger, peerInflightMax: 2, peerBacklogMax: 3, handlers: {
          [API_KEYS.HEARTBEAT]: async (request) => {
            order.push(request.generationId);
            await gate.promise;
            return { response: {} };
          },
        },
      });
      const connection = connect(server);
      const other = connect(server);
      try {
        const first = [1, 2, 3, 4, 5].map((generationId) => connection.request(API_KEYS.HEARTBEAT, { generationId }));
        await waitFor(() => order.length === 2 && server.held.parkedRequests === 3, 'two running, three parked');
        const busy = await expectCode(connection.request(API_KEYS.HEARTBEAT, { generationId: 6 }), 'TOO_MANY_REQUESTS');
        assert.equal(busy.retriable, true);
        // Another connection has its own bound.
        const elsewhere = other.request(API_KEYS.HEARTBEAT, { generationId: 100 });
        await waitFor(() => order.includes(100), 'the other connection runs');
        gate.resolve(undefined);
        await Promise.all([...first, elsewhere]);
        assert.deepEqual(order.filter((id) => id < 100), [1, 2, 3, 4, 5]);
        await waitFor(() => server.inflightRequests === 0 && server.held.peers === 0, 'all released');
      } finally {
        gate.resolve(undefined);
        await connection.close();
        await other.close();
        await server.close();
      }
    });

  void test('regression: a second connection with a routing id already in use takes it over and is answered',
    async () => {
      const server = await startServer({ logger: captureLogger().logger, handlers: metadataHandler });
      const routingId = 'same-routing-id';
      const first = new Dealer({ linger: 0, routingId, receiveTimeout: 2_000 });
      const second = new Dealer({ linger: 0, routingId, receiveTimeout: 2_000 });
      try {
        first.connect(server.endpoint);
        await first.send(encodeRequest(1, API_KEYS.METADATA, 'first', { topics: ['a'] }, []));
        assert.equal((await receiveEnvelope(first)).envelope.correlationId, 1);
        // The first connection is still open (a client that restarted before the broker noticed).
        second.connect(server.endpoint);
        await second.send(encodeRequest(2, API_KEYS.METADATA, 'second', { topics: ['b'] }, []));
        const { envelope, frames } = await receiveEnvelope(second);
        assert.equal(envelope.correlationId, 2);
        assert.equal(pb.MetadataResponse.decode(frames[1] ?? Buffer.alloc(0)).topics[0]?.name, 'b');
      } finally {
        first.close();
        second.close();
        await server.close();
      }
    });

  void test('regression: a client_id that is not UTF-8 and a field with the wrong wire type get INVALID_REQUEST '
    + 'with their correlation ids', async () => {
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      ...metadataHandler,
      [API_KEYS.PRODUCE]: () => ({ response: { partitions: [] } }),
    } });
    const dealer = rawDealer(server.endpoint, 2_000);
    try {
      const envelope = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: 31,
        apiKey: API_KEYS.METADATA, clientId: 'id-\u00e9' })).finish());
      envelope[envelope.length - 1] = 0x41; // é's continuation byte replaced: not UTF-8
      await dealer.send([envelope, Buffer.alloc(0)]);
      const notUtf8 = await receiveEnvelope(dealer);
      assert.deepEqual([notUtf8.envelope.correlationId, notUtf8.envelope.errorCode],
        [31, ERROR_TABLE.INVALID_REQUEST.wire]);

      // Produce acks (field 1) sent length-delimited: it used to read as acks = 0, a one-way request.
      const produceEnvelope = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({
        correlationId: 32, apiKey: API_KEYS.PRODUCE, rawFrameCount: 1 })).finish());
      const partition = pb.ProducePartitionData.encode({ topic: 't', partition: 0, rawFrameIndex: 0 }).finish();
      const body = Buffer.concat([Buffer.from([0x0a, 0x01, 0x01, 0x1a, partition.length]), partition]);
      await dealer.send([produceEnvelope, body, Buffer.from('batch')]);
      const wrongType = await receiveEnvelope(dealer);
      assert.deepEqual([wrongType.envelope.correlationId, wrongType.envelope.errorCode],
        [32, ERROR_TABLE.INVALID_REQUEST.wire]);
      assert.match(wrongType.envelope.errorMessage, /field 1 \(acks\) has wire type 2/);
    } finally {
      dealer.close();
      await server.close();
    }
  });

  void test('regression: lines about malformed input are rate limited, with a count of the rest', async () => {
    const { logger, lines } = captureLogger();
    const server = await startServer({ logger, handlers: metadataHandler,
      malformedLog: { linesPerInterval: 5, intervalMs: 60_000 } });
    const dealer = rawDealer(server.endpoint, 2_000);
    const unknownApi = Buffer.from(pb.RequestEnvelope.encode(pb.RequestEnvelope.fromObject({ correlationId: 3,
      apiKey: 77 })).finish());
    try {
      for (let i = 0; i < 200; i += 1) await dealer.send([Buffer.from('garbage \xff\xff\xff')]);
      for (let i = 0; i < 200; i += 1) await dealer.send([unknownApi, Buffer.alloc(0)]);
      for (let i = 0; i < 200; i += 1) await receiveEnvelope(dealer); // every one with an id is answered
      const logged = (msg: string): number => lines.filter((line) => line.msg === msg).length;
      assert.equal(logged('dropped a request without a readable envelope'), 5);
      assert.equal(logged('malformed request'), 5);
      await server.close(); // writes the summaries of the open intervals
      const summaries = lines.filter((line) => typeof line.suppressed === 'number');
      assert.deepEqual(summaries.map((line) => [line.kind, line.suppressed]).sort(),
        [['dropped', 195], ['malformed', 195]]);
    } finally {
      dealer.close();
      await server.close();
    }
  });

  void test('Produce with acks=0 runs its handler but is never answered, even on error', async () => {
    const { logger, lines } = captureLogger();
    const seen: number[] = [];
    const server = await startServer({ logger, handlers: {
      [API_KEYS.PRODUCE]: (request, context) => {
        seen.push(context.rawFrames[0]?.length ?? -1);
        if (request.timeoutMs === 1) throw new TributaryError('NOT_ENOUGH_REPLICAS');
        return { response: { partitions: [{ baseOffset: 1 }] } };
      },
    } });
    const dealer = rawDealer(server.endpoint, 300);
    try {
      const partitions = [{ topic: 't', partition: 0, rawFrameIndex: 0 }];
      await dealer.send(encodeRequest(1, API_KEYS.PRODUCE, 'x', { acks: 0, partitions }, [Buffer.alloc(10)]));
      await dealer.send(encodeRequest(2, API_KEYS.PRODUCE, 'x', { acks: 0, timeoutMs: 1, partitions },
        [Buffer.alloc(20)]));
      assert.equal(await receivesWithin(dealer), false);
      assert.deepEqual(seen, [10, 20]);
      assert.ok(lines.some((line) => line.msg === 'one-way request failed'));
      await dealer.send(encodeRequest(3, API_KEYS.PRODUCE, 'x', { acks: 1, partitions }, [Buffer.alloc(30)]));
      const { envelope } = await receiveEnvelope(dealer);
      assert.equal(envelope.correlationId, 3);
      assert.equal(server.inflightRequests, 0);
    } finally {
      dealer.close();
      await server.close();
    }
  });

  void test('close: stops serving, frees the port, discards replies of handlers still running', async () => {
    const gate = deferred<undefined>();
    let finished = false;
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      ...metadataHandler,
      [API_KEYS.FETCH]: async () => { await gate.promise; finished = true; return { response: {} }; },
    } });
    const endpoint = server.endpoint;
    const connection = new Connection({ address: endpoint, requestTimeoutMs: 400, logger: captureLogger().logger });
    try {
      await connection.request(API_KEYS.METADATA, {});
      const stuck = connection.request(API_KEYS.FETCH, {});
      // The client sees the connection go: the request in flight and new ones fail at once, retriably.
      const stuckFails = expectCode(stuck, 'NETWORK_EXCEPTION');
      await waitFor(() => server.inflightRequests === 1, 'fetch in flight');
      await server.close();
      await server.close(); // idempotent
      await stuckFails;
      gate.resolve(undefined);
      await waitFor(() => finished, 'the handler finished after close');
      await expectCode(connection.request(API_KEYS.METADATA, {}, [], { timeoutMs: 200 }), 'NETWORK_EXCEPTION');

      // The port is free: a new server binds the same endpoint and the old connection reconnects to it.
      const again = new RequestServer({ listen: endpoint, logger: captureLogger().logger, handlers: metadataHandler });
      await again.start();
      try {
        let reply = null;
        // Until zeromq has reconnected, requests are refused at once: try again for a while.
        for (let attempt = 0; attempt < 50 && reply === null; attempt += 1) {
          reply = await connection.request(API_KEYS.METADATA, { topics: ['back'] }).catch(() => null);
          if (reply === null) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(reply?.response.topics[0]?.name, 'back');
      } finally {
        await again.close();
      }
    } finally {
      gate.resolve(undefined);
      await connection.close();
      await server.close();
    }
  });
});
