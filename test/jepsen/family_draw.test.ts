/**
 * The fault schedule's draw: every family of the run comes out once before any comes again, so a
 * default-length run sees them all (a uniform draw left `corrupt` out of a 120 s run), and an
 * overlapping fault is of the other kind than the one it overlaps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededPrng } from '../../raft/core/prng.js';
import { FamilyDraw, NETWORK_FAMILIES } from '../../jepsen/nemesis/family_draw.js';
import { NEMESIS_FAMILIES } from '../../jepsen/options.js';

void describe('FamilyDraw', () => {
  void test('draws every family once per round, in a seeded order', () => {
    for (let seed = 1; seed <= 50; seed += 1) {
      const draw = new FamilyDraw(NEMESIS_FAMILIES, new SeededPrng(seed));
      for (let round = 0; round < 3; round += 1) {
        const drawn = NEMESIS_FAMILIES.map(() => draw.next());
        assert.deepEqual([...drawn].sort(), [...NEMESIS_FAMILIES].sort(), `seed ${seed} round ${round}`);
      }
    }
    const first = new FamilyDraw(NEMESIS_FAMILIES, new SeededPrng(7));
    const again = new FamilyDraw(NEMESIS_FAMILIES, new SeededPrng(7));
    assert.deepEqual(NEMESIS_FAMILIES.map(() => first.next()), NEMESIS_FAMILIES.map(() => again.next()));
  });

  void test('an overlapping fault is of the other kind, or none when the run has only one kind', () => {
    const draw = new FamilyDraw(NEMESIS_FAMILIES, new SeededPrng(3));
    for (let i = 0; i < 200; i += 1) {
      const family = draw.next();
      const other = draw.otherKind(family);
      assert.ok(other !== null, family);
      assert.notEqual(NETWORK_FAMILIES.has(other), NETWORK_FAMILIES.has(family), `${family} overlapped by ${other}`);
    }
    const networkOnly = new FamilyDraw(['partition', 'silent', 'slow'], new SeededPrng(3));
    assert.equal(networkOnly.otherKind(networkOnly.next()), null);
    const withPause = new FamilyDraw(['partition', 'pause'], new SeededPrng(3));
    assert.equal(withPause.otherKind('partition'), 'pause');
    assert.equal(withPause.otherKind('pause'), 'partition');
  });
});
