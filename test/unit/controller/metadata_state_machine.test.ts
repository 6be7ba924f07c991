/**
 * Goal: the metadata state machine is deterministic, rejects racing or invalid commands as values
 * without changing state, and its snapshot restores exactly. Method: seeded random command streams
 * replayed on fresh machines and compared byte for byte; a replay from a mid-stream snapshot; one
 * scenario test per command; corrupt snapshots.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { SeededPrng } from '../../../raft/core/prng.js';
import { encodeCommand } from '../../../src/controller/commands.js';
import type { MetadataCommand } from '../../../src/controller/commands.js';
import { MalformedMetadataError } from '../../../src/controller/metadata_codec.js';
import { encodeSnapshot } from '../../../src/controller/metadata_snapshot.js';
import {
  MetadataStateMachine, validateCreatePartitions, validateCreateTopic,
} from '../../../src/controller/metadata_state_machine.js';
import { replicasForBroker } from '../../../src/controller/reconciler.js';
import type { ApplyResult } from '../../../src/controller/metadata_state_machine.js';
import { TOPIC_CONFIG_DEFAULTS } from '../../../src/controller/topic_config.js';
import { createPartitions, createTopic, machineWithBrokers, randomCommand, registerBroker } from './helpers.js';

function randomLog(seed: number, length: number): MetadataCommand[] {
  const prng = new SeededPrng(seed);
  const machine = new MetadataStateMachine();
  const log: MetadataCommand[] = [];
  for (let index = 1; index <= length; index++) {
    const command = randomCommand(prng, machine);
    machine.apply(command, index);
    log.push(command);
  }
  return log;
}

function rejectedCode(result: ApplyResult): string {
  assert.ok(!result.ok, `expected a rejection, got ${JSON.stringify(result)}`);
  return result.code;
}

void describe('metadata state machine: determinism and snapshots', () => {
  void test('replaying the same log on fresh machines gives identical snapshots', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const log = randomLog(seed, 300);
      const first = new MetadataStateMachine();
      const second = new MetadataStateMachine();
      let rejected = 0;
      for (const [offset, command] of log.entries()) {
        const result = first.apply(command, offset + 1);
        // The second machine gets the entry as bytes, as a follower reads it from its log.
        assert.deepEqual(second.applyEntry(encodeCommand(command), offset + 1), result);
        rejected += result.ok ? 0 : 1;
      }
      assert.deepEqual(first.snapshot(), second.snapshot(), `seed ${seed}`);
      assert.ok(rejected > 10 && rejected < 250, `seed ${seed}: ${rejected} rejections`);
      assert.ok(first.topics().length > 0, `seed ${seed} created topics`);
    }
  });

  void test('a snapshot taken mid-log, restored and replayed on, reaches the same state', () => {
    const log = randomLog(7, 400);
    const full = new MetadataStateMachine();
    const partial = new MetadataStateMachine();
    for (const [offset, command] of log.entries()) {
      full.apply(command, offset + 1);
      if (offset < 200) {
        partial.apply(command, offset + 1);
      }
    }
    const restored = MetadataStateMachine.fromSnapshot(partial.snapshot());
    assert.deepEqual(restored.snapshotData(), partial.snapshotData());
    for (const [offset, command] of log.entries()) {
      if (offset >= 200) {
        restored.apply(command, offset + 1);
      }
    }
    assert.deepEqual(restored.snapshot(), full.snapshot());
    assert.equal(restored.lastAppliedIndex, 400);
  });

  void test('snapshot round trip keeps brokers, topics, configs and producer ids', () => {
    const machine = machineWithBrokers(3);
    machine.apply(createTopic(machine, 'a', 4, 3, { 'retention.ms': '1000' }), 10);
    machine.apply({ type: 'fenceBroker', brokerId: 2, incarnation: 1 }, 11);
    machine.apply({ type: 'allocateProducerIds', brokerId: 1, blockStart: 0, blockSize: 1000 }, 12);
    const copy = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(copy.brokers(), machine.brokers());
    assert.deepEqual(copy.topics(), machine.topics());
    assert.equal(copy.nextProducerId(), 1000);
    assert.equal(copy.topicConfig('a')?.retentionMs, 1000);
    assert.deepEqual(copy.liveBrokerIds(), [1, 3]);
  });

  void test('a corrupt or inconsistent snapshot is rejected and the state is kept', () => {
    const machine = machineWithBrokers(2);
    const before = machine.snapshot();
    assert.throws(() => { machine.restore(before.subarray(0, before.length - 1)); }, MalformedMetadataError);
    const orphan = encodeSnapshot({
      lastAppliedIndex: 5,
      nextProducerId: 0,
      brokers: [],
      topics: [{ name: 't', topicId: 3, replicationFactor: 1, configs: {}, partitions: [[9]], internal: false }],
      producerIdBlocks: [],
      decommissionedBrokers: [],
      acls: [], clientQuotas: [],
    });
    assert.throws(() => { machine.restore(orphan); }, /not registered/);
    assert.deepEqual(machine.snapshot(), before);
  });

  void test('indices must increase', () => {
    const machine = machineWithBrokers(1);
    assert.throws(() => machine.apply(registerBroker(2), 1), { name: 'AssertionError' });
  });
});

void describe('metadata state machine: commands', () => {
  void test('registration, re-registration, stale and duplicate incarnations', () => {
    const machine = new MetadataStateMachine();
    assert.ok(machine.apply(registerBroker(1, 5), 1).ok);
    assert.deepEqual(machine.broker(1), { brokerId: 1, host: '127.0.0.1', port: 9091, raftHost: '127.0.0.1',
      raftPort: 19091, incarnation: 5, epoch: 1, fenced: false, decommissioning: false });
    assert.ok(machine.apply(registerBroker(1, 5), 2).ok, 'a retried registration is accepted');
    assert.equal(machine.broker(1)?.epoch, 1);
    assert.equal(rejectedCode(machine.apply(registerBroker(1, 4), 3)), 'STALE_BROKER_EPOCH');
    assert.equal(rejectedCode(machine.apply({ ...registerBroker(1, 5), port: 1234 }, 4)),
      'DUPLICATE_BROKER_REGISTRATION');
    assert.equal(rejectedCode(machine.apply({ ...registerBroker(2), port: 0 }, 5)), 'INVALID_REQUEST');
    assert.equal(rejectedCode(machine.apply({ ...registerBroker(2), host: '' }, 6)), 'INVALID_REQUEST');
    assert.ok(machine.apply({ ...registerBroker(1, 6), port: 7000 }, 7).ok, 'a restart may move the broker');
    assert.equal(machine.broker(1)?.port, 7000);
    assert.equal(machine.broker(1)?.epoch, 7);
  });

  void test('fencing follows the incarnation; a new registration unfences', () => {
    const machine = machineWithBrokers(2);
    assert.equal(rejectedCode(machine.apply({ type: 'fenceBroker', brokerId: 9, incarnation: 1 }, 3)),
      'BROKER_ID_NOT_REGISTERED');
    assert.equal(rejectedCode(machine.apply({ type: 'fenceBroker', brokerId: 1, incarnation: 0 }, 4)),
      'STALE_BROKER_EPOCH');
    assert.ok(machine.apply({ type: 'fenceBroker', brokerId: 1, incarnation: 1 }, 5).ok);
    assert.deepEqual(machine.liveBrokerIds(), [2]);
    assert.ok(machine.apply({ type: 'unfenceBroker', brokerId: 1, incarnation: 1 }, 6).ok);
    assert.deepEqual(machine.liveBrokerIds(), [1, 2]);
    machine.apply({ type: 'fenceBroker', brokerId: 1, incarnation: 1 }, 7);
    machine.apply(registerBroker(1, 2), 8);
    assert.equal(machine.broker(1)?.fenced, false);
  });

  void test('create topic: ids, replicas, configs and the rejections', () => {
    const machine = machineWithBrokers(3);
    const result = machine.apply(createTopic(machine, 'orders', 6, 3, { 'retention.ms': '-1' }), 10);
    assert.deepEqual(result, { ok: true, type: 'createTopic', topicId: 10 });
    const topic = machine.topic('orders');
    assert.equal(topic?.partitions.length, 6);
    assert.deepEqual(machine.partitionReplicas('orders', 0), [1, 2, 3]);
    assert.equal(machine.partitionReplicas('orders', 6), undefined);
    assert.deepEqual(machine.topicConfig('orders'), { ...TOPIC_CONFIG_DEFAULTS, retentionMs: -1 });
    assert.equal(machine.partitionCount(), 6);
    assert.deepEqual([...machine.preferredLeaderCounts()], [[1, 2], [2, 2], [3, 2]]);

    const base = createTopic(machine, 'other', 2, 2) as Extract<MetadataCommand, { type: 'createTopic' }>;
    const cases: [MetadataCommand, string][] = [
      [{ ...base, name: 'orders' }, 'TOPIC_ALREADY_EXISTS'],
      [{ ...base, name: 'bad name' }, 'INVALID_TOPIC_EXCEPTION'],
      [{ ...base, name: '..' }, 'INVALID_TOPIC_EXCEPTION'],
      [{ ...base, partitionCount: 0, assignments: [] }, 'INVALID_PARTITIONS'],
      [{ ...base, replicationFactor: 4, assignments: [[1, 2, 3, 4], [1, 2, 3, 4]] }, 'INVALID_REPLICATION_FACTOR'],
      [{ ...base, assignments: [[1, 1], [2, 3]] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ ...base, assignments: [[1, 9], [2, 3]] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ ...base, assignments: [[1, 2]] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ ...base, assignments: [[1, 2, 3], [2, 3, 1]] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ ...base, configs: { 'retention.ms': 'soon' } }, 'INVALID_CONFIG'],
      [{ ...base, configs: { 'cleanup.policy': 'compact' } }, 'INVALID_CONFIG'],
    ];
    const before = machine.snapshotData();
    for (const [offset, [command, code]] of cases.entries()) {
      assert.equal(rejectedCode(machine.apply(command, 20 + offset)), code, JSON.stringify(command));
    }
    assert.deepEqual(machine.topics(), before.topics, 'rejections leave the topics untouched');
  });

  void test('internal names (`__` prefix, the controller log among them) cannot be created or deleted', () => {
    const machine = machineWithBrokers(3);
    const before = machine.snapshot();
    for (const [offset, name] of ['__controller', '__consumer_offsets', '__', '__x-1'].entries()) {
      assert.equal(rejectedCode(machine.apply(createTopic(machine, name, 1, 3), 10 + 2 * offset)),
        'INVALID_TOPIC_EXCEPTION', name);
      assert.equal(rejectedCode(machine.apply({ type: 'deleteTopic', name }, 11 + 2 * offset)),
        'INVALID_TOPIC_EXCEPTION', name);
      assert.match(validateCreateTopic(machine, { name, partitionCount: 1, replicationFactor: 1, configs: {} }, 3)
        ?.message ?? '', /reserved/);
    }
    assert.deepEqual(machine.topics(), [], 'nothing was created');
    assert.equal(machine.snapshot().length, before.length);
    assert.ok(machine.apply(createTopic(machine, '_single-underscore', 1, 3), 30).ok, 'one underscore is legal');
  });

  void test('the internal flag allows exactly the known internal topics, and the snapshot keeps it', () => {
    const machine = machineWithBrokers(3);
    type CreateTopic = Extract<MetadataCommand, { type: 'createTopic' }>;
    const internalTopic = (name: string, partitions: number): CreateTopic =>
      ({ ...createTopic(machine, name, partitions, 3) as CreateTopic, internal: true });
    for (const [offset, name] of ['__controller', '__x', 'orders'].entries()) {
      assert.equal(rejectedCode(machine.apply(internalTopic(name, 1), 10 + offset)),
        'INVALID_TOPIC_EXCEPTION', name);
    }
    assert.equal(machine.topics().length, 0);
    assert.ok(machine.apply(internalTopic('__consumer_offsets', 2), 20).ok);
    assert.equal(machine.topic('__consumer_offsets')?.internal, true);
    assert.equal(rejectedCode(machine.apply({ type: 'deleteTopic', name: '__consumer_offsets' }, 21)),
      'INVALID_TOPIC_EXCEPTION', 'clients still cannot delete it');
    const restored = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(restored.topic('__consumer_offsets'), machine.topic('__consumer_offsets'));
    assert.ok(machine.apply(createTopic(machine, 'plain', 1, 3), 22).ok);
    assert.equal(machine.topic('plain')?.internal, false);
  });

  void test('delete and re-create under the same name gives a new topic id', () => {
    const machine = machineWithBrokers(2);
    machine.apply(createTopic(machine, 't', 1, 2), 3);
    assert.equal(rejectedCode(machine.apply({ type: 'deleteTopic', name: 'u' }, 4)), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.ok(machine.apply({ type: 'deleteTopic', name: 't' }, 5).ok);
    assert.equal(machine.topic('t'), undefined);
    assert.equal(machine.partitionCount(), 0);
    machine.apply(createTopic(machine, 't', 1, 2), 6);
    assert.equal(machine.topic('t')?.topicId, 6);
  });

  void test('alter configs sets, removes and validates the merged result', () => {
    const machine = machineWithBrokers(1);
    machine.apply(createTopic(machine, 't', 1, 1, { 'segment.ms': '60000' }), 2);
    assert.ok(machine.apply({ type: 'alterConfigs', name: 't', set: { 'retention.bytes': '1000' },
      remove: ['segment.ms'] }, 3).ok);
    assert.deepEqual(machine.topic('t')?.configs, { 'retention.bytes': '1000' });
    assert.equal(machine.topicConfig('t')?.segmentMs, TOPIC_CONFIG_DEFAULTS.segmentMs);
    const bad = machine.apply({ type: 'alterConfigs', name: 't', set: { 'segment.bytes': '1' }, remove: [] }, 4);
    assert.equal(rejectedCode(bad), 'INVALID_CONFIG');
    assert.equal(rejectedCode(machine.apply({ type: 'alterConfigs', name: 't', set: { 'segment.ms': '5' },
      remove: ['segment.ms'] }, 5)), 'INVALID_REQUEST');
    assert.equal(rejectedCode(machine.apply({ type: 'alterConfigs', name: 'x', set: {}, remove: [] }, 6)),
      'UNKNOWN_TOPIC_OR_PARTITION');
    assert.deepEqual(machine.topic('t')?.configs, { 'retention.bytes': '1000' });
  });

  void test('producer id blocks are handed out in order; a stale block start is rejected', () => {
    const machine = machineWithBrokers(2);
    assert.deepEqual(machine.apply({ type: 'allocateProducerIds', brokerId: 1, blockStart: 0, blockSize: 1000 }, 3),
      { ok: true, type: 'allocateProducerIds', blockStart: 0, blockSize: 1000 });
    assert.equal(machine.nextProducerId(), 1000);
    assert.equal(rejectedCode(machine.apply({ type: 'allocateProducerIds', brokerId: 2, blockStart: 0,
      blockSize: 1000 }, 4)), 'INVALID_REQUEST');
    assert.equal(rejectedCode(machine.apply({ type: 'allocateProducerIds', brokerId: 7, blockStart: 1000,
      blockSize: 1000 }, 5)), 'BROKER_ID_NOT_REGISTERED');
    assert.equal(rejectedCode(machine.apply({ type: 'allocateProducerIds', brokerId: 2, blockStart: 1000,
      blockSize: 0 }, 6)), 'INVALID_REQUEST');
    assert.ok(machine.apply({ type: 'allocateProducerIds', brokerId: 2, blockStart: 1000, blockSize: 10 }, 7).ok);
    assert.equal(machine.nextProducerId(), 1010);
  });

  void test('each broker\'s last granted producer id block is recorded, so a broker can tell its command won', () => {
    const machine = machineWithBrokers(2);
    assert.equal(machine.producerIdBlock(1), undefined);
    machine.apply({ type: 'allocateProducerIds', brokerId: 1, blockStart: 0, blockSize: 1000 }, 3);
    // Broker 2 asked for the same block; its command applies second and loses.
    assert.equal(rejectedCode(machine.apply({ type: 'allocateProducerIds', brokerId: 2, blockStart: 0,
      blockSize: 1000 }, 4)), 'INVALID_REQUEST');
    assert.deepEqual(machine.producerIdBlock(1), { brokerId: 1, blockStart: 0, blockSize: 1000 });
    assert.equal(machine.producerIdBlock(2), undefined);
    machine.apply({ type: 'allocateProducerIds', brokerId: 2, blockStart: 1000, blockSize: 1000 }, 5);
    machine.apply({ type: 'allocateProducerIds', brokerId: 1, blockStart: 2000, blockSize: 500 }, 6);
    assert.deepEqual(machine.producerIdBlock(1), { brokerId: 1, blockStart: 2000, blockSize: 500 });
    assert.deepEqual(machine.producerIdBlock(2), { brokerId: 2, blockStart: 1000, blockSize: 1000 });
    const copy = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(copy.producerIdBlock(1), machine.producerIdBlock(1));
    assert.deepEqual(copy.producerIdBlock(2), machine.producerIdBlock(2));
    assert.equal(copy.nextProducerId(), 2500);
    assert.deepEqual(copy.snapshot(), machine.snapshot());
  });

  void test('a snapshot from before producer id blocks were recorded restores with none', () => {
    const registered = machineWithBrokers(1).snapshotData();
    // Field 5 is absent in such a snapshot; a repeated field left empty encodes to the same bytes.
    const old = encodeSnapshot({ ...registered, nextProducerId: 3000, producerIdBlocks: [] });
    const machine = MetadataStateMachine.fromSnapshot(old);
    assert.equal(machine.producerIdBlock(1), undefined);
    assert.equal(machine.nextProducerId(), 3000);
    machine.apply({ type: 'allocateProducerIds', brokerId: 1, blockStart: 3000, blockSize: 10 },
      machine.lastAppliedIndex + 1);
    assert.deepEqual(machine.producerIdBlock(1), { brokerId: 1, blockStart: 3000, blockSize: 10 });
  });

  void test('a snapshot whose producer id blocks overlap, repeat a broker or pass the next free id is rejected', () => {
    const base = machineWithBrokers(2).snapshotData();
    const cases = [
      { nextProducerId: 2000, producerIdBlocks: [{ brokerId: 1, blockStart: 0, blockSize: 1000 },
        { brokerId: 2, blockStart: 999, blockSize: 10 }] },
      { nextProducerId: 1000, producerIdBlocks: [{ brokerId: 1, blockStart: 500, blockSize: 1000 }] },
      { nextProducerId: 1000, producerIdBlocks: [{ brokerId: 1, blockStart: 0, blockSize: 0 }] },
      { nextProducerId: 5000, producerIdBlocks: [{ brokerId: 1, blockStart: 0, blockSize: 10 },
        { brokerId: 1, blockStart: 100, blockSize: 10 }] },
    ];
    for (const bad of cases) {
      const machine = machineWithBrokers(2);
      const before = machine.snapshot();
      assert.throws(() => { machine.restore(encodeSnapshot({ ...base, ...bad })); }, MalformedMetadataError,
        JSON.stringify(bad));
      assert.deepEqual(machine.snapshot(), before);
    }
  });

  void test('validateCreateTopic is what a leader checks before placing', () => {
    const machine = machineWithBrokers(2);
    const request = { name: 'x', partitionCount: 3, replicationFactor: 3, configs: {} };
    assert.equal(validateCreateTopic(machine, request, machine.liveBrokerIds().length)?.code,
      'INVALID_REPLICATION_FACTOR');
    assert.equal(validateCreateTopic(machine, { ...request, replicationFactor: 2 }, 2), null);
  });

  void test('create partitions appends placed partitions and keeps the existing ones', () => {
    const machine = machineWithBrokers(3);
    machine.apply(createTopic(machine, 'orders', 3, 2), 10);
    const before = machine.topic('orders');
    const command = createPartitions(machine, 'orders', 5);
    assert.deepEqual(machine.apply(command, 11), { ok: true, type: 'createPartitions', added: 2 });
    const after = machine.topic('orders');
    assert.ok(after !== undefined && before !== undefined);
    assert.equal(after.topicId, 10, 'the same topic');
    assert.deepEqual(after.partitions.slice(0, 3), before.partitions, 'existing partitions keep their replicas');
    assert.deepEqual(after.partitions.slice(3), command.assignments);
    assert.equal(machine.partitionCount(), 5);
    // Placed by load: the 4 new replicas go to the lightest brokers, so no broker has 2 more than another.
    const replicas = [...machine.brokerLoad().values()].map((load) => load.replicas);
    assert.ok(Math.max(...replicas) - Math.min(...replicas) <= 1, `replicas per broker ${replicas.join(',')}`);
    assert.deepEqual(replicasForBroker(machine, 1).filter((r) => r.partition >= 3).map((r) => r.partition),
      [3, 4].filter((p) => after.partitions[p]?.includes(1)), 'the reconciler sees the new partitions');
    const restored = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(restored.topic('orders'), after);
    assert.deepEqual(restored.snapshot(), machine.snapshot());
  });

  void test('create partitions: every bad command is rejected with its code and changes nothing', () => {
    const machine = machineWithBrokers(3);
    machine.apply(createTopic(machine, 'orders', 3, 2), 10);
    machine.apply({ ...createTopic(machine, '__consumer_offsets', 2, 3), internal: true } as MetadataCommand, 11);
    const grow = createPartitions(machine, 'orders', 5);
    const cases: [MetadataCommand, string][] = [
      [{ ...grow, name: 'missing' }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ ...grow, name: '__consumer_offsets', topicId: 11 }, 'INVALID_TOPIC_EXCEPTION'],
      [{ ...grow, name: '__controller' }, 'INVALID_TOPIC_EXCEPTION'],
      [{ ...grow, partitionCount: 3, assignments: [] }, 'INVALID_PARTITIONS'],
      [{ ...grow, partitionCount: 2, assignments: [] }, 'INVALID_PARTITIONS'],
      [{ ...grow, partitionCount: 10_001, assignments: [[1, 2]] }, 'INVALID_PARTITIONS'],
      [{ ...grow, partitionCount: 6 }, 'INVALID_PARTITIONS'],
      [{ ...grow, topicId: 9 }, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [{ ...grow, assignments: [[1, 1], [2, 3]] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ ...grow, assignments: [[1, 2], [2, 9]] }, 'INVALID_REPLICA_ASSIGNMENT'],
      [{ ...grow, assignments: [[1, 2], [2, 3, 1]] }, 'INVALID_REPLICA_ASSIGNMENT'],
    ];
    const before = machine.snapshotData();
    for (const [offset, [command, code]] of cases.entries()) {
      assert.equal(rejectedCode(machine.apply(command, 20 + offset)), code, JSON.stringify(command));
    }
    assert.deepEqual(machine.topics(), before.topics, 'rejections leave the topics untouched');
    assert.equal(machine.partitionCount(), 5);
    assert.ok(machine.apply(grow, 40).ok);
    assert.equal(rejectedCode(machine.apply(grow, 41)), 'INVALID_PARTITIONS', 'the same command again adds nothing');
    assert.equal(machine.topic('orders')?.partitions.length, 5);
  });

  void test('create partitions for a topic deleted and created again under its name is rejected', () => {
    const machine = machineWithBrokers(2);
    machine.apply(createTopic(machine, 't', 1, 2), 3);
    const grow = createPartitions(machine, 't', 3);
    machine.apply({ type: 'deleteTopic', name: 't' }, 4);
    machine.apply(createTopic(machine, 't', 1, 2), 5);
    assert.equal(rejectedCode(machine.apply(grow, 6)), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(machine.topic('t')?.partitions.length, 1);
  });

  void test('validateCreatePartitions is what a leader checks before placing', () => {
    const machine = machineWithBrokers(3);
    machine.apply(createTopic(machine, 'orders', 3, 3), 10);
    const problem = (name: string, partitionCount: number): string | undefined =>
      validateCreatePartitions(machine, { name, partitionCount })?.code;
    assert.equal(problem('orders', 4), undefined);
    assert.equal(problem('orders', 3), 'INVALID_PARTITIONS');
    assert.equal(problem('orders', 10_001), 'INVALID_PARTITIONS');
    assert.equal(problem('orders', 1.5), 'INVALID_PARTITIONS');
    assert.equal(problem('nope', 4), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal(problem('__consumer_offsets', 4), 'INVALID_TOPIC_EXCEPTION');
    assert.match(validateCreatePartitions(machine, { name: 'orders', partitionCount: 2 })?.message ?? '',
      /has 3 partitions; a topic can only grow/);
  });
});
