/**
 * Byte-rate quotas, the pure parts: the sampled rate and Kafka's throttle time; alterations
 * checked, applied and resolved (own entry, then the default, brokers never); the manager holding
 * a greedy principal to its rate while another is not held; and AlterClientQuotas through the
 * controller state machine (applied as log entries, refused whole, carried by a snapshot).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodeCommand } from '../../../src/controller/commands.js';
import { MalformedMetadataError } from '../../../src/controller/metadata_codec.js';
import { encodeSnapshot } from '../../../src/controller/metadata_snapshot.js';
import { MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { ByteRate, throttleMs } from '../../../src/quota/byte_rate.js';
import { applyQuotaAlterations, quotaAlterationProblem, quotaFor } from '../../../src/quota/client_quotas.js';
import type { QuotaEntry } from '../../../src/quota/client_quotas.js';
import { QuotaManager } from '../../../src/quota/quota_manager.js';
import { machineWithBrokers } from '../controller/helpers.js';

const MB = 1024 * 1024;

void describe('ByteRate and throttleMs', () => {
  void test('measures over the live samples, never over less than samples - 1 windows', () => {
    const rate = new ByteRate(11, 1_000);
    rate.record(10 * MB, 0);
    assert.equal(rate.rate(0), MB, 'a first burst is spread over 10 s, not read as infinite');
    for (let second = 1; second <= 20; second++) rate.record(2 * MB, second * 1_000);
    // Samples at 10..20 s live at 20.5 s (11 of them): 22 MB over 10.5 s.
    assert.ok(Math.abs(rate.rate(20_500) - 22 * MB / 10.5) < 1, String(rate.rate(20_500)));
    assert.equal(rate.idle(40_000), true, 'nothing within the window');
    assert.equal(rate.rate(40_000), 0);
  });

  void test('holds a reply for the excess over the quota times the span measured, at most one window', () => {
    assert.equal(throttleMs(MB, MB, 10_000, 11_000), 0);
    assert.equal(throttleMs(1.5 * MB, MB, 10_000, 11_000), 5_000, 'the time that brings the rate back to the quota');
    assert.equal(throttleMs(1.5 * MB, MB, 11_000, 11_000), 5_500);
    assert.equal(throttleMs(100 * MB, MB, 10_000, 11_000), 11_000, 'at most one window');
  });
});

void describe('client quota entries', () => {
  const alice = { principal: 'User:alice', ops: [{ key: 'producer_byte_rate', value: 5 * MB, remove: false }] };

  void test('alterations are checked: principal, key, value, duplicates', () => {
    assert.equal(quotaAlterationProblem(alice), null);
    assert.match(quotaAlterationProblem({ ...alice, principal: 'alice' }) ?? '', /not User:name/);
    assert.match(quotaAlterationProblem({ ...alice, principal: 'Broker:1' }) ?? '', /not User:name/);
    assert.match(quotaAlterationProblem({ principal: 'User:a', ops: [] }) ?? '', /no change/);
    assert.match(quotaAlterationProblem({ principal: 'User:a', ops: [{ key: 'request_percentage', value: 5,
      remove: false }] }) ?? '', /not one of producer_byte_rate, consumer_byte_rate/);
    assert.match(quotaAlterationProblem({ principal: 'User:a', ops: [{ key: 'producer_byte_rate', value: 0,
      remove: false }] }) ?? '', /whole number of bytes per second from 1/);
    assert.match(quotaAlterationProblem({ principal: 'User:a', ops: [{ key: 'producer_byte_rate', value: 1.5,
      remove: false }] }) ?? '', /whole number/);
    assert.match(quotaAlterationProblem({ principal: 'User:a', ops: [alice.ops[0]!, alice.ops[0]!] }) ?? '',
      /changed twice/);
    assert.equal(quotaAlterationProblem({ principal: 'User:a', ops: [{ key: 'producer_byte_rate', value: 0,
      remove: true }] }), null, 'a removal needs no value');
  });

  void test('set keeps the other rate, remove drops one, an entry with no rate is gone; sorted', () => {
    let entries = applyQuotaAlterations([], [alice,
      { principal: 'User:*', ops: [{ key: 'consumer_byte_rate', value: MB, remove: false }] }]);
    assert.deepEqual(entries, [{ principal: 'User:*', consumerByteRate: MB },
      { principal: 'User:alice', producerByteRate: 5 * MB }]);
    entries = applyQuotaAlterations(entries, [{ principal: 'User:alice',
      ops: [{ key: 'consumer_byte_rate', value: 2 * MB, remove: false }] }]);
    assert.deepEqual(entries[1], { principal: 'User:alice', producerByteRate: 5 * MB, consumerByteRate: 2 * MB });
    entries = applyQuotaAlterations(entries, [{ principal: 'User:alice', ops: [
      { key: 'consumer_byte_rate', value: 0, remove: true }, { key: 'producer_byte_rate', value: 0, remove: true }] }]);
    assert.deepEqual(entries, [{ principal: 'User:*', consumerByteRate: MB }]);
  });

  void test('a principal is held to its own rate, else the default\'s, per key; brokers never', () => {
    const entries = new Map<string, QuotaEntry>([
      ['User:*', { principal: 'User:*', producerByteRate: MB, consumerByteRate: 3 * MB }],
      ['User:alice', { principal: 'User:alice', producerByteRate: 5 * MB }]]);
    assert.equal(quotaFor(entries, 'User:alice', 'produce'), 5 * MB);
    assert.equal(quotaFor(entries, 'User:alice', 'fetch'), 3 * MB, 'the default fills the key alice lacks');
    assert.equal(quotaFor(entries, 'User:bob', 'produce'), MB);
    assert.equal(quotaFor(entries, 'Broker:2', 'produce'), null);
    assert.equal(quotaFor(new Map(), 'User:bob', 'produce'), null, 'no entry, no quota');
  });
});

void describe('QuotaManager', () => {
  void test('a greedy principal is held so that its rate falls back to its quota; another is not held', () => {
    const entries = new Map<string, QuotaEntry>([['User:greedy', { principal: 'User:greedy', producerByteRate: MB }]]);
    const quotas = new QuotaManager({ entries: () => entries });
    // A client that sends 1 MiB, waits out its hold, and sends again, for a simulated minute.
    let nowMs = 0;
    let sent = 0;
    while (nowMs < 60_000) {
      const heldMs = quotas.record('produce', 'User:greedy', MB / 4, nowMs);
      sent += MB / 4;
      nowMs += 10 + heldMs;
    }
    const rate = sent / (nowMs / 1000);
    assert.ok(rate > 0.8 * MB && rate < 1.25 * MB, `held to about 1 MiB/s: ${(rate / MB).toFixed(2)} MiB/s`);
    assert.equal(quotas.record('produce', 'User:polite', 100 * MB, nowMs), 0, 'no quota, no hold');
    assert.equal(quotas.record('fetch', 'User:greedy', 100 * MB, nowMs), 0, 'its fetch has no quota');
    entries.delete('User:greedy');
    assert.equal(quotas.record('produce', 'User:greedy', 100 * MB, nowMs), 0, 'a removed quota applies at once');
  });
  void test('a client with twenty requests in flight is held to its quota: a hold mutes the principal', () => {
    const entries = new Map<string, QuotaEntry>([['User:greedy', { principal: 'User:greedy', producerByteRate: MB }]]);
    const quotas = new QuotaManager({ entries: () => entries });
    // Twenty lanes, as a producer with five requests in flight on each of four connections; each
    // waits out the mute, runs for 10 ms, is held for its throttle and sends again, as
    // throttlingHandlers does. Without the mute the other lanes run during each hold: 1.36 MiB/s.
    const lanes = new Array<number>(20).fill(0);
    let sent = 0;
    for (let steps = 0; steps < 1_000_000; steps += 1) {
      const lane = lanes.indexOf(Math.min(...lanes));
      const nowMs = lanes[lane]!;
      if (nowMs >= 300_000) break;
      const mutedMs = quotas.mutedForMs('produce', 'User:greedy', nowMs);
      if (mutedMs > 0) {
        lanes[lane] = nowMs + mutedMs;
        continue;
      }
      const heldMs = quotas.record('produce', 'User:greedy', MB / 4, nowMs + 10);
      sent += MB / 4;
      lanes[lane] = nowMs + 10 + heldMs;
    }
    const rate = sent / (Math.max(...lanes) / 1000);
    assert.ok(rate > 0.9 * MB && rate < 1.1 * MB, `held to about 1 MiB/s: ${(rate / MB).toFixed(2)} MiB/s`);
    assert.equal(quotas.mutedForMs('produce', 'User:polite', 0), 0, 'another principal is never muted');
    entries.delete('User:greedy');
    assert.equal(quotas.mutedForMs('produce', 'User:greedy', 0), 0, 'a removed quota unmutes at once');
  });
});

void describe('AlterClientQuotas in the controller', () => {
  const set = encodeCommand({ type: 'alterClientQuotas', alterations: [
    { principal: 'User:alice', ops: [{ key: 'producer_byte_rate', value: 5 * MB, remove: false }] },
    { principal: 'User:*', ops: [{ key: 'consumer_byte_rate', value: MB, remove: false }] }] });

  void test('applies the same on every replica and a snapshot carries it', () => {
    const machines = [machineWithBrokers(1), machineWithBrokers(1)];
    const from = machines[0]!.lastAppliedIndex + 1;
    for (const machine of machines) assert.deepEqual(machine.applyEntry(set, from), { ok: true, type: 'alterClientQuotas' });
    assert.deepEqual([...machines[0]!.clientQuotas().values()], [...machines[1]!.clientQuotas().values()]);
    assert.deepEqual([...machines[0]!.clientQuotas().keys()], ['User:*', 'User:alice']);
    const restored = MetadataStateMachine.fromSnapshot(machines[0]!.snapshot());
    assert.deepEqual([...restored.clientQuotas().values()], [...machines[0]!.clientQuotas().values()]);
  });

  void test('refuses a command with one bad alteration whole, changing nothing', () => {
    const machine = machineWithBrokers(1);
    const from = machine.lastAppliedIndex + 1;
    machine.applyEntry(set, from);
    const before = [...machine.clientQuotas().values()];
    const bad = encodeCommand({ type: 'alterClientQuotas', alterations: [
      { principal: 'User:bob', ops: [{ key: 'producer_byte_rate', value: MB, remove: false }] },
      { principal: 'User:carol', ops: [{ key: 'producer_byte_rate', value: 0, remove: false }] }] });
    const result = machine.applyEntry(bad, from + 1);
    assert.ok(!result.ok);
    assert.match(result.message, /quota alteration 1: producer_byte_rate must be/);
    assert.deepEqual([...machine.clientQuotas().values()], before);
  });

  void test('a snapshot with a bad entry is refused', () => {
    const data = machineWithBrokers(1).snapshotData();
    const bytes = encodeSnapshot({ ...data, clientQuotas: [{ principal: 'User:b' }, { principal: 'User:a',
      producerByteRate: 1 }] });
    assert.throws(() => MetadataStateMachine.fromSnapshot(bytes), MalformedMetadataError);
  });
});
