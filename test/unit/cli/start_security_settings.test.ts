/**
 * Goal: `tributary start`'s security settings are settings like the others (flag, TRIBUTARY_*
 * variable, --config key): without --key-file the broker is plaintext and the CURVE-only flags are
 * refused rather than ignored; --key-file needs --peer-keys; the unauthenticated Kafka listener
 * needs --allow-anonymous next to CURVE; --super-users is a list of principals. Client commands
 * take --key-file and --server-key together or not at all.
 * Method: the real yargs command line parsed without running the broker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { securitySettings, startSettingsFrom, superUsers } from '../../../src/cli/commands/start.js';
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
          /--kafka-listen has no authentication yet: with --key-file it needs --allow-anonymous/],
      ];
      for (const [flags, message] of cases) {
        const settings = startSettingsFrom(await parsedStartArguments(['start', ...flags]), {});
        assert.throws(() => securitySettings(settings), (error: unknown) => error instanceof ConfigError
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
