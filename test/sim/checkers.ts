/**
 * Safety invariants checked after every step of the simulator (Raft paper Figure 3, plus the
 * durability and client-visible checks of the issue). A failure throws a Violation naming the
 * invariant; the runner turns it into a seed report with a trace.
 */
import type { Entry, MemoryStorage, NodeId, RawNode } from '../../raft/core/index.js';
import { Role, isStorageError } from '../../raft/core/index.js';

export class Violation extends Error {
  override readonly name = 'Violation';
  constructor(readonly invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
  }
}

export interface AckedProposal {
  readonly proposalId: number;
  readonly index: number;
  readonly term: number;
}

interface NodeView {
  lastCommit: number;
  leaderTermChecked: number;
}

interface EntryRecord {
  readonly hash: number;
  readonly prevTerm: number;
}

export class SafetyChecker {
  private readonly leaderByTerm = new Map<number, NodeId>();
  /** Index -> term of every entry known committed (from any node's commit index). */
  private readonly committedTerms: number[] = [];
  /** Index -> state machine chain after applying that index. */
  private readonly appliedChains: number[] = [];
  private readonly entries = new Map<number, Map<number, EntryRecord>>();
  private readonly views = new Map<NodeId, NodeView>();
  /**
   * Node -> index -> term of entries it held durably and then lost to a disk fault. A leader may
   * still count such an entry from the node's earlier ack; recovering() is what keeps that safe.
   */
  private readonly lostEntries = new Map<NodeId, Map<number, number>>();
  readonly acked: AckedProposal[] = [];
  maxAckedIndex = 0;
  maxCommittedIndex = 0;

  constructor(private readonly storageOf: (id: NodeId) => MemoryStorage) {}

  /** A node (re)started: its volatile commit index may restart lower. */
  onStart(id: NodeId, commit: number): void {
    this.views.set(id, { lastCommit: commit, leaderTermChecked: 0 });
  }

  afterStep(id: NodeId, raw: RawNode): void {
    const r = raw.raft;
    const view = this.views.get(id)!;
    if (r.role === Role.leader) {
      const leader = this.leaderByTerm.get(r.term);
      if (leader === undefined) {
        this.leaderByTerm.set(r.term, id);
      } else if (leader !== id) {
        throw new Violation('election safety', `term ${r.term} has leaders ${leader} and ${id}`);
      }
      if (view.leaderTermChecked !== r.term) {
        view.leaderTermChecked = r.term;
        this.checkLeaderCompleteness(id, raw);
      }
    }
    const commit = r.log.committed;
    if (commit < view.lastCommit) {
      throw new Violation('commit monotonic', `node ${id} commit ${view.lastCommit} -> ${commit}`);
    }
    if (commit > view.lastCommit) {
      this.recordCommitted(id, raw, view.lastCommit + 1, commit);
      if (r.role === Role.leader) this.checkCommitDurable(id, raw, commit);
      view.lastCommit = commit;
    }
  }

  private recordCommitted(id: NodeId, raw: RawNode, from: number, to: number): void {
    for (let index = from; index <= to; index++) {
      const term = raw.raft.log.termOrError(index);
      if (isStorageError(term)) continue;
      const known = this.committedTerms[index];
      if (known === undefined) {
        this.committedTerms[index] = term;
      } else if (known !== term) {
        throw new Violation('log matching', `node ${id} committed term ${term} at ${index}, known ${known}`);
      }
    }
    this.maxCommittedIndex = Math.max(this.maxCommittedIndex, to);
  }

  /** Leader completeness (§5.4): a new leader holds every committed entry and acked proposal. */
  private checkLeaderCompleteness(id: NodeId, raw: RawNode): void {
    const log = raw.raft.log;
    for (let index = 1; index <= this.maxCommittedIndex; index++) {
      const known = this.committedTerms[index];
      if (known === undefined) continue;
      const term = log.termOrError(index);
      if (term === 'compacted') continue;
      if (term !== known) {
        throw new Violation('leader completeness',
          `leader ${id} of term ${raw.raft.term} has ${term} at ${index}, committed term ${known}`);
      }
    }
    for (const proposal of this.acked) {
      const term = log.termOrError(proposal.index);
      if (term === 'compacted' || term === proposal.term) continue;
      throw new Violation('acked proposal lost', `leader ${id} of term ${raw.raft.term} lacks proposal ` +
        `${proposal.proposalId} at ${proposal.index} (term ${proposal.term}), has ${term}`);
    }
  }

  /** A committed entry is durable on a majority of the leader's voters at the moment of commit. */
  private checkCommitDurable(id: NodeId, raw: RawNode, commit: number): void {
    const term = raw.raft.log.termOrError(commit);
    if (isStorageError(term)) return;
    const voters = raw.raft.tracker.voters();
    let durable = 0;
    for (const voter of voters) {
      if (this.heldDurably(voter, commit, term)) durable += 1;
    }
    if (durable < Math.floor(voters.length / 2) + 1) {
      throw new Violation('commit durability', `leader ${id} committed ${commit} (term ${term}) durable on ` +
        `only ${durable} of ${voters.length} voters`);
    }
  }

  /**
   * Whether the node holds (index, term) durably, or held it until a disk fault cut its log below
   * index; a node that lost nothing is judged on its storage alone.
   */
  private heldDurably(id: NodeId, index: number, term: number): boolean {
    const storage = this.storageOf(id);
    if (storage.firstIndex() > index || storage.term(index) === term) return true;
    return storage.lastIndex() < index && this.lostEntries.get(id)?.get(index) === term;
  }

  /** A disk fault is about to drop node's durable entries from fromIndex on: remember them. */
  onDiskLoss(id: NodeId, fromIndex: number): void {
    const storage = this.storageOf(id);
    let lost = this.lostEntries.get(id);
    if (lost === undefined) {
      lost = new Map();
      this.lostEntries.set(id, lost);
    }
    for (let index = fromIndex; index <= storage.lastIndex(); index++) {
      const term = storage.term(index);
      if (!isStorageError(term)) lost.set(index, term);
    }
  }

  /** Log matching, checked on every durable append: one entry per (index, term), one predecessor. */
  onDurableAppend(id: NodeId, entries: readonly Entry[], prevTerm: number): void {
    let previous = prevTerm;
    for (const entry of entries) {
      let byTerm = this.entries.get(entry.index);
      if (byTerm === undefined) {
        byTerm = new Map();
        this.entries.set(entry.index, byTerm);
      }
      const record = byTerm.get(entry.term);
      const hash = entryHashOf(entry);
      if (record === undefined) {
        byTerm.set(entry.term, { hash, prevTerm: previous });
      } else if (record.hash !== hash || record.prevTerm !== previous) {
        throw new Violation('log matching', `node ${id} stored a different entry or predecessor at ` +
          `(${entry.index}, ${entry.term})`);
      }
      previous = entry.term;
    }
  }

  /** State machine safety: no two nodes apply different entries at one index. */
  onApply(id: NodeId, entry: Entry, chain: number): void {
    const known = this.appliedChains[entry.index];
    if (known === undefined) {
      this.appliedChains[entry.index] = chain;
    } else if (known !== chain) {
      throw new Violation('state machine safety', `node ${id} applied a different history at ${entry.index}`);
    }
    const committed = this.committedTerms[entry.index];
    if (committed !== undefined && committed !== entry.term) {
      throw new Violation('state machine safety',
        `node ${id} applied term ${entry.term} at ${entry.index}, ` +
        `committed term ${committed}`);
    }
  }

  onSnapshotInstalled(id: NodeId, index: number, chain: number): void {
    const known = this.appliedChains[index];
    if (known !== undefined && known !== chain) {
      throw new Violation('state machine safety',
        `node ${id} installed a snapshot with another history at ${index}`);
    }
  }

  onAck(proposal: AckedProposal): void {
    this.acked.push(proposal);
    this.maxAckedIndex = Math.max(this.maxAckedIndex, proposal.index);
  }

  /** ReadIndex linearizability: a read sees every write acknowledged before the read began. */
  onReadState(id: NodeId, index: number, ackedIndexAtRequest: number): void {
    if (index < ackedIndexAtRequest) {
      throw new Violation('read index linearizability', `node ${id} read at ${index} but write at ` +
        `${ackedIndexAtRequest} was acknowledged before the read`);
    }
  }

  /** At the end: every acked proposal is in the log of every node that has reached its index. */
  checkFinalLogs(nodes: readonly { id: NodeId; raw: RawNode | undefined }[]): void {
    for (const node of nodes) {
      if (node.raw === undefined) continue;
      const log = node.raw.raft.log;
      for (const proposal of this.acked) {
        if (proposal.index > log.committed) continue;
        const term = log.termOrError(proposal.index);
        if (term === 'compacted' || term === proposal.term) continue;
        throw new Violation('acked proposal lost', `node ${node.id} has ${term} at ${proposal.index}, ` +
          `proposal ${proposal.proposalId} acked with term ${proposal.term}`);
      }
    }
  }
}

function entryHashOf(entry: Entry): number {
  let hash = 0x811c9dc5;
  hash = Math.imul(hash ^ entry.type.length, 0x01000193);
  for (const byte of entry.data) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}
