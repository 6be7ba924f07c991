/**
 * The Kafka listener's TLS files are checked at start: a missing file, a file that is not PEM of the
 * right kind, or a key that is not the certificate's is one line naming the flag and file (a
 * TlsFileError, INVALID_CONFIG), and `tributary start` exits 1 with that line before opening
 * anything. A certificate and its key load. Certificates are made by the openssl CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TlsFileError, loadKafkaTls } from '../../../src/kafka/kafka_tls.js';
import { runCli } from '../../helpers/cli_process.js';

function makeCertificate(directory: string, name: string): { certFile: string; keyFile: string } {
  const certFile = path.join(directory, `${name}.crt`);
  const keyFile = path.join(directory, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'pipe', timeout: 30_000 });
  return { certFile, keyFile };
}

void describe('Kafka listener TLS files', () => {
  let root: string;
  let first: { certFile: string; keyFile: string };
  let second: { certFile: string; keyFile: string };
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-tls-'));
    first = makeCertificate(root, 'first');
    second = makeCertificate(root, 'second');
  });
  after(() => { fs.rmSync(root, { recursive: true, force: true }); });

  void it('loads a certificate with its key', () => {
    const loaded = loadKafkaTls(first);
    assert.match(loaded.cert.toString(), /BEGIN CERTIFICATE/);
    assert.match(loaded.key.toString(), /PRIVATE KEY/);
  });

  void it('refuses a missing file, a file of the wrong kind and another certificate\'s key, in one line', () => {
    const wrongKind = /: not a PEM file of the right kind$/;
    const cases: [{ certFile: string; keyFile: string }, RegExp][] = [
      [{ certFile: path.join(root, 'missing.crt'), keyFile: first.keyFile }, /^--kafka-tls-cert \S+missing.crt: ENOENT/],
      [{ certFile: first.keyFile, keyFile: first.keyFile }, new RegExp(`^--kafka-tls-cert \\S+${wrongKind.source}`)],
      [{ certFile: first.certFile, keyFile: first.certFile }, new RegExp(`^--kafka-tls-key \\S+${wrongKind.source}`)],
      [{ certFile: first.certFile, keyFile: second.keyFile },
        /^--kafka-tls-cert \S+ with --kafka-tls-key \S+: .*mismatch/],
    ];
    for (const [files, message] of cases) {
      assert.throws(() => loadKafkaTls(files), (error: unknown) => error instanceof TlsFileError
        && error.wireCode === 40 && message.test(error.message) && !error.message.includes('\n'),
      JSON.stringify(files));
    }
  });

  void it('stops `tributary start` with that one line', async () => {
    const run = await runCli(['start', '--id', '1', '--data', path.join(root, 'data'), '--listen', '127.0.0.1:1',
      '--raft-listen', '127.0.0.1:2', '--voters', '1@127.0.0.1:2', '--kafka-listen', '127.0.0.1:3',
      '--kafka-tls-cert', first.certFile, '--kafka-tls-key', second.keyFile], 30_000);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^tributary start: --kafka-tls-cert \S+ with --kafka-tls-key \S+: .*mismatch\n$/);
  });
});
