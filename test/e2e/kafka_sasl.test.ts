/**
 * TLS and SASL on the Kafka listener with a real broker (issue 16, point 6): one secure broker
 * (CURVE keys, so it authorizes every request; User:admin a super user on the native listener)
 * with `--kafka-listen --kafka-tls-cert --kafka-tls-key --kafka-sasl-users`, a self-signed
 * certificate for 127.0.0.1 made by the openssl CLI, and alice and bob added by `tributary users
 * add --password-stdin`. Admin grants User:alice WRITE and READ on the topic prefix `sasl-` and
 * READ on the group prefix `sasl-` (`tributary acl add` through the native listener). Then:
 * - kafkajs over TLS with SCRAM-SHA-256, and again with PLAIN, produces as alice and a group
 *   consumer reads every record back;
 * - kcat (librdkafka) with SASL_SSL and SCRAM-SHA-256 reads them too;
 * - a wrong password is refused with SASL_AUTHENTICATION_FAILED (kafkajs' authentication error);
 * - bob, authenticated but without an ACL, gets TOPIC_AUTHORIZATION_FAILED;
 * - a client that does not authenticate is refused (its Metadata closes the connection), and one
 *   without TLS cannot talk to the listener at all;
 * - a user added while the broker runs can authenticate within seconds (the file is reloaded).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import kafkajs from 'kafkajs';

import { runCli } from '../helpers/cli_process.js';
import { TestCluster } from '../helpers/cluster.js';

const { Kafka, logLevel } = kafkajs;
const CLI_TIMEOUT_MS = 30_000;
const TOPIC = 'sasl-orders';
const PASSWORDS = { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' } as const;

type Mechanism = 'scram-sha-256' | 'plain';

/** A self-signed certificate for 127.0.0.1 (the address clients dial and check). */
function makeCertificate(directory: string): { cert: string; key: string } {
  const cert = path.join(directory, 'kafka.crt');
  const key = path.join(directory, 'kafka.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe', timeout: 30_000 });
  return { cert, key };
}

async function addUser(usersFile: string, name: keyof typeof PASSWORDS): Promise<void> {
  const added = await runCli(['users', 'add', '--file', usersFile, '--name', name, '--password-stdin'], CLI_TIMEOUT_MS,
    `${PASSWORDS[name]}\n`);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, new RegExp(`User:${name}`));
}

void describe('Kafka listener with TLS and SASL (kafkajs, kcat, one secure broker)', { timeout: 240_000 }, () => {
  let root: string;
  let cluster: TestCluster;
  let bootstrap: string;
  let certificate: { cert: string; key: string };
  let usersFile: string;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-sasl-'));
    certificate = makeCertificate(root);
    usersFile = path.join(root, 'kafka-users');
    await addUser(usersFile, 'alice');
    await addUser(usersFile, 'bob');
    assert.equal(fs.statSync(usersFile).mode & 0o777, 0o600);
    cluster = await TestCluster.startWith(1, { secure: true, extraPortsPerBroker: 1,
      brokerArguments: ['--group-initial-rebalance-delay-ms', '100', '--offsets-topic-partitions', '1'],
      argumentsFor: (slot) => ['--kafka-listen', `127.0.0.1:${String(slot.extraPorts[0])}`,
        '--kafka-tls-cert', certificate.cert, '--kafka-tls-key', certificate.key, '--kafka-sasl-users', usersFile] });
    const [id] = cluster.ids();
    assert.ok(id !== undefined);
    bootstrap = `127.0.0.1:${String(cluster.extraPortsOf(id)[0])}`;
    const admin = async (args: readonly string[]): Promise<void> => {
      const run = await runCli([...args, ...cluster.clientArguments(), '--bootstrap', cluster.bootstrap], CLI_TIMEOUT_MS);
      assert.equal(run.code, 0, run.stderr);
    };
    await admin(['topics', 'create', TOPIC, '--partitions', '1', '--replication-factor', '1']);
    for (const operation of ['write', 'read']) {
      await admin(['acl', 'add', '--principal', 'User:alice', '--operation', operation, '--topic', 'sasl-', '--prefixed']);
    }
    await admin(['acl', 'add', '--principal', 'User:alice', '--operation', 'read', '--group', 'sasl-', '--prefixed']);
  });

  after(async () => {
    await cluster.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const brokerLog = (): string => cluster.ids().map((id) => cluster.stderrOf(id)).join('\n');
  // Clients expected through retry (the group coordinator loads __consumer_offsets first); not refused ones.
  interface ClientOptions { user?: string; password?: string; mechanism?: Mechanism; tls?: boolean; retries?: number }
  const client = (options: ClientOptions): InstanceType<typeof Kafka> => {
    const { user, password, mechanism = 'scram-sha-256', tls = true, retries = 1 } = options;
    return new Kafka({ brokers: [bootstrap], clientId: 'sasl-e2e', logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000, authenticationTimeout: 5_000, retry: { retries, initialRetryTime: 200 },
      ...(tls ? { ssl: { ca: [fs.readFileSync(certificate.cert, 'utf8')] } } : {}),
      ...(user === undefined ? {} : { sasl: { mechanism, username: user, password: password ?? '' } as
        kafkajs.SASLOptions }) });
  };

  /** Produces values as a user, then reads the whole topic back with a fresh group; the values read. */
  async function produceAndConsume(kafka: InstanceType<typeof Kafka>, values: readonly string[], group: string):
    Promise<string[]> {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
    } finally {
      await producer.disconnect();
    }
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
    const read: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
      const last = values.at(-1);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`read only ${read.join(',')} in 30 s; the broker said:\n${brokerLog().slice(-3000)}`));
        }, 30_000);
        void consumer.run({ eachMessage: ({ message }) => {
          read.push(message.value?.toString() ?? '');
          if (message.value?.toString() === last) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        } }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return read;
  }

  void it('kafkajs with TLS and SCRAM-SHA-256, then PLAIN, produces and consumes as User:alice', async () => {
    const scram = await produceAndConsume(client({ user: 'alice', password: PASSWORDS.alice, retries: 10 }), ['s1', 's2', 's3'],
      'sasl-scram');
    assert.deepEqual(scram, ['s1', 's2', 's3']);
    const plain = await produceAndConsume(client({ user: 'alice', password: PASSWORDS.alice, mechanism: 'plain', retries: 10 }),
      ['p1', 'p2'], 'sasl-plain');
    assert.deepEqual(plain, ['s1', 's2', 's3', 'p1', 'p2']);
  });

  void it('kcat with SASL_SSL and SCRAM-SHA-256 reads the records', () => {
    const out = execFileSync('kcat', ['-b', bootstrap, '-X', 'security.protocol=SASL_SSL', '-X',
      'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=alice', '-X', `sasl.password=${PASSWORDS.alice}`, '-X',
      `ssl.ca.location=${certificate.cert}`, '-C', '-t', TOPIC, '-o', 'beginning', '-e', '-q'],
    { encoding: 'utf8', timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe'] });
    assert.deepEqual(out.trim().split('\n'), ['s1', 's2', 's3', 'p1', 'p2']);
  });

  void it('refuses a wrong password with an authentication error (SCRAM and PLAIN)', async () => {
    for (const mechanism of ['scram-sha-256', 'plain'] as const) {
      const admin = client({ user: 'alice', password: 'not-her-password', mechanism }).admin();
      await assert.rejects(admin.connect(), (error: Error) => {
        assert.equal(error.name, 'KafkaJSSASLAuthenticationError', `${mechanism}: ${error.name}: ${error.message}`);
        assert.match(error.message, /SASL_AUTHENTICATION_FAILED|Authentication failed/);
        return true;
      });
      await admin.disconnect();
    }
  });

  void it('gives User:bob, authenticated but without an ACL, TOPIC_AUTHORIZATION_FAILED', async () => {
    const producer = client({ user: 'bob', password: PASSWORDS.bob }).producer();
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'from bob' }] }),
        (error: Error) => {
          // kafkajs' message for TOPIC_AUTHORIZATION_FAILED (29).
          assert.match(error.message, /Not authorized to access topics: \[Topic authorization failed\]/,
            `${error.name}: ${error.message}`);
          return true;
        });
    } finally {
      await producer.disconnect();
    }
  });

  void it('refuses a client that does not authenticate, and one without TLS', async () => {
    const anonymous = client({}).admin();
    await assert.rejects(anonymous.connect().then(() => anonymous.listTopics()), (error: Error) => {
      // Its Metadata, before any SASL, closes the connection unanswered (as Kafka does).
      assert.equal(error.name, 'KafkaJSConnectionClosedError', `${error.name}: ${error.message}`);
      return true;
    });
    await anonymous.disconnect();
    const plaintext = client({ user: 'alice', password: PASSWORDS.alice, tls: false }).admin();
    // The TLS listener drops what is not a TLS handshake.
    await assert.rejects(plaintext.connect(), /Closed connection/);
    await plaintext.disconnect();
  });

  void it('lets a user added while the broker runs authenticate (the users file is reloaded)', async () => {
    const before = client({ user: 'carol', password: PASSWORDS.carol }).admin();
    await assert.rejects(before.connect(), { name: 'KafkaJSSASLAuthenticationError' });
    await before.disconnect();
    await addUser(usersFile, 'carol');
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 20; attempt++) {
      const admin = client({ user: 'carol', password: PASSWORDS.carol }).admin();
      try {
        await admin.connect();
        lastError = null;
        break;
      } catch (error) {
        lastError = error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      } finally {
        await admin.disconnect();
      }
    }
    assert.equal(lastError, null, String(lastError));
  });
});
