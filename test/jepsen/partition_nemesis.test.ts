/**
 * The partition nemesis's shapes: each names the brokers it cuts off (not every broker a cut link
 * touches), and a shape centred on a chosen broker (a partition's or the controller's leader) cuts
 * that broker off, except a bridge, where it is the one broker still talking to both halves.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SeededPrng } from '../../raft/core/prng.js';
import { planGrudge } from '../../jepsen/nemesis/partition.js';

void describe('planGrudge', () => {
  void test('names the brokers cut off, and centres on the focus when given', () => {
    const shapes = new Set<string>();
    for (const ids of [[1, 2, 3], [1, 2, 3, 4, 5]]) {
      for (let seed = 1; seed <= 200; seed += 1) {
        const focus = ids[seed % ids.length]!;
        const grudge = planGrudge(new SeededPrng(seed), ids, focus);
        const shape = grudge.description.split(' ')[0]!;
        shapes.add(shape);
        const touched = new Set(grudge.links.flat());
        assert.ok(grudge.cut.length > 0 && grudge.cut.length <= Math.floor(ids.length / 2),
          `${grudge.description}: cuts off a minority, not ${grudge.cut.join(',')}`);
        assert.ok(grudge.cut.every((id) => touched.has(id)), grudge.description);
        if (shape === 'bridge') {
          assert.ok(!grudge.cut.includes(focus), `${grudge.description}: the bridge keeps both sides`);
          assert.ok(!grudge.links.some(([from, to]) => from === focus || to === focus), grudge.description);
        } else {
          assert.ok(grudge.cut.includes(focus), `${grudge.description} cuts off ${focus}`);
        }
        if (shape === 'isolate' || shape === 'one-way') assert.deepEqual(grudge.cut, [focus]);
        // Every link cut has one end in the cut-off side (one-way and isolate) or crosses halves.
        if (shape !== 'bridge') {
          assert.ok(grudge.links.every(([from, to]) => grudge.cut.includes(from) !== grudge.cut.includes(to)),
            grudge.description);
        }
      }
    }
    assert.deepEqual([...shapes].sort(), ['bridge', 'isolate', 'one-way', 'split']);
  });

  void test('without a focus, any broker may be the centre', () => {
    const centres = new Set<number>();
    for (let seed = 1; seed <= 100; seed += 1) {
      const grudge = planGrudge(new SeededPrng(seed), [1, 2, 3]);
      if (grudge.description.startsWith('isolate')) centres.add(grudge.cut[0]!);
    }
    assert.deepEqual([...centres].sort(), [1, 2, 3]);
  });
});
