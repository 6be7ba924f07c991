/**
 * Which fault family comes next: a shuffled bag of the run's families, each drawn once before any
 * comes again (so a run with as many faulty periods as families sees every one), and for an
 * overlapping fault, a family of the other kind: a network fault over a process or clock fault,
 * or the reverse (two network faults at once would heal each other's links). Seeded by the run.
 */
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import type { NemesisFamilyName } from '../options.js';
import { pickOne, pickSeveral } from './targets.js';

/** Families acting on the links between brokers: at most one of them at a time. */
export const NETWORK_FAMILIES: ReadonlySet<NemesisFamilyName> = new Set(['partition', 'silent', 'slow']);

export class FamilyDraw {
  /** Families not drawn yet in this round of the bag. */
  private bag: NemesisFamilyName[] = [];

  constructor(private readonly families: readonly NemesisFamilyName[], private readonly prng: Prng) {
    assert(families.length > 0, 'a draw needs some family');
  }

  /** The next family from the bag, refilled in a fresh order once every family came out. */
  next(): NemesisFamilyName {
    if (this.bag.length === 0) this.bag = pickSeveral(this.prng, this.families, this.families.length);
    const family = this.bag.shift();
    assert(family !== undefined, 'the bag holds every family of the run');
    return family;
  }

  /** A family of the other kind than `family` among the run's, or null when there is none. */
  otherKind(family: NemesisFamilyName): NemesisFamilyName | null {
    const network = NETWORK_FAMILIES.has(family);
    const others = this.families.filter((other) => NETWORK_FAMILIES.has(other) !== network);
    return others.length === 0 ? null : pickOne(this.prng, others);
  }
}
