/**
 * The fault schedule: alternating quiet and faulty periods of --nemesis-interval seconds, its
 * families (family_draw.ts: a shuffled bag) and targets drawn from the run's seeded Prng. With
 * --nemesis-overlap a second fault of the other kind starts halfway through each faulty period,
 * and the two heal in reverse order at its end: a partition while a broker is paused, a broker
 * killed while its links are slow. Every fault and
 * heal is recorded as a nemesis invoke and its completion (info, or fail when injecting it threw).
 * stop() ends the schedule early and heals the faults in progress.
 */
import { assert } from '../../raft/core/assert.js';
import { NEMESIS } from '../history.js';
import type { FaultValue, HistoryRecorder } from '../history.js';
import type { NemesisFamilyName } from '../options.js';
import { clockNemesis } from './clock.js';
import { createCorruptNemesis } from './corrupt.js';
import { killNemesis } from './kill.js';
import { createMembershipNemesis } from './membership.js';
import type { MembershipTallies } from './membership.js';
import type { Fault, Nemesis, NemesisContext } from './nemesis.js';
import { partitionNemesis } from './partition.js';
import { pauseNemesis } from './pause.js';
import { powerLossNemesis } from './power_loss.js';
import { silentNemesis } from './silent.js';
import { slowNemesis } from './slow.js';
import { FamilyDraw } from './family_draw.js';

/** The families of one run (the corrupt nemesis remembers whom it damaged, membership what it changed). */
function nemesesOfRun(membership: Nemesis): Readonly<Record<NemesisFamilyName, Nemesis>> {
  return { 'kill': killNemesis, 'pause': pauseNemesis, 'partition': partitionNemesis, 'silent': silentNemesis,
    'slow': slowNemesis, 'power-loss': powerLossNemesis, 'corrupt': createCorruptNemesis(), 'membership': membership,
    'clock': clockNemesis };
}

export class NemesisSchedule {
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly membership = createMembershipNemesis();
  private readonly nemeses = nemesesOfRun(this.membership);
  /** Faults started, and of those, healed. */
  readonly counts = { started: 0, healed: 0, failed: 0 };
  /** Faults started per family. */
  readonly startedByFamily: Partial<Record<NemesisFamilyName, number>> = {};
  private readonly draw: FamilyDraw | null;

  /** What the membership faults' steps ended in, by step and outcome. */
  get membershipTallies(): Readonly<MembershipTallies> {
    return this.membership.tallies;
  }

  constructor(families: readonly NemesisFamilyName[], private readonly context: NemesisContext,
    private readonly history: HistoryRecorder, private readonly intervalMs: number, private readonly overlap = false) {
    assert(intervalMs > 0, 'the nemesis interval is positive');
    this.draw = families.length === 0 ? null : new FamilyDraw(families, context.prng);
  }

  /** Runs until deadlineMs (Date.now based) or stop(); returns with no fault in effect. */
  async run(deadlineMs: number): Promise<void> {
    const draw = this.draw;
    if (draw === null) return;
    while (!this.stopped) {
      await this.sleepUntil(Math.min(deadlineMs, Date.now() + this.intervalMs));
      if (this.isStopped() || Date.now() >= deadlineMs) return;
      const family = draw.next();
      const fault = await this.nemeses[family].plan(this.context);
      if (!await this.inject(fault)) continue;
      const faultEndMs = Math.min(deadlineMs, Date.now() + this.intervalMs);
      let second: Fault | null = null;
      const secondFamily = this.overlap ? draw.otherKind(family) : null;
      if (secondFamily !== null) {
        await this.sleepUntil(Date.now() + this.intervalMs / 2);
        if (!this.isStopped()) {
          const planned = await this.nemeses[secondFamily].plan(this.context);
          if (await this.inject(planned)) second = planned;
        }
      }
      await this.sleepUntil(faultEndMs);
      if (second !== null) await this.heal(second);
      await this.heal(fault);
    }
  }

  isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async inject(fault: Fault): Promise<boolean> {
    this.record('invoke', 'start-fault', fault.value);
    try {
      await fault.apply();
    } catch (error) {
      this.counts.failed += 1;
      this.record('fail', 'start-fault', fault.value, error);
      // Undo whatever part of it happened.
      await fault.heal();
      return false;
    }
    this.counts.started += 1;
    const family = fault.value.family as NemesisFamilyName;
    this.startedByFamily[family] = (this.startedByFamily[family] ?? 0) + 1;
    this.record('info', 'start-fault', fault.value, fault.outcome?.() ?? undefined);
    return true;
  }

  private async heal(fault: Fault): Promise<void> {
    this.record('invoke', 'stop-fault', fault.value);
    await fault.heal();
    this.counts.healed += 1;
    this.record('info', 'stop-fault', fault.value, fault.outcome?.() ?? undefined);
  }

  private record(type: 'invoke' | 'info' | 'fail', f: 'start-fault' | 'stop-fault', value: FaultValue,
    error?: unknown): void {
    this.history.record({ process: NEMESIS, type, f, value,
      ...(error === undefined ? {} : { error: error instanceof Error ? error.message
        : typeof error === 'string' ? error : JSON.stringify(error) }) });
  }

  private async sleepUntil(untilMs: number): Promise<void> {
    const waitMs = untilMs - Date.now();
    if (waitMs <= 0 || this.stopped) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      timer = setTimeout(resolve, waitMs);
    });
    clearTimeout(timer);
    this.wake = null;
  }
}
