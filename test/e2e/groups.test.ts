/**
 * Consumer groups end to end: real brokers (three processes) and group members as child processes
 * (test/helpers/group_member_process.ts) on a topic of 12 partitions with replication factor 3.
 * - Three members share the 12 partitions, 4 each, disjoint; one is SIGKILLed and the two left take
 *   its partitions once its session times out; a member joining later takes a share (4 each
 *   again); every produced record is processed at least once and, in the end, every partition's
 *   committed offset is its log end.
 * - A static member (groupInstanceId) SIGKILLed and restarted within its session timeout gets its
 *   partitions back with no rebalance: the other members revoke nothing.
 * - The coordinator's broker is SIGKILLed: the members find the new coordinator and go on; no
 *   committed offset goes back, and every record is processed at least once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { Admin, Producer } from '../../src/client/index.js';
import { Connection } from '../../src/client/connection.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { TestCluster } from '../helpers/cluster.js';

const TOPIC = 'orders';
const PARTITIONS = 12;
const MEMBER_SCRIPT = fileURLToPath(new URL('../helpers/group_member_process.js', import.meta.url));
const WAIT_MS = 60_000;

interface MemberEvent {
  readonly event: string;
  readonly partitions?: number[];
  readonly records?: { partition: number; offset: number; value: string | null }[];
  readonly offsets?: { partition: number; offset: number }[];
  readonly code?: string;
}

/** One member process and the events it printed. */
class MemberProcess {
  readonly events: MemberEvent[] = [];
  private readonly child: ChildProcess;
  private stderr = '';
  private buffered = '';

  constructor(readonly name: string, options: Record<string, unknown>) {
    this.child = spawn(process.execPath, [MEMBER_SCRIPT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.events.push(JSON.parse(line) as MemberEvent);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-10_000); });
  }

  /** The partitions held now: those of the last assignment, unless revoked or lost since. */
  current(): number[] {
    let held: number[] = [];
    for (const e of this.events) {
      if (e.event === 'assigned') held = e.partitions ?? [];
      if (e.event === 'revoked' || e.event === 'lost' || e.event === 'closed') held = [];
    }
    return held;
  }

  values(): string[] {
    return this.events.flatMap((e) => (e.records ?? []).map((r) => r.value ?? ''));
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  describe(): string {
    return `${this.name}: ${JSON.stringify(this.events.filter((e) => e.event !== 'records' && e.event !== 'committed'))}` +
      `\n${this.stderr}`;
  }
}

async function waitFor(what: string, condition: () => boolean, members: readonly MemberProcess[],
  timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${members.map((m) => m.describe()).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every partition exactly once across the members, and each holding `each` of them (when given). */
function coversAll(members: readonly MemberProcess[], each?: number): boolean {
  const held = members.map((m) => m.current());
  const all = held.flat().sort((a, b) => a - b);
  return all.length === PARTITIONS && all.every((p, i) => p === i)
    && (each === undefined || held.every((h) => h.length === each));
}

function processedAll(members: readonly MemberProcess[], produced: readonly string[]): boolean {
  const seen = new Set(members.flatMap((m) => m.values()));
  return produced.every((value) => seen.has(value));
}

describe('consumer groups end to end', () => {
  let cluster: TestCluster;
  let admin: Admin;
  let producer: Producer;
  const members: MemberProcess[] = [];

  before(async () => {
    cluster = await TestCluster.start(3);
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
    await admin.connect();
    await admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3 });
    producer = new Producer({ bootstrap: cluster.bootstrap, acks: 'all', lingerMs: 5 });
  });

  after(async () => {
    await Promise.all(members.map((m) => m.stop('SIGKILL')));
    await producer.close();
    await admin.close();
    await cluster.stop();
  });

  function member(name: string, options: Record<string, unknown>): MemberProcess {
    const started = new MemberProcess(name, { bootstrap: cluster.bootstrap, topic: TOPIC, ...options });
    members.push(started);
    return started;
  }

  async function produce(prefix: string, count: number): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    for (let i = 0; i < values.length; i += 500) {
      await producer.sendBatch(values.slice(i, i + 500).map((value) => ({ topic: TOPIC, key: value, value })));
    }
    return values;
  }

  /** Polls describeGroup until every partition's committed offset is its log end. */
  async function waitForNoLag(groupId: string, all: readonly MemberProcess[]): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const group = await admin.describeGroup(groupId);
      const done = group.partitions.length === PARTITIONS && group.partitions.every((p) => p.lag === 0);
      if (done) return;
      if (Date.now() > deadline) {
        throw new Error(`lag did not reach 0: ${JSON.stringify(group.partitions)}\n${all.map((m) => m.describe()).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  it('three members share 12 partitions; a SIGKILLed member\'s partitions move; a fourth takes a share; at least once',
    { timeout: 240_000 },
    async () => {
      const group = 'three';
      const trio = ['a', 'b', 'c'].map((name) => member(name, { groupId: group }));
      await waitFor('4 partitions each', () => coversAll(trio, 4), trio);
      const first = await produce('first', 3_000);
      await waitFor('the first records processed', () => processedAll(trio, first), trio);

      const [victim, ...survivors] = trio as [MemberProcess, MemberProcess, MemberProcess];
      await victim.stop('SIGKILL');
      const second = await produce('second', 1_500);
      await waitFor('the survivors take every partition', () => coversAll(survivors, 6), survivors);
      await waitFor('every record processed at least once', () => processedAll(trio, [...first, ...second]), trio);

      // A member joining later takes a share: three members again, 4 partitions each.
      const late = member('d', { groupId: group });
      const quartet = [...trio, late];
      const members = [...survivors, late];
      await waitFor('the new member takes a share', () => coversAll(members, 4), members);
      const third = await produce('third', 1_500);
      await waitFor('every record processed at least once', () => processedAll(quartet, [...first, ...second, ...third]),
        quartet);
      await waitForNoLag(group, quartet);
      const description = await admin.describeGroup(group);
      assert.equal(description.state, 'Stable');
      assert.equal(description.members.length, 3);
      await Promise.all(members.map((m) => m.stop('SIGTERM')));
    });

  it('a static member restarted within its session timeout gets its partitions back without a rebalance',
    { timeout: 240_000 }, async () => {
      const group = 'static';
      const options = (id: string): Record<string, unknown> =>
        ({ groupId: group, groupInstanceId: id, sessionTimeoutMs: 30_000 });
      const a = member('a', options('instance-a'));
      const b = member('b', options('instance-b'));
      const c = member('c', options('instance-c'));
      await waitFor('4 partitions each', () => coversAll([a, b, c], 4), [a, b, c]);
      const held = b.current();
      const revocations = a.count('revoked') + c.count('revoked');
      await b.stop('SIGKILL');
      const restarted = member('b2', options('instance-b'));
      await waitFor('the restarted member assigned', () => restarted.current().length > 0, [a, restarted, c]);
      assert.deepEqual(restarted.current(), held, 'the same partitions back');
      const values = await produce('static', 600);
      await waitFor('records processed', () => processedAll([a, restarted, c], values), [a, restarted, c]);
      assert.equal(a.count('revoked') + c.count('revoked'), revocations, 'the other members did not rebalance');
      await Promise.all([a, restarted, c].map((m) => m.stop('SIGTERM')));
    });

  it('the coordinator broker is SIGKILLed: members go on with the new coordinator; no committed offset is lost',
    { timeout: 240_000 }, async () => {
      const group = 'failover';
      const pair = [member('a', { groupId: group }), member('b', { groupId: group })];
      await waitFor('6 partitions each', () => coversAll(pair, 6), pair);
      const before = await produce('before', 2_000);
      await waitFor('the first records processed', () => processedAll(pair, before), pair);
      await waitForNoLag(group, pair);
      const committedBefore = new Map((await admin.describeGroup(group)).partitions
        .map((p) => [p.partition, p.committedOffset ?? -1]));

      const connection = new Connection({ address: cluster.address(1), clientId: 'find', requestTimeoutMs: 10_000 });
      let coordinatorId: number;
      try {
        coordinatorId = (await connection.request(API_KEYS.FIND_COORDINATOR, { key: group })).response.nodeId;
      } finally {
        await connection.close();
      }
      assert.ok(coordinatorId > 0);
      await cluster.kill(coordinatorId, 'SIGKILL');
      const afterKill = await produce('after', 1_000);
      await waitFor('every record processed at least once', () => processedAll(pair, [...before, ...afterKill]), pair);
      await waitForNoLag(group, pair);
      for (const p of (await admin.describeGroup(group)).partitions) {
        assert.ok((p.committedOffset ?? -1) >= (committedBefore.get(p.partition) ?? -1),
          `partition ${p.partition}: committed offset went back`);
      }
      cluster.restart(coordinatorId);
      await Promise.all(pair.map((m) => m.stop('SIGTERM')));
    });
});
