/**
 * silent: the partition nemesis's shapes (isolate, split, bridge, one-way) made by links that drop
 * everything without closing anything, as a dead switch or a firewall does: no RST, no FIN, so
 * both ends learn of it only from their own timeouts (relay.ts, "silent"). Half the time the fault
 * flaps: the links go silent and come back every 1-3 s (a flaky cable, a route that keeps
 * changing) until the heal. The focus is chosen by role as for partitions, and the fault names the
 * brokers cut off.
 */
import { assert } from '../../raft/core/assert.js';
import type { Nemesis } from './nemesis.js';
import { grudgeDescription, networkFocus, planGrudge } from './partition.js';
import type { Link } from './partition.js';
import { sorted } from './targets.js';

const FLAP_MIN_MS = 1_000;
const FLAP_SPREAD_MS = 2_000;

export const silentNemesis: Nemesis = {
  family: 'silent',
  plan: async (context) => {
    const { relays } = context.cluster;
    const { target, focus } = await networkFocus(context);
    const grudge = planGrudge(context.prng, context.cluster.ids(), focus);
    assert(grudge.links.length > 0, 'a silent fault silences some link');
    const flapping = context.prng.nextFloat() < 0.5;
    // The flap intervals are drawn now, from the run's seed, not while the fault runs.
    const flapsMs = Array.from({ length: 64 },
      () => FLAP_MIN_MS + Math.floor(context.prng.nextFloat() * FLAP_SPREAD_MS));
    const silence = (links: readonly Link[]): void => {
      for (const [from, to] of links) relays.link(from, to).silence();
    };
    const restore = (links: readonly Link[]): void => { for (const [from, to] of links) relays.link(from, to).heal(); };
    let flapper: NodeJS.Timeout | undefined;
    let flaps = 0;
    const flap = (silentNow: boolean): void => {
      const waitMs = flapsMs[flaps % flapsMs.length] ?? FLAP_MIN_MS;
      flapper = setTimeout(() => {
        flaps += 1;
        if (silentNow) restore(grudge.links);
        else silence(grudge.links);
        flap(!silentNow);
      }, waitMs);
    };
    return {
      value: { family: 'silent', nodes: sorted(grudge.cut),
        description: `${flapping ? 'flapping ' : ''}silent ${grudgeDescription(grudge, target, focus)}` },
      apply: () => {
        silence(grudge.links);
        if (flapping) flap(true);
        return Promise.resolve();
      },
      heal: () => {
        clearTimeout(flapper);
        restore(grudge.links);
        return Promise.resolve();
      },
      outcome: () => (flapping && flaps > 0 ? `flapped ${flaps} times` : null),
    };
  },
};
