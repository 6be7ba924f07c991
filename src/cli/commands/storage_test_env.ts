/**
 * Reads the fault harness's test-only storage switches from the environment (never set in
 * production): TRIBUTARY_TEST_POWER_LOSS=1, TRIBUTARY_TEST_FSYNC=off and TRIBUTARY_TEST_WRITEBACK_MS
 * (default 5000). Undefined when neither mode is on. A bad value is a one-line ConfigError.
 */
import type { StorageTestMode } from '../../broker/storage_test_mode.js';
import { ConfigError } from './broker_address.js';

const WRITEBACK_MS_DEFAULT = 5_000;

export function storageTestModeFromEnv(env: Readonly<Record<string, string | undefined>>):
  StorageTestMode | undefined {
  const powerLoss = flag(env, 'TRIBUTARY_TEST_POWER_LOSS', { '1': true, '0': false }, false);
  const fsync = flag(env, 'TRIBUTARY_TEST_FSYNC', { on: true, off: false }, true);
  const writebackText = env.TRIBUTARY_TEST_WRITEBACK_MS;
  const writebackMs = writebackText === undefined || writebackText === '' ? WRITEBACK_MS_DEFAULT : Number(writebackText);
  if (!Number.isSafeInteger(writebackMs) || writebackMs < 1) {
    throw new ConfigError(`TRIBUTARY_TEST_WRITEBACK_MS: expected a positive integer, got ${JSON.stringify(writebackText)}`);
  }
  if (!powerLoss && fsync) return undefined;
  return { powerLoss, fsync, writebackMs };
}

function flag(env: Readonly<Record<string, string | undefined>>, name: string, values: Record<string, boolean>,
  unset: boolean): boolean {
  const text = env[name];
  if (text === undefined || text === '') return unset;
  const value = Object.hasOwn(values, text) ? values[text] : undefined;
  if (value === undefined) {
    throw new ConfigError(`${name}: expected ${Object.keys(values).join(' or ')}, got ${JSON.stringify(text)}`);
  }
  return value;
}
