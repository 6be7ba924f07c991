/** What the checkers decide from a history: every anomaly with its evidence, and the verdict. */

/** Jepsen's names for the queue workload's anomalies, plus ours (hole, replica-divergence, ...). */
export type AnomalyType =
  | 'inconsistent-offsets' | 'duplicate' | 'lost-write' | 'lost-read' | 'unseen' | 'G1a'
  | 'poll-skip' | 'nonmonotonic-poll' | 'int-poll-skip' | 'int-nonmonotonic-poll' | 'nonmonotonic-send'
  | 'hole' | 'replica-divergence' | 'nonlinearizable'
  // The group workload's.
  | 'commit-regression' | 'resume-skip' | 'unprocessed';

export interface Anomaly {
  readonly type: AnomalyType;
  readonly key?: number;
  /** One line a person can read. */
  readonly description: string;
  /** The events (by history index) and values that show it. */
  readonly evidence: unknown;
}

export type LinearizabilityResult = 'linearizable' | 'nonlinearizable' | 'unknown';

export interface Verdict {
  /** false when any anomaly was found; 'unknown' when none was but some check could not finish. */
  readonly valid: boolean | 'unknown';
  readonly anomalyTypes: readonly AnomalyType[];
  readonly anomalies: readonly Anomaly[];
  /** Per key: the outcome of the linearizability search. */
  readonly linearizability: Readonly<Record<string, LinearizabilityResult>>;
  readonly stats: {
    readonly sends: { readonly ok: number; readonly fail: number; readonly info: number };
    readonly polls: { readonly ok: number; readonly fail: number; readonly info: number };
    /** Commit operations (group workload; zeros otherwise). */
    readonly commits: { readonly ok: number; readonly fail: number; readonly info: number };
    readonly keys: number;
    readonly valuesRead: number;
  };
}
