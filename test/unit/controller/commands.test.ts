/**
 * Goal: every controller command and the snapshot travel as real protobuf per metadata.proto,
 * round trip exactly, and malformed bytes fail with a typed error. Method: the committed JSON
 * descriptor is compared with a fresh parse of the .proto file; each command type is encoded,
 * decoded and checked against protobufjs' own decoder of the .proto text; truncated and garbage
 * bytes are fed to the decoder.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import protobuf from 'protobufjs';

import { SeededPrng } from '../../../raft/core/prng.js';
import { decodeCommand, encodeCommand, METADATA_COMMAND_TYPES } from '../../../src/controller/commands.js';
import type { MetadataCommand } from '../../../src/controller/commands.js';
import { MalformedMetadataError } from '../../../src/controller/metadata_codec.js';
import { METADATA_SCHEMA } from '../../../src/controller/metadata_schema.js';
import { tributary } from '../../../src/protocol/messages.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/controller/metadata_snapshot.js';
import { machineWithBrokers, randomCommand } from './helpers.js';

const PROTO_PATH = new URL('../../../../src/protocol/proto/metadata.proto', import.meta.url);

const SAMPLES: readonly MetadataCommand[] = [
  { type: 'registerBroker', brokerId: 3, host: 'broker-3.local', port: 9093, raftHost: '10.0.0.3', raftPort: 19093,
    incarnation: 1_700_000_000_123 },
  { type: 'fenceBroker', brokerId: 2, incarnation: 2 ** 53 - 1 },
  { type: 'unfenceBroker', brokerId: 0, incarnation: 0 },
  { type: 'createTopic', name: 'orders', partitionCount: 3, replicationFactor: 2,
    configs: { 'segment.bytes': '1048576', 'retention.ms': '-1' }, assignments: [[1, 2], [2, 3], [3, 1]] },
  { type: 'deleteTopic', name: 'orders' },
  { type: 'alterConfigs', name: 'orders', set: { 'retention.bytes': '1000' }, remove: ['segment.ms', 'retention.ms'] },
  { type: 'allocateProducerIds', brokerId: 1, blockStart: 5_000_000_000, blockSize: 1000 },
  { type: 'createPartitions', name: 'orders', topicId: 2 ** 40, partitionCount: 5, assignments: [[2, 3], [3, 1]] },
  { type: 'alterPartitionReassignment', name: 'orders', topicId: 7, partition: 2, target: [4, 2, 3],
    throttleBytesPerSec: 50_000_000 },
  { type: 'reportPartitionReplicas', name: 'orders', topicId: 7, partition: 2, reassignmentId: 90, confIndex: 2 ** 33,
    voters: [2, 3, 1], learners: [4] },
  { type: 'decommissionBroker', brokerId: 4 },
  { type: 'unregisterBroker', brokerId: 2 ** 32 - 1 },
  { type: 'createAcls', bindings: [{ principal: 'User:alice', host: '*', operation: 'WRITE', permission: 'ALLOW',
    resourceType: 'TOPIC', patternType: 'PREFIXED', resourceName: 'orders.' }, { principal: 'User:*',
    host: '10.0.0.7', operation: 'ALL', permission: 'DENY', resourceType: 'GROUP', patternType: 'LITERAL',
    resourceName: '*' }] },
  { type: 'deleteAcls', filters: [{ principal: 'User:alice', host: '', operation: '', permission: '',
    resourceType: 'TOPIC', patternType: '', resourceName: '' }] },
  { type: 'alterClientQuotas', alterations: [{ principal: 'User:alice', ops: [
    { key: 'producer_byte_rate', value: 5 * 2 ** 20, remove: false }, { key: 'consumer_byte_rate', value: 0, remove: true }] },
  { principal: 'User:*', ops: [{ key: 'consumer_byte_rate', value: 2 ** 48, remove: false }] }] },
];

void describe('metadata command codec', () => {
  void test('the committed JSON descriptor matches metadata.proto', () => {
    const parsed = protobuf.parse(readFileSync(PROTO_PATH, 'utf8')).root.toJSON();
    assert.deepEqual(JSON.parse(JSON.stringify(parsed)), JSON.parse(JSON.stringify(METADATA_SCHEMA)));
  });

  void test('every command type round trips', () => {
    assert.deepEqual(new Set(SAMPLES.map((command) => command.type)), new Set(METADATA_COMMAND_TYPES));
    for (const command of SAMPLES) {
      const decoded = decodeCommand(encodeCommand(command));
      assert.deepEqual(decoded, normalize(command), command.type);
    }
  });

  void test('the bytes are the protobuf of metadata.proto (checked with a parse of the .proto text)', () => {
    const root = protobuf.parse(readFileSync(PROTO_PATH, 'utf8'), { keepCase: true }).root;
    const envelope = root.lookupType('tributary.metadata.MetadataCommand');
    const bytes = encodeCommand(SAMPLES[3]!);
    const decoded = envelope.toObject(envelope.decode(bytes), { longs: Number, oneofs: true });
    assert.equal(decoded['command'], 'create_topic');
    assert.deepEqual(decoded['create_topic'], {
      name: 'orders',
      partition_count: 3,
      replication_factor: 2,
      configs: { 'retention.ms': '-1', 'segment.bytes': '1048576' },
      assignments: [{ replicas: [1, 2] }, { replicas: [2, 3] }, { replicas: [3, 1] }],
    });
    // Field 4 of the envelope (create_topic), length-delimited: tag byte 0x22.
    assert.equal(bytes[0], 0x22);
    const register = envelope.decode(encodeCommand(SAMPLES[0]!));
    const registerFields = envelope.toObject(register, { longs: Number })['register_broker'] as { incarnation: number };
    assert.equal(registerFields.incarnation, 1_700_000_000_123);
  });

  void test('the generated static code (npm run proto) reads and writes the same bytes', () => {
    const generated = tributary.metadata.MetadataCommand;
    for (const command of SAMPLES) {
      const bytes = encodeCommand(command);
      const decoded = generated.decode(bytes);
      assert.equal(decoded.command, command.type);
      const reencoded = generated.encode(decoded).finish();
      assert.deepEqual(decodeCommand(reencoded), normalize(command), command.type);
    }
    const register = generated.decode(encodeCommand(SAMPLES[0]!)).registerBroker;
    assert.equal(register?.incarnation, 1_700_000_000_123);
  });

  void test('map entries are written in key order, so equal commands encode to equal bytes', () => {
    const forward = encodeCommand({ type: 'alterConfigs', name: 't', set: { 'a.b': '1', 'z.z': '2' }, remove: [] });
    const backward = encodeCommand({ type: 'alterConfigs', name: 't', set: { 'z.z': '2', 'a.b': '1' }, remove: [] });
    assert.deepEqual(forward, backward);
  });

  void test('random command streams round trip', () => {
    const prng = new SeededPrng(42);
    const machine = machineWithBrokers(4);
    for (let index = 5; index < 500; index++) {
      const command = randomCommand(prng, machine);
      assert.deepEqual(decodeCommand(encodeCommand(command)), normalize(command));
      machine.apply(command, index);
    }
  });

  void test('malformed bytes are MalformedMetadataError (INVALID_REQUEST), never a crash', () => {
    const valid = encodeCommand(SAMPLES[3]!);
    const inputs = [
      new Uint8Array(0),
      valid.subarray(0, valid.length - 3),
      Uint8Array.from([0xff, 0xff, 0xff]),
      Uint8Array.from([0x0a, 0x05, 0x08]),
      // create_topic with partition_count as a 64-bit varint above uint32 is cut by protobuf; a uint64
      // incarnation of 2^60 does not fit a JavaScript number exactly.
      Uint8Array.from([0x0a, 0x0a, 0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]),
    ];
    for (const bytes of inputs) {
      assert.throws(() => decodeCommand(bytes), (error: unknown) => {
        assert.ok(error instanceof MalformedMetadataError, String(error));
        assert.equal(error.code, 'INVALID_REQUEST');
        return true;
      });
    }
  });

  void test('encoding a value outside its field range is a programmer error', () => {
    assert.throws(() => encodeCommand({ type: 'fenceBroker', brokerId: 2 ** 32, incarnation: 1 }),
      { name: 'AssertionError' });
    assert.throws(() => encodeCommand({ type: 'fenceBroker', brokerId: 1, incarnation: 2 ** 53 }),
      { name: 'AssertionError' });
  });

  void test('a registration carries the Kafka listener when it has one, and older ones decode without it', () => {
    const plain = { type: 'registerBroker', brokerId: 3, host: 'b3', port: 9093, raftHost: 'b3', raftPort: 19093,
      incarnation: 5 } as const;
    const withKafka = { ...plain, kafkaHost: 'kafka-3.local', kafkaPort: 29093 };
    assert.deepEqual(decodeCommand(encodeCommand(withKafka)), withKafka);
    assert.deepEqual(decodeCommand(encodeCommand(plain)), plain, 'no kafkaHost key at all');
    const machine = machineWithBrokers(2);
    assert.ok(machine.apply(withKafka, 10).ok);
    const data = machine.snapshotData();
    assert.equal(data.brokers.find((b) => b.brokerId === 3)?.kafkaPort, 29093);
    assert.equal(data.brokers.find((b) => b.brokerId === 1)?.kafkaHost, undefined);
    assert.deepEqual(decodeSnapshot(encodeSnapshot(data)), data);
    assert.equal(machine.apply({ ...withKafka, kafkaPort: 0 }, 11).ok, false, 'a Kafka port of 0 is refused');
    assert.equal(machine.apply({ ...withKafka, kafkaPort: 29094 }, 12).ok, false,
      'the same incarnation with another Kafka address is a duplicate registration');
  });

  void test('the snapshot codec round trips', () => {
    const machine = machineWithBrokers(3);
    const data = machine.snapshotData();
    assert.deepEqual(decodeSnapshot(encodeSnapshot(data)), data);
    assert.throws(() => decodeSnapshot(Uint8Array.from([0x1a, 0x10, 0x08])), MalformedMetadataError);
  });
});

/** What decoding gives back: config maps in key order. */
function normalize(command: MetadataCommand): MetadataCommand {
  const sorted = (map: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(map).sort(([left], [right]) => (left < right ? -1 : 1)));
  switch (command.type) {
    case 'createTopic':
      return { ...command, configs: sorted(command.configs) };
    case 'alterConfigs':
      return { ...command, set: sorted(command.set) };
    default:
      return command;
  }
}
