/**
 * Controller voters change one at a time while the quorum stays available (the scale-out issue):
 * three voters run and broker 4 joins on 127.0.0.14 as a learner.
 * - bad input is refused with its own code and changes nothing: adding an unregistered broker
 *   (BROKER_ID_NOT_REGISTERED) or a voter (DUPLICATE_VOTER), removing a learner or a stranger
 *   (VOTER_NOT_FOUND);
 * - `tributary cluster controllers add --id 4` makes broker 4 a voter (voters 1,2,3,4);
 * - removing the voter that leads the controller moves the leadership to another voter first; the
 *   removed broker stays a learner, and the metadata still commits (a topic is created);
 * - with the removed broker killed, the three voters left still commit a topic;
 * - the removed broker restarted with its original --voters (naming itself) starts, registers again
 *   and follows the metadata as a learner (it lists the topic created while it was down);
 * - broker 4 restarted with --voters 1,2,3 (not naming it) is a voter still, as its log says;
 * - a fresh broker 5 whose --voters names only the removed broker and a voter that does not lead
 *   registers (they relay its registration to the leader);
 * - voters are removed down to one, and removing the last is refused (INVALID_REQUEST).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import type { QuorumDescription } from '../../src/client/admin.js';
import { TributaryError } from '../../src/common/errors.js';
import { TestCluster } from '../helpers/cluster.js';
import { runCli } from '../helpers/cli_process.js';

const CLI_TIMEOUT_MS = 30_000;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out after ${timeoutMs} ms: ${what}`);
}

function ids(members: QuorumDescription['voters']): number[] {
  return members.map((m) => m.id);
}

async function refused(call: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof TributaryError, `a typed error, not ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

void describe('controller voters added and removed one at a time', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let admin: Admin;

  before(async () => {
    cluster = await TestCluster.start(3);
    await cluster.addBroker(4, '127.0.0.14');
    admin = new Admin({ bootstrap: cluster.bootstrap, requestTimeoutMs: 20_000 });
  });

  after(async () => {
    await admin.close();
    await cluster.stop();
  });

  it('refuses bad changes with typed errors and changes nothing', async () => {
    await waitFor('broker 4 is a controller learner', async () =>
      ids((await admin.describeQuorum()).learners).includes(4), 10_000);
    const before = await admin.describeQuorum();
    assert.deepEqual(ids(before.voters), [1, 2, 3]);
    await refused(admin.addRaftVoter(99), 'BROKER_ID_NOT_REGISTERED');
    await refused(admin.addRaftVoter(2), 'DUPLICATE_VOTER');
    await refused(admin.removeRaftVoter(4), 'VOTER_NOT_FOUND');
    await refused(admin.removeRaftVoter(99), 'VOTER_NOT_FOUND');
    const cli = await runCli(['cluster', 'controllers', 'add', '--id', '99', '--bootstrap', cluster.bootstrap],
      CLI_TIMEOUT_MS);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /BROKER_ID_NOT_REGISTERED/);
    const after = await admin.describeQuorum();
    assert.deepEqual(ids(after.voters), [1, 2, 3]);
    assert.deepEqual(ids(after.learners), [4]);
  });

  let removed = 0;

  it('adds broker 4 as a voter with the CLI', async () => {
    const run = await runCli(['cluster', 'controllers', 'add', '--id', '4', '--bootstrap', cluster.bootstrap],
      CLI_TIMEOUT_MS);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Broker 4 is now a controller voter/);
    const quorum = await admin.describeQuorum();
    assert.deepEqual(ids(quorum.voters), [1, 2, 3, 4]);
    assert.deepEqual(ids(quorum.learners), []);
    const list = await runCli(['cluster', 'controllers', 'list', '--json', '--bootstrap', cluster.bootstrap],
      CLI_TIMEOUT_MS);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as QuorumDescription;
    assert.deepEqual(ids(listed.voters), [1, 2, 3, 4]);
    assert.ok(listed.voters.every((v) => v.live), list.stdout);
  });

  it('removes the voter leading the controller: leadership moves, the metadata still commits', async () => {
    const leader = (await admin.describeQuorum()).leaderId;
    assert.ok([1, 2, 3, 4].includes(leader), `leader ${leader}`);
    removed = leader;
    const run = await runCli(['cluster', 'controllers', 'remove', '--id', String(leader), '--bootstrap',
      cluster.bootstrap], CLI_TIMEOUT_MS);
    assert.equal(run.code, 0, run.stderr);
    const quorum = await admin.describeQuorum();
    assert.notEqual(quorum.leaderId, leader);
    assert.deepEqual(ids(quorum.voters), [1, 2, 3, 4].filter((id) => id !== leader));
    await waitFor(`broker ${leader} is a learner again`, async () =>
      ids((await admin.describeQuorum()).learners).includes(leader), 10_000);
    await admin.createTopic({ name: 'after-remove', partitions: 1, replicationFactor: 3 });
  });

  it('commits with the removed broker killed, which restarts with its stale --voters as a learner', async () => {
    await cluster.kill(removed);
    await admin.close();
    admin = new Admin({ bootstrap: cluster.ids().filter((id) => id !== removed).map((id) => cluster.address(id)),
      requestTimeoutMs: 20_000 });
    await admin.createTopic({ name: 'while-down', partitions: 1, replicationFactor: 3 });
    cluster.restart(removed);
    await cluster.waitUntilRegistered(20_000);
    await waitFor(`restarted broker ${removed} follows the metadata`, async () => {
      const metadata = await cluster.metadata(removed) as { topics?: { name: string }[] } | null;
      return metadata?.topics?.some((t) => t.name === 'while-down') === true;
    }, 15_000);
    const quorum = await admin.describeQuorum();
    assert.deepEqual(ids(quorum.voters), [1, 2, 3, 4].filter((id) => id !== removed));
    await waitFor(`restarted broker ${removed} is a live learner`, async () => {
      const now = await admin.describeQuorum();
      return now.learners.some((l) => l.id === removed && l.live);
    }, 10_000);
  });

  it('registers a fresh broker 5 started with a stale --voters list', async () => {
    // Its --voters names the removed broker (a learner now) and a voter that does not lead: neither
    // proposes its registration, so it reaches the leader only if they relay it.
    const quorum = await admin.describeQuorum();
    const follower = quorum.voters.find((v) => v.id !== quorum.leaderId)?.id;
    assert.ok(follower !== undefined);
    await cluster.addBroker(5, '127.0.0.15', { voters: [removed, follower] });
    await waitFor('broker 5 is a controller learner', async () =>
      ids((await admin.describeQuorum()).learners).includes(5), 10_000);
    await admin.createTopic({ name: 'five', partitions: 5, replicationFactor: 1 });
  });

  it('keeps broker 4 a voter when it restarts with a --voters list that does not name it', async () => {
    if (removed === 4) return; // broker 4 led and was removed: the step above restarted it already
    await cluster.kill(4);
    await admin.createTopic({ name: 'four-down', partitions: 1, replicationFactor: 1 });
    cluster.restart(4);
    await cluster.waitUntilRegistered(20_000);
    await waitFor('broker 4 is a live voter again', async () => {
      const quorum = await admin.describeQuorum();
      return quorum.voters.some((v) => v.id === 4 && v.live && v.entriesBehind === 0);
    }, 15_000);
    assert.deepEqual(ids((await admin.describeQuorum()).voters), [1, 2, 3, 4].filter((id) => id !== removed));
  });

  it('removes voters down to one and refuses to remove the last', async () => {
    for (let round = 0; round < 3; round += 1) {
      const quorum = await admin.describeQuorum();
      if (quorum.voters.length === 1) break;
      const victim = quorum.voters.find((v) => v.id !== quorum.leaderId)?.id ?? quorum.leaderId;
      await admin.removeRaftVoter(victim);
    }
    const quorum = await admin.describeQuorum();
    assert.equal(quorum.voters.length, 1);
    const last = quorum.voters[0]?.id ?? -1;
    await refused(admin.removeRaftVoter(last), 'INVALID_REQUEST');
    assert.deepEqual(ids((await admin.describeQuorum()).voters), [last]);
    await admin.createTopic({ name: 'single-voter', partitions: 1, replicationFactor: 1 });
  });
});
