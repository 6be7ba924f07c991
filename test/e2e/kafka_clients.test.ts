/**
 * Real Kafka clients against three real brokers, each with a Kafka listener on a port of its own
 * (--kafka-listen): kafkajs 2.2.4 (admin, idempotent producer) and kcat 1.7.1 (librdkafka 2.0.2).
 * kafkajs creates, lists and deletes topics and sees the brokers at their Kafka addresses;
 * `kcat -L` lists the brokers, the topics and leaders among them; `kcat -P` produces keyed records
 * with acks all, 1 and 0, and gzip, lz4 and zstd batches (stored as they came), which
 * `kcat -C -o beginning -e` reads back identically (ListOffsets: kafkajs fetchTopicOffsets, and
 * `kcat -Q` by time); records kafkajs produced with idempotence are
 * read by kcat and by the native Consumer, and records the native Producer wrote are read by kcat.
 * Groups: `kcat -G` reads every record once and the offsets it committed hold for its next run;
 * two kafkajs consumers in a group split the partitions, and when one leaves the other takes all;
 * three kafkajs members (child processes) take a partition each, and when one is SIGKILLed the
 * other two take its partition over and read what is produced to it.
 * Every advertised version of Metadata, Produce, Fetch and ListOffsets answers in its own format,
 * read to the last byte. Last, a partition leader SIGKILLed during an idempotent `kcat -P` (acks
 * all) leaves every record exactly once, in order.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import kafkajs from 'kafkajs';

import { Consumer, Producer } from '../../src/client/index.js';
import type { ConsumerRecord } from '../../src/client/fetched_records.js';
import { KafkaWriter } from '../../src/kafka/codec.js';
import type { KafkaReader } from '../../src/kafka/codec.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { CLI_MAIN } from '../helpers/cli_process.js';
import { TestCluster } from '../helpers/cluster.js';
import { kafkaRequest } from '../helpers/kafka_raw_request.js';

const { Kafka, logLevel } = kafkajs;
const KCAT = 'kcat'; // on PATH (.ci/run installs it when missing)
const KCAT_TIMEOUT_MS = 30_000;
const MEMBER_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers',
  'kafkajs_member_process.js');

/** Runs kcat with `input` on stdin; its stdout, or a failure with its stderr. */
function kcat(args: readonly string[], input = ''): string {
  return execFileSync(KCAT, args, { input, timeout: KCAT_TIMEOUT_MS, encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'] });
}

interface KcatMetadata {
  brokers: { id: number; name: string }[];
  topics: { topic: string; partitions: { partition: number; leader: number; replicas: { id: number }[] }[] }[];
}

void describe('Kafka clients against the Kafka listener', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let kafkaBootstrap: string[];

  before(async () => {
    cluster = await TestCluster.startWith(3, { extraPortsPerBroker: 1,
      // No periodic leader hand-overs: the raw-version test sends to the leader Metadata named.
      brokerArguments: ['--offsets-topic-partitions', '3', '--group-initial-rebalance-delay-ms', '200',
        '--leader-rebalance-interval-ms', '0'],
      argumentsFor: (slot) => ['--kafka-listen', `127.0.0.1:${String(slot.extraPorts[0])}`] });
    kafkaBootstrap = cluster.ids().map((id) => `127.0.0.1:${String(cluster.extraPortsOf(id)[0])}`);
  });

  after(async () => { await cluster.stop(); });

  const kafka = (): InstanceType<typeof Kafka> => new Kafka({ brokers: kafkaBootstrap, clientId: 'e2e',
    logLevel: logLevel.NOTHING, retry: { retries: 10 } });

  it('kafkajs admin creates, lists and deletes topics and sees every broker at its Kafka address', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      const topics = [{ topic: 'kcat-1', numPartitions: 1, replicationFactor: 3 },
        { topic: 'kafkajs-3', numPartitions: 3, replicationFactor: 3 },
        { topic: 'native-1', numPartitions: 1, replicationFactor: 3 },
        { topic: 'two-replicas', numPartitions: 3, replicationFactor: 2 },
        { topic: 'short-lived', numPartitions: 2, replicationFactor: 2 }];
      // kafkajs waits for every leader through Metadata, also on the broker holding no replica.
      assert.equal(await admin.createTopics({ topics }), true);
      assert.equal(await admin.createTopics({ topics: topics.slice(0, 1) }), false, 'TOPIC_ALREADY_EXISTS');
      // Each broker applies the controller's metadata on its own: the broker asked may be a moment behind.
      const listedEventually = async (wanted: (listed: string[]) => boolean): Promise<string[]> => {
        let listed = await admin.listTopics();
        for (let attempt = 0; attempt < 50 && !wanted(listed); attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          listed = await admin.listTopics();
        }
        return listed;
      };
      const listed = await listedEventually((names) => topics.every(({ topic }) => names.includes(topic)));
      for (const { topic } of topics) assert.ok(listed.includes(topic), `${topic} in ${listed.join(',')}`);
      const described = await admin.describeCluster();
      assert.deepEqual(described.brokers.map((b) => `${b.host}:${String(b.port)}`).sort(), [...kafkaBootstrap].sort());
      assert.ok(cluster.ids().includes(described.controller ?? -1), `controller ${String(described.controller)}`);
      await admin.deleteTopics({ topics: ['short-lived'], timeout: 10_000 });
      assert.ok(!(await listedEventually((names) => !names.includes('short-lived'))).includes('short-lived'));
    } finally {
      await admin.disconnect();
    }
  });

  it('kcat -L lists the brokers, the topics and their leaders, from every broker', () => {
    for (const bootstrap of kafkaBootstrap) {
      const metadata = JSON.parse(kcat(['-b', bootstrap, '-L', '-J'])) as KcatMetadata;
      assert.deepEqual(metadata.brokers.map((b) => b.name).sort(), [...kafkaBootstrap].sort());
      for (const [name, replicationFactor] of [['kafkajs-3', 3], ['two-replicas', 2]] as const) {
        const topic = metadata.topics.find((t) => t.topic === name);
        assert.ok(topic !== undefined, `${name} listed by ${bootstrap}`);
        assert.equal(topic.partitions.length, 3);
        for (const partition of topic.partitions) {
          // A broker holding no replica of a two-replica partition names the leader it asked a replica for.
          assert.ok(cluster.ids().includes(partition.leader), `${bootstrap}: ${name} leader ${String(partition.leader)}`);
          assert.ok(partition.replicas.some((r) => r.id === partition.leader));
          assert.equal(partition.replicas.length, replicationFactor);
        }
      }
    }
  });

  it('kcat produces with acks all, 1 and 0 and gzip, lz4 and zstd, and reads all of it back', async () => {
    const b = kafkaBootstrap[0] ?? '';
    const batches: [string[], string[]][] = [
      [['-X', 'acks=all'], ['k1:v1', 'k2:v2']],
      [['-X', 'acks=1'], ['k3:v3']],
      [['-X', 'acks=all', '-z', 'gzip'], ['k4:gzip-4', 'k5:gzip-5']],
      [['-X', 'acks=all', '-z', 'lz4'], ['k6:lz4-6', 'k7:lz4-7']],
      [['-X', 'acks=all', '-X', 'compression.codec=zstd'], ['k8:zstd-8', 'k9:zstd-9']],
      [['-X', 'acks=all', '-X', 'enable.idempotence=true'], ['k10:idem-10']],
      [['-X', 'acks=0'], ['k11:v11']],
    ];
    const expected: string[] = [];
    for (const [options, lines] of batches) {
      kcat(['-b', b, '-P', '-t', 'kcat-1', '-p', '0', '-K:', ...options], `${lines.join('\n')}\n`);
      expected.push(...lines.map((line) => line.replace(':', '=')));
    }
    // acks=0 is not awaited by anyone: read until it shows (bounded).
    let read: string[] = [];
    for (let attempt = 0; attempt < 20 && read.length < expected.length; attempt++) {
      read = kcat(['-b', b, '-C', '-t', 'kcat-1', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\n'])
        .split('\n').filter((line) => line !== '');
      if (read.length < expected.length) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.deepEqual(read, expected);
    const offsets = kcat(['-b', b, '-C', '-t', 'kcat-1', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o\n'])
      .split('\n').filter((line) => line !== '').map(Number);
    assert.deepEqual(offsets, expected.map((_, i) => i));
  });

  it('ListOffsets: kafkajs fetchTopicOffsets gives the log start and end; kcat -Q finds offsets by time', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchTopicOffsets('kcat-1');
      assert.deepEqual({ low: offsets?.low, high: offsets?.high }, { low: '0', high: '11' });
    } finally {
      await admin.disconnect();
    }
    const b = kafkaBootstrap[0] ?? '';
    const times = kcat(['-b', b, '-C', '-t', 'kcat-1', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%T\n'])
      .split('\n').filter((line) => line !== '').map(Number);
    const sixth = times[5] ?? -1;
    assert.ok(sixth > 0);
    const lookup = (ms: number): string => kcat(['-b', b, '-Q', '-t', `kcat-1:0:${String(ms)}`]).trim();
    const atSixth = lookup(sixth);
    const firstAtOrAfter = times.findIndex((t) => t >= sixth);
    assert.match(atSixth, new RegExp(`offset ${String(firstAtOrAfter)}$`), atSixth);
    assert.match(lookup(1), /offset 0$/);
  });

  it('kafkajs produces with idempotence; kcat and the native Consumer read the same records', async () => {
    const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `key-${String(i)}`, value: `value-${String(i)}`,
      headers: { h: `h-${String(i)}` } }));
    try {
      for (let i = 0; i < messages.length; i += 10) {
        await producer.send({ topic: 'kafkajs-3', acks: -1, messages: messages.slice(i, i + 10) });
      }
    } finally {
      await producer.disconnect();
    }
    const byKcat = kcat(['-b', kafkaBootstrap[1] ?? '', '-C', '-t', 'kafkajs-3', '-o', 'beginning', '-e', '-q',
      '-f', '%p %k %s %h\n']).split('\n').filter((line) => line !== '');
    assert.equal(byKcat.length, messages.length);
    assert.deepEqual(byKcat.map((line) => line.split(' ').slice(1).join(' ')).sort(),
      messages.map((m) => `${m.key} ${m.value} h=${m.headers.h}`).sort());

    const consumer = new Consumer({ bootstrap: cluster.bootstrap, maxWaitMs: 200 });
    await consumer.connect();
    try {
      consumer.assign([0, 1, 2].map((partition) => ({ topic: 'kafkajs-3', partition })));
      for (const partition of [0, 1, 2]) consumer.seek({ topic: 'kafkajs-3', partition }, 'beginning');
      const records: ConsumerRecord[] = [];
      const deadline = Date.now() + 20_000;
      while (records.length < messages.length && Date.now() < deadline) {
        records.push(...await consumer.poll({ timeoutMs: 500 }));
      }
      assert.deepEqual(records.map((r) => `${r.key?.toString() ?? ''} ${r.value?.toString() ?? ''} ` +
        `h=${r.headers[0]?.value?.toString() ?? ''}`).sort(), byKcat.map((line) => line.split(' ').slice(1).join(' ')).sort());
      // Same partition as kcat saw, record by record: the bytes are the ones kafkajs sent.
      const partitionsByKey = new Map(byKcat.map((line) => [line.split(' ')[1], Number(line.split(' ')[0])]));
      for (const record of records) assert.equal(partitionsByKey.get(record.key?.toString()), record.partition);
    } finally {
      await consumer.close();
    }
  });

  it('records the native Producer wrote are read by kcat', async () => {
    const producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', requestTimeoutMs: 10_000 });
    await producer.connect();
    try {
      await producer.sendBatch(Array.from({ length: 5 }, (_, i) => ({ topic: 'native-1', key: `n${String(i)}`,
        value: `native-${String(i)}`, headers: { via: 'zmq' } })));
    } finally {
      await producer.close();
    }
    const lines = kcat(['-b', kafkaBootstrap[2] ?? '', '-C', '-t', 'native-1', '-p', '0', '-o', 'beginning', '-e',
      '-q', '-f', '%k=%s %h@%o\n']).split('\n').filter((line) => line !== '');
    assert.deepEqual(lines, Array.from({ length: 5 }, (_, i) => `n${String(i)}=native-${String(i)} via=zmq@${String(i)}`));
  });

  it('tributary produce writes what kcat and kafkajs read; tributary consume reads what kafkajs wrote', async () => {
    const tributary = (args: readonly string[], input = ''): string => execFileSync(process.execPath,
      [CLI_MAIN, ...args, '--bootstrap', cluster.bootstrap], { input, timeout: KCAT_TIMEOUT_MS, encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'] });
    tributary(['topics', 'create', 'cli-1', '--partitions', '1', '--replication-factor', '3']);
    const lines = Array.from({ length: 6 }, (_, i) => `c${String(i)}:cli-${String(i)}`);
    tributary(['produce', 'cli-1', '--key-separator', ':'], `${lines.join('\n')}\n`);
    const byKcat = kcat(['-b', kafkaBootstrap[0] ?? '', '-C', '-t', 'cli-1', '-o', 'beginning', '-e', '-q',
      '-f', '%k:%s\n']).split('\n').filter((line) => line !== '');
    assert.deepEqual(byKcat, lines);
    const consumer = kafka().consumer({ groupId: 'cli-readers', maxWaitTimeInMs: 200 });
    const byKafkajs: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: ['cli-1'], fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({ eachMessage: ({ message }) => {
          byKafkajs.push(`${message.key?.toString() ?? ''}:${message.value?.toString() ?? ''}`);
          if (byKafkajs.length >= lines.length) resolve();
          return Promise.resolve();
        } });
      });
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(byKafkajs, lines, 'kafkajs reads what tributary produce wrote, in order');
    // kafkajs-3 holds the 30 records kafkajs produced above.
    const consumed = tributary(['consume', 'kafkajs-3', '--from-beginning', '--max-messages', '30', '--print-key',
      '--timeout-ms', '20000']).split('\n').filter((line) => line !== '');
    assert.deepEqual(consumed.map((line) => line.split('\t').join(' ')).sort(),
      Array.from({ length: 30 }, (_, i) => `key-${String(i)} value-${String(i)}`).sort());
  });

  it('kcat -G reads every record once, and its committed offsets hold for the next run', () => {
    const run = (): string[] => kcat(['-b', kafkaBootstrap[0] ?? '', '-G', 'kcat-group', '-X',
      'auto.offset.reset=earliest', '-e', '-q', '-f', '%k\n', 'kafkajs-3']).split('\n').filter((line) => line !== '');
    const first = run();
    assert.deepEqual([...first].sort(), Array.from({ length: 30 }, (_, i) => `key-${String(i)}`).sort());
    assert.deepEqual(run(), [], 'nothing again: the group committed its offsets');
  });

  it('two kafkajs consumers in a group split the partitions; when one leaves, the other takes them all',
    async () => {
      const assignments = new Map<string, number[]>();
      const read = new Set<string>();
      const consumers = ['one', 'two'].map((name) => {
        const consumer = kafka().consumer({ groupId: 'kafkajs-group', sessionTimeout: 10_000, rebalanceTimeout: 10_000,
          heartbeatInterval: 300 });
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          assignments.set(name, [...(event.payload.memberAssignment['kafkajs-3'] ?? [])].sort());
        });
        return consumer;
      });
      const waitFor = async (what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> => {
        const deadline = Date.now() + timeoutMs;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...assignments])}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      try {
        for (const consumer of consumers) {
          await consumer.connect();
          await consumer.subscribe({ topic: 'kafkajs-3', fromBeginning: true });
          await consumer.run({ eachMessage: ({ message }) => {
            read.add(message.key?.toString() ?? '');
            return Promise.resolve();
          } });
        }
        const split = (): boolean => {
          const one = assignments.get('one') ?? [];
          const two = assignments.get('two') ?? [];
          return one.length > 0 && two.length > 0 && [...one, ...two].sort().join() === '0,1,2';
        };
        await waitFor('the two consumers to split the partitions', split);
        await waitFor('every record', () => read.size === 30);
        await consumers[1]?.disconnect();
        await waitFor('the remaining consumer to take every partition',
          () => (assignments.get('one') ?? []).join() === '0,1,2');
      } finally {
        for (const consumer of consumers) await consumer.disconnect();
      }
      const admin = kafka().admin();
      await admin.connect();
      try {
        const { groups } = await admin.describeGroups(['kafkajs-group']);
        assert.equal(groups[0]?.state, 'Empty');
        const offsets = await admin.fetchOffsets({ groupId: 'kafkajs-group', topics: ['kafkajs-3'] });
        const committed = offsets[0]?.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
        assert.equal(committed, 30, 'the group committed the end of every partition');
      } finally {
        await admin.disconnect();
      }
    });

  it('every version of Metadata, Produce, Fetch and ListOffsets answers in its own format', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic: 'versions', numPartitions: 1, replicationFactor: 3 }] }),
        true);
    } finally {
      await admin.disconnect();
    }
    const portOf = (id: number): number => cluster.extraPortsOf(id)[0] ?? 0;
    const anyPort = portOf(cluster.ids()[0] ?? 1);
    let leader = -1;
    for (let version = 1; version <= 6; version++) {
      const request = new KafkaWriter().array(['versions'], (w, name) => w.string(name));
      if (version >= 4) request.boolean(false);
      const r = await kafkaRequest(anyPort, 3, version, request.finish());
      if (version >= 3) assert.equal(r.int32(), 0);
      const brokers = r.array((b) => ({ id: b.int32(), host: b.string(), port: b.int32(), rack: b.nullableString() }));
      assert.deepEqual(brokers.map((b) => `${b.host}:${String(b.port)}`).sort(), [...kafkaBootstrap].sort());
      if (version >= 2) assert.equal(r.nullableString(), 'tributary');
      assert.ok(cluster.ids().includes(r.int32()), 'controller');
      const topics = r.array((t) => ({ error: t.int16(), name: t.string(), internal: t.boolean(),
        partitions: t.array((p) => ({ error: p.int16(), index: p.int32(), leader: p.int32(),
          replicas: p.array((x) => x.int32()), isr: p.array((x) => x.int32()),
          offline: version >= 5 ? p.array((x) => x.int32()) : [] })) }));
      assert.equal(r.remaining, 0, `Metadata v${String(version)} read to the end`);
      const partition = topics[0]?.partitions[0];
      assert.ok(partition !== undefined && partition.error === 0);
      leader = partition.leader;
    }
    const leaderPort = portOf(leader);
    for (let version = 3; version <= 7; version++) {
      const batch = encodeRecordBatch({ records: [{ key: Buffer.from(`v${String(version)}`), value: Buffer.from('x') }],
        baseTimestamp: Date.now() });
      const request = new KafkaWriter().nullableString(null).int16(-1).int32(10_000)
        .array(['versions'], (w, name) => w.string(name).array([0], (pw, p) => pw.int32(p).nullableBytesOf([batch])));
      const r = await kafkaRequest(leaderPort, 0, version, request.finish());
      const [topic] = r.array((t) => ({ name: t.string(), partitions: t.array((p) => ({ index: p.int32(),
        error: p.int16(), baseOffset: p.int64(), appendTime: p.int64(), logStart: version >= 5 ? p.int64() : 0 })) }));
      assert.equal(r.int32(), 0, 'throttle_time_ms');
      assert.equal(r.remaining, 0, `Produce v${String(version)} read to the end`);
      assert.deepEqual(topic?.partitions[0],
        { index: 0, error: 0, baseOffset: version - 3, appendTime: -1, logStart: 0 });
    }
    for (let version = 4; version <= 11; version++) {
      const request = new KafkaWriter().int32(-1).int32(0).int32(1).int32(1 << 20).int8(1);
      if (version >= 7) request.int32(0).int32(-1);
      request.array(['versions'], (w, name) => w.string(name).array([0], (pw, p) => {
        pw.int32(p);
        if (version >= 9) pw.int32(-1);
        pw.int64(2);
        if (version >= 5) pw.int64(-1);
        pw.int32(1 << 20);
      }));
      if (version >= 7) request.array([], () => undefined);
      if (version >= 11) request.string('');
      const r = await kafkaRequest(leaderPort, 1, version, request.finish());
      assert.equal(r.int32(), 0);
      if (version >= 7) assert.deepEqual([r.int16(), r.int32()], [0, 0]);
      const [topic] = r.array((t) => ({ name: t.string(), partitions: t.array((p) => ({ index: p.int32(),
        error: p.int16(), highWatermark: p.int64(), lastStable: p.int64(), logStart: version >= 5 ? p.int64() : 0,
        aborted: p.nullableArray((a: KafkaReader) => [a.int64(), a.int64()])?.length,
        preferred: version >= 11 ? p.int32() : -1, records: p.nullableBytes()?.length ?? -1 })) }));
      assert.equal(r.remaining, 0, `Fetch v${String(version)} read to the end`);
      const partition = topic?.partitions[0];
      assert.deepEqual({ ...partition, records: undefined }, { index: 0, error: 0, highWatermark: 5, lastStable: 5,
        logStart: 0, aborted: 0, preferred: -1, records: undefined });
      assert.ok((partition?.records ?? 0) > 61 * 3, 'the batches from offset 2 on');
    }
    for (let version = 1; version <= 3; version++) {
      const request = new KafkaWriter().int32(-1);
      if (version >= 2) request.int8(0);
      request.array(['versions'], (w, name) => w.string(name).array([0], (pw, p) => pw.int32(p).int64(-1)));
      const r = await kafkaRequest(leaderPort, 2, version, request.finish());
      if (version >= 2) assert.equal(r.int32(), 0);
      const [topic] = r.array((t) => ({ name: t.string(), partitions: t.array((p) => ({ index: p.int32(),
        error: p.int16(), timestamp: p.int64(), offset: p.int64() })) }));
      assert.equal(r.remaining, 0, `ListOffsets v${String(version)} read to the end`);
      assert.deepEqual(topic?.partitions[0], { index: 0, error: 0, timestamp: -1, offset: 5 });
    }
  });

  it('three kafkajs members (processes) take a partition each; one SIGKILLed, the other two take over',
    async () => {
      interface Member { readonly child: ChildProcess; assigned: number[]; readonly keys: Set<string> }
      const members: Member[] = [0, 1, 2].map(() => {
        const child = spawn(process.execPath, [MEMBER_SCRIPT, JSON.stringify({ brokers: kafkaBootstrap,
          groupId: 'kafkajs-trio', topic: 'kafkajs-3' })], { stdio: ['ignore', 'pipe', 'ignore'] });
        const member: Member = { child, assigned: [], keys: new Set() };
        let pending = '';
        child.stdout.on('data', (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            const event = JSON.parse(line) as { event: string; partitions?: number[]; key?: string };
            if (event.event === 'assigned') member.assigned = event.partitions ?? [];
            if (event.event === 'record' && event.key !== undefined) member.keys.add(event.key);
          }
        });
        return member;
      });
      const waitFor = async (what: string, done: () => boolean, timeoutMs = 40_000): Promise<void> => {
        const deadline = Date.now() + timeoutMs;
        while (!done()) {
          if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}: ${JSON.stringify(members.map((m) => m.assigned))}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      const cover = (group: readonly Member[]): string => group.flatMap((m) => m.assigned).sort().join();
      try {
        await waitFor('a partition each', () => members.every((m) => m.assigned.length === 1)
          && cover(members) === '0,1,2');
        const [victim, ...survivors] = members;
        assert.ok(victim !== undefined);
        victim.child.kill('SIGKILL');
        await waitFor('the survivors to take every partition', () => cover(survivors) === '0,1,2');
        const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        try {
          await producer.send({ topic: 'kafkajs-3', acks: -1, messages: [0, 1, 2].map((partition) => ({
            partition, key: `after-kill-${String(partition)}`, value: 'v' })) });
        } finally {
          await producer.disconnect();
        }
        await waitFor('the survivors to read what came after the kill', () => [0, 1, 2].every((partition) =>
          survivors.some((m) => m.keys.has(`after-kill-${String(partition)}`))));
      } finally {
        for (const member of members) member.child.kill('SIGKILL');
      }
    });

  it('a leader SIGKILLed during an idempotent kcat produce leaves every record once, in order', async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: 3 }] }),
        true);
    } finally {
      await admin.disconnect();
    }
    const leaderOf = (bootstrap: string): number => {
      const metadata = JSON.parse(kcat(['-b', bootstrap, '-L', '-J', '-t', 'failover'])) as KcatMetadata;
      return metadata.topics[0]?.partitions[0]?.leader ?? -1;
    };
    const leader = leaderOf(kafkaBootstrap[0] ?? '');
    assert.ok(cluster.ids().includes(leader), `leader ${String(leader)}`);
    const survivor = cluster.ids().find((id) => id !== leader) ?? 0;
    const survivorBootstrap = `127.0.0.1:${String(cluster.extraPortsOf(survivor)[0])}`;
    const lines = 6_000;
    const producer = spawn(KCAT, ['-b', survivorBootstrap, '-P', '-t', 'failover', '-p', '0',
      '-X', 'acks=all', '-X', 'enable.idempotence=true', '-X', 'linger.ms=5'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    producer.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => { producer.on('exit', (code) => { resolve(code); }); });
    const watchdog = setTimeout(() => { producer.kill('SIGKILL'); }, 90_000);
    // Fed over about three seconds; the leader dies after the first second.
    for (let i = 0; i < lines; i += 200) {
      producer.stdin.write(Array.from({ length: 200 }, (_, j) => String(i + j)).join('\n') + '\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (i === 2_000) await cluster.kill(leader);
    }
    producer.stdin.end();
    const code = await exited;
    clearTimeout(watchdog);
    assert.equal(code, 0, `kcat failed: ${stderr.slice(-2_000)}`);
    const read = kcat(['-b', survivorBootstrap, '-C', '-t', 'failover', '-p', '0', '-o', 'beginning', '-e', '-q',
      '-f', '%s\n']).split('\n').filter((line) => line !== '');
    assert.equal(read.length, lines, 'no record lost or duplicated');
    assert.deepEqual(read, Array.from({ length: lines }, (_, i) => String(i)));
  });
});
