/**
 * The latest Raft snapshot of each log, in the state environment (flushed before save resolves).
 * Snapshots are small here: a partition's is its producer state and offsets (the records stay in
 * the segments), the controller's is the cluster metadata.
 */
import type { Database, RootDatabase } from 'lmdb';
import type { Snapshot } from '../raft/core/index.js';

interface StoredSnapshot {
  index: number;
  term: number;
  voters: number[];
  learners: number[];
  data: Buffer;
}

export class SnapshotStore {
  private readonly snapshots: Database<StoredSnapshot, number>;

  constructor(private readonly root: RootDatabase) {
    this.snapshots = root.openDB({ name: 'snapshots' });
  }

  load(logId: number): Snapshot | undefined {
    const stored = this.snapshots.get(logId);
    if (stored === undefined) return undefined;
    return {
      metadata: { index: stored.index, term: stored.term,
        conf: { voters: stored.voters, learners: stored.learners } },
      data: stored.data,
    };
  }

  async save(logId: number, snapshot: Snapshot): Promise<void> {
    const { index, term, conf } = snapshot.metadata;
    await this.snapshots.put(logId, { index, term, voters: [...conf.voters], learners: [...conf.learners],
      data: Buffer.from(snapshot.data) });
    await this.root.flushed;
  }

  async remove(logId: number): Promise<void> {
    await this.snapshots.remove(logId);
    await this.root.flushed;
  }
}
