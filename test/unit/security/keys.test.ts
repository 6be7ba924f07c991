/**
 * Key files (src/security/keys.ts): a generated pair round-trips with mode 0600 and is never
 * overwritten; every malformed file is refused with a one-line KeyFileError naming the file and
 * line; --server-key takes a single key or per-broker lines.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { KeyFileError, generateKeyPair, loadClientKeys, loadKeyPair, loadPeerKeys, loadServerKeys, writeKeyPair }
  from '../../../src/security/keys.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-keys-'));
after(() => { fs.rmSync(directory, { recursive: true, force: true }); });

let files = 0;
function file(text: string, mode = 0o600): string {
  files += 1;
  const name = path.join(directory, `file-${files}`);
  fs.writeFileSync(name, text, { mode });
  fs.chmodSync(name, mode);
  return name;
}

function refused(action: () => unknown, pattern: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof KeyFileError, `a KeyFileError, not ${String(error)}`);
    assert.equal(error.code, 'INVALID_CONFIG');
    assert.ok(!error.message.includes('\n'), 'one line');
    assert.match(error.message, pattern);
    return true;
  });
}

void describe('key pair files', () => {
  void test('generate writes PREFIX.key (0600, loads the pair) and PREFIX.pub (the public key)', () => {
    const pair = generateKeyPair();
    const written = writeKeyPair(path.join(directory, 'broker-1'), pair);
    assert.equal(fs.statSync(written.secretPath).mode & 0o777, 0o600);
    assert.deepEqual(loadKeyPair(written.secretPath), pair);
    assert.equal(fs.readFileSync(written.publicPath, 'utf8').trim(), pair.publicKey);
    assert.deepEqual(loadServerKeys(written.publicPath), { single: pair.publicKey, byBroker: new Map() });
  });

  void test('generate refuses to overwrite either file and writes nothing then', () => {
    const prefix = path.join(directory, 'taken');
    const first = generateKeyPair();
    writeKeyPair(prefix, first);
    refused(() => writeKeyPair(prefix, generateKeyPair()), /taken\.key exists; not overwriting/);
    assert.deepEqual(loadKeyPair(`${prefix}.key`), first, 'the first pair is intact');
    const onlyPub = path.join(directory, 'only-pub');
    fs.writeFileSync(`${onlyPub}.pub`, 'x\n');
    refused(() => writeKeyPair(onlyPub, generateKeyPair()), /only-pub\.pub exists/);
    assert.equal(fs.existsSync(`${onlyPub}.key`), false);
  });

  void test('a key file others can read is refused, saying how to fix it', () => {
    const pair = generateKeyPair();
    const loose = file(`public-key ${pair.publicKey}\nsecret-key ${pair.secretKey}\n`, 0o644);
    refused(() => loadKeyPair(loose), /readable by others \(mode 644\); run chmod 600/);
  });

  void test('malformed key files are refused with the line', () => {
    const pair = generateKeyPair();
    const other = generateKeyPair();
    refused(() => loadKeyPair(path.join(directory, 'missing.key')), /missing\.key: ENOENT/);
    refused(() => loadKeyPair(file(`${pair.publicKey}\n`)), /holds a public key only \(a \.pub file\)/);
    refused(() => loadKeyPair(file(`public-key ${pair.publicKey}\n`)), /needs both a public-key and a secret-key line/);
    refused(() => loadKeyPair(file(`public-key ${pair.publicKey}\nsecret-key short\n`)), /line 2: "short" is not/);
    refused(() => loadKeyPair(file(`public-key ${pair.publicKey}\nkey ${pair.secretKey}\n`)), /line 2: expected/);
    refused(() => loadKeyPair(file(`public-key ${other.publicKey}\nsecret-key ${pair.secretKey}\n`)),
      /the public key is not the secret key's/);
  });
});

void describe('key lists', () => {
  const a = generateKeyPair().publicKey;
  const b = generateKeyPair().publicKey;

  void test('peer keys: brokerId publicKey, comments and blank lines skipped', () => {
    assert.deepEqual(loadPeerKeys(file(`# brokers\n1 ${a}\n\n  2   ${b}  \n`)), new Map([[1, a], [2, b]]));
    refused(() => loadPeerKeys(file(`1 ${a}\n1 ${b}\n`)), /line 2: broker 1 is listed twice/);
    refused(() => loadPeerKeys(file(`1 ${a}\n2 ${a}\n`)), /brokers 1 and 2 have the same key/);
    refused(() => loadPeerKeys(file(`one ${a}\n`)), /line 1: expected "brokerId publicKey"/);
    refused(() => loadPeerKeys(file(`0 ${a}\n`)), /line 1: expected "brokerId publicKey"/);
  });

  void test('client keys: User:name publicKey', () => {
    assert.deepEqual(loadClientKeys(file(`User:alice ${a}\nUser:bob ${b}\n`)), new Map([[a, 'User:alice'], [b, 'User:bob']]));
    refused(() => loadClientKeys(file(`alice ${a}\n`)), /line 1: expected "User:name publicKey"/);
    refused(() => loadClientKeys(file(`User:alice ${a}\nUser:bob ${a}\n`)), /line 2: the key is User:alice's already/);
  });

  void test('server keys: one key, or one per broker', () => {
    assert.deepEqual(loadServerKeys(file(`1 ${a}\n2 ${b}\n`)), { single: null, byBroker: new Map([[1, a], [2, b]]) });
    refused(() => loadServerKeys(file('# nothing\n')), /holds no key/);
  });
});
