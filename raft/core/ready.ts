/**
 * A Ready is one batch of work for the host. The host must, in this order:
 *   1. persist `snapshot` (if any), then append `entries` (deleting any stored entries at or
 *      after entries[0].index), then persist `hardState` (if any); fsync if `mustSync`;
 *   2. send `messages` (allowed before or while persisting: they do not depend on this batch);
 *   3. install `snapshot` into the state machine, then apply `committedEntries` in order
 *      (they are already durable), and serve `readStates` once applied reaches their index;
 *   4. call RawNode.advance().
 * Messages that depend on this batch being durable (votes, append acks, anything of a new term)
 * are not in the Ready at all: advance() releases them into the next Ready, so the host cannot
 * send them early.
 */
import type { Entry, HardState, Snapshot } from './entries.js';
import type { NodeId, RaftIndex, Role, Term } from './ids.js';
import type { Message } from './messages.js';
import type { ReadState } from './read_index.js';

export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId;
}

export interface Ready {
  readonly softState: SoftState;
  /** Persist when defined: it changed since the previous Ready. */
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** Whether step 1 must fsync (new entries, snapshot, term or vote; not a commit-only change). */
  readonly mustSync: boolean;
}

/** What advance() needs to know about the Ready it acknowledges. */
export interface ReadyReceipt {
  readonly hardState: HardState | undefined;
  readonly lastEntry: { readonly index: RaftIndex; readonly term: Term } | undefined;
  readonly snapshotIndex: RaftIndex | undefined;
  readonly lastCommittedIndex: RaftIndex | undefined;
  /** Messages released by advance(), once the state they depend on is durable. */
  readonly messagesAfterPersist: readonly Message[];
}
