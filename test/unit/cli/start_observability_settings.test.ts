/**
 * Goal: `tributary start --log-level` and `--metrics-listen` are settings like the others (flag,
 * then TRIBUTARY_<FLAG>, then --config); TRIBUTARY_LOG_LEVEL, which the harness and the other
 * commands already use, is --log-level's variable; a bad level or address is one ConfigError line.
 * Method: the real yargs command line parsed without running the broker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { logLevel, metricsListen, startSettingsFrom } from '../../../src/cli/commands/start.js';
import { parsedStartArguments } from '../../helpers/start_command_line.js';

void describe('start settings: --log-level and --metrics-listen', () => {
  void test('--log-level: the flag, else TRIBUTARY_LOG_LEVEL, else info', async () => {
    assert.equal(logLevel(startSettingsFrom(await parsedStartArguments(['start']), {})), 'info');
    assert.equal(logLevel(startSettingsFrom(await parsedStartArguments(['start']), { TRIBUTARY_LOG_LEVEL: 'warn' })), 'warn');
    assert.equal(logLevel(startSettingsFrom(await parsedStartArguments(['start', '--log-level', 'debug']),
      { TRIBUTARY_LOG_LEVEL: 'warn' })), 'debug');
  });

  void test('--log-level refuses what pino does not know', async () => {
    const settings = startSettingsFrom(await parsedStartArguments(['start', '--log-level', 'loud']), {});
    assert.throws(() => logLevel(settings), (error: unknown) => error instanceof ConfigError
      && /--log-level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"/.test(error.message));
  });

  void test('--metrics-listen: unset means no metrics; host:port, port 0, IPv6; a bad address is refused', async () => {
    assert.equal(metricsListen(startSettingsFrom(await parsedStartArguments(['start']), {})), undefined);
    assert.deepEqual(metricsListen(startSettingsFrom(await parsedStartArguments(['start', '--metrics-listen', '127.0.0.1:9464']), {})),
      { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(metricsListen(startSettingsFrom(await parsedStartArguments(['start']),
      { TRIBUTARY_METRICS_LISTEN: '127.0.0.1:0' })), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(metricsListen(startSettingsFrom(await parsedStartArguments(['start', '--metrics-listen', '[::1]:9464']), {})),
      { host: '::1', port: 9464 });
    const bad = startSettingsFrom(await parsedStartArguments(['start', '--metrics-listen', 'nowhere']), {});
    assert.throws(() => metricsListen(bad), (error: unknown) => error instanceof ConfigError
      && /--metrics-listen: expected host:port, got "nowhere"/.test(error.message));
  });
});
