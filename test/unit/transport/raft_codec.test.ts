/**
 * Goal: a Raft batch arrives exactly as it was sent or is refused whole. Its header frame carries
 * every field but the entry payloads, which travel as frames of their own, neither copied on the
 * way out nor on the way in.
 * Method: every message kind through encode and decode, the payload frames copied in between as a
 * socket would; headers and frame lists broken one way at a time; then two real ZeroMQ transports
 * on 127.0.0.1, and a raw DEALER feeding one of them bad multipart messages among good ones.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import * as zmq from 'zeromq';
import { EntryType, MessageType } from '../../../raft/core/index.js';
import type { AppendRequest, Entry, Message } from '../../../raft/core/index.js';
import { RaftCodecError, decodeRaftBatch, encodeRaftBatch, raftProto } from '../../../raft/transport/raft_codec.js';
import type { RaftBatch } from '../../../raft/transport/raft_codec.js';
import { ZmqRaftTransport } from '../../../raft/transport/zmq_transport.js';
import { freePorts, waitFor } from '../../helpers/ports.js';
import { RecordingLogger } from '../../helpers/storage_fixture.js';

const batchType = protobuf.parse(raftProto, { keepCase: false }).root.lookupType('tributary.raft.RaftBatch');

/** `sizeBytes` bytes that depend on `seed` and their position; sizes straddle zeromq's 128-byte copy limit. */
function payload(seed: number, sizeBytes: number): Buffer {
  const bytes = Buffer.allocUnsafe(sizeBytes);
  for (let i = 0; i < sizeBytes; i += 1) bytes[i] = (seed * 131 + i * 7) & 0xff;
  return bytes;
}

const from = 1;
const to = 2;
const envelope = { groupId: 2 ** 40 + 3, from, to, term: 9 };

function entries(firstIndex: number, sizes: readonly number[]): Entry[] {
  const types = [EntryType.normal, EntryType.noop, EntryType.config] as const;
  return sizes.map((sizeBytes, i) => ({ term: 9, index: firstIndex + i,
    type: types[i % types.length] ?? EntryType.normal, data: payload(firstIndex + i, sizeBytes) }));
}

function append(prevLogIndex: number, entrySizes: readonly number[]): AppendRequest {
  return { ...envelope, type: MessageType.appendRequest, prevLogIndex, prevLogTerm: 8,
    entries: entries(prevLogIndex + 1, entrySizes), commitIndex: prevLogIndex };
}

/** One message of every kind, appends with 0, 1 and many entries of every kind and size 0 included. */
const everyKind: Message[] = [
  { ...envelope, type: MessageType.voteRequest, preVote: true, lastLogIndex: 41, lastLogTerm: 8, transfer: true },
  { ...envelope, type: MessageType.voteRequest, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false },
  { ...envelope, type: MessageType.voteResponse, preVote: true, granted: true },
  { ...envelope, type: MessageType.voteResponse, preVote: false, granted: false },
  append(10, []),
  append(20, [300]),
  append(30, [0, 1, 128, 129, 0, 64 * 1024, 5, 300 * 1024, 0]),
  { ...envelope, type: MessageType.appendResponse, success: true, index: 41, hintIndex: 0, hintTerm: 0 },
  { ...envelope, type: MessageType.appendResponse, success: false, index: 40, hintIndex: 33, hintTerm: 7 },
  { ...envelope, type: MessageType.heartbeatRequest, commitIndex: 41, readSeq: 6 },
  { ...envelope, type: MessageType.heartbeatResponse, readSeq: 6 },
  { ...envelope, type: MessageType.snapshotRequest, snapshot: { metadata: { index: 100, term: 8,
    conf: { voters: [1, 2, 3], learners: [4] } }, data: payload(100, 2000) } },
  { ...envelope, type: MessageType.timeoutNow },
];
const forwards = [payload(1, 10), payload(2, 1000)];

/** What a socket delivers: each frame as a new Buffer of its own. */
function overTheWire(frames: readonly Uint8Array[]): Buffer[] {
  return frames.map((frame) => Buffer.from(frame));
}

function entryData(batch: RaftBatch): Uint8Array[] {
  return batch.messages.flatMap((m) => (m.type === MessageType.appendRequest ? m.entries.map((e) => e.data) : []));
}

function header(batch: object): Buffer {
  return Buffer.from(batchType.encode(batchType.fromObject(batch)).finish());
}

void describe('raft codec', () => {
  void test('every message kind and the forwards come back as sent', () => {
    const batch: RaftBatch = { messages: everyKind, forwards };
    const frames = encodeRaftBatch(batch);
    const sentData = entryData(batch);
    assert.equal(frames.length, 1 + sentData.length);
    // The payloads go out as the entries' own buffers, and the header does not carry them.
    sentData.forEach((data, i) => { assert.equal(frames[i + 1], data, `payload ${i} is the entry's buffer`); });
    const payloadBytes = sentData.reduce((sum, data) => sum + data.byteLength, 0);
    assert.ok((frames[0]?.byteLength ?? 0) < 2000 + 1010 + 1000,
      `header of ${frames[0]?.byteLength} bytes for ${payloadBytes} payload bytes`);

    const received = overTheWire(frames);
    const [receivedHeader, ...receivedPayloads] = received;
    assert.ok(receivedHeader !== undefined);
    const decoded = decodeRaftBatch(receivedHeader, receivedPayloads);
    assert.deepEqual(decoded.messages, everyKind);
    assert.deepEqual(decoded.forwards, forwards);
    // Each entry's data is its received frame itself: same object, same memory.
    entryData(decoded).forEach((data, i) => {
      const frame = receivedPayloads[i];
      assert.ok(frame !== undefined);
      assert.equal(data, frame, `entry ${i} is its frame`);
      assert.equal(data.buffer, frame.buffer);
      assert.equal(data.byteOffset, frame.byteOffset);
    });
  });

  void test('an empty batch and a batch of payloads only', () => {
    const empty = encodeRaftBatch({ messages: [], forwards: [] });
    assert.equal(empty.length, 1);
    assert.deepEqual(decodeRaftBatch(Buffer.from(empty[0] ?? []), []), { messages: [], forwards: [] });
    const appends = [append(1, [0]), append(2, [200, 0, 7])];
    const [head, ...payloads] = overTheWire(encodeRaftBatch({ messages: appends, forwards: [] }));
    assert.ok(head !== undefined);
    assert.equal(payloads.length, 4);
    assert.deepEqual(decodeRaftBatch(head, payloads).messages, appends);
  });

  void test('frames that do not match the declared entries are refused', () => {
    const [head, ...payloads] = overTheWire(encodeRaftBatch({ messages: [append(1, [10, 200]), append(3, [0, 50])],
      forwards: [] }));
    assert.ok(head !== undefined && payloads.length === 4);
    const refuse = (frames: Buffer[], expected: RegExp, what: string): void => {
      assert.throws(() => decodeRaftBatch(head, frames),
        (error: unknown) => error instanceof RaftCodecError && expected.test(error.message), what);
    };
    refuse(payloads.slice(0, 3), /declare more than the 3 payload frames/, 'a payload frame missing');
    refuse([], /declare more than the 0 payload frames/, 'every payload frame missing');
    refuse([...payloads, Buffer.alloc(0)], /5 payload frames for 4 entries/, 'an extra empty frame');
    refuse([...payloads, payload(9, 300)], /5 payload frames for 4 entries/, 'an extra frame');
    const [a, b, c, d] = payloads as [Buffer, Buffer, Buffer, Buffer];
    refuse([b, a, c, d], /payload frame 0 has 200 bytes, its entry declares 10/, 'two payloads swapped');
    refuse([a, b, d, c], /payload frame 2 has 50 bytes, its entry declares 0/, 'an empty payload moved');
    refuse([a, b.subarray(1), c, d], /payload frame 1 has 199 bytes, its entry declares 200/, 'a payload cut short');
    refuse([a, b, c, Buffer.concat([d, Buffer.alloc(1)])], /payload frame 3 has 51 bytes/, 'a payload too long');
  });

  void test('headers that are not a well-formed batch are refused', () => {
    const cases: [Buffer, Buffer[], RegExp][] = [
      [Buffer.from([0x0a, 0x05, 0x01]), [], /^malformed raft batch/],
      [Buffer.from([0x0f, 0x01]), [], /^malformed raft batch/],
      [Buffer.from('not a raft batch at all, just text'), [], /./],
      [header({ messages: [{ kind: 0, from, to }] }), [], /unknown message kind 0/],
      [header({ messages: [{ kind: 99, from, to }] }), [], /unknown message kind 99/],
      [header({ messages: [{ kind: 3, from, to, entries: [{ kind: 7, dataBytes: 1 }] }] }), [Buffer.alloc(1)],
        /unknown entry kind 7/],
      // The format before payload frames: data inline, no frame. Never read as an empty entry.
      [header({ messages: [{ kind: 3, from, to, entries: [{ kind: 0, inlineData: Buffer.from('x') }] }] }), [],
        /inline data/],
      [header({ messages: [{ kind: 3, from, to, entries: [{ kind: 0, inlineData: Buffer.from('x') }] }] }),
        [Buffer.alloc(0)], /inline data/],
      // Entries on another kind would leave a frame unclaimed or shift the payloads after it.
      [header({ messages: [{ kind: 1, from, to, entries: [{ kind: 0, dataBytes: 1 }] }] }), [Buffer.alloc(1)],
        /a vote_request with entries/],
      [header({ messages: [{ kind: 7, from, to }] }), [], /snapshot request without a snapshot/],
    ];
    for (const [head, payloads, expected] of cases) {
      assert.throws(() => decodeRaftBatch(head, payloads),
        (error: unknown) => error instanceof RaftCodecError && expected.test(error.message), expected.source);
    }
  });
});

void describe('raft batches over ZeroMQ', () => {
  void test('appends with payloads arrive intact, split into several multipart messages when long', async () => {
    const [port1, port2] = await freePorts(2);
    assert.ok(port1 !== undefined && port2 !== undefined);
    const logger = new RecordingLogger();
    const options = { logger, batchFramesMax: 4 };
    const node1 = new ZmqRaftTransport({ nodeId: 1, listen: `tcp://127.0.0.1:${port1}`, ...options });
    const node2 = new ZmqRaftTransport({ nodeId: 2, listen: `tcp://127.0.0.1:${port2}`, ...options });
    const received: Message[] = [];
    try {
      await node1.start(() => undefined);
      await node2.start((messages) => { received.push(...messages); });
      node1.setPeer(2, `tcp://127.0.0.1:${port2}`);
      node2.setPeer(1, `tcp://127.0.0.1:${port1}`);
      const ping: Message = { ...envelope, type: MessageType.heartbeatRequest, commitIndex: 0, readSeq: 0 };
      const connected = await waitFor(() => {
        if (received.length === 0) node1.send([ping]);
        return received.length > 0;
      }, 10_000, 50);
      assert.ok(connected, 'node 1 reached node 2');
      const batchesBefore = node1.stats.sentBatches;
      const droppedBefore = node1.stats.droppedMessages;

      const appends = [append(1, [0, 129, 64 * 1024]), append(4, [1, 300 * 1024]), append(6, [200, 200, 200, 200])];
      // Payloads need not be Buffers: a plain Uint8Array, a view at an offset of a larger one included.
      const plainBytes = new Uint8Array(1000).map((_, i) => (i * 13) & 0xff);
      const plain: Message = { ...append(10, []), entries: [
        { term: 9, index: 11, type: EntryType.config, data: plainBytes.subarray(7, 707) },
        { term: 9, index: 12, type: EntryType.normal, data: new Uint8Array([1, 2, 3]) }] };
      const tooLong = append(12, [1, 1, 1, 1, 1]);
      node1.send([...appends, plain, tooLong]);
      // A heartbeat sent while connecting may still come in; only the appends count here.
      const arrived = (): Message[] => received.filter((m) => m.type === MessageType.appendRequest);
      assert.ok(await waitFor(() => arrived().length >= appends.length + 1, 10_000), 'node 2 got the appends');
      assert.deepEqual(arrived().slice(0, appends.length), appends);
      const plainArrived = arrived()[appends.length];
      assert.ok(plainArrived?.type === MessageType.appendRequest);
      assert.deepEqual(plainArrived.entries.map((e) => [e.index, e.type, [...e.data]]),
        [[11, EntryType.config, [...plainBytes.subarray(7, 707)]], [12, EntryType.normal, [1, 2, 3]]]);
      // 3 + 2 entries exceed 4 frames, 2 + 4 and 4 + 2 too: four multipart messages. The last append fits none.
      assert.equal(node1.stats.sentBatches - batchesBefore, 4);
      assert.equal(node1.stats.droppedMessages - droppedBefore, 1);
      assert.ok(logger.warnings().some((line) => line.message
        === 'dropped an append with more entries than a batch holds'));
      assert.equal(node2.stats.rejectedFrames, 0);
    } finally {
      await node1.close();
      await node2.close();
    }
  });

  void test('bad multipart messages are dropped and counted; good ones around them still arrive', async () => {
    const [port] = await freePorts(1);
    assert.ok(port !== undefined);
    const logger = new RecordingLogger();
    const node2 = new ZmqRaftTransport({ nodeId: 2, listen: `tcp://127.0.0.1:${port}`, logger, batchFramesMax: 8 });
    const received: Message[] = [];
    const forwarded: number[] = [];
    const dealer = new zmq.Dealer({ routingId: '1', linger: 0, sendTimeout: 5_000 });
    try {
      await node2.start((messages) => { received.push(...messages); },
        (sender, data) => { forwarded.push(sender, data.length); });
      dealer.connect(`tcp://127.0.0.1:${port}`);
      const first = append(1, [10, 500]);
      const last = append(3, [0, 700]);
      const good = (message: Message): Uint8Array[] => encodeRaftBatch({ messages: [message], forwards: [] });
      const [head, p0, p1] = good(first);
      assert.ok(head !== undefined && p0 !== undefined && p1 !== undefined);
      const bad: Uint8Array[][] = [
        [head, p1], // a payload frame missing
        [head, p0, p1, Buffer.alloc(3)], // one frame too many
        [head, p1, p0], // lengths do not match
        [Buffer.from([0x0a, 0x05, 0x01])], // garbage header
        [head, ...Array.from({ length: 9 }, () => Buffer.alloc(1))], // more frames than a batch holds
        encodeRaftBatch({ messages: [{ ...append(1, [10]), from: 3 }], forwards: [payload(5, 50)] }), // not from 1
      ];
      await dealer.send(good(first));
      for (const frames of bad) await dealer.send(frames);
      await dealer.send(good(last));
      assert.ok(await waitFor(() => received.length >= 2, 10_000), `node 2 got ${received.length} of 2 good messages`);
      assert.deepEqual(received, [first, last]);
      assert.equal(node2.stats.rejectedFrames, bad.length);
      assert.equal(logger.warnings().filter((line) => line.message === 'dropped a raft frame').length, bad.length);
      // The batch with a message not from its sender loses that message, not its forward.
      assert.deepEqual(forwarded, [1, 50]);
    } finally {
      dealer.close();
      await node2.close();
    }
  });
});
