/**
 * partition: cut Raft links between brokers through the relays (clients keep reaching every
 * broker). Shapes: isolate one broker; split a minority from a majority; bridge (two halves that
 * cannot talk, and one broker that talks to both); one-way (every link into, or out of, one
 * broker). The heal restores the links this fault cut.
 *
 * The broker a shape centres on (the one isolated, bridging, or cut one way; the first of the
 * minority) is, half the time each, the leader of a partition in use or the controller leader
 * (an isolate of a broker leading nothing shows nothing), else a random broker. The fault's nodes
 * are the brokers cut off: the isolated or one-way broker, the minority, the smaller half of a
 * bridge; not every broker a cut link touches.
 */
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import { controllerLeader, partitionLeader, pickOne, pickSeveral, sorted } from './targets.js';
import type { Targets } from './targets.js';

export type Link = readonly [from: number, to: number];

export interface Grudge {
  readonly links: readonly Link[];
  readonly description: string;
  /** The brokers cut off (the side the fault is about). */
  readonly cut: readonly number[];
}

/** Both directions of every link between the two groups. */
function between(left: readonly number[], right: readonly number[]): Link[] {
  return left.flatMap((a) => right.flatMap((b): Link[] => [[a, b], [b, a]]));
}

/** A shape of cut over `ids`, centred on `focus` when given (one of ids), else on a random broker. */
export function planGrudge(prng: Prng, ids: readonly number[], focus?: number): Grudge {
  assert(ids.length >= 3, 'partitions need at least 3 brokers');
  assert(focus === undefined || ids.includes(focus), () => `focus ${String(focus)} is one of the brokers`);
  const randomOrder = pickSeveral(prng, ids, ids.length);
  const shuffled = focus === undefined ? randomOrder : [focus, ...randomOrder.filter((id) => id !== focus)];
  const shape = pickOne(prng, ['isolate', 'split', 'bridge', 'one-way'] as const);
  const first = shuffled[0] as number;
  const others = shuffled.slice(1);
  switch (shape) {
    case 'isolate':
      return { links: between([first], others), description: `isolate ${first}`, cut: [first] };
    case 'split': {
      const minority = sorted(shuffled.slice(0, Math.floor(ids.length / 2)));
      const majority = sorted(shuffled.slice(minority.length));
      return { links: between(minority, majority), description: `split [${minority.join(',')}] | [${majority.join(',')}]`,
        cut: minority };
    }
    case 'bridge': {
      const half = Math.floor(others.length / 2);
      const left = sorted(others.slice(0, half));
      const right = sorted(others.slice(half));
      return { links: between(left, right), description: `bridge ${first} between [${left.join(',')}] and [${right.join(',')}]`,
        cut: left.length <= right.length ? left : right };
    }
    case 'one-way': {
      const inbound = prng.nextFloat() < 0.5;
      const links = others.map((other): Link => (inbound ? [other, first] : [first, other]));
      return { links, description: `one-way ${inbound ? 'into' : 'out of'} ${first}`, cut: [first] };
    }
  }
}

/**
 * The broker a network fault centres on: half the time the leader of a partition in use, a quarter
 * the controller leader, else none (the shape picks at random). Shared by every network family.
 */
export async function networkFocus(context: NemesisContext): Promise<{ target: Targets | null; focus?: number }> {
  const ids = context.cluster.ids();
  const role = context.prng.nextFloat();
  const target: Targets | null = role < 0.5 ? await partitionLeader(context)
    : role < 0.75 ? await controllerLeader(context) : null;
  const focus = target?.nodes[0];
  return focus !== undefined && ids.includes(focus) ? { target, focus } : { target: null };
}

/** "isolate 2 (leader of key 3)": the shape, and the role of the broker it centres on when it has one. */
export function grudgeDescription(grudge: Grudge, target: Targets | null, focus: number | undefined): string {
  if (target === null) return grudge.description;
  return `${grudge.description} (${grudge.cut.length === 1 && grudge.cut[0] === focus ? '' : 'around '}${target.description})`;
}

export const partitionNemesis: Nemesis = {
  family: 'partition',
  plan: async (context) => {
    const { relays } = context.cluster;
    const { target, focus } = await networkFocus(context);
    const grudge = planGrudge(context.prng, context.cluster.ids(), focus);
    assert(grudge.links.length > 0, 'a partition cuts some link');
    return {
      value: { family: 'partition', nodes: sorted(grudge.cut), description: grudgeDescription(grudge, target, focus) },
      apply: () => {
        for (const [from, to] of grudge.links) relays.link(from, to).cut();
        return Promise.resolve();
      },
      heal: () => {
        for (const [from, to] of grudge.links) relays.link(from, to).heal();
        return Promise.resolve();
      },
    };
  },
};
