/**
 * Public surface of the Raft core: a pure, deterministic state machine (no I/O, clock or chance).
 *
 * A host drives one RawNode per group:
 *   timer        -> node.tick()
 *   peer message -> node.step(message)            (messages carry groupId for multiplexing)
 *   client       -> node.propose(data), readIndex(context), proposeConfChange(change), ...
 *   then, while node.hasReady():
 *     const ready = node.ready();
 *     persist ready.snapshot, ready.entries, ready.hardState (fsync when ready.mustSync);
 *     send ready.messages; apply ready.committedEntries; serve ready.readStates;
 *     node.advance();   // releases the messages that waited for this persist
 * See ready.ts for the exact contract and storage.ts for the LogStorage the host implements.
 */
export { AssertionError, assert, assertNever, assertNatural, defined } from './assert.js';
export type { GroupId, NodeId, RaftIndex, Term } from './ids.js';
export { Role, noNode } from './ids.js';
export type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from './entries.js';
export { EntryType, emptyConfState, emptyHardState, entrySizeBytes, hardStateEqual } from './entries.js';
export type {
  AppendRequest, AppendResponse, HeartbeatRequest, HeartbeatResponse, Message, MessageBody, SnapshotRequest,
  TimeoutNow, VoteRequest, VoteResponse,
} from './messages.js';
export { MessageType } from './messages.js';
export type { RaftConfig, RaftConfigOptions } from './config.js';
export { Mutation, makeConfig, validateConfig } from './config.js';
export type { Prng } from './prng.js';
export { SeededPrng } from './prng.js';
export type { InitialState, LogStorage } from './storage.js';
export { StorageError, isStorageError } from './storage.js';
export { MemoryStorage } from './memory_storage.js';
export type { ConfChange } from './conf_change.js';
export { ConfChangeType, applyConfChange, decodeConfChange, encodeConfChange } from './conf_change.js';
export { bootstrapEntries } from './bootstrap.js';
export type { ReadState } from './read_index.js';
export type { Ready, SoftState } from './ready.js';
export type { ProposeResult, RequestResult } from './results.js';
export { DropReason } from './results.js';
export type { Status } from './raw_node.js';
export { RawNode } from './raw_node.js';
