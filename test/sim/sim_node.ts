/**
 * One simulated replica and its host: durable MemoryStorage, the RawNode (absent while crashed),
 * the state machine, and at most one Ready whose writes are not yet durable. A crash loses the
 * unsynced Ready (or keeps a torn prefix of its entries) and all volatile state.
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
  pending: PendingPersist | undefined = undefined;
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

  /** Loses volatile state; unsynced writes are lost, or a prefix of the entries survives. */
  crash(tornPrefixEntries: number, checker: SafetyChecker): void {
    const pending = this.pending;
    if (pending !== undefined && pending.ready.snapshot === undefined && tornPrefixEntries > 0) {
      this.appendDurably(pending.ready.entries.slice(0, tornPrefixEntries), checker);
    }
    this.raw = undefined;
    this.pending = undefined;
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

  /** The Ready's writes become durable, in the order ready.ts prescribes; then advance. */
  persist(checker: SafetyChecker): void {
    const raw = this.raw;
    const pending = this.pending;
    if (raw === undefined || pending === undefined) return;
    this.pending = undefined;
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
    this.storage.createSnapshot(this.machine.appliedIndex, raw.confState(), encodeMachine(this.machine));
  }
}
