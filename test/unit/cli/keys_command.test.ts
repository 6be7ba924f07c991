/**
 * Goal: `tributary keys generate --out PREFIX` (the command-line contract) writes PREFIX.key
 * with mode 0600 and PREFIX.pub, prints the public key, and run again refuses with one line on
 * stderr and exit code 1, leaving the first pair intact.
 * Method: the built command line as a child process, in a temporary folder.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { loadKeyPair } from '../../../src/security/keys.js';
import { runCli } from '../../helpers/cli_process.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-keys-cli-'));
after(() => { fs.rmSync(directory, { recursive: true, force: true }); });

void describe('tributary keys generate', () => {
  void test('writes a 0600 key file and a public key file, then refuses to overwrite them', { timeout: 30_000 },
    async () => {
      const prefix = path.join(directory, 'broker-1');
      const first = await runCli(['keys', 'generate', '--out', prefix], 15_000);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(fs.statSync(`${prefix}.key`).mode & 0o777, 0o600);
      const pair = loadKeyPair(`${prefix}.key`);
      assert.equal(fs.readFileSync(`${prefix}.pub`, 'utf8'), `${pair.publicKey}\n`);
      assert.ok(first.stdout.includes(`public key: ${pair.publicKey}`), first.stdout);

      const again = await runCli(['keys', 'generate', '--out', prefix], 15_000);
      assert.equal(again.code, 1);
      assert.equal(again.stderr, `tributary keys generate: ${prefix}.key exists; not overwriting it (remove it first)\n`);
      assert.deepEqual(loadKeyPair(`${prefix}.key`), pair, 'the first pair is intact');
    });
});
