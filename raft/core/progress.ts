/**
 * A leader's view of one follower (after etcd's tracker): probe sends one append at a time until
 * the follower's match is found; replicate pipelines appends up to the inflight window; snapshot
 * waits for an InstallSnapshot to be acknowledged. Invariant: match < next.
 */
import { assert } from './assert.js';
import type { RaftIndex } from './ids.js';
import { Inflights } from './inflights.js';

export const ProgressState = { probe: 'probe', replicate: 'replicate', snapshot: 'snapshot' } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export class Progress {
  match: RaftIndex = 0;
  next: RaftIndex;
  state: ProgressState = ProgressState.probe;
  /** Probe state: an append is out and no answer came yet. */
  probeSent = false;
  pendingSnapshotIndex: RaftIndex = 0;
  snapshotElapsedTicks = 0;
  /** Heard from within the current CheckQuorum period. */
  recentActive = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: RaftIndex, inflightMessagesMax: number, isLearner: boolean) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(inflightMessagesMax);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.snapshotElapsedTicks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise right after the known match.
    const after = Math.max(this.match, this.state === ProgressState.snapshot ? this.pendingSnapshotIndex : 0);
    this.resetState(ProgressState.probe);
    this.next = after + 1;
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: RaftIndex): void {
    this.resetState(ProgressState.snapshot);
    this.pendingSnapshotIndex = snapshotIndex;
  }

  /** The follower has entries up to index; returns whether match moved. */
  maybeUpdate(index: RaftIndex): boolean {
    this.probeSent = false;
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    return true;
  }

  /**
   * The follower rejected an append at prevLogIndex rejected; matchHint is the highest index that
   * may still match. Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: RaftIndex, matchHint: RaftIndex): boolean {
    if (this.state !== ProgressState.snapshot && rejected <= this.match && matchHint < this.match) {
      this.forgetLostMatch(matchHint);
      return true;
    }
    if (this.state === ProgressState.replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    assert(this.next > this.match, 'next must stay above match');
    return true;
  }

  /**
   * The follower's log ends below an index it acknowledged: it lost entries to a disk fault
   * (storage.ts, recoveringThrough), and probing above the stale match would never reach it. A
   * duplicated old rejection lands here too; it costs a re-probe, never safety, as the commit
   * index only grows.
   */
  private forgetLostMatch(matchHint: RaftIndex): void {
    this.match = matchHint;
    this.resetState(ProgressState.probe);
    this.next = matchHint + 1;
  }

  /** Records an append sent with entries up to lastIndex (count entries). */
  sentEntries(lastIndex: RaftIndex, count: number): void {
    switch (this.state) {
      case ProgressState.replicate:
        if (count > 0) {
          this.next = lastIndex + 1;
          this.inflights.add(lastIndex);
        }
        return;
      case ProgressState.probe:
        this.probeSent = true;
        return;
      case ProgressState.snapshot:
        assert(false, 'no appends in the snapshot state');
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.probe:
        return this.probeSent;
      case ProgressState.replicate:
        return this.inflights.full();
      case ProgressState.snapshot:
        return true;
    }
  }
}
