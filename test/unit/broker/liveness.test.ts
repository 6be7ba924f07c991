/**
 * Broker liveness on the controller leader: silence past the session timeout fences, a heartbeat
 * of the same incarnation unfences, a new leader and a new registration grant a full session first, and nothing is
 * proposed twice while the first proposal may still be applying.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokerLiveness } from '../../../src/broker/liveness.js';
import type { BrokerInfo } from '../../../src/controller/metadata_state_machine.js';

function broker(brokerId: number, fenced: boolean, incarnation = 100): BrokerInfo {
  return { brokerId, host: '127.0.0.1', port: 9090 + brokerId, raftHost: '127.0.0.1', raftPort: 19090 + brokerId,
    incarnation, epoch: brokerId, fenced, decommissioning: false };
}

describe('BrokerLiveness', () => {
  it('fences a silent broker after the session timeout, once, and unfences it when it is heard again', () => {
    const liveness = new BrokerLiveness(6_000);
    const brokers = [broker(1, false), broker(2, false)];
    assert.deepEqual(liveness.commands(brokers, true, 0), [], 'a new leader grants a full session');
    liveness.heartbeat(1, 100, 5_000);
    assert.deepEqual(liveness.commands(brokers, true, 6_001), [
      { type: 'fenceBroker', brokerId: 2, incarnation: 100 }]);
    assert.deepEqual(liveness.commands(brokers, true, 6_500), [], 'not proposed again while it may apply');
    const fenced = [broker(1, false), broker(2, true)];
    liveness.heartbeat(1, 100, 9_000);
    liveness.heartbeat(2, 100, 9_000);
    assert.deepEqual(liveness.commands(fenced, true, 9_100), [
      { type: 'unfenceBroker', brokerId: 2, incarnation: 100 }]);
  });

  it('ignores heartbeats of another incarnation and does nothing on a follower', () => {
    const liveness = new BrokerLiveness(1_000);
    liveness.heartbeat(2, 99, 0);
    assert.deepEqual(liveness.commands([broker(2, false)], false, 5_000), []);
    assert.deepEqual(liveness.commands([broker(2, false)], true, 5_000), []);
    assert.deepEqual(liveness.commands([broker(2, false)], true, 6_001), [
      { type: 'fenceBroker', brokerId: 2, incarnation: 100 }]);
  });

  it('grants a broker that registers a new incarnation a full session before its first heartbeat', () => {
    const liveness = new BrokerLiveness(6_000);
    liveness.heartbeat(2, 100, 0);
    assert.deepEqual(liveness.commands([broker(2, false)], true, 0), []);
    assert.deepEqual(liveness.commands([broker(2, false)], true, 7_000), [
      { type: 'fenceBroker', brokerId: 2, incarnation: 100 }], 'incarnation 100 went silent');
    // Restarted: registered unfenced as incarnation 101, its first heartbeat not yet in.
    assert.deepEqual(liveness.commands([broker(2, false, 101)], true, 20_000), [], 'not fenced on registration');
    assert.deepEqual(liveness.commands([broker(2, false, 101)], true, 25_000), []);
    liveness.heartbeat(2, 101, 25_500);
    assert.deepEqual(liveness.commands([broker(2, false, 101)], true, 30_000), []);
    assert.deepEqual(liveness.commands([broker(2, false, 101)], true, 31_501), [
      { type: 'fenceBroker', brokerId: 2, incarnation: 101 }], 'silent for a session after its last heartbeat');
  });
});
