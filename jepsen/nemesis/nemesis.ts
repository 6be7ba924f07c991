/**
 * What every nemesis family provides: plan() picks its targets (a seeded choice, possibly asking
 * the cluster who leads what) and returns a Fault whose apply() injects it and heal() undoes it.
 * The schedule records both as nemesis events with the Fault's value.
 */
import type { Prng } from '../../raft/core/prng.js';
import type { Admin } from '../../src/client/index.js';
import type { JepsenCluster } from '../cluster.js';
import type { FaultValue } from '../history.js';
import type { NemesisFamilyName } from '../options.js';

export interface NemesisContext {
  readonly cluster: JepsenCluster;
  readonly admin: Admin;
  readonly prng: Prng;
  /** Keys whose topics exist: where partition leaders are looked up. */
  readonly liveKeys: () => readonly number[];
  /** The group workload's group: its coordinator is a target too. */
  readonly groupId?: string;
}

export interface Fault {
  readonly value: FaultValue;
  apply(): Promise<void>;
  heal(): Promise<void>;
  /** What the fault's steps ended in so far (commands refused, timed out, ...), recorded as the event's error. */
  outcome?(): string | null;
}

export interface Nemesis {
  readonly family: NemesisFamilyName;
  plan(context: NemesisContext): Promise<Fault>;
}
