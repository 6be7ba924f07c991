/**
 * Goal: the RequestServer answers well-formed requests through its handler table, answers every
 * kind of bad input with a typed error (or drops it when no correlation id can be read) and keeps
 * serving, bounds its in-flight requests, never answers acks=0 Produce, and closes cleanly.
 * Method: real ROUTER/DEALER sockets on 127.0.0.1 with OS-chosen ports; a Connection for the
 * typed path and a bare DEALER for hand-made frames. Every wait is bounded, every socket closed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

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
      await waitFor(() => server.inflightRequests === 1, 'fetch in flight');
      await server.close();
      await server.close(); // idempotent
      gate.resolve(undefined);
      await waitFor(() => finished, 'the handler finished after close');
      await expectCode(stuck, 'REQUEST_TIMED_OUT');
      await expectCode(connection.request(API_KEYS.METADATA, {}, [], { timeoutMs: 200 }), 'REQUEST_TIMED_OUT');

      // The port is free: a new server binds the same endpoint and the old connection reconnects to it.
      const again = new RequestServer({ listen: endpoint, logger: captureLogger().logger, handlers: metadataHandler });
      await again.start();
      try {
        let reply = null;
        for (let attempt = 0; attempt < 20 && reply === null; attempt += 1) {
          reply = await connection.request(API_KEYS.METADATA, { topics: ['back'] }).catch(() => null);
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
