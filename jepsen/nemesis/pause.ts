/** pause: SIGSTOP brokers (one, a partition leader, or a majority); SIGCONT them at the heal. */
import type { Nemesis } from './nemesis.js';
import { partitionLeader, pickOne, randomMajority, randomOne } from './targets.js';

export const pauseNemesis: Nemesis = {
  family: 'pause',
  plan: async (context) => {
    const shape = pickOne(context.prng, ['one', 'leader', 'majority'] as const);
    const targets = shape === 'one' ? randomOne(context)
      : shape === 'leader' ? await partitionLeader(context) : randomMajority(context);
    const { cluster } = context;
    return {
      value: { family: 'pause', description: `pause ${targets.description}`, nodes: targets.nodes },
      apply: () => {
        for (const id of targets.nodes) cluster.pause(id);
        return Promise.resolve();
      },
      heal: () => {
        for (const id of targets.nodes) cluster.resume(id);
        return Promise.resolve();
      },
    };
  },
};
