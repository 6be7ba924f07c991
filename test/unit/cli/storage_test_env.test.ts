/**
 * Goal: the fault harness's storage switches are read from the environment exactly as documented:
 * unset means production storage, TRIBUTARY_TEST_POWER_LOSS=1 and TRIBUTARY_TEST_FSYNC=off turn the
 * modes on, TRIBUTARY_TEST_WRITEBACK_MS defaults to 5000, and anything else is a one-line ConfigError.
 * Method: the parser on literal environments.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../src/cli/commands/broker_address.js';
import { storageTestModeFromEnv } from '../../../src/cli/commands/storage_test_env.js';

void describe('storage test modes from the environment', () => {
  void test('unset or explicitly off means no test mode', () => {
    assert.equal(storageTestModeFromEnv({}), undefined);
    assert.equal(storageTestModeFromEnv({ TRIBUTARY_TEST_POWER_LOSS: '0', TRIBUTARY_TEST_FSYNC: 'on' }), undefined);
    assert.equal(storageTestModeFromEnv({ TRIBUTARY_TEST_POWER_LOSS: '', TRIBUTARY_TEST_FSYNC: '' }), undefined);
  });

  void test('each switch and their combination', () => {
    assert.deepEqual(storageTestModeFromEnv({ TRIBUTARY_TEST_POWER_LOSS: '1' }),
      { powerLoss: true, fsync: true, writebackMs: 5_000 });
    assert.deepEqual(storageTestModeFromEnv({ TRIBUTARY_TEST_FSYNC: 'off' }),
      { powerLoss: false, fsync: false, writebackMs: 5_000 });
    assert.deepEqual(storageTestModeFromEnv({ TRIBUTARY_TEST_POWER_LOSS: '1', TRIBUTARY_TEST_FSYNC: 'off',
      TRIBUTARY_TEST_WRITEBACK_MS: '250' }), { powerLoss: true, fsync: false, writebackMs: 250 });
  });

  void test('bad values are one-line ConfigErrors naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TRIBUTARY_TEST_POWER_LOSS: 'yes' }, /^TRIBUTARY_TEST_POWER_LOSS: expected 0 or 1, got "yes"$/],
      [{ TRIBUTARY_TEST_FSYNC: 'constructor' }, /^TRIBUTARY_TEST_FSYNC: expected on or off, got "constructor"$/],
      [{ TRIBUTARY_TEST_WRITEBACK_MS: '0' }, /^TRIBUTARY_TEST_WRITEBACK_MS: expected a positive integer, got "0"$/],
      [{ TRIBUTARY_TEST_WRITEBACK_MS: '1.5' }, /^TRIBUTARY_TEST_WRITEBACK_MS: expected a positive integer/],
    ];
    for (const [env, expected] of cases) {
      assert.throws(() => storageTestModeFromEnv(env), (error: unknown) => error instanceof ConfigError
        && expected.test(error.message), JSON.stringify(env));
    }
  });
});
