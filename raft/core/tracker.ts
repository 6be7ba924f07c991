/** Membership and the leader's per-follower progress, kept in step with each other. */
import type { ConfState } from './entries.js';
import type { NodeId, RaftIndex } from './ids.js';
import { Progress } from './progress.js';
import { committedIndex, majority } from './quorum.js';

export class ProgressTracker {
  conf: ConfState;
  readonly progress = new Map<NodeId, Progress>();

  constructor(conf: ConfState, private readonly inflightMessagesMax: number) {
    this.conf = conf;
  }

  voters(): readonly NodeId[] {
    return this.conf.voters;
  }

  isVoter(id: NodeId): boolean {
    return this.conf.voters.includes(id);
  }

  isMember(id: NodeId): boolean {
    return this.isVoter(id) || this.conf.learners.includes(id);
  }

  /** Adopts conf: keeps progress of remaining members, adds fresh progress for new ones. */
  setConf(conf: ConfState, nextIndex: RaftIndex): void {
    this.conf = conf;
    for (const id of this.progress.keys()) {
      if (!this.isMember(id)) this.progress.delete(id);
    }
    for (const id of [...conf.voters, ...conf.learners]) {
      const existing = this.progress.get(id);
      const isLearner = !conf.voters.includes(id);
      if (existing === undefined) {
        const fresh = new Progress(nextIndex, this.inflightMessagesMax, isLearner);
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      } else {
        existing.isLearner = isLearner;
      }
    }
  }

  /** Fresh progress for every member, as a new leader starts (§5.3: next = last index + 1). */
  resetProgress(nextIndex: RaftIndex): void {
    this.progress.clear();
    this.setConf(this.conf, nextIndex);
  }

  committedIndex(): RaftIndex {
    return committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** CheckQuorum: a majority of voters was heard from in the last period (self counts). */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      if (id === self || this.progress.get(id)?.recentActive === true) active += 1;
    }
    return active >= majority(this.conf.voters.length);
  }

  hasQuorum(acks: ReadonlySet<NodeId>): boolean {
    let count = 0;
    for (const id of this.conf.voters) if (acks.has(id)) count += 1;
    return count >= majority(this.conf.voters.length);
  }
}
