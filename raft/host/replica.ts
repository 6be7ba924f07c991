/**
 * The two things a Raft group needs from its host besides the network: durable storage for its log
 * (storage/RaftLogStorage implements it on disk) and the state machine its committed entries feed
 * (a partition, or the controller's metadata).
 */
import type { Entry, HardState, LogStorage, Snapshot, SoftState } from '../core/index.js';

export interface ReplicaStorage extends LogStorage {
  /** Appends a Ready's entries, replacing any conflicting suffix; durable after sync(). */
  append(entries: readonly Entry[]): Promise<void>;
  sync(): Promise<number>;
  /** Durable when it resolves. */
  saveHardState(state: HardState): Promise<void>;
  /** Replaces the log with a snapshot from the leader; the log's offsets go on from nextOffset. */
  installSnapshot(snapshot: Snapshot, nextOffset: number): Promise<void>;
}

export interface ReplicaStateMachine {
  /** Committed entries in log order, already durable; config entries included (the core applies them). */
  apply(entries: readonly Entry[]): void;
  /** Role or leader changed (`term` is the node's current term). */
  onSoftState(state: SoftState, term: number): void;
  /** Where offsets continue after a snapshot from the leader (read from the snapshot's data). */
  snapshotNextOffset(snapshot: Snapshot): number;
  /** Replaces the state with a snapshot from the leader, after it is durable. */
  restore(snapshot: Snapshot): void;
  /** The log is durable on this node up to `lastIndex` (acks=1 replies wait for this on a leader). */
  onPersisted?(lastIndex: number): void;
}
