/**
 * incarnationPast: a start keeps its wall-clock incarnation unless an earlier start of the broker
 * registered (or was decommissioned with) a later one; then it moves just past it. Its own
 * incarnation, registered or decommissioned, is kept (a decommissioned process must stop).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { incarnationPast } from '../../../src/broker/incarnation.js';

void describe('incarnationPast', () => {
  void it('keeps the start time when nothing later is known', () => {
    assert.equal(incarnationPast(5_000, []), 5_000);
    assert.equal(incarnationPast(5_000, [undefined, undefined]), 5_000);
    assert.equal(incarnationPast(5_000, [4_000, 4_999]), 5_000);
  });

  void it('keeps its own incarnation, registered or decommissioned', () => {
    assert.equal(incarnationPast(5_000, [5_000, undefined]), 5_000);
    assert.equal(incarnationPast(5_000, [undefined, 5_000]), 5_000);
  });

  void it('moves past the latest later incarnation, registered or decommissioned', () => {
    assert.equal(incarnationPast(5_000, [65_000, undefined]), 65_001);
    assert.equal(incarnationPast(5_000, [undefined, 70_000]), 70_001);
    assert.equal(incarnationPast(5_000, [65_000, 70_000]), 70_001);
    assert.equal(incarnationPast(5_000, [70_000, 65_000]), 70_001);
  });
});
