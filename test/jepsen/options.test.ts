/**
 * `npm run jepsen` options: --client picks the queue workload's client library (native by
 * default, kafkajs through the Kafka listeners), and kafkajs with the group workload is refused
 * (its members are native processes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunOptions } from '../../jepsen/options.js';

describe('jepsen --client', () => {
  it('is native by default and kafkajs when asked', () => {
    assert.equal(parseRunOptions(['--out', '/tmp/x']).client, 'native');
    assert.equal(parseRunOptions(['--client', 'kafkajs', '--out', '/tmp/x']).client, 'kafkajs');
  });

  it('refuses kafkajs with the group workload', () => {
    assert.throws(() => parseRunOptions(['--client', 'kafkajs', '--workload', 'group', '--out', '/tmp/x']),
      /--client kafkajs runs the queue workload only/);
  });
});
