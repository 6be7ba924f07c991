/**
 * `tributary acl add|list|remove` end to end: three real broker processes started with
 * `--authorize --super-users User:ANONYMOUS` (every connection is anonymous until authentication
 * lands, so the command line is the super user here) and the built command line as a child
 * process. A binding added through one broker is listed by every broker (replicated through the
 * controller); `--json` lists it as the model has it; bad flags fail with one typed line and exit
 * 1 without changing anything; remove takes exactly the binding named; a topic can still be
 * created and described by the super user with the authorizer on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runCli } from '../helpers/cli_process.js';
import type { CliRun } from '../helpers/cli_process.js';
import { TestCluster } from '../helpers/cluster.js';

const CLI_TIMEOUT_MS = 30_000;

interface ListedBinding {
  readonly principal: string;
  readonly host: string;
  readonly operation: string;
  readonly permission: string;
  readonly resourceType: string;
  readonly patternType: string;
  readonly resourceName: string;
}

void describe('tributary acl (real brokers, --authorize)', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start(3, ['--authorize', '--super-users', 'User:ANONYMOUS']);
  });
  after(async () => { await cluster.stop(); });

  const acl = (args: readonly string[], bootstrap = cluster.bootstrap): Promise<CliRun> =>
    runCli(['acl', ...args, '--bootstrap', bootstrap], CLI_TIMEOUT_MS);
  const listed = async (bootstrap: string): Promise<ListedBinding[]> => {
    const run = await acl(['list', '--json'], bootstrap);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as ListedBinding[];
  };

  void it('adds, lists on every broker, refuses bad input in one line, removes', async () => {
    const added = await acl(['add', '--principal', 'User:alice', '--operation', 'write', '--topic', 'orders.',
      '--prefixed']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, 'Added: ALLOW User:alice from * WRITE topic orders. (prefix)\n');
    const deny = await acl(['add', '--principal', 'User:bob', '--operation', 'read', '--group', 'billing', '--deny',
      '--host', '10.0.0.9']);
    assert.equal(deny.code, 0, deny.stderr);

    const expected: ListedBinding[] = [
      { principal: 'User:bob', host: '10.0.0.9', operation: 'READ', permission: 'DENY', resourceType: 'GROUP',
        patternType: 'LITERAL', resourceName: 'billing' },
      { principal: 'User:alice', host: '*', operation: 'WRITE', permission: 'ALLOW', resourceType: 'TOPIC',
        patternType: 'PREFIXED', resourceName: 'orders.' },
    ];
    for (const id of [1, 2, 3]) {
      // Each broker answers from its own metadata replica: it may be a moment behind the one that applied.
      let seen = await listed(cluster.address(id));
      for (let attempt = 0; attempt < 20 && seen.length < 2; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        seen = await listed(cluster.address(id));
      }
      assert.deepEqual(seen, expected, `broker ${id} lists both bindings`);
    }
    const text = await acl(['list', '--principal', 'User:alice']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'topic\torders.\tPREFIXED\tUser:alice\t*\tWRITE\tALLOW\n');

    const badRuns = [
      await acl(['add', '--principal', 'alice', '--operation', 'write', '--topic', 'x']),
      await acl(['add', '--principal', 'User:alice', '--operation', 'fly', '--topic', 'x']),
      await acl(['add', '--principal', 'User:alice', '--operation', 'read', '--topic', 'x', '--group', 'g']),
      await acl(['add', '--principal', 'User:alice', '--operation', 'write', '--group', 'g']),
      await acl(['add', '--principal', 'User:alice', '--operation', 'read', '--topic', 'x', '--host', 'somewhere']),
    ];
    for (const run of badRuns) {
      assert.equal(run.code, 1, run.stdout);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^tributary acl add: .*\(INVALID_REQUEST\)\n$/);
    }
    assert.match(badRuns[3]?.stderr ?? '', /WRITE does not apply to a group/);
    assert.equal((await listed(cluster.bootstrap)).length, 2, 'bad input changed nothing');

    const removed = await acl(['remove', '--principal', 'User:alice', '--operation', 'write', '--topic', 'orders.',
      '--prefixed']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'Removed: ALLOW User:alice from * WRITE topic orders. (prefix)\n');
    const again = await acl(['remove', '--principal', 'User:alice', '--operation', 'write', '--topic', 'orders.',
      '--prefixed']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^No such binding/);
    assert.deepEqual(await listed(cluster.bootstrap), [expected[0]]);

    // The super user is not held back by the authorizer.
    const created = await runCli(['topics', 'create', 'orders.eu', '--partitions', '1', '--replication-factor', '3',
      '--bootstrap', cluster.bootstrap], CLI_TIMEOUT_MS);
    assert.equal(created.code, 0, created.stderr);
    const described = await runCli(['topics', 'describe', 'orders.eu', '--bootstrap', cluster.bootstrap],
      CLI_TIMEOUT_MS);
    assert.equal(described.code, 0, described.stderr);
  });
});
