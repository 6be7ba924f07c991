/**
 * One simulated replica and its host: durable MemoryStorage, the RawNode (absent while crashed),
 * the state machine, and the Readies whose writes are not yet durable (oldest first, as many as
 * RaftConfig.readiesInFlightMax). A crash loses the unsynced Readies (or keeps a torn prefix of
 * their entries, written in order) and all volatile state.
 */
import type { Entry, RaftConfig, Ready } from '../../raft/core/index.js';
import { MemoryStorage, RawNode, bootstrapEntries, isStorageError } from '../../raft/core/index.js';
import type { SafetyChecker } from './checkers.js';
import { Violation } from './checkers.js';
import type { MachineState } from './state_machine.js';
import { chainNext, decodeMachine, emptyMachine, encodeMachine } from './state_machine.js';

export interface PendingPersist {
  readonly ready: Ready;
  readonly dueTick: number;
}

export interface PendingProposal {
  readonly proposalId: number;
  readonly term: number;
  readonly proposedTick: number;
}

export class SimNode {
  raw: RawNode | undefined = undefined;
  storage: MemoryStorage;
  machine: MachineState = emptyMachine();
  /** Readies taken and not yet durable, oldest first. */
  pending: PendingPersist[] = [];
  restartTick = 0;
  readonly proposals = new Map<number, PendingProposal>();

  constructor(readonly id: number, initialVoters: readonly number[] | undefined) {
    this.storage = new MemoryStorage();
    if (initialVoters !== undefined) {
      const boot = bootstrapEntries(initialVoters);
      this.storage.append(boot.entries);
      this.storage.setHardState(boot.hardState);
    }
  }

  get alive(): boolean {
    return this.raw !== undefined;
  }

  start(config: RaftConfig, checker: SafetyChecker): RawNode {
    const raw = new RawNode(config, this.storage);
    this.raw = raw;
    const snapshot = this.storage.snapshot();
    this.machine = decodeMachine(snapshot.data);
    if (this.machine.appliedIndex !== snapshot.metadata.index) {
      throw new Violation('snapshot', `node ${this.id} snapshot at ${snapshot.metadata.index} holds state ` +
        `${this.machine.appliedIndex}`);
    }
    checker.onStart(this.id, raw.raft.log.committed);
    return raw;
  }

  /** Entries of the Readies not yet durable, up to the first snapshot among them (what a torn write may keep). */
  unsyncedEntries(): number {
    let count = 0;
    for (const { ready } of this.pending) {
      if (ready.snapshot !== undefined) break;
      count += ready.entries.length;
    }
    return count;
  }

  /**
   * Loses volatile state; unsynced writes are lost, or a prefix of the entries survives (the
   * Readies' entries in the order they were written, without their hard states).
   */
  crash(tornPrefixEntries: number, checker: SafetyChecker): void {
    let kept = tornPrefixEntries;
    for (const { ready } of this.pending) {
      if (kept === 0 || ready.snapshot !== undefined) break;
      const entries = ready.entries.slice(0, kept);
      this.appendDurably(entries, checker);
      kept -= entries.length;
    }
    this.raw = undefined;
    this.pending = [];
    this.machine = emptyMachine();
    this.proposals.clear();
  }

  /** A disk fault: the durable log loses its entries from fromIndex on (hard state and snapshot stay). */
  loseDurableSuffix(fromIndex: number, checker: SafetyChecker): void {
    checker.onDiskLoss(this.id, fromIndex);
    this.storage.dropDurableSuffix(fromIndex);
  }

  appendDurably(entries: readonly Entry[], checker: SafetyChecker): void {
    const first = entries[0];
    if (first === undefined) return;
    const prevTerm = this.storage.term(first.index - 1);
    if (isStorageError(prevTerm)) throw new Violation('storage', `node ${this.id} append after a gap`);
    this.storage.append(entries);
    checker.onDurableAppend(this.id, entries, prevTerm);
  }

  /** The oldest pending Ready's writes become durable, in the order ready.ts prescribes; then advance. */
  persist(checker: SafetyChecker): void {
    const raw = this.raw;
    const pending = this.pending[0];
    if (raw === undefined || pending === undefined) return;
    this.pending.shift();
    const ready = pending.ready;
    if (ready.snapshot !== undefined) {
      this.storage.applySnapshot(ready.snapshot);
      this.machine = decodeMachine(ready.snapshot.data);
      checker.onSnapshotInstalled(this.id, this.machine.appliedIndex, this.machine.chain);
    }
    this.appendDurably(ready.entries, checker);
    if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState);
    raw.advance();
  }

  apply(entry: Entry, checker: SafetyChecker): void {
    if (entry.index !== this.machine.appliedIndex + 1) {
      throw new Violation('apply order',
        `node ${this.id} applied ${entry.index} after ${this.machine.appliedIndex}`);
    }
    this.machine.chain = chainNext(this.machine.chain, entry);
    this.machine.appliedIndex = entry.index;
    checker.onApply(this.id, entry, this.machine.chain);
  }

  /** Compacts the log into a snapshot of the state machine once enough entries are applied. */
  maybeCompact(compactEntries: number): void {
    const raw = this.raw;
    if (raw === undefined || compactEntries === 0 || raw.hasPendingSnapshot()) return;
    if (this.machine.appliedIndex - (this.storage.firstIndex() - 1) < compactEntries) return;
    // Entries are applied as their Ready is taken, perhaps before the Ready's hard state (with the
    // commit that covers them) is durable; a snapshot never runs past the durable commit.
    if (this.machine.appliedIndex > this.storage.hardState().commit) return;
    this.storage.createSnapshot(this.machine.appliedIndex, raw.confState(), encodeMachine(this.machine));
  }
}
