/**
 * kill: kill -9 brokers (one, a partition leader, the controller leader, a majority, or all) and
 * restart them at the heal with their data folders as the crash left them.
 */
import type { Fault, Nemesis, NemesisContext } from './nemesis.js';
import type { Targets } from './targets.js';
import { controllerLeader, everyBroker, partitionLeader, pickOne, randomMajority, randomOne } from './targets.js';

export async function killTargets(context: NemesisContext): Promise<Targets> {
  const shape = pickOne(context.prng, ['one', 'leader', 'controller', 'majority', 'all'] as const);
  switch (shape) {
    case 'one': return randomOne(context);
    case 'leader': return partitionLeader(context);
    case 'controller': return controllerLeader(context);
    case 'majority': return randomMajority(context);
    case 'all': return everyBroker(context);
  }
}

/** A fault that kill -9s `targets` and restarts them at the heal. */
export function crashFault(context: NemesisContext, family: 'kill' | 'power-loss', targets: Targets): Fault {
  const { cluster } = context;
  return {
    value: { family, description: `${family} ${targets.description}`, nodes: targets.nodes },
    apply: async () => { await Promise.all(targets.nodes.map((id) => cluster.kill(id, 'SIGKILL'))); },
    heal: () => {
      for (const id of targets.nodes) cluster.restart(id);
      return Promise.resolve();
    },
  };
}

export const killNemesis: Nemesis = {
  family: 'kill',
  plan: async (context) => crashFault(context, 'kill', await killTargets(context)),
};
