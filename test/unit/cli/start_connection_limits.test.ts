/**
 * Goal: --max-connections, --max-connections-per-ip and --max-connections-per-principal are
 * settings like the others (flag, TRIBUTARY_<FLAG>, --config key), 0 (no limit) by default, and a
 * value that is no whole number of connections is one ConfigError line naming the flag.
 * Method: the real yargs command line parsed without running the broker; a config file in a
 * temporary folder.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { connectionLimits, startSettingsFrom } from '../../../src/cli/commands/start.js';
import { parsedStartArguments } from '../../helpers/start_command_line.js';

void describe('start settings: connection limits', () => {
  void test('no limits by default', async () => {
    assert.deepEqual(connectionLimits(startSettingsFrom(await parsedStartArguments(['start']), {})),
      { maxConnections: 0, maxConnectionsPerAddress: 0, maxConnectionsPerPrincipal: 0 });
  });

  void test('from a flag, a TRIBUTARY_* variable and a --config key, in that order of precedence', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-limits-'));
    try {
      const config = path.join(folder, 'broker.yaml');
      fs.writeFileSync(config, 'max-connections: 1000\nmax-connections-per-ip: 50\nmax-connections-per-principal: 7\n');
      const limits = connectionLimits(startSettingsFrom(await parsedStartArguments(['start', '--config', config,
        '--max-connections-per-principal', '20']), { TRIBUTARY_MAX_CONNECTIONS_PER_IP: '100' }));
      assert.deepEqual(limits, { maxConnections: 1000, maxConnectionsPerAddress: 100, maxConnectionsPerPrincipal: 20 });
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  void test('a negative or fractional limit is a ConfigError naming the flag; a word is refused too', async () => {
    const cases: [string[], RegExp][] = [
      [['--max-connections', '-1'], /^--max-connections must be a whole number of connections \(0: no limit\), got -1$/],
      [['--max-connections-per-ip', '2.5'], /^--max-connections-per-ip must be a whole number of connections/],
      [['--max-connections-per-principal', '1e20'], /^--max-connections-per-principal must be a whole number/],
    ];
    for (const [flags, message] of cases) {
      const settings = startSettingsFrom(await parsedStartArguments(['start', ...flags]), {});
      assert.throws(() => connectionLimits(settings), (error: unknown) => error instanceof ConfigError
        && message.test(error.message), flags.join(' '));
    }
    const plain = await parsedStartArguments(['start']);
    assert.throws(() => startSettingsFrom(plain, { TRIBUTARY_MAX_CONNECTIONS: 'many' }),
      (error: unknown) => error instanceof ConfigError
        && /^TRIBUTARY_MAX_CONNECTIONS: expected a number/.test(error.message));
  });
});
