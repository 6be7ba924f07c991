/**
 * Where `tributary start` takes its settings from, as operators expect: a command-line flag, else
 * the environment variable TRIBUTARY_<FLAG_NAME> (`--raft-listen` is TRIBUTARY_RAFT_LISTEN), else
 * the config file's key of the same name (`--config broker.json`, .yaml or .yml; TRIBUTARY_CONFIG
 * names it too), else the default. Values are checked against the flag's type wherever they come
 * from, and every problem is one ConfigError line naming the flag, variable or key.
 *
 * Variables of the prefix that name no flag are left alone: the test harness's own switches
 * (TRIBUTARY_TEST_*, TRIBUTARY_FUZZ_SEED) share it, and no flag may map onto one of them (asserted).
 * TRIBUTARY_LOG_LEVEL is both: the variable of `--log-level`, and what the other commands read.
 * Keys of the config file that name no flag are an error: a typo there would otherwise be silently
 * ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { assert } from '../../../raft/core/assert.js';
import { ConfigError } from './broker_address.js';

export type SettingValue = number | string | boolean;

export interface SettingSpec {
  readonly type: 'number' | 'string' | 'boolean';
  readonly describe: string;
  /** Absent: the setting has no default (required, or optional with a meaning for "unset"). */
  readonly default?: SettingValue;
  readonly required?: boolean;
}

export type SettingTable = Readonly<Record<string, SettingSpec>>;

/** Variables of the TRIBUTARY_ prefix that are not settings; no flag may be named like them. */
export const RESERVED_ENVIRONMENT = ['TRIBUTARY_CONFIG', 'TRIBUTARY_TEST_POWER_LOSS', 'TRIBUTARY_TEST_FSYNC',
  'TRIBUTARY_TEST_WRITEBACK_MS', 'TRIBUTARY_FUZZ_SEED'] as const;

/** A config file is small; a bigger one is a mistake (a log or a data file named by accident). */
const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

/** `raft-listen` → `TRIBUTARY_RAFT_LISTEN`. */
export function environmentName(flag: string): string {
  return `TRIBUTARY_${flag.toUpperCase().replaceAll('-', '_')}`;
}

export interface ConfigFile {
  readonly path: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** Reads and parses a config file by its extension (.json, .yaml, .yml) into an object. */
export function readConfigFile(file: string): ConfigFile {
  const extension = path.extname(file).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(extension)) {
    throw new ConfigError(`--config ${file}: expected a .json, .yaml or .yml file`);
  }
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new ConfigError(`--config ${file}: not a file`);
    if (stat.size > CONFIG_FILE_BYTES_MAX) throw new ConfigError(`--config ${file}: larger than 1 MiB`);
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`--config ${file}: cannot read it (${code})`);
  }
  return { path: file, values: parseConfigText(file, text, extension === '.json' ? 'json' : 'yaml') };
}

/** The text of a config file as an object of keys to values; anything else is a ConfigError. */
export function parseConfigText(file: string, text: string, format: 'json' | 'yaml'): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = format === 'json' ? JSON.parse(text) : loadYaml(text, { filename: file });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    throw new ConfigError(`--config ${file}: not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${reason}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${file}: expected an object of flag names to values`);
  }
  return parsed as Record<string, unknown>;
}

export interface SettingSources {
  /** What the command line gave (yargs' output, with no defaults applied); other keys are ignored. */
  readonly commandLine: Readonly<Record<string, unknown>>;
  readonly environment: Readonly<Record<string, string | undefined>>;
  readonly file: ConfigFile | null;
}

/**
 * Every setting of table from its sources, by precedence (command line, environment, file,
 * default). A setting with no value and no default is absent from the result unless required,
 * which is an error.
 */
export function resolveSettings(table: SettingTable, sources: SettingSources): Map<string, SettingValue> {
  for (const flag of Object.keys(table)) {
    assert(!(RESERVED_ENVIRONMENT as readonly string[]).includes(environmentName(flag)),
      () => `flag --${flag} would read the reserved variable ${environmentName(flag)}`);
  }
  if (sources.file !== null) {
    for (const key of Object.keys(sources.file.values)) {
      if (!Object.hasOwn(table, key)) {
        throw new ConfigError(`--config ${sources.file.path}: unknown key "${key}" (keys are the flag names of ` +
          'tributary start, such as "raft-listen")');
      }
    }
  }
  const settings = new Map<string, SettingValue>();
  for (const [flag, spec] of Object.entries(table)) {
    const value = fromCommandLine(flag, spec, sources.commandLine) ?? fromEnvironment(flag, spec, sources.environment)
      ?? fromFile(flag, spec, sources.file) ?? spec.default;
    if (value !== undefined) settings.set(flag, value);
    else if (spec.required === true) {
      throw new ConfigError(`--${flag} is required (as a flag, as ${environmentName(flag)} or in --config)`);
    }
  }
  return settings;
}

function fromCommandLine(flag: string, spec: SettingSpec, commandLine: Readonly<Record<string, unknown>>):
  SettingValue | undefined {
  const value = Object.hasOwn(commandLine, flag) ? commandLine[flag] : undefined;
  if (value === undefined) return undefined;
  return checked(value, spec, `--${flag}`);
}

function fromEnvironment(flag: string, spec: SettingSpec, environment: Readonly<Record<string, string | undefined>>):
  SettingValue | undefined {
  const name = environmentName(flag);
  const text = Object.hasOwn(environment, name) ? environment[name] : undefined;
  if (text === undefined || text === '') return undefined;
  switch (spec.type) {
    case 'string':
      return text;
    case 'number': {
      const value = text.trim() === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(value)) throw new ConfigError(`${name}: expected a number, got ${JSON.stringify(text)}`);
      return value;
    }
    case 'boolean':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new ConfigError(`${name}: expected true, false, 1 or 0, got ${JSON.stringify(text)}`);
  }
}

function fromFile(flag: string, spec: SettingSpec, file: ConfigFile | null): SettingValue | undefined {
  if (file === null || !Object.hasOwn(file.values, flag)) return undefined;
  const value = file.values[flag];
  if (value === null || value === undefined) {
    throw new ConfigError(`--config ${file.path}: "${flag}" has no value`);
  }
  return checked(value, spec, `--config ${file.path}: "${flag}"`);
}

/** value when it has the setting's type (a number that is finite); else a ConfigError naming where it came from. */
function checked(value: unknown, spec: SettingSpec, where: string): SettingValue {
  const fits = spec.type === 'number' ? typeof value === 'number' && Number.isFinite(value) : typeof value === spec.type;
  if (!fits) {
    const shown = typeof value === 'number' && !Number.isFinite(value) ? 'something else' : JSON.stringify(value);
    throw new ConfigError(`${where}: expected a ${spec.type}, got ${shown}`);
  }
  return value as SettingValue;
}
