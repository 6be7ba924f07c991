/**
 * partition: cut Raft links between brokers through the relays (clients keep reaching every
 * broker). Shapes: isolate one broker; split a minority from a majority; bridge (two halves that
 * cannot talk, and one broker that talks to both); one-way (every link into, or out of, one
 * broker). The heal restores the links this fault cut.
 */
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import type { Nemesis } from './nemesis.js';
import { pickOne, pickSeveral, sorted } from './targets.js';

type Link = readonly [from: number, to: number];

interface Grudge {
  readonly links: readonly Link[];
  readonly description: string;
}

/** Both directions of every link between the two groups. */
function between(left: readonly number[], right: readonly number[]): Link[] {
  return left.flatMap((a) => right.flatMap((b): Link[] => [[a, b], [b, a]]));
}

export function planGrudge(prng: Prng, ids: readonly number[]): Grudge {
  assert(ids.length >= 3, 'partitions need at least 3 brokers');
  const shuffled = pickSeveral(prng, ids, ids.length);
  const shape = pickOne(prng, ['isolate', 'split', 'bridge', 'one-way'] as const);
  const first = shuffled[0] as number;
  const others = shuffled.slice(1);
  switch (shape) {
    case 'isolate':
      return { links: between([first], others), description: `isolate ${first}` };
    case 'split': {
      const minority = sorted(shuffled.slice(0, Math.floor(ids.length / 2)));
      const majority = sorted(shuffled.slice(minority.length));
      return { links: between(minority, majority), description: `split [${minority.join(',')}] | [${majority.join(',')}]` };
    }
    case 'bridge': {
      const half = Math.floor(others.length / 2);
      const left = sorted(others.slice(0, half));
      const right = sorted(others.slice(half));
      return { links: between(left, right), description: `bridge ${first} between [${left.join(',')}] and [${right.join(',')}]` };
    }
    case 'one-way': {
      const inbound = prng.nextFloat() < 0.5;
      const links = others.map((other): Link => (inbound ? [other, first] : [first, other]));
      return { links, description: `one-way ${inbound ? 'into' : 'out of'} ${first}` };
    }
  }
}

export const partitionNemesis: Nemesis = {
  family: 'partition',
  plan: (context) => {
    const { relays } = context.cluster;
    const grudge = planGrudge(context.prng, context.cluster.ids());
    assert(grudge.links.length > 0, 'a partition cuts some link');
    const nodes = sorted([...new Set(grudge.links.flat())]);
    return Promise.resolve({
      value: { family: 'partition', description: grudge.description, nodes },
      apply: () => {
        for (const [from, to] of grudge.links) relays.link(from, to).cut();
        return Promise.resolve();
      },
      heal: () => {
        for (const [from, to] of grudge.links) relays.link(from, to).heal();
        return Promise.resolve();
      },
    });
  },
};
