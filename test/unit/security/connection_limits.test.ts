/**
 * Goal: every decision of a listener's connection limits: the total, per-address and per-principal
 * limits refuse the connection past them and only then; a refusal holds for the connection until
 * it closes and counts toward nothing; closing frees exactly what the connection counted; 0 means
 * no limit; and no sequence of calls drives a count below zero.
 * Method: the pure ConnectionLimits, driven call by call, and by a seeded random sequence checked
 * against counts recomputed from the decisions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConnectionLimits, NO_CONNECTION_LIMITS } from '../../../src/security/connection_limits.js';
import type { ConnectionRefusal } from '../../../src/security/connection_limits.js';
import { TestPrng } from '../../helpers/test_prng.js';

function limits(settings: Partial<ConnectionLimits['settings']>): ConnectionLimits {
  return new ConnectionLimits({ ...NO_CONNECTION_LIMITS, ...settings });
}

function reasonOf(refusal: ConnectionRefusal | null): string | null {
  return refusal?.reason ?? null;
}

void describe('ConnectionLimits', () => {
  void test('no limits (0): every connection is admitted and counted', () => {
    const l = limits({});
    for (let i = 0; i < 100; i += 1) {
      assert.equal(l.open(`c${i}`, '10.0.0.1'), null);
      assert.equal(l.admit(`c${i}`, 'User:ANONYMOUS'), null);
    }
    assert.deepEqual(l.size, { counted: 100, refused: 0 });
    assert.equal(l.connectionsOfAddress('10.0.0.1'), 100);
    assert.equal(l.connectionsOfPrincipal('User:ANONYMOUS'), 100);
  });

  void test('the total limit refuses at open, counting open and admitted connections, and a close makes room', () => {
    const l = limits({ maxConnections: 2 });
    assert.equal(l.open('a'), null);
    assert.equal(l.open('b'), null);
    assert.equal(l.admit('a', 'User:alice'), null);
    const refused = l.open('c');
    assert.ok(refused !== null);
    assert.equal(refused.reason, 'total');
    assert.equal(refused.limit, 2);
    assert.match(refused.message, /--max-connections\)/);
    assert.equal(l.stateOf('c'), 'refused');
    // A refused connection stays refused, whatever principal it proves, and counts toward nothing.
    assert.deepEqual(l.admit('c', 'User:bob'), refused);
    assert.equal(l.connectionsOfPrincipal('User:bob'), 0);
    assert.deepEqual(l.size, { counted: 2, refused: 1 });
    assert.equal(l.close('b'), true);
    assert.deepEqual(l.admit('c', 'User:bob'), refused, 'room made later does not admit a refused connection');
    assert.equal(l.open('d'), null, 'a new connection takes the room');
    assert.equal(l.close('c'), true);
    assert.deepEqual(l.size, { counted: 2, refused: 0 });
  });

  void test('the per-address limit counts per address, and not connections without one', () => {
    const l = limits({ maxConnectionsPerAddress: 2 });
    assert.equal(l.open('a1', '127.0.0.1'), null);
    assert.equal(l.open('a2', '127.0.0.1'), null);
    assert.equal(l.open('b1', '::1'), null);
    const refused = l.open('a3', '127.0.0.1');
    assert.equal(reasonOf(refused), 'address');
    assert.match(refused?.message ?? '', /^127\.0\.0\.1 has 2 connections open.*--max-connections-per-ip/);
    assert.equal(l.open('n1'), null, 'no address: not limited per address');
    assert.equal(l.open('n2'), null);
    assert.equal(l.open('n3'), null);
    assert.equal(l.connectionsOfAddress('127.0.0.1'), 2);
    l.close('a1');
    assert.equal(l.connectionsOfAddress('127.0.0.1'), 1);
    assert.equal(l.open('a4', '127.0.0.1'), null);
  });

  void test('the per-principal limit refuses at admit and frees the total place the connection held', () => {
    const l = limits({ maxConnections: 3, maxConnectionsPerPrincipal: 1, maxConnectionsPerAddress: 3 });
    assert.equal(l.open('a', '10.0.0.1'), null);
    assert.equal(l.admit('a', 'User:alice'), null);
    assert.equal(l.open('b', '10.0.0.1'), null);
    assert.equal(l.connectionsOfAddress('10.0.0.1'), 2);
    const refused = l.admit('b', 'User:alice');
    assert.equal(reasonOf(refused), 'principal');
    assert.match(refused?.message ?? '', /^User:alice has 1 connections open.*--max-connections-per-principal/);
    assert.deepEqual(l.size, { counted: 1, refused: 1 });
    assert.equal(l.connectionsOfAddress('10.0.0.1'), 1, 'its address place is freed too');
    assert.equal(l.open('c', '10.0.0.1'), null);
    assert.equal(l.admit('c', 'User:bob'), null, 'another principal is not limited by alice\'s connections');
    // The first principal decides: a later admit with another principal changes nothing.
    assert.equal(l.admit('a', 'User:bob'), null);
    assert.equal(l.connectionsOfPrincipal('User:alice'), 1);
    assert.equal(l.connectionsOfPrincipal('User:bob'), 1);
    l.close('a');
    assert.equal(l.connectionsOfPrincipal('User:alice'), 0);
    assert.equal(l.open('d', '10.0.0.1'), null);
    assert.equal(l.admit('d', 'User:alice'), null);
  });

  void test('close of an unknown or closed connection changes nothing; misuse is an assertion', () => {
    const l = limits({ maxConnections: 1 });
    assert.equal(l.close('nobody'), false);
    assert.equal(l.open('a'), null);
    assert.equal(l.close('a'), true);
    assert.equal(l.close('a'), false, 'a second close frees nothing more');
    assert.deepEqual(l.size, { counted: 0, refused: 0 });
    assert.equal(l.open('a'), null);
    assert.throws(() => l.open('a'), /opened twice/);
    assert.throws(() => l.admit('z', 'User:x'), /admitted before it was opened/);
    assert.throws(() => limits({ maxConnections: -1 }), /maxConnections must be an integer >= 0/);
    assert.throws(() => limits({ maxConnectionsPerPrincipal: 1.5 }), /maxConnectionsPerPrincipal/);
  });

  void test('random sequences: decisions match the limits and counts match the connections (seeded)', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const prng = new TestPrng(seed);
      const below = (n: number): number => prng.int(0, n - 1);
      const settings = { maxConnections: 1 + below(6), maxConnectionsPerAddress: below(4),
        maxConnectionsPerPrincipal: below(4) };
      const l = new ConnectionLimits(settings);
      const live = new Map<string, { address: string; principal: string | null; refused: boolean }>();
      let next = 0;
      for (let step = 0; step < 500; step += 1) {
        const action = below(3);
        const ids = [...live.keys()];
        if (action === 0 || ids.length === 0) {
          const id = `c${next}`;
          next += 1;
          const address = `10.0.0.${below(3)}`;
          const counted = [...live.values()].filter((c) => !c.refused);
          const expected = counted.length >= settings.maxConnections ? 'total'
            : settings.maxConnectionsPerAddress > 0
              && counted.filter((c) => c.address === address).length >= settings.maxConnectionsPerAddress ? 'address' : null;
          const refusal = l.open(id, address);
          assert.equal(reasonOf(refusal), expected, `seed ${seed} step ${step}: open`);
          live.set(id, { address, principal: null, refused: refusal !== null });
        } else if (action === 1) {
          const id = ids[below(ids.length)] ?? '';
          const connection = live.get(id);
          assert.ok(connection !== undefined);
          const principal = `User:u${below(3)}`;
          const refusal = l.admit(id, principal);
          if (connection.refused) {
            assert.notEqual(refusal, null, `seed ${seed} step ${step}: a refused connection stays refused`);
          } else if (connection.principal === null) {
            const same = [...live.values()].filter((c) => !c.refused && c.principal === principal).length;
            const over = settings.maxConnectionsPerPrincipal > 0 && same >= settings.maxConnectionsPerPrincipal;
            assert.equal(reasonOf(refusal), over ? 'principal' : null, `seed ${seed} step ${step}: admit`);
            if (over) connection.refused = true;
            else connection.principal = principal;
          } else {
            assert.equal(refusal, null);
          }
        } else {
          const id = ids[below(ids.length)] ?? '';
          assert.equal(l.close(id), true);
          live.delete(id);
        }
        const counted = [...live.values()].filter((c) => !c.refused);
        assert.deepEqual(l.size, { counted: counted.length, refused: live.size - counted.length });
        for (const address of ['10.0.0.0', '10.0.0.1', '10.0.0.2']) {
          assert.equal(l.connectionsOfAddress(address), counted.filter((c) => c.address === address).length);
        }
        for (const principal of ['User:u0', 'User:u1', 'User:u2']) {
          assert.equal(l.connectionsOfPrincipal(principal), counted.filter((c) => c.principal === principal).length);
        }
      }
      for (const id of live.keys()) l.close(id);
      assert.deepEqual(l.size, { counted: 0, refused: 0 });
    }
  });
});
