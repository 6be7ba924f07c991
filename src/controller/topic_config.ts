/**
 * Topic configuration: the keys Tributary honours, their Kafka defaults and ranges, and parsing of
 * the string map a client sends (CreateTopics, AlterConfigs, `--config key=value`).
 *
 * A topic stores only the keys set on it (as strings, like Kafka's ConfigResource); the effective
 * value of any other key is its default. -1 means "no limit" where Kafka allows it (retention.ms,
 * retention.bytes). An unknown key or a value that is not an integer in range is INVALID_CONFIG,
 * returned as a value so the controller can answer the client without throwing.
 */
import { TributaryError } from '../common/errors.js';

export interface TopicConfig {
  /** How long a closed segment is kept, or -1 to keep it forever. */
  readonly retentionMs: number;
  /** The partition size beyond which whole closed segments are deleted, or -1 for no limit. */
  readonly retentionBytes: number;
  /** A segment rolls when it reaches this size. */
  readonly segmentBytes: number;
  /** A segment rolls when its first entry is this old. */
  readonly segmentMs: number;
  /** The largest record batch a producer may send. */
  readonly maxMessageBytes: number;
}

interface KeySpec {
  readonly field: keyof TopicConfig;
  readonly defaultValue: number;
  readonly min: number;
  readonly max: number;
}

const INT32_MAX = 2 ** 31 - 1;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Kafka's topic-level names, defaults and validators (LogConfig / TopicConfig). */
const KEY_SPECS = {
  'retention.ms': { field: 'retentionMs', defaultValue: 7 * DAY_MS, min: -1, max: Number.MAX_SAFE_INTEGER },
  'retention.bytes': { field: 'retentionBytes', defaultValue: -1, min: -1, max: Number.MAX_SAFE_INTEGER },
  // Kafka's floor is one legacy record overhead (14 bytes); small values are useful in tests.
  'segment.bytes': { field: 'segmentBytes', defaultValue: 1024 * 1024 * 1024, min: 14, max: INT32_MAX },
  'segment.ms': { field: 'segmentMs', defaultValue: 7 * DAY_MS, min: 1, max: Number.MAX_SAFE_INTEGER },
  // 1 MiB plus the 12 bytes of a batch's offset and length fields, as in Kafka.
  'max.message.bytes': { field: 'maxMessageBytes', defaultValue: 1024 * 1024 + 12, min: 0, max: INT32_MAX },
} as const satisfies Record<string, KeySpec>;

export type TopicConfigKey = keyof typeof KEY_SPECS;

export const TOPIC_CONFIG_KEYS: readonly TopicConfigKey[] = Object.keys(KEY_SPECS) as TopicConfigKey[];

export const TOPIC_CONFIG_DEFAULTS: TopicConfig = {
  retentionMs: KEY_SPECS['retention.ms'].defaultValue,
  retentionBytes: KEY_SPECS['retention.bytes'].defaultValue,
  segmentBytes: KEY_SPECS['segment.bytes'].defaultValue,
  segmentMs: KEY_SPECS['segment.ms'].defaultValue,
  maxMessageBytes: KEY_SPECS['max.message.bytes'].defaultValue,
};

/** At most this many keys in one request, so a config map cannot grow without bound. */
export const TOPIC_CONFIG_ENTRIES_MAX = 64;

export class InvalidConfigError extends TributaryError<'INVALID_CONFIG'> {
  override readonly name = 'InvalidConfigError';
  constructor(
    readonly key: string,
    readonly value: string | null,
    detail: string,
  ) {
    super('INVALID_CONFIG', `Invalid topic config ${key}${value === null ? '' : `=${value}`}: ${detail}`);
  }
}

export type TopicConfigResult =
  | { readonly ok: true; readonly config: TopicConfig }
  | { readonly ok: false; readonly error: InvalidConfigError };

export function isTopicConfigKey(key: string): key is TopicConfigKey {
  return Object.hasOwn(KEY_SPECS, key);
}

/** The effective config of a topic whose stored overrides are raw: defaults plus checked overrides. */
export function parseTopicConfig(raw: Readonly<Record<string, string>>): TopicConfigResult {
  const entries = Object.entries(raw);
  if (entries.length > TOPIC_CONFIG_ENTRIES_MAX) {
    const error = new InvalidConfigError('*', null, `more than ${TOPIC_CONFIG_ENTRIES_MAX} entries`);
    return { ok: false, error };
  }
  const config: Record<keyof TopicConfig, number> = { ...TOPIC_CONFIG_DEFAULTS };
  for (const [key, value] of entries) {
    const parsed = parseConfigValue(key, value);
    if (parsed instanceof InvalidConfigError) {
      return { ok: false, error: parsed };
    }
    config[KEY_SPECS[parsed.key].field] = parsed.value;
  }
  return { ok: true, config };
}

/** The error in raw, or null when every entry is a known key with a value in range. */
export function validateTopicConfig(raw: Readonly<Record<string, string>>): InvalidConfigError | null {
  const result = parseTopicConfig(raw);
  return result.ok ? null : result.error;
}

/** One key and value checked against Kafka's range for the key. */
export function parseConfigValue(
  key: string,
  value: string,
): { readonly key: TopicConfigKey; readonly value: number } | InvalidConfigError {
  if (!isTopicConfigKey(key)) {
    return new InvalidConfigError(key, value, `unknown topic config; known: ${TOPIC_CONFIG_KEYS.join(', ')}`);
  }
  const spec: KeySpec = KEY_SPECS[key];
  const text = value.trim();
  if (!/^-?\d{1,16}$/.test(text)) {
    return new InvalidConfigError(key, value, 'not an integer');
  }
  const number = Number(text);
  if (!Number.isSafeInteger(number) || number < spec.min || number > spec.max) {
    return new InvalidConfigError(key, value, `must be in [${spec.min}, ${spec.max}]`);
  }
  return { key, value: number };
}

/** Every key with its effective value as a string, for DescribeConfigs-style answers. */
export function describeTopicConfig(config: TopicConfig): Readonly<Record<TopicConfigKey, string>> {
  const entries = TOPIC_CONFIG_KEYS.map((key) => [key, String(config[KEY_SPECS[key].field])] as const);
  return Object.fromEntries(entries) as Record<TopicConfigKey, string>;
}
