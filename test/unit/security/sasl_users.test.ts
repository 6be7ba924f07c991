/**
 * The users file: `users add`'s writer (upsertSaslUser) adds and updates entries keeping other
 * lines, with mode 0600, and what it writes parses back to credentials that authenticate the
 * password; the parser refuses, in one line naming file and line, every malformed entry; a file
 * readable by others is refused; SaslUserStore reloads a changed file and keeps the users in force
 * when the new text does not parse.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import { SaslUserStore, UsersFileError, formatUserLine, loadSaslUsers, parseSaslUsers, upsertSaslUser }
  from '../../../src/security/sasl_users.js';
import { passwordMatches, scramCredential } from '../../../src/security/scram.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sasl-users-'));
const silent = { info: (): void => undefined, error: (): void => undefined };

void describe('SASL users file', () => {
  after(() => { fs.rmSync(root, { recursive: true, force: true }); });

  void it('adds and updates entries (mode 0600), keeps comments and other users, and parses back', async () => {
    const file = path.join(root, 'users');
    fs.writeFileSync(file, '# the Kafka listener\'s users\n', { mode: 0o600 });
    assert.equal(upsertSaslUser(file, 'alice', await scramCredential('alice-secret', 4096)), 'added');
    assert.equal(upsertSaslUser(file, 'bob', await scramCredential('bob-secret', 8192)), 'added');
    assert.equal(upsertSaslUser(file, 'alice', await scramCredential('alice-new', 4096)), 'updated');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const text = fs.readFileSync(file, 'utf8');
    assert.equal(text.split('\n')[0], '# the Kafka listener\'s users');
    assert.doesNotMatch(text, /secret|alice-new/, 'no password is stored');
    const users = loadSaslUsers(file);
    assert.deepEqual([...users.keys()], ['alice', 'bob']);
    const alice = users.get('alice');
    const bob = users.get('bob');
    assert.ok(alice !== undefined && bob !== undefined);
    assert.equal(await passwordMatches('alice-new', alice), true);
    assert.equal(await passwordMatches('alice-secret', alice), false);
    assert.equal(bob.iterations, 8192);
    assert.equal(await passwordMatches('bob-secret', bob), true);
  });

  void it('refuses malformed entries with one line naming the file and line', async () => {
    const good = formatUserLine('alice', await scramCredential('x', 4096));
    const cases: [string, RegExp][] = [
      [good.replace('SCRAM-SHA-256', 'SCRAM-SHA-512'), /mechanism must be SCRAM-SHA-256/],
      [good.replace('iterations=4096', 'iterations=4095'), /iterations= must be an integer from 4096/],
      [good.replace('iterations=4096', 'iterations=1e9'), /iterations=/],
      [good.replace(/stored-key=\S+/, 'stored-key=AAAA'), /stored-key must be 32 bytes/],
      [good.replace(/salt=\S+/, 'salt=not*base64'), /salt= must be base64/],
      [good.replace(/ server-key=\S+/, ''), /server-key= must be base64/],
      [`${good} colour=blue`, /unknown field/],
      [good.replace('alice', 'User:alice'), /expected "name SCRAM-SHA-256/],
      [`${good}\n${good}`, /alice is listed twice/],
    ];
    for (const [text, expected] of cases) {
      assert.throws(() => parseSaslUsers(`# users\n${text}\n`, 'F'), (error: unknown) => error instanceof UsersFileError
        && expected.test(error.message) && /^users file F line \d+: /.test(error.message) && !error.message.includes('\n'),
      text);
    }
  });

  void it('refuses a users file others may read, and a name that cannot be a principal', async () => {
    const file = path.join(root, 'open');
    fs.writeFileSync(file, '', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    assert.throws(() => loadSaslUsers(file), /readable by others \(mode 644\)/);
    await assert.rejects(async () => { upsertSaslUser(path.join(root, 'x'), 'a,b', await scramCredential('x', 4096)); },
      UsersFileError);
  });

  void it('reloads a changed file, and keeps the users in force when the new text does not parse', async () => {
    const file = path.join(root, 'reloaded');
    upsertSaslUser(file, 'alice', await scramCredential('a', 4096));
    const store = SaslUserStore.load(file, silent);
    assert.equal(store.reloadIfChanged(), false, 'unchanged');
    assert.equal(store.credential('bob'), undefined);
    upsertSaslUser(file, 'bob', await scramCredential('b', 4096));
    assert.equal(store.reloadIfChanged(), true);
    assert.ok(store.credential('bob') !== undefined);
    fs.appendFileSync(file, 'carol SCRAM-SHA-256 nonsense\n');
    assert.equal(store.reloadIfChanged(), false);
    assert.ok(store.credential('alice') !== undefined && store.credential('bob') !== undefined);
    store.stop();
  });
});
