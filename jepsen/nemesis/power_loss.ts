/**
 * power-loss: kill -9 a majority or all brokers while every broker runs with
 * TRIBUTARY_TEST_POWER_LOSS=1 (set at start when this family is enabled), so each loses exactly the
 * bytes it wrote since its last fsync, as a machine losing power would; restart them at the heal.
 */
import { crashFault } from './kill.js';
import type { Nemesis } from './nemesis.js';
import { everyBroker, randomMajority } from './targets.js';

export const POWER_LOSS_ENVIRONMENT = { TRIBUTARY_TEST_POWER_LOSS: '1' } as const;

export const powerLossNemesis: Nemesis = {
  family: 'power-loss',
  plan: (context) => Promise.resolve(crashFault(context, 'power-loss',
    context.prng.nextFloat() < 0.5 ? randomMajority(context) : everyBroker(context))),
};
