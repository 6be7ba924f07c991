/**
 * ACLs with two real principals (issue 16's "Done when"): three brokers with CURVE keys (a secure
 * TestCluster: `--key-file --peer-keys --client-keys --super-users User:admin`; a secure broker
 * authorizes every request), User:admin and User:alice, each a client with its own key pair
 * (`--key-file --server-key`), all through the command line as child processes:
 * - without an ACL alice's produce fails (idempotent: InitProducerId with CLUSTER_AUTHORIZATION_FAILED,
 *   as Kafka's; acks=1: TOPIC_AUTHORIZATION_FAILED), her consume with TOPIC_AUTHORIZATION_FAILED, and
 *   her `acl add` with CLUSTER_AUTHORIZATION_FAILED;
 * - admin's prefixed ALLOW (write, read on `orders.`) lets her produce and read back on orders.eu;
 * - once admin removes the write, alice's next produce is refused (the removal is answered once
 *   applied; a command line starts in about half a second, well within the second the issue allows).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runCli } from '../helpers/cli_process.js';
import type { CliRun } from '../helpers/cli_process.js';
import type { ClusterKeyFiles } from '../../src/security/cluster_keys.js';
import { TestCluster } from '../helpers/cluster.js';

const CLI_TIMEOUT_MS = 30_000;

void describe('ACLs with authenticated principals (CURVE keys, real brokers)', { timeout: 240_000 }, () => {
  let cluster: TestCluster;
  let keys: ClusterKeyFiles;

  before(async () => {
    // Keys for the brokers, User:admin (a super user) and User:alice; a secure broker authorizes.
    cluster = await TestCluster.startWith(3, { secure: true, secureUsers: ['alice'] });
    assert.ok(cluster.keys !== null);
    keys = cluster.keys;
  });
  after(async () => {
    await cluster.stop();
  });

  const keyOf = (user: string): string => {
    const file = keys.userKeyFiles.get(user);
    assert.ok(file !== undefined, `a key for ${user}`);
    return file;
  };
  const as = (user: string, args: readonly string[]): string[] =>
    [...args, '--key-file', keyOf(user), '--server-key', keys.peerKeys, '--bootstrap', cluster.bootstrap];
  const cli = (user: string, args: readonly string[]): Promise<CliRun> => runCli(as(user, args), CLI_TIMEOUT_MS);
  const produce = (user: string, lines: readonly string[], extra: readonly string[] = []): Promise<CliRun> =>
    runCli(as(user, ['produce', 'orders.eu', '--timeout', '5', ...extra]), CLI_TIMEOUT_MS, `${lines.join('\n')}\n`);
  const consume = (user: string, count: number): Promise<CliRun> =>
    cli(user, ['consume', 'orders.eu', '--from-beginning', '--max-messages', String(count), '--timeout-ms', '5000']);
  const aliceTopicAcl = (action: 'add' | 'remove', operation: string): Promise<CliRun> =>
    cli('admin', ['acl', action, '--principal', 'User:alice', '--operation', operation, '--topic', 'orders.',
      '--prefixed']);

  void it('alice is refused without an ACL, let through by a prefixed ALLOW, refused again once it is removed',
    async () => {
      const created = await cli('admin', ['topics', 'create', 'orders.eu', '--partitions', '1',
        '--replication-factor', '3']);
      assert.equal(created.code, 0, created.stderr);
      const seeded = await produce('admin', ['from admin']);
      assert.equal(seeded.code, 0, seeded.stderr);

      // acks=all is idempotent: InitProducerId needs WRITE on some topic (or IDEMPOTENT_WRITE), as in Kafka.
      const refused = await produce('alice', ['one']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /InitProducerId \(CLUSTER_AUTHORIZATION_FAILED\)/);
      const refusedAcks1 = await produce('alice', ['one'], ['--acks', '1']);
      assert.equal(refusedAcks1.code, 1);
      assert.match(refusedAcks1.stderr, /TOPIC_AUTHORIZATION_FAILED/);
      const unread = await consume('alice', 1);
      assert.equal(unread.code, 1);
      assert.match(unread.stderr, /TOPIC_AUTHORIZATION_FAILED/);
      const selfGrant = await cli('alice', ['acl', 'add', '--principal', 'User:alice', '--operation', 'all',
        '--topic', '*']);
      assert.equal(selfGrant.code, 1);
      assert.match(selfGrant.stderr, /CLUSTER_AUTHORIZATION_FAILED/);

      for (const operation of ['write', 'read']) {
        const granted = await aliceTopicAcl('add', operation);
        assert.equal(granted.code, 0, granted.stderr);
      }
      const sent = await produce('alice', ['one', 'two']);
      assert.equal(sent.code, 0, sent.stderr);
      const read = await consume('alice', 3);
      assert.equal(read.code, 0, read.stderr);
      assert.equal(read.stdout, 'from admin\none\ntwo\n');

      const revoked = await aliceTopicAcl('remove', 'write');
      assert.equal(revoked.code, 0, revoked.stderr);
      const startedMs = Date.now();
      const refusedAgain = await produce('alice', ['three'], ['--acks', '1']);
      assert.equal(refusedAgain.code, 1, 'the first produce after the removal is refused');
      assert.match(refusedAgain.stderr, /TOPIC_AUTHORIZATION_FAILED/);
      process.stdout.write(`# refused ${Date.now() - startedMs} ms after the removal was answered ` +
        '(a command line start included)\n');
      const stillReads = await consume('alice', 3);
      assert.equal(stillReads.code, 0, stillReads.stderr);
    });
});
