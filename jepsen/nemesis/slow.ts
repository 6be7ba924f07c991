/**
 * slow: a degraded network rather than a broken one. Links around one broker (both directions
 * between it and every other broker), or every link, get a delay of 20-200 ms, jitter up to as
 * much again, and a packet loss of 0-10% (each lost chunk retransmitted 200-400 ms later, holding
 * up the stream behind it; relay.ts). Timeouts fire on healthy peers, leaders are slow to be heard,
 * requests outlive their deadlines and are retried: where indeterminate writes come from. The
 * heal restores the links' speed.
 */
import type { Nemesis } from './nemesis.js';
import type { Link } from './partition.js';
import { networkFocus } from './partition.js';
import { pickOne, sorted } from './targets.js';

export const slowNemesis: Nemesis = {
  family: 'slow',
  plan: async (context) => {
    const { relays } = context.cluster;
    const ids = context.cluster.ids();
    const { target, focus: roleFocus } = await networkFocus(context);
    const everywhere = roleFocus === undefined && context.prng.nextFloat() < 0.5;
    const focus = roleFocus ?? pickOne(context.prng, ids);
    const links: Link[] = everywhere
      ? ids.flatMap((from) => ids.filter((to) => to !== from).map((to): Link => [from, to]))
      : ids.filter((other) => other !== focus).flatMap((other): Link[] => [[focus, other], [other, focus]]);
    const delayMs = 20 + Math.floor(context.prng.nextFloat() * 181);
    const jitterMs = Math.floor(context.prng.nextFloat() * (delayMs + 1));
    const lossPercent = Math.floor(context.prng.nextFloat() * 11);
    const where = everywhere ? 'every link' : `links of ${focus}${target === null ? '' : ` (${target.description})`}`;
    return {
      value: { family: 'slow', nodes: everywhere ? sorted(ids) : [focus],
        description: `slow ${where}: ${delayMs} ms +${jitterMs} jitter, ${lossPercent}% loss` },
      apply: () => {
        for (const [from, to] of links) {
          relays.link(from, to).setDelay(delayMs, jitterMs);
          relays.link(from, to).setLoss(lossPercent / 100);
        }
        return Promise.resolve();
      },
      heal: () => {
        for (const [from, to] of links) {
          relays.link(from, to).setDelay(0);
          relays.link(from, to).setLoss(0);
        }
        return Promise.resolve();
      },
    };
  },
};
