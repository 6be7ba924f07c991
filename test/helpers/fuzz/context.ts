/**
 * What every fuzz generator shares: the seeded PRNG, the brokers, the topics of the session and
 * their leaders (so partition requests reach the code behind the leader check), and the boundary
 * values and names the classes draw from.
 */
import type { TestPrng } from '../test_prng.js';

export interface FuzzTopics {
  /** Pre-loaded before fuzzing; nothing may change it. */
  readonly canary: string;
  readonly fields: string;
  readonly batches: string;
  readonly idempotence: string;
}

/** Integer boundaries: as 64-bit patterns, so that each can be written into any integer field. */
export const INTEGER_BOUNDARIES: readonly bigint[] = [
  0n, 1n, -1n, 2n, 7n, 127n, 128n, 255n, 65_535n, 65_536n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), 2n ** 32n - 1n,
  2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n,
];

/** Names a client must not reach storage or internals through, and names no topic has. */
export const HOSTILE_NAMES: readonly string[] = [
  '__controller', '__consumer_offsets', '__cluster_metadata', '__transaction_state', '__x', '__controller-0',
  '..', '.', '../..', '../../etc/passwd', 'a/b', 'partitions', 'state.lmdb', 'index.lmdb', 'CON', 'nul',
  'topic\u0000nul', 'emoji-\u{1F600}', ' ', '', 'x'.repeat(249), 'x'.repeat(250), 'no-such-topic',
];

export class FuzzContext {
  constructor(
    readonly prng: TestPrng,
    readonly brokerIds: readonly number[],
    readonly topics: FuzzTopics,
    private readonly leaderIds: ReadonlyMap<string, number>,
  ) {}

  pick<T>(items: readonly T[]): T {
    const item = items[this.prng.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  anyBroker(): number {
    return this.pick(this.brokerIds);
  }

  /** The leader of partition 0 of topic as known when the class started, else any broker. */
  leaderOf(topic: string): number {
    return this.leaderIds.get(topic) ?? this.anyBroker();
  }

  /** The leaders as known when the class started (for the report). */
  leaders(): Record<string, number> {
    return Object.fromEntries(this.leaderIds);
  }

  boundary(): bigint {
    return this.pick(INTEGER_BOUNDARIES);
  }

  /** Mostly small sensible values, sometimes a boundary. */
  smallOrBoundary(max = 4): bigint {
    return this.prng.chance(0.7) ? BigInt(this.prng.int(0, max)) : this.boundary();
  }

  ascii(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String.fromCharCode(this.prng.int(0x61, 0x7a));
    return out;
  }
}
