/**
 * Goal: the ACL model decides as Kafka's authorizer does, and refuses malformed bindings with a
 * reason. Method: one test per rule (deny wins, no allow means denied, ALL, implied DESCRIBE and
 * DESCRIBE_CONFIGS, prefixed and wildcard names, wildcard principal, hosts, super users and
 * Broker:N, the any-topic check of InitProducerId), each with the case that must go the other way;
 * then bad bindings and filters field by field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  authorize, authorizeAnyOfType, checkAclBinding, checkAclFilter, compareBindings, filterMatches, rawAcl,
} from '../../../src/security/acl.js';
import type { AclBinding, AclOperation, AclRequester, AclResource } from '../../../src/security/acl.js';

const ALICE: AclRequester = { principal: 'User:alice' };
const BOB: AclRequester = { principal: 'User:bob' };
const NO_SUPER = new Set<string>();

function allow(operation: AclOperation, resourceName: string, extra: Partial<AclBinding> = {}): AclBinding {
  return { principal: 'User:alice', host: '*', operation, permission: 'ALLOW', resourceType: 'TOPIC',
    patternType: 'LITERAL', resourceName, ...extra };
}

function deny(operation: AclOperation, resourceName: string, extra: Partial<AclBinding> = {}): AclBinding {
  return { ...allow(operation, resourceName, extra), permission: 'DENY' };
}

function topic(name: string): AclResource {
  return { type: 'TOPIC', name };
}

function allowed(acls: readonly AclBinding[], requester: AclRequester, operation: AclOperation,
  resource: AclResource, superUsers: ReadonlySet<string> = NO_SUPER): boolean {
  return authorize(acls, requester, operation, resource, superUsers).allowed;
}

void describe('ACL decisions (Kafka semantics)', () => {
  void test('no matching ALLOW is denied; a matching one allows only its principal, operation and resource', () => {
    assert.equal(allowed([], ALICE, 'READ', topic('orders')), false);
    const acls = [allow('READ', 'orders')];
    assert.equal(allowed(acls, ALICE, 'READ', topic('orders')), true);
    assert.equal(allowed(acls, BOB, 'READ', topic('orders')), false, 'another principal');
    assert.equal(allowed(acls, ALICE, 'WRITE', topic('orders')), false, 'another operation');
    assert.equal(allowed(acls, ALICE, 'READ', topic('orders2')), false, 'a literal name is not a prefix');
    assert.equal(allowed(acls, ALICE, 'READ', { type: 'GROUP', name: 'orders' }), false, 'another resource type');
    assert.deepEqual(authorize([], ALICE, 'READ', topic('x'), NO_SUPER), { allowed: false, reason: 'no matching allow' });
  });

  void test('DENY wins over ALLOW, whichever pattern each uses', () => {
    const acls = [allow('ALL', 'orders', { patternType: 'PREFIXED' }), deny('WRITE', 'orders.eu')];
    assert.equal(allowed(acls, ALICE, 'WRITE', topic('orders.us')), true);
    assert.deepEqual(authorize(acls, ALICE, 'WRITE', topic('orders.eu'), NO_SUPER), { allowed: false,
      reason: 'denied' });
    assert.equal(allowed(acls, ALICE, 'READ', topic('orders.eu')), true, 'the DENY names WRITE only');
    const everyone = [allow('READ', 'orders'), deny('ALL', '*', { principal: 'User:*' })];
    assert.equal(allowed(everyone, ALICE, 'READ', topic('orders')), false, 'DENY ALL of every user on every topic');
  });

  void test('ALL matches every operation; READ, WRITE, DELETE, ALTER imply DESCRIBE; a DENY implies nothing', () => {
    assert.equal(allowed([allow('ALL', 'orders')], ALICE, 'ALTER_CONFIGS', topic('orders')), true);
    for (const operation of ['READ', 'WRITE', 'DELETE', 'ALTER'] as const) {
      assert.equal(allowed([allow(operation, 'orders')], ALICE, 'DESCRIBE', topic('orders')), true, operation);
    }
    assert.equal(allowed([allow('CREATE', 'orders')], ALICE, 'DESCRIBE', topic('orders')), false, 'CREATE does not');
    assert.equal(allowed([allow('DESCRIBE', 'orders')], ALICE, 'READ', topic('orders')), false, 'not the other way');
    assert.equal(allowed([allow('ALTER_CONFIGS', 'orders')], ALICE, 'DESCRIBE_CONFIGS', topic('orders')), true);
    assert.equal(allowed([allow('DESCRIBE_CONFIGS', 'orders')], ALICE, 'ALTER_CONFIGS', topic('orders')), false);
    const denyRead = [allow('DESCRIBE', 'orders'), deny('READ', 'orders')];
    assert.equal(allowed(denyRead, ALICE, 'DESCRIBE', topic('orders')), true, 'denying READ leaves DESCRIBE');
  });

  void test('PREFIXED names match what starts with them; the LITERAL * matches every name', () => {
    const prefixed = [allow('WRITE', 'logs.', { patternType: 'PREFIXED' })];
    assert.equal(allowed(prefixed, ALICE, 'WRITE', topic('logs.app')), true);
    assert.equal(allowed(prefixed, ALICE, 'WRITE', topic('logs.')), true, 'the prefix itself');
    assert.equal(allowed(prefixed, ALICE, 'WRITE', topic('logs')), false);
    assert.equal(allowed(prefixed, ALICE, 'WRITE', topic('app.logs.x')), false);
    const any = [allow('READ', '*')];
    assert.equal(allowed(any, ALICE, 'READ', topic('whatever')), true);
    assert.equal(allowed([allow('READ', 'or*')], ALICE, 'READ', topic('orders')), false, '* inside a name is literal');
  });

  void test('User:* matches every user, not a broker or another principal type', () => {
    const acls = [allow('READ', 'orders', { principal: 'User:*' })];
    assert.equal(allowed(acls, BOB, 'READ', topic('orders')), true);
    assert.equal(allowed(acls, { principal: 'User:ANONYMOUS' }, 'READ', topic('orders')), true);
    assert.equal(allowed(acls, { principal: 'Group:ops' }, 'READ', topic('orders')), false);
  });

  void test('a host binding matches that address only; a listener that cannot see the address matches *', () => {
    const acls = [allow('READ', 'orders', { host: '10.0.0.5' })];
    assert.equal(allowed(acls, { principal: 'User:alice', host: '10.0.0.5' }, 'READ', topic('orders')), true);
    assert.equal(allowed(acls, { principal: 'User:alice', host: '10.0.0.6' }, 'READ', topic('orders')), false);
    assert.equal(allowed(acls, ALICE, 'READ', topic('orders')), false, 'no address: only host * bindings apply');
    const denied = [allow('READ', 'orders'), deny('READ', 'orders', { host: '10.0.0.6' })];
    assert.equal(allowed(denied, ALICE, 'READ', topic('orders')), true, 'an address-bound DENY does not apply');
    assert.equal(allowed(denied, { principal: 'User:alice', host: '10.0.0.6' }, 'READ', topic('orders')), false);
  });

  void test('super users and Broker:N are allowed everything, even against a DENY', () => {
    const acls = [deny('ALL', '*', { principal: 'User:*' })];
    const superUsers = new Set(['User:admin']);
    assert.deepEqual(authorize(acls, { principal: 'User:admin' }, 'DELETE', topic('orders'), superUsers),
      { allowed: true, reason: 'super user' });
    assert.equal(allowed(acls, { principal: 'Broker:3' }, 'CLUSTER_ACTION', { type: 'CLUSTER', name: 'kafka-cluster' }),
      true);
    assert.equal(allowed([], { principal: 'Broker:x' }, 'READ', topic('orders')), false, 'Broker: takes an id');
    assert.equal(allowed([], { principal: 'User:admin2' }, 'READ', topic('orders'), superUsers), false);
  });

  void test('WRITE on any topic (InitProducerId): an ALLOW somewhere, unless a DENY covers its whole pattern', () => {
    assert.equal(authorizeAnyOfType([], ALICE, 'WRITE', 'TOPIC', NO_SUPER), false);
    assert.equal(authorizeAnyOfType([allow('WRITE', 'a')], ALICE, 'WRITE', 'TOPIC', NO_SUPER), true);
    assert.equal(authorizeAnyOfType([allow('READ', 'a')], ALICE, 'WRITE', 'TOPIC', NO_SUPER), false);
    assert.equal(authorizeAnyOfType([allow('WRITE', 'a.b'), deny('WRITE', 'a.', { patternType: 'PREFIXED' })],
      ALICE, 'WRITE', 'TOPIC', NO_SUPER), false, 'the prefix DENY covers the literal ALLOW');
    assert.equal(authorizeAnyOfType([allow('WRITE', 'a', { patternType: 'PREFIXED' }), deny('WRITE', 'a.b')],
      ALICE, 'WRITE', 'TOPIC', NO_SUPER), true, 'a literal DENY leaves the rest of the prefix');
    assert.equal(authorizeAnyOfType([allow('WRITE', 'x'), deny('ALL', '*')], ALICE, 'WRITE', 'TOPIC', NO_SUPER), false);
    assert.equal(authorizeAnyOfType([allow('WRITE', 'x')], BOB, 'WRITE', 'TOPIC', NO_SUPER), false);
  });
});

void describe('ACL bindings and filters: validation', () => {
  const good = rawAcl(allow('READ', 'orders'));

  void test('a good binding passes and keeps its fields', () => {
    assert.deepEqual(checkAclBinding(good), { ok: true, value: allow('READ', 'orders') });
    assert.ok(checkAclBinding({ ...good, host: '::1' }).ok);
    assert.ok(checkAclBinding({ ...good, resourceType: 'CLUSTER', operation: 'IDEMPOTENT_WRITE',
      resourceName: 'kafka-cluster' }).ok);
  });

  void test('each bad field is refused with a reason naming it', () => {
    const cases: [Partial<typeof good>, RegExp][] = [
      [{ principal: 'alice' }, /principal "alice"/],
      [{ principal: 'User:' }, /principal/],
      [{ principal: 'User:a b' }, /principal/],
      [{ principal: 'Broker:1' }, /principal/],
      [{ host: 'example.com' }, /host "example.com"/],
      [{ operation: 'read' }, /operation "read"/],
      [{ permission: 'MAYBE' }, /permission/],
      [{ resourceType: 'QUEUE' }, /resource type/],
      [{ patternType: 'MATCH' }, /pattern type/],
      [{ resourceName: '' }, /empty/],
      [{ resourceName: 'a\nb' }, /control character/],
      [{ resourceName: 'x'.repeat(1025) }, /over 1024/],
      [{ resourceType: 'GROUP', operation: 'WRITE' }, /does not apply to a group/],
      [{ resourceType: 'CLUSTER', operation: 'ALTER', resourceName: 'orders' }, /kafka-cluster/],
      [{ resourceType: 'CLUSTER', operation: 'ALTER', resourceName: 'kafka-cluster', patternType: 'PREFIXED' },
        /kafka-cluster/],
      [{ patternType: 'PREFIXED', resourceName: '*' }, /PREFIXED pattern cannot be \*/],
    ];
    for (const [change, reason] of cases) {
      const checked = checkAclBinding({ ...good, ...change });
      assert.ok(!checked.ok, JSON.stringify(change));
      assert.match(checked.message, reason);
    }
  });

  void test('filters: empty fields match anything, named ones must be equal and valid', () => {
    const binding = allow('READ', 'orders');
    const any = checkAclFilter(rawAcl({}));
    assert.ok(any.ok && filterMatches(any.value, binding));
    const byPrincipal = checkAclFilter(rawAcl({ principal: 'User:alice', resourceType: 'TOPIC' }));
    assert.ok(byPrincipal.ok && filterMatches(byPrincipal.value, binding));
    const other = checkAclFilter(rawAcl({ principal: 'User:bob' }));
    assert.ok(other.ok && !filterMatches(other.value, binding));
    const bad = checkAclFilter({ ...rawAcl({}), operation: 'SMILE' });
    assert.equal(bad.ok, false);
  });

  void test('the order of bindings is total: equal only when every field is', () => {
    const a = allow('READ', 'orders');
    assert.equal(compareBindings(a, { ...a }), 0);
    assert.notEqual(compareBindings(a, { ...a, host: '10.0.0.1' }), 0);
    assert.equal(Math.sign(compareBindings(a, deny('READ', 'orders'))),
      -Math.sign(compareBindings(deny('READ', 'orders'), a)));
  });
});
