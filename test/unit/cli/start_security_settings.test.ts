/**
 * Goal: `tributary start`'s security settings are settings like the others (flag, TRIBUTARY_*
 * variable, --config key): without --key-file the broker is plaintext and the CURVE-only flags are
 * refused rather than ignored; --key-file needs --peer-keys; next to CURVE the Kafka listener needs
 * SASL (--kafka-sasl-users) or --allow-anonymous; --super-users is a list of principals. The Kafka
 * listener's TLS files go together and, like the users file, need --kafka-listen; --allow-anonymous
 * without --key-file is for SASL clients only. Client commands
 * take --key-file and --server-key together or not at all.
 * Method: the real yargs command line parsed without running the broker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { kafkaSecuritySettings, securitySettings, startSettingsFrom, superUsers } from '../../../src/cli/commands/start.js';
import { securityOf, UsageError } from '../../../src/cli/client_common.js';
import { parsedStartArguments } from '../../helpers/start_command_line.js';

void describe('start settings: security', () => {
  void test('plaintext without --key-file; the files from flags or variables with it', async () => {
    assert.equal(securitySettings(startSettingsFrom(await parsedStartArguments(['start']), {})), undefined);
    assert.deepEqual(securitySettings(startSettingsFrom(await parsedStartArguments(['start', '--key-file', 'b1.key', '--peer-keys',
      'peers', '--client-keys', 'clients']), {})),
    { keyFile: 'b1.key', peerKeysFile: 'peers', clientKeysFile: 'clients', allowAnonymous: false });
    assert.deepEqual(securitySettings(startSettingsFrom(await parsedStartArguments(['start']), { TRIBUTARY_KEY_FILE: 'b1.key',
      TRIBUTARY_PEER_KEYS: 'peers', TRIBUTARY_ALLOW_ANONYMOUS: 'true' })),
    { keyFile: 'b1.key', peerKeysFile: 'peers', allowAnonymous: true });
  });

  void test('CURVE-only flags without --key-file, --key-file without --peer-keys, Kafka without anonymous: ConfigErrors',
    async () => {
      const cases: [string[], RegExp][] = [
        [['--peer-keys', 'peers', '--allow-anonymous'], /--peer-keys, --allow-anonymous need --key-file/],
        [['--client-keys', 'clients'], /--client-keys need --key-file/],
        [['--key-file', 'b1.key'], /--key-file needs --peer-keys/],
        [['--key-file', 'b1.key', '--peer-keys', 'peers', '--kafka-listen', '127.0.0.1:29092'],
          /--kafka-listen on a secure broker \(--key-file\) needs --kafka-sasl-users \(or --allow-anonymous/],
      ];
      for (const [flags, message] of cases) {
        const settings = startSettingsFrom(await parsedStartArguments(['start', ...flags]), {});
        assert.throws(() => securitySettings(settings), (error: unknown) => error instanceof ConfigError
          && message.test(error.message), flags.join(' '));
      }
    });

  void test('a secure broker\'s Kafka listener with SASL; --allow-anonymous with SASL alone', async () => {
    const kafka = ['--kafka-listen', '127.0.0.1:29092', '--kafka-sasl-users', 'users'];
    const secure = startSettingsFrom(await parsedStartArguments(['start', '--key-file', 'b1.key', '--peer-keys', 'peers',
      ...kafka]), {});
    assert.deepEqual(securitySettings(secure), { keyFile: 'b1.key', peerKeysFile: 'peers', allowAnonymous: false });
    assert.deepEqual(kafkaSecuritySettings(secure), { sasl: { usersFile: 'users', allowAnonymous: false } });
    const open = startSettingsFrom(await parsedStartArguments(['start', ...kafka, '--allow-anonymous']), {});
    assert.equal(securitySettings(open), undefined);
    assert.deepEqual(kafkaSecuritySettings(open), { sasl: { usersFile: 'users', allowAnonymous: true } });
  });

  void test('Kafka TLS and SASL from flags or variables; both TLS files; --kafka-listen', async () => {
    assert.equal(kafkaSecuritySettings(startSettingsFrom(await parsedStartArguments(['start']), {})), undefined);
    assert.deepEqual(kafkaSecuritySettings(startSettingsFrom(await parsedStartArguments(['start', '--kafka-listen',
      '127.0.0.1:29092']), { TRIBUTARY_KAFKA_TLS_CERT: 'c.pem', TRIBUTARY_KAFKA_TLS_KEY: 'k.pem' })),
    { tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
    const cases: [string[], RegExp][] = [
      [['--kafka-listen', '127.0.0.1:29092', '--kafka-tls-cert', 'c.pem'], /--kafka-tls-cert and --kafka-tls-key go together/],
      [['--kafka-tls-key', 'k.pem'], /go together/],
      [['--kafka-tls-cert', 'c.pem', '--kafka-tls-key', 'k.pem'], /--kafka-tls-cert needs --kafka-listen/],
      [['--kafka-sasl-users', 'users'], /--kafka-sasl-users needs --kafka-listen/],
    ];
    for (const [flags, message] of cases) {
      const settings = startSettingsFrom(await parsedStartArguments(['start', ...flags]), {});
      assert.throws(() => kafkaSecuritySettings(settings), (error: unknown) => error instanceof ConfigError
        && message.test(error.message), flags.join(' '));
    }
  });

  void test('--super-users: principals, comma-separated', async () => {
    assert.deepEqual(superUsers(startSettingsFrom(await parsedStartArguments(['start']), {})), []);
    assert.deepEqual(superUsers(startSettingsFrom(await parsedStartArguments(['start', '--super-users', 'User:admin, Broker:2']), {})),
      ['User:admin', 'Broker:2']);
    const bad = startSettingsFrom(await parsedStartArguments(['start', '--super-users', 'admin']), {});
    assert.throws(() => superUsers(bad), /--super-users: "admin" is not a principal/);
  });
});

void describe('client commands: --key-file and --server-key', () => {
  void test('both or neither', () => {
    assert.deepEqual(securityOf({ bootstrap: 'b:1' }), {});
    assert.deepEqual(securityOf({ bootstrap: 'b:1', 'key-file': 'c.key', 'server-key': 'peers' }),
      { security: { keyFile: 'c.key', serverKey: 'peers' } });
    assert.throws(() => securityOf({ bootstrap: 'b:1', 'key-file': 'c.key' }),
      (error: unknown) => error instanceof UsageError && /--key-file needs --server-key/.test(error.message));
    assert.throws(() => securityOf({ bootstrap: 'b:1', 'server-key': 'peers' }), /--server-key needs --key-file/);
  });
});
