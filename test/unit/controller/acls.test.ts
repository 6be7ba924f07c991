/**
 * Goal: ACL bindings replicate through the controller log like any metadata: every replica that
 * applies the same entries holds the same bindings, a snapshot carries them, and bad commands are
 * refused whole without changing anything. Method: CreateAcls and DeleteAcls applied as log
 * entries (bytes) on two machines; a snapshot restored into a third that then applies more;
 * invalid bindings, invalid filters, the bound, and a corrupt snapshot.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { encodeCommand } from '../../../src/controller/commands.js';
import type { MetadataCommand } from '../../../src/controller/commands.js';
import { MalformedMetadataError } from '../../../src/controller/metadata_codec.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/controller/metadata_snapshot.js';
import { ACLS_MAX, MetadataStateMachine } from '../../../src/controller/metadata_state_machine.js';
import { rawAcl } from '../../../src/security/acl.js';
import type { AclBinding, RawAcl } from '../../../src/security/acl.js';
import { machineWithBrokers } from './helpers.js';

function binding(principal: string, operation: AclBinding['operation'], resourceName: string,
  extra: Partial<AclBinding> = {}): RawAcl {
  return rawAcl({ principal, host: '*', operation, permission: 'ALLOW', resourceType: 'TOPIC',
    patternType: 'LITERAL', resourceName, ...extra });
}

const ALICE_WRITE = binding('User:alice', 'WRITE', 'orders.', { patternType: 'PREFIXED' });
const BOB_READ = binding('User:bob', 'READ', 'orders');
const BOB_GROUP = binding('User:bob', 'READ', 'billing', { resourceType: 'GROUP' });

/** Applies commands as log entries from index `from` on each machine; every result must match ok. */
function applyAll(machines: readonly MetadataStateMachine[], commands: readonly MetadataCommand[], from: number): void {
  for (const [offset, command] of commands.entries()) {
    const results = machines.map((machine) => machine.applyEntry(encodeCommand(command), from + offset));
    for (const result of results) assert.deepEqual(result, results[0]);
  }
}

void describe('ACL commands in the controller', () => {
  void test('create and delete apply the same on every replica, in a canonical order, without duplicates', () => {
    const first = machineWithBrokers(1);
    const second = machineWithBrokers(1);
    applyAll([first, second], [
      { type: 'createAcls', bindings: [BOB_READ, ALICE_WRITE] },
      { type: 'createAcls', bindings: [ALICE_WRITE, BOB_GROUP] },
    ], 10);
    assert.deepEqual(first.acls().map(rawAcl), second.acls().map(rawAcl));
    assert.equal(first.acls().length, 3, 'ALICE_WRITE is kept once');
    assert.deepEqual(first.snapshot(), second.snapshot());
    const repeat = first.apply({ type: 'createAcls', bindings: [BOB_READ] }, 12);
    assert.deepEqual(repeat, { ok: true, type: 'createAcls', added: 0 });

    const removed = first.apply({ type: 'deleteAcls', filters: [rawAcl({ principal: 'User:bob' })] }, 13);
    assert.deepEqual(removed, { ok: true, type: 'deleteAcls', removed: 2 });
    assert.deepEqual(first.acls().map(rawAcl), [ALICE_WRITE]);
    const none = first.apply({ type: 'deleteAcls', filters: [rawAcl({ principal: 'User:carol' })] }, 14);
    assert.deepEqual(none, { ok: true, type: 'deleteAcls', removed: 0 });
  });

  void test('a command with one bad binding or filter is refused whole (INVALID_REQUEST), nothing changes', () => {
    const machine = machineWithBrokers(1);
    assert.ok(machine.apply({ type: 'createAcls', bindings: [BOB_READ] }, 5).ok);
    const before = machine.snapshot();
    const badBinding = machine.apply({ type: 'createAcls', bindings: [ALICE_WRITE,
      { ...BOB_GROUP, operation: 'WRITE' }] }, 6);
    assert.ok(!badBinding.ok && badBinding.code === 'INVALID_REQUEST' && /binding 1/.test(badBinding.message));
    const badFilter = machine.apply({ type: 'deleteAcls', filters: [rawAcl({}), { ...rawAcl({}), host: 'nowhere' }] },
      7);
    assert.ok(!badFilter.ok && badFilter.code === 'INVALID_REQUEST');
    assert.deepEqual(machine.acls().map(rawAcl), [BOB_READ]);
    const after = MetadataStateMachine.fromSnapshot(machine.snapshot());
    assert.deepEqual(after.acls(), MetadataStateMachine.fromSnapshot(before).acls());
  });

  void test('the cluster holds at most ACLS_MAX bindings', () => {
    const machine = machineWithBrokers(1);
    const many = Array.from({ length: ACLS_MAX }, (_, i) => binding('User:alice', 'READ', `t${i}`));
    assert.deepEqual(machine.apply({ type: 'createAcls', bindings: many }, 5), { ok: true, type: 'createAcls',
      added: ACLS_MAX });
    const over = machine.apply({ type: 'createAcls', bindings: [BOB_READ] }, 6);
    assert.ok(!over.ok && over.code === 'INVALID_REQUEST' && /over 10000/.test(over.message));
    assert.equal(machine.acls().length, ACLS_MAX);
  });

  void test('a snapshot carries the bindings; a replica restored from it applies on in step', () => {
    const leader = machineWithBrokers(1);
    applyAll([leader], [{ type: 'createAcls', bindings: [BOB_READ, ALICE_WRITE, BOB_GROUP] }], 10);
    const data = leader.snapshotData();
    assert.equal(data.acls.length, 3);
    assert.deepEqual(decodeSnapshot(encodeSnapshot(data)), data);
    const follower = MetadataStateMachine.fromSnapshot(leader.snapshot());
    assert.deepEqual(follower.acls(), leader.acls());
    applyAll([leader, follower], [{ type: 'deleteAcls', filters: [rawAcl({ resourceType: 'GROUP' })] },
      { type: 'createAcls', bindings: [binding('User:*', 'DESCRIBE', '*')] }], 11);
    assert.deepEqual(follower.snapshot(), leader.snapshot());
    assert.equal(follower.acls().length, 3);
  });

  void test('a snapshot with a bad or unordered binding is refused as malformed; the state stays', () => {
    const machine = machineWithBrokers(1);
    applyAll([machine], [{ type: 'createAcls', bindings: [BOB_READ] }], 5);
    const data = machine.snapshotData();
    const bad = encodeSnapshot({ ...data, acls: [{ ...BOB_READ, operation: 'FLY' }] });
    assert.throws(() => { machine.restore(bad); }, MalformedMetadataError);
    const unordered = encodeSnapshot({ ...data, acls: [ALICE_WRITE, BOB_READ] });
    assert.throws(() => { machine.restore(unordered); }, /out of order/);
    const twice = encodeSnapshot({ ...data, acls: [BOB_READ, BOB_READ] });
    assert.throws(() => { machine.restore(twice); }, MalformedMetadataError);
    assert.deepEqual(machine.acls().map(rawAcl), [BOB_READ]);
  });
});
