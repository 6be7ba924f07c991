/**
 * This broker's replica of the controller group: it applies committed metadata commands to the
 * MetadataStateMachine and tells the broker each time the metadata moved, so replicas can be
 * started and stopped to match (the reconciler) and waiting admin requests can answer.
 */
import { EntryType } from '../../raft/core/index.js';
import type { Entry, Snapshot, SoftState } from '../../raft/core/index.js';
import type { ReplicaStateMachine } from '../../raft/host/replica.js';
import { MetadataStateMachine } from '../controller/metadata_state_machine.js';
import type { ApplyResult } from '../controller/metadata_state_machine.js';

export interface ControllerLogger {
  warn(object: object, message: string): void;
}

export class ControllerReplica implements ReplicaStateMachine {
  metadata = new MetadataStateMachine();
  role: SoftState['role'] = 'follower';
  leaderId = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly logger: ControllerLogger) {}

  /** Calls `listener` after every batch of applied commands; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  apply(entries: readonly Entry[]): void {
    let changed = false;
    for (const entry of entries) {
      if (entry.type !== EntryType.normal || entry.index <= this.metadata.lastAppliedIndex) continue;
      const result: ApplyResult = this.metadata.applyEntry(entry.data, entry.index);
      // Rejections are expected (a forwarded command may race another): every replica rejects alike.
      if (!result.ok) this.logger.warn({ index: entry.index, code: result.code, reason: result.message },
        'metadata command rejected');
      changed = true;
    }
    if (changed) for (const listener of [...this.listeners]) listener();
  }

  onSoftState(state: SoftState): void {
    this.role = state.role;
    this.leaderId = state.leaderId;
    for (const listener of [...this.listeners]) listener();
  }

  snapshotNextOffset(): number {
    return 0;
  }

  restore(snapshot: Snapshot): void {
    this.metadata = new MetadataStateMachine();
    this.metadata.restore(snapshot.data);
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `check` holds after some apply, or with false after `timeoutMs`. */
  waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const stop = this.onChange(() => {
        if (!check()) return;
        clearTimeout(timer);
        stop();
        resolve(true);
      });
      const timer = setTimeout(() => { stop(); resolve(check()); }, timeoutMs);
    });
  }
}
