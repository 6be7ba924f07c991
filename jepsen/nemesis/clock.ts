/**
 * clock: step brokers' wall clocks (Date.now and new Date() through the skew preload, see
 * clock/skew_preload.ts; monotonic clocks keep running), as Jepsen's clock nemesis does with
 * `date -s`. Shapes: **bump** the targets' clocks by +/- 5..60 s; **strobe** them between real time
 * and +/- 5..60 s every 100-200 ms for the fault window; **skew** every broker by a different
 * offset. Targets of bump and strobe are, as the partition nemesis's, the leader of a partition in
 * use (or the group's coordinator) half the time, the controller leader a quarter, else a random
 * broker or a random majority. The heal puts every broker this fault touched back on real time.
 */
import { assert } from '../../raft/core/assert.js';
import type { Prng } from '../../raft/core/prng.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import { controllerLeader, partitionLeader, pickOne, randomMajority, randomOne, sorted } from './targets.js';
import type { Targets } from './targets.js';

export const CLOCK_SHAPES = ['bump', 'strobe', 'skew'] as const;
export type ClockShape = typeof CLOCK_SHAPES[number];

const STEP_MIN_MS = 5_000;
const STEP_MAX_MS = 60_000;
const STROBE_PERIOD_MIN_MS = 100;
const STROBE_PERIOD_MAX_MS = 200;

/** What a clock fault does: per broker, the offset (or, strobing, the two offsets) it runs at. */
export interface ClockPlan {
  readonly shape: ClockShape;
  /** Broker id -> offset in ms; a strobe flips each between 0 and this. */
  readonly offsets: ReadonlyMap<number, number>;
  /** Strobe only: how long each offset holds. */
  readonly periodMs: number;
}

/** +/- 5..60 s in whole milliseconds. */
export function drawStepMs(prng: Prng): number {
  const size = STEP_MIN_MS + prng.nextInt(STEP_MAX_MS - STEP_MIN_MS + 1);
  return prng.nextFloat() < 0.5 ? -size : size;
}

/** Offsets for `nodes` under `shape` (skew: every broker of `ids`, each a different offset). */
export function planClock(prng: Prng, shape: ClockShape, nodes: readonly number[], ids: readonly number[]): ClockPlan {
  assert(nodes.length > 0, 'a clock fault has targets');
  if (shape === 'skew') {
    const offsets = new Map<number, number>();
    const used = new Set<number>();
    for (const id of sorted(ids)) {
      let offset = drawStepMs(prng);
      // Distinct offsets: a collision is drawn again (bounded; 110,002 values to choose from).
      for (let tries = 0; used.has(offset) && tries < 100; tries += 1) offset = drawStepMs(prng);
      assert(!used.has(offset), 'skew offsets are distinct');
      used.add(offset);
      offsets.set(id, offset);
    }
    return { shape, offsets, periodMs: 0 };
  }
  const offsets = new Map(sorted(nodes).map((id) => [id, drawStepMs(prng)] as const));
  const periodMs = shape === 'strobe'
    ? STROBE_PERIOD_MIN_MS + prng.nextInt(STROBE_PERIOD_MAX_MS - STROBE_PERIOD_MIN_MS + 1) : 0;
  return { shape, offsets, periodMs };
}

/** "+12.3 s" */
function seconds(offsetMs: number): string {
  return `${offsetMs >= 0 ? '+' : '-'}${(Math.abs(offsetMs) / 1000).toFixed(1)} s`;
}

/** "bump 2 +12.3 s, 3 -40.0 s (controller leader)": names every broker and its offset. */
export function describeClock(plan: ClockPlan, role: string | null): string {
  const each = [...plan.offsets].map(([id, offset]) => `${id} ${seconds(offset)}`).join(', ');
  const how = plan.shape === 'strobe' ? `strobe every ${plan.periodMs} ms between 0 and` : plan.shape;
  return `${how} ${each}${role === null ? '' : ` (${role})`}`;
}

async function clockTargets(context: NemesisContext): Promise<Targets> {
  const role = context.prng.nextFloat();
  if (role < 0.5) return partitionLeader(context);
  if (role < 0.75) return controllerLeader(context);
  return context.prng.nextFloat() < 0.5 ? randomOne(context) : randomMajority(context);
}

export const clockNemesis: Nemesis = {
  family: 'clock',
  plan: async (context) => {
    const shape = pickOne(context.prng, CLOCK_SHAPES);
    const ids = context.cluster.ids();
    const targets = shape === 'skew' ? { nodes: ids, description: 'all' } : await clockTargets(context);
    const plan = planClock(context.prng, shape, targets.nodes, ids);
    const { cluster } = context;
    let strobe: NodeJS.Timeout | undefined;
    const setAll = (skewed: boolean): void => {
      for (const [id, offset] of plan.offsets) cluster.setClockOffset(id, skewed ? offset : 0);
    };
    return {
      value: { family: 'clock', nodes: [...plan.offsets.keys()],
        description: describeClock(plan, shape === 'skew' ? null : targets.description) },
      apply: () => {
        setAll(true);
        if (shape === 'strobe') {
          let skewed = true;
          strobe = setInterval(() => {
            skewed = !skewed;
            setAll(skewed);
          }, plan.periodMs);
        }
        return Promise.resolve();
      },
      heal: () => {
        clearInterval(strobe);
        setAll(false);
        return Promise.resolve();
      },
    };
  },
};
