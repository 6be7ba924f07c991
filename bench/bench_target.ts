/**
 * Where a cluster bench runs: a cluster of its own (`--cluster local`: three broker processes
 * started here and stopped by PID at the end) or an existing one (`--bootstrap`), and the topic
 * it creates there for itself.
 */
import { assert } from '../raft/core/assert.js';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import type { ConsumerOptions } from '../src/client/consumer.js';
import { LocalCluster } from '../src/cli/local_cluster.js';
import type { ClientSecurityOptions } from '../src/security/client_security.js';

export interface BenchTargetOptions {
  /** null: start a local cluster. */
  readonly bootstrap: string | null;
  readonly localBrokers: number;
  /** Appended to every local broker's `tributary start` command line. */
  readonly brokerArguments?: readonly string[];
  /** node flags for local brokers, e.g. --cpu-prof. */
  readonly brokerNodeArguments?: readonly string[];
  /** Local brokers also open a Kafka listener (--kafka-listen) on a free port of their own. */
  readonly kafkaListeners?: boolean;
  /** host:port,... of an existing cluster's Kafka listeners (with `bootstrap`). */
  readonly kafkaBootstrap?: string;
  /** Local brokers with CURVE (LocalCluster's secure mode); clients use the admin user's key. */
  readonly secure?: boolean;
}

export interface BenchTarget {
  readonly bootstrap: string;
  /** Broker process ids when the bench started them (for resident-set sampling). */
  readonly brokerPids: ReadonlyMap<number, number>;
  /** The Kafka listeners (host:port,...), when asked for and known. */
  readonly kafkaBootstrap: string | null;
  /** What clients need to reach a secure cluster (library option `security`); undefined when plaintext. */
  readonly security?: ClientSecurityOptions;
  close(): Promise<void>;
}

/** The local brokers' pids by the names the bench reports their CPU under ("broker 1", ...). */
export function brokerCpuProcesses(target: BenchTarget): ReadonlyMap<string, number> {
  return new Map([...target.brokerPids].map(([id, pid]) => [`broker ${id}`, pid]));
}

export async function openBenchTarget(options: BenchTargetOptions): Promise<BenchTarget> {
  if (options.bootstrap !== null) {
    return { bootstrap: options.bootstrap, brokerPids: new Map(), kafkaBootstrap: options.kafkaBootstrap ?? null,
      close: () => Promise.resolve() };
  }
  const kafka = options.kafkaListeners === true;
  const cluster = await LocalCluster.start(options.localBrokers, { brokerArguments: options.brokerArguments ?? [],
    ...(options.secure === true ? { secure: true } : {}),
    ...(options.brokerNodeArguments === undefined ? {} : { nodeArguments: options.brokerNodeArguments }),
    ...(kafka ? { extraPortsPerBroker: 1, argumentsFor: (slot) => ['--kafka-listen', kafkaAddress(slot.extraPorts)] }
      : {}) });
  const kafkaBootstrap = kafka ? cluster.ids().map((id) => kafkaAddress(cluster.extraPortsOf(id))).join(',') : null;
  return { bootstrap: cluster.bootstrap, brokerPids: cluster.pids(), kafkaBootstrap,
    ...(cluster.clientSecurity === undefined ? {} : { security: cluster.clientSecurity }),
    close: () => cluster.stop() };
}

function kafkaAddress(extraPorts: readonly number[]): string {
  const port = extraPorts[0];
  assert(port !== undefined, 'a local broker with a Kafka listener has one extra port');
  return `127.0.0.1:${String(port)}`;
}

export interface BenchTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

const LEADERS_WAIT_MS = 30_000;
const LEADERS_POLL_MS = 200;

/**
 * Creates the topic unless it exists, then waits (boundedly) until every partition has a leader
 * with all replicas in sync that answers ListOffsets, so the timed part does not measure elections.
 * Returns the partition count.
 */
export async function ensureBenchTopic(bootstrap: string, topic: BenchTopic,
  security?: ClientSecurityOptions): Promise<number> {
  const admin = new Admin({ bootstrap, ...(security === undefined ? {} : { security }) });
  try {
    await admin.connect();
    if (!(await admin.listTopics()).includes(topic.name)) {
      await admin.createTopic({ name: topic.name, partitions: topic.partitions,
        replicationFactor: topic.replicationFactor });
    }
    const deadline = Date.now() + LEADERS_WAIT_MS;
    for (;;) {
      const { partitions } = await admin.describeTopic(topic.name);
      const settled = partitions.length > 0 && partitions.every((p) => p.leaderId !== null
        && p.isrIds.length === p.replicaIds.length);
      // Leadership moves once more after creation; the metadata must name leaders that answer.
      if (settled) {
        await admin.fetchOffsets(topic.name);
        return partitions.length;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic.name} has no leaders after ${LEADERS_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, LEADERS_POLL_MS));
    }
  } finally {
    await admin.close();
  }
}

/**
 * A consumer assigned every partition of the bench topic, positioned at its beginning or its end
 * (positions resolved now, so nothing produced later is skipped or counted twice).
 */
export async function openBenchConsumer(options: ConsumerOptions, topic: string, partitionCount: number,
  from: 'beginning' | 'end'): Promise<Consumer> {
  const consumer = new Consumer(options);
  const partitions = Array.from({ length: partitionCount }, (_, partition) => ({ topic, partition }));
  consumer.assign(partitions);
  await consumer.connect();
  for (const partition of partitions) consumer.seek(partition, from);
  for (const partition of partitions) await consumer.position(partition);
  return consumer;
}
