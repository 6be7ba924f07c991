/**
 * The Kafka listener's security at start (kafka_security.ts): SASL without TLS logs one warning that
 * PLAIN passwords cross the network in the clear, SASL with TLS none; the users file is read at
 * start (a bad one stops the start) and its users are looked up by name. `tributary users add`
 * without --password-stdin generates a password, prints it once, and stores only its credential;
 * with an empty standard input it refuses.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';

import { startKafkaSecurity } from '../../../src/kafka/kafka_security.js';
import { UsersFileError, loadSaslUsers, upsertSaslUser } from '../../../src/security/sasl_users.js';
import { passwordMatches, scramCredential } from '../../../src/security/scram.js';
import { runCli } from '../../helpers/cli_process.js';

function capturingLogger(): { logger: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _encoding, done): void {
    chunks.push(chunk.toString());
    done();
  } });
  return { logger: pino({ level: 'info' }, stream),
    lines: () => chunks.join('').split('\n').filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string }) };
}

void describe('Kafka listener security at start', () => {
  let root: string;
  let usersFile: string;
  let tlsFiles: { certFile: string; keyFile: string };
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-security-'));
    usersFile = path.join(root, 'users');
    upsertSaslUser(usersFile, 'alice', await scramCredential('alice-secret', 4096));
    tlsFiles = { certFile: path.join(root, 'c.pem'), keyFile: path.join(root, 'k.pem') };
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tlsFiles.keyFile, '-out',
      tlsFiles.certFile, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'pipe', timeout: 30_000 });
  });
  after(() => { fs.rmSync(root, { recursive: true, force: true }); });

  void it('warns once when SASL runs without TLS, not with it', () => {
    const bare = capturingLogger();
    const withoutTls = startKafkaSecurity({ sasl: { usersFile } }, bare.logger);
    withoutTls.stop();
    const warnings = bare.lines().filter((line) => line.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.msg ?? '', /SASL\/PLAIN is accepted without TLS/);
    assert.ok(withoutTls.sasl?.lookUp('alice') !== undefined && withoutTls.sasl.lookUp('bob') === undefined);
    const secured = capturingLogger();
    const withTls = startKafkaSecurity({ sasl: { usersFile }, tls: tlsFiles }, secured.logger);
    withTls.stop();
    assert.equal(secured.lines().filter((line) => line.level === 40).length, 0);
    assert.ok(withTls.tls !== undefined);
  });

  void it('stops the start on a users file that cannot be used', () => {
    const broken = path.join(root, 'broken');
    fs.writeFileSync(broken, 'alice PLAIN password=x\n', { mode: 0o600 });
    assert.throws(() => startKafkaSecurity({ sasl: { usersFile: broken } }, pino({ level: 'silent' })), UsersFileError);
  });

  void it('`users add` generates and prints a password without --password-stdin, and refuses an empty stdin', async () => {
    const file = path.join(root, 'generated');
    const added = await runCli(['users', 'add', '--file', file, '--name', 'dave'], 30_000);
    assert.equal(added.code, 0, added.stderr);
    const password = /^password: (\S+)$/m.exec(added.stdout)?.[1];
    assert.ok(password !== undefined && password.length >= 20, added.stdout);
    const dave = loadSaslUsers(file).get('dave');
    assert.ok(dave !== undefined);
    assert.equal(await passwordMatches(password, dave), true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(file, 'utf8').includes(password));
    const empty = await runCli(['users', 'add', '--file', file, '--name', 'erin', '--password-stdin'], 30_000, '');
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr, 'tributary users add: --password-stdin: standard input holds no password\n');
  });
});
