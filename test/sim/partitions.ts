/** Partition shapes (Jepsen's grudges): isolate one, minority/majority split, bridge, one-way cuts. */
import type { Prng } from '../../raft/core/index.js';
import type { SimNetwork } from './sim_network.js';

export const PartitionShape = {
  heal: 'heal',
  isolateOne: 'isolate_one',
  split: 'split',
  bridge: 'bridge',
  oneWay: 'one_way',
} as const;
export type PartitionShape = (typeof PartitionShape)[keyof typeof PartitionShape];

const shapes: readonly PartitionShape[] = Object.values(PartitionShape);

function shuffled(ids: readonly number[], prng: Prng): number[] {
  const copy = ids.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    const swap = copy[i]!;
    copy[i] = copy[j]!;
    copy[j] = swap;
  }
  return copy;
}

function cutBetween(network: SimNetwork, sideA: readonly number[], sideB: readonly number[]): void {
  for (const a of sideA) {
    for (const b of sideB) {
      network.block(a, b);
      network.block(b, a);
    }
  }
}

/** Replaces the current partition by a random shape; returns a description for the trace. */
export function applyRandomPartition(network: SimNetwork, ids: readonly number[], prng: Prng): string {
  network.heal();
  const shape = shapes[prng.nextInt(shapes.length)]!;
  const order = shuffled(ids, prng);
  switch (shape) {
    case PartitionShape.heal:
      return 'partition healed';
    case PartitionShape.isolateOne:
      cutBetween(network, order.slice(0, 1), order.slice(1));
      return `partition isolate ${order[0]}`;
    case PartitionShape.split: {
      const minority = 1 + prng.nextInt(Math.floor(ids.length / 2));
      cutBetween(network, order.slice(0, minority), order.slice(minority));
      return `partition split [${order.slice(0, minority).join(',')}] | [${order.slice(minority).join(',')}]`;
    }
    case PartitionShape.bridge: {
      const bridge = order[0]!;
      const rest = order.slice(1);
      const half = Math.floor(rest.length / 2);
      cutBetween(network, rest.slice(0, half), rest.slice(half));
      return `partition bridge ${bridge} between [${rest.slice(0, half).join(',')}] ` +
        `and [${rest.slice(half).join(',')}]`;
    }
    case PartitionShape.oneWay: {
      const cuts: string[] = [];
      const count = 1 + prng.nextInt(ids.length);
      for (let i = 0; i < count; i++) {
        const [from, to] = shuffled(ids, prng);
        network.block(from!, to!);
        cuts.push(`${from}-/->${to}`);
      }
      return `partition one-way ${cuts.join(' ')}`;
    }
  }
}
