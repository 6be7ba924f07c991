/**
 * Goal: `tributary start --kafka-listen` and `--kafka-advertise` are settings like the others (flag,
 * TRIBUTARY_KAFKA_LISTEN, --config key); the advertised address defaults to the bound one, an
 * address nobody can dial is never advertised, and --kafka-advertise alone is refused.
 * Method: the real yargs command line parsed without running the broker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { kafkaAddresses, startSettingsFrom } from '../../../src/cli/commands/start.js';
import { parsedStartArguments } from '../../helpers/start_command_line.js';

void describe('start settings: --kafka-listen and --kafka-advertise', () => {
  void test('none unless --kafka-listen; the advertised address defaults to the bound one', async () => {
    assert.equal(kafkaAddresses(startSettingsFrom(await parsedStartArguments(['start']), {})), undefined);
    assert.deepEqual(kafkaAddresses(startSettingsFrom(await parsedStartArguments(['start', '--kafka-listen', '127.0.0.1:29092']), {})),
      { kafkaListen: { host: '127.0.0.1', port: 29092 }, kafkaAdvertise: { host: '127.0.0.1', port: 29092 } });
    assert.deepEqual(kafkaAddresses(startSettingsFrom(await parsedStartArguments(['start']),
      { TRIBUTARY_KAFKA_LISTEN: '0.0.0.0:9092', TRIBUTARY_KAFKA_ADVERTISE: 'kafka1.example.com:9092' })),
    { kafkaListen: { host: '0.0.0.0', port: 9092 }, kafkaAdvertise: { host: 'kafka1.example.com', port: 9092 } });
  });

  void test('an undialable advertised address, a bad address and --kafka-advertise alone are ConfigErrors', async () => {
    const cases: [string[], RegExp][] = [
      [['--kafka-listen', '0.0.0.0:9092'], /binds every address; clients cannot dial it: give --kafka-advertise/],
      [['--kafka-listen', 'nonsense'], /--kafka-listen: expected host:port/],
      [['--kafka-advertise', 'kafka1.example.com:9092'], /--kafka-advertise needs --kafka-listen/],
    ];
    for (const [flags, message] of cases) {
      const settings = startSettingsFrom(await parsedStartArguments(['start', ...flags]), {});
      assert.throws(() => kafkaAddresses(settings), (error: unknown) => error instanceof ConfigError
        && message.test(error.message), flags.join(' '));
    }
  });
});
