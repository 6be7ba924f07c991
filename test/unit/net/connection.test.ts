/**
 * Goal: a Connection keeps many requests in flight within its window, matches out-of-order
 * replies by correlation id, times requests out (also while waiting for a slot), sends acks=0
 * Produce one-way, drops replies it cannot match, refuses oversized requests unsent, and rejects
 * everything on close. Method: real sockets on 127.0.0.1 (OS-chosen ports) against a RequestServer,
 * or against a bare ROUTER that plays a misbehaving broker. Loops and waits are bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Router } from 'zeromq';

import { Connection } from '../../../src/client/connection.js';
import { ERROR_TABLE, TributaryError } from '../../../src/common/errors.js';
import { API_KEYS } from '../../../src/protocol/api_keys.js';
import { encodeErrorResponse, encodeResponse } from '../../../src/protocol/envelope.js';
import { pb } from '../../../src/protocol/messages.js';
import { captureLogger, connect, deferred, LOCAL_ANY_PORT, startServer, waitFor, expectCode,
} from './helpers.js';

void describe('Connection', () => {
  void test('1,000 concurrent requests within a window of 64, replies out of order, each matched', async () => {
    const arrival: string[] = [];
    const completion: string[] = [];
    let running = 0;
    let runningMax = 0;
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      [API_KEYS.METADATA]: async (request) => {
        const name = request.topics[0] ?? '';
        arrival.push(name);
        running += 1;
        runningMax = Math.max(runningMax, running);
        // Later arrivals in a burst finish first: a delay that falls with the arrival position.
        await sleep(arrival.length % 7 === 0 ? 0 : 8 - (arrival.length % 8));
        running -= 1;
        completion.push(name);
        return { response: { topics: [{ name, partitions: [{ partition: Number(name) }] }] } };
      },
    } });
    const connection = connect(server, { inflightRequestsMax: 64 });
    try {
      const names = Array.from({ length: 1_000 }, (_, i) => String(i));
      const replies = await Promise.all(names.map((name) => connection.request(API_KEYS.METADATA, { topics: [name] })));
      replies.forEach((reply, i) => {
        const topic = reply.response.topics[0];
        assert.ok(topic !== undefined);
        assert.equal(topic.name, String(i));
        assert.equal(topic.partitions[0]?.partition, i);
      });
      assert.ok(runningMax <= 64, `at most 64 in flight, saw ${runningMax}`);
      assert.ok(runningMax > 1, 'requests were pipelined');
      assert.notDeepEqual(completion, arrival, 'replies went out in another order than requests came in');
      assert.equal(connection.inflightRequests, 0);
      assert.equal(connection.waitingRequests, 0);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  void test('timeouts: REQUEST_TIMED_OUT, the slot is freed, the late reply is logged and dropped', async () => {
    const gate = deferred<undefined>();
    const { logger, lines } = captureLogger();
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      [API_KEYS.FETCH]: async () => { await gate.promise; return { response: {} }; },
      [API_KEYS.METADATA]: () => ({ response: { controllerId: 2 } }),
    } });
    const connection = connect(server, { logger, inflightRequestsMax: 1, waitingRequestsMax: 1 });
    try {
      const started = Date.now();
      const slow = connection.request(API_KEYS.FETCH, {}, [], { timeoutMs: 150 });
      // Waiting for the only slot counts against the deadline too.
      const waiting = connection.request(API_KEYS.METADATA, {}, [], { timeoutMs: 50 });
      await waitFor(() => connection.waitingRequests === 1, 'one waiter');
      const overflow = await expectCode(connection.request(API_KEYS.METADATA, {}), 'TOO_MANY_REQUESTS');
      assert.equal(overflow.retriable, true);
      const waitTimeout = await expectCode(waiting, 'REQUEST_TIMED_OUT');
      assert.match(waitTimeout.message, /slot/);
      const timedOut = await expectCode(slow, 'REQUEST_TIMED_OUT');
      assert.equal(timedOut.retriable, true);
      assert.ok(Date.now() - started >= 140);
      assert.equal(connection.inflightRequests, 0);
      assert.equal(connection.waitingRequests, 0);
      gate.resolve(undefined);
      await waitFor(() => lines.some((line) => line.msg.startsWith('dropped a reply to an unknown')),
        'the late reply logged');
      const after = await connection.request(API_KEYS.METADATA, {});
      assert.equal(after.response.controllerId, 2);
    } finally {
      gate.resolve(undefined);
      await connection.close();
      await server.close();
    }
  });

  void test('acks=0 Produce is one-way: resolves once sent, nothing pending, the broker handled it', async () => {
    const seen: number[] = [];
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      [API_KEYS.PRODUCE]: (request, context) => {
        seen.push(request.acks, context.rawFrames[0]?.length ?? -1);
        return { response: { partitions: [{ baseOffset: 5 }] } };
      },
    } });
    const connection = connect(server);
    try {
      const reply = await connection.request(API_KEYS.PRODUCE, {
        acks: 0, partitions: [{ topic: 't', partition: 0, rawFrameIndex: 0 }],
      }, [Buffer.alloc(777)]);
      assert.deepEqual(reply.response.partitions, []);
      assert.equal(connection.inflightRequests, 0);
      await waitFor(() => seen.length === 2, 'the broker ran the handler');
      assert.deepEqual(seen, [0, 777]);
      const acked = await connection.request(API_KEYS.PRODUCE, {
        acks: 1, partitions: [{ topic: 't', partition: 0, rawFrameIndex: 0 }],
      }, [Buffer.alloc(1)]);
      assert.equal(acked.response.partitions[0]?.baseOffset, 5);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  void test('a request over requestBytesMax is refused with MESSAGE_TOO_LARGE and never sent', async () => {
    let calls = 0;
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      [API_KEYS.PRODUCE]: () => { calls += 1; return { response: {} }; },
    } });
    const connection = connect(server, { requestBytesMax: 4096 });
    try {
      const partitions = [{ topic: 't', partition: 0, rawFrameIndex: 0 }];
      await expectCode(connection.request(API_KEYS.PRODUCE, { acks: 1, partitions }, [Buffer.alloc(5000)]),
        'MESSAGE_TOO_LARGE');
      await connection.request(API_KEYS.PRODUCE, { acks: 1, partitions }, [Buffer.alloc(1000)]);
      assert.equal(calls, 1);
    } finally {
      await connection.close();
      await server.close();
    }
  });

  void test('replies it cannot use: garbage and unknown ids are dropped; error, wrong-api and bad-body replies '
    + 'reject the request they name', async () => {
    const router = new Router({ linger: 0 });
    await router.bind(LOCAL_ANY_PORT);
    const { logger, lines } = captureLogger();
    const connection = new Connection({ address: router.lastEndpoint ?? '', logger, requestTimeoutMs: 5_000 });
    const nextRequest = async (): Promise<{ peer: Buffer; id: number }> => {
      const [peer, envelope] = await router.receive();
      assert.ok(peer !== undefined && envelope !== undefined);
      return { peer, id: pb.RequestEnvelope.decode(envelope).correlationId };
    };
    try {
      const first = connection.request(API_KEYS.METADATA, {});
      const a = await nextRequest();
      await router.send([a.peer, Buffer.from('garbage')]);
      await router.send([a.peer, ...encodeResponse(a.id + 1000, API_KEYS.METADATA, {}, [])]);
      await router.send([a.peer, ...encodeResponse(a.id, API_KEYS.METADATA, { controllerId: 9 }, [])]);
      assert.equal((await first).response.controllerId, 9);
      assert.ok(lines.some((line) => line.msg === 'dropped a malformed reply'));
      assert.ok(lines.some((line) => line.msg.startsWith('dropped a reply to an unknown')));

      const second = connection.request(API_KEYS.METADATA, {});
      const b = await nextRequest();
      await router.send([b.peer, ...encodeErrorResponse(b.id, API_KEYS.METADATA, 'NOT_ENOUGH_REPLICAS', 'only 1 of 3')]);
      const notEnough = await expectCode(second, 'NOT_ENOUGH_REPLICAS');
      assert.equal(notEnough.message, 'only 1 of 3');

      const third = connection.request(API_KEYS.METADATA, {});
      const c = await nextRequest();
      await router.send([c.peer, ...encodeResponse(c.id, API_KEYS.FETCH, {}, [])]);
      await expectCode(third, 'UNKNOWN_SERVER_ERROR');

      const fourth = connection.request(API_KEYS.FETCH, {});
      const d = await nextRequest();
      await router.send([d.peer, ...encodeResponse(d.id, API_KEYS.FETCH, { partitions: [{ rawFrameIndexes: [0] }] },
        [])]);
      const bad = await expectCode(fourth, 'UNKNOWN_SERVER_ERROR');
      assert.match(bad.message, /raw frame 0 of 0/);

      const unknownWire = connection.request(API_KEYS.METADATA, {});
      const e = await nextRequest();
      await router.send([e.peer, Buffer.from(pb.ResponseEnvelope.encode({
        correlationId: e.id, apiKey: pb.ApiKey.METADATA, errorCode: 12345 }).finish()), Buffer.alloc(0)]);
      const unknown = await expectCode(unknownWire, 'UNKNOWN_SERVER_ERROR');
      assert.match(unknown.message, /12345/);
      assert.equal(connection.inflightRequests, 0);
    } finally {
      await connection.close();
      router.close();
    }
  });

  void test('close rejects pending and waiting requests with NETWORK_EXCEPTION; later requests too', async () => {
    const gate = deferred<undefined>();
    const server = await startServer({ logger: captureLogger().logger, handlers: {
      [API_KEYS.FETCH]: async () => { await gate.promise; return { response: {} }; },
    } });
    const connection = connect(server, { inflightRequestsMax: 2 });
    try {
      const requests = [1, 2, 3, 4].map(() => connection.request(API_KEYS.FETCH, {}));
      await waitFor(() => server.inflightRequests === 2 && connection.waitingRequests === 2, '2 in flight, 2 waiting');
      await connection.close();
      await connection.close(); // idempotent
      for (const request of requests) {
        const error = await expectCode(request, 'NETWORK_EXCEPTION');
        assert.equal(error.retriable, true);
      }
      assert.equal(connection.isClosed, true);
      await expectCode(connection.request(API_KEYS.FETCH, {}), 'NETWORK_EXCEPTION');
      gate.resolve(undefined);
      await waitFor(() => server.inflightRequests === 0, 'the server dropped the replies to the closed client');
    } finally {
      gate.resolve(undefined);
      await connection.close();
      await server.close();
    }
  });

  void test('a lost connection fails the requests in flight at once, and new ones until it is back', async () => {
    const broker = new Router({ linger: 0 });
    await broker.bind(LOCAL_ANY_PORT);
    const endpoint = broker.lastEndpoint ?? '';
    const connection = new Connection({ address: endpoint.replace('tcp://', ''), requestTimeoutMs: 30_000,
      logger: captureLogger().logger });
    try {
      const unanswered = connection.request(API_KEYS.METADATA, {});
      const [identity] = await broker.receive(); // the broker got it, and dies without answering
      assert.ok(identity !== undefined);
      const started = Date.now();
      broker.close();
      const lost = await expectCode(unanswered, 'NETWORK_EXCEPTION');
      assert.equal(lost.retriable, true);
      assert.match(lost.message, /was lost with METADATA request/);
      assert.ok(Date.now() - started < 5_000, 'failed at once, not after the 30 s timeout');
      assert.equal(connection.inflightRequests, 0);
      await expectCode(connection.request(API_KEYS.METADATA, {}), 'NETWORK_EXCEPTION');
      // A broker back on the same address: zeromq reconnects and requests flow again.
      const back = await startServer({ listen: endpoint, logger: captureLogger().logger, handlers: {
        [API_KEYS.METADATA]: () => ({ response: { controllerId: 3 } }) } });
      try {
        let reply = null;
        for (let attempt = 0; attempt < 50 && reply === null; attempt += 1) {
          reply = await connection.request(API_KEYS.METADATA, {}, [], { timeoutMs: 1_000 }).catch(() => null);
          if (reply === null) await sleep(100);
        }
        assert.equal(reply?.response.controllerId, 3);
      } finally {
        await back.close();
      }
    } finally {
      broker.close();
      await connection.close();
    }
  });

  void test('a broker that is not there: requests time out and close() returns promptly', async () => {
    // Bind and close a router to get a port nobody listens on.
    const probe = new Router({ linger: 0 });
    await probe.bind(LOCAL_ANY_PORT);
    const endpoint = probe.lastEndpoint ?? '';
    probe.close();
    const connection = new Connection({ address: endpoint.replace('tcp://', ''), logger: captureLogger().logger });
    try {
      assert.equal(connection.endpoint, endpoint);
      // The probe's socket closes in zeromq's own thread: a connection made to it before that is then
      // lost, which fails the request at once instead of at its timeout. Either way: retriable.
      const first = await connection.request(API_KEYS.METADATA, {}, [], { timeoutMs: 100 }).then(() => null,
        (error: unknown) => error);
      const code: string = first instanceof TributaryError ? (first as TributaryError).code : String(first);
      assert.ok(['REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION'].includes(code), code);
      const pending = connection.request(API_KEYS.METADATA, {});
      const started = Date.now();
      await connection.close();
      await expectCode(pending, 'NETWORK_EXCEPTION');
      assert.ok(Date.now() - started < 1_000);
    } finally {
      await connection.close();
    }
    assert.equal(ERROR_TABLE.NETWORK_EXCEPTION.retriable, true);
  });
});
