/**
 * Goal: topic names follow Kafka's rules and topic configs follow Kafka's names, defaults and
 * ranges, with INVALID_CONFIG as a typed value. Method: boundary values for each key and name rule.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  describeTopicConfig,
  InvalidConfigError,
  parseTopicConfig,
  TOPIC_CONFIG_DEFAULTS,
  TOPIC_CONFIG_ENTRIES_MAX,
  validateTopicConfig,
} from '../../../src/controller/topic_config.js';
import { isValidTopicName, TOPIC_NAME_LENGTH_MAX, topicNameProblem } from '../../../src/controller/topic_name.js';

void describe('topic names', () => {
  void test('Kafka\'s legal names', () => {
    for (const name of ['a', 'orders', 'Orders.v2', 'a-b_c.d', '0', '...', '.a', 'x'.repeat(TOPIC_NAME_LENGTH_MAX)]) {
      assert.ok(isValidTopicName(name), name);
    }
  });

  void test('illegal names', () => {
    for (const name of ['', '.', '..', 'a b', 'a/b', 'é', 'a\n', 'x'.repeat(TOPIC_NAME_LENGTH_MAX + 1), 'a:b', '*']) {
      assert.notEqual(topicNameProblem(name), null, JSON.stringify(name));
    }
  });
});

void describe('topic configs', () => {
  void test('defaults are Kafka\'s', () => {
    assert.deepEqual(TOPIC_CONFIG_DEFAULTS, {
      retentionMs: 604_800_000,
      retentionBytes: -1,
      segmentBytes: 1_073_741_824,
      segmentMs: 604_800_000,
      maxMessageBytes: 1_048_588,
    });
    assert.deepEqual(parseTopicConfig({}), { ok: true, config: TOPIC_CONFIG_DEFAULTS });
  });

  void test('overrides parse, -1 is unlimited where Kafka allows it, whitespace is trimmed', () => {
    const result = parseTopicConfig({ 'retention.ms': '-1', 'retention.bytes': ' 1048576 ', 'segment.bytes': '14',
      'segment.ms': '1', 'max.message.bytes': '0' });
    assert.ok(result.ok);
    assert.deepEqual(result.config, { retentionMs: -1, retentionBytes: 1_048_576, segmentBytes: 14, segmentMs: 1,
      maxMessageBytes: 0 });
  });

  void test('bad values are INVALID_CONFIG naming the key', () => {
    const bad: Record<string, string>[] = [
      { 'retention.ms': '-2' },
      { 'retention.bytes': '-5' },
      { 'segment.bytes': '13' },
      { 'segment.bytes': String(2 ** 31) },
      { 'segment.ms': '0' },
      { 'segment.ms': '-1' },
      { 'max.message.bytes': '-1' },
      { 'retention.ms': '1e3' },
      { 'retention.ms': '1.5' },
      { 'retention.ms': '' },
      { 'retention.ms': '99999999999999999' },
      { 'cleanup.policy': 'delete' },
      Object.fromEntries([['__proto__', '1']]),
    ];
    for (const raw of bad) {
      const error = validateTopicConfig(raw);
      assert.ok(error instanceof InvalidConfigError, JSON.stringify(raw));
      assert.equal(error.code, 'INVALID_CONFIG');
      assert.equal(error.wireCode, 40);
      assert.equal(error.key, Object.keys(raw)[0]);
    }
  });

  void test('the number of entries is bounded', () => {
    const many = Object.fromEntries(Array.from({ length: TOPIC_CONFIG_ENTRIES_MAX + 1 }, (_unused, index) =>
      [`k${index}`, '1']));
    assert.equal(validateTopicConfig(many)?.code, 'INVALID_CONFIG');
  });

  void test('describeTopicConfig lists every key with its effective value', () => {
    const parsed = parseTopicConfig({ 'retention.ms': '5' });
    assert.ok(parsed.ok);
    assert.deepEqual(describeTopicConfig(parsed.config), {
      'retention.ms': '5',
      'retention.bytes': '-1',
      'segment.bytes': '1073741824',
      'segment.ms': '604800000',
      'max.message.bytes': '1048588',
    });
  });
});
