/**
 * The disk-loss fault and its budget (TigerBeetle's ClusterFaultAtlas, in miniature). A crashed
 * node may also lose a durable suffix of its log, as a corrupt segment tail would, possibly below
 * its commit. At most one node at a time may be missing entries it once held durably, until its
 * durable log reaches again the last index it had before the loss: a majority of the cluster then
 * never lost anything, so the cluster must stay safe and live while that one node recovers.
 * With two voters every quorum needs both, so runs with disk faults keep at least three voters.
 * Membership changes and losses do not overlap (membershipSettled): while a config is in flight,
 * a node that removed itself no longer campaigns yet still counts in the others' old config, and
 * with a lost node beside it that old config has no quorum left.
 */
import type { Prng } from '../../raft/core/index.js';
import { EntryType, isStorageError } from '../../raft/core/index.js';
import type { SimNode } from './sim_node.js';

/** Below this many voters, every quorum includes the node that lost entries: it would block elections. */
export const diskLossVotersMin = 3;

export interface DiskLoss {
  readonly fromIndex: number;
  readonly lastIndexBefore: number;
  readonly commitBefore: number;
}

export class DiskLossBudget {
  private lostNode: SimNode | undefined = undefined;
  /** The lost node is back to normal once its durable log reaches this index again. */
  private caughtUpIndex = 0;

  /** Whether node may lose entries now: no other node is still missing entries it held. */
  allows(node: SimNode): boolean {
    return !this.outstanding() || this.lostNode === node;
  }

  /** Whether some node is still missing entries it held; forgets it once it caught up. */
  outstanding(): boolean {
    if (this.lostNode !== undefined && this.lostNode.storage.lastIndex() >= this.caughtUpIndex) {
      this.lostNode = undefined;
    }
    return this.lostNode !== undefined;
  }

  record(node: SimNode, loss: DiskLoss): void {
    this.caughtUpIndex = this.lostNode === node ? Math.max(this.caughtUpIndex, loss.lastIndexBefore) :
      loss.lastIndexBefore;
    this.lostNode = node;
  }
}

/**
 * Draws how much of node's durable log is lost: 1..entriesMax entries, never the snapshot. The cut
 * may reach the bootstrap config entries (a replica that then sees itself as the sole voter must
 * still wait: seed 3267 with 5 nodes broke leader completeness while it did not).
 */
export function drawDiskLoss(node: SimNode, prng: Prng, entriesMax: number): DiskLoss | undefined {
  const storage = node.storage;
  const lastIndexBefore = storage.lastIndex();
  const fromIndex = Math.max(storage.firstIndex(), lastIndexBefore - prng.nextInt(entriesMax));
  if (fromIndex > lastIndexBefore) return undefined;
  return { fromIndex, lastIndexBefore, commitBefore: storage.hardState().commit };
}

/** Every running node agrees on the membership, and no durable config entry waits to be applied. */
export function membershipSettled(nodes: readonly SimNode[]): boolean {
  let agreed: string | undefined;
  for (const node of nodes) {
    const raw = node.raw;
    if (raw === undefined) continue;
    const conf = raw.raft.tracker.conf;
    const members = `${conf.voters.join(',')}|${conf.learners.join(',')}`;
    if (agreed !== undefined && agreed !== members) return false;
    agreed = members;
    const storage = node.storage;
    const from = Math.max(storage.firstIndex(), node.machine.appliedIndex + 1);
    const entries = storage.entries(from, storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
    if (isStorageError(entries) || entries.some((entry) => entry.type === EntryType.config)) return false;
  }
  return true;
}
