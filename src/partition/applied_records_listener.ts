/**
 * State a partition replica can carry beside its log, rebuilt from the same applied entries on
 * every replica (the group store of a `__consumer_offsets` partition). The replica feeds it each
 * applied record batch in log order, keeps its image in the partition's Raft snapshots (so
 * retention can delete any applied prefix) and tells it when this replica becomes a leader with
 * every earlier entry applied, or stops being one.
 */
export interface AppliedRecordsListener {
  /** A committed batch at its log offset, in log order (at most once per offset). */
  applyBatch(batch: Uint8Array, baseOffset: number): void;
  /**
   * The state to keep in a snapshot. It may hold entries after the snapshot's offset: the entries
   * after it are applied again on restore, so applying a batch must be harmless when its effect is
   * already in the state (true of a latest-value-per-key store).
   */
  image(): Uint8Array;
  /** Replaces the state by an image; null: the snapshot holds none (written before the listener existed). */
  restore(image: Uint8Array | null): void;
  /** true: this replica leads and has applied every earlier entry; false: it no longer leads (or stopped). */
  onLeadership(ready: boolean): void;
}
