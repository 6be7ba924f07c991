/**
 * Raft messages on the wire: protobuf, one RaftBatch per ZeroMQ frame carrying every message queued
 * for one peer since the last flush, whatever their group (groups are multiplexed by group_id).
 * The schema is the proto text below, parsed once by protobufjs reflection (as fast as generated
 * code, and it keeps raft/ free of src/'s build step). uint64 fields decode as numbers, never Long.
 */
import protobuf from 'protobufjs';
import { assertNever } from '../core/assert.js';
import { EntryType, MessageType } from '../core/index.js';
import type { Entry, Message, Snapshot } from '../core/index.js';

export const raftProto = `
syntax = "proto3";
package tributary.raft;

enum Kind {
  KIND_UNSPECIFIED = 0; VOTE_REQUEST = 1; VOTE_RESPONSE = 2; APPEND_REQUEST = 3; APPEND_RESPONSE = 4;
  HEARTBEAT_REQUEST = 5; HEARTBEAT_RESPONSE = 6; SNAPSHOT_REQUEST = 7; TIMEOUT_NOW = 8;
}
enum EntryKind { NORMAL = 0; NOOP = 1; CONFIG = 2; }

message Entry { uint64 term = 1; uint64 index = 2; EntryKind kind = 3; bytes data = 4; }

message Snapshot {
  uint64 index = 1; uint64 term = 2; repeated uint64 voters = 3; repeated uint64 learners = 4; bytes data = 5;
}

message RaftMessage {
  Kind kind = 1;
  uint64 group_id = 2;
  uint64 from = 3;
  uint64 to = 4;
  uint64 term = 5;
  bool pre_vote = 6;            // vote request and response
  uint64 last_log_index = 7;    // vote request
  uint64 last_log_term = 8;
  bool transfer = 9;
  bool granted = 10;            // vote response
  uint64 prev_log_index = 11;   // append request
  uint64 prev_log_term = 12;
  repeated Entry entries = 13;
  uint64 commit_index = 14;     // append and heartbeat requests
  bool success = 15;            // append response
  uint64 index = 16;
  uint64 hint_index = 17;
  uint64 hint_term = 18;
  uint64 read_seq = 19;         // heartbeat request and response
  Snapshot snapshot = 20;       // snapshot request
}

// forwards: opaque requests for the peer's host (a controller command for the controller leader).
message RaftBatch { repeated RaftMessage messages = 1; repeated bytes forwards = 2; }
`;

protobuf.util.Long = null as unknown as typeof protobuf.util.Long;
protobuf.configure();
const root = protobuf.parse(raftProto, { keepCase: false }).root;
const batchType = root.lookupType('tributary.raft.RaftBatch');

const kinds = [MessageType.voteRequest, MessageType.voteResponse, MessageType.appendRequest,
  MessageType.appendResponse, MessageType.heartbeatRequest, MessageType.heartbeatResponse,
  MessageType.snapshotRequest, MessageType.timeoutNow] as const;
const entryKinds = [EntryType.normal, EntryType.noop, EntryType.config] as const;

interface WireEntry { term?: number; index?: number; kind?: number; data?: Uint8Array }
interface WireSnapshot { index?: number; term?: number; voters?: number[]; learners?: number[]; data?: Uint8Array }
interface WireMessage {
  kind?: number; groupId?: number; from?: number; to?: number; term?: number; preVote?: boolean;
  lastLogIndex?: number; lastLogTerm?: number; transfer?: boolean; granted?: boolean; prevLogIndex?: number;
  prevLogTerm?: number; entries?: WireEntry[]; commitIndex?: number; success?: boolean; index?: number;
  hintIndex?: number; hintTerm?: number; readSeq?: number; snapshot?: WireSnapshot;
}

/** A frame that is not a valid RaftBatch: the peer is broken or not a Tributary broker. */
export class RaftCodecError extends Error {
  override readonly name = 'RaftCodecError';
}

function toWireEntry(entry: Entry): WireEntry {
  return { term: entry.term, index: entry.index, kind: entryKinds.indexOf(entry.type), data: entry.data };
}

function toWireSnapshot(snapshot: Snapshot): WireSnapshot {
  const { index, term, conf } = snapshot.metadata;
  return { index, term, voters: [...conf.voters], learners: [...conf.learners], data: snapshot.data };
}

function toWire(message: Message): WireMessage {
  const envelope = { kind: kinds.indexOf(message.type) + 1, groupId: message.groupId, from: message.from,
    to: message.to, term: message.term };
  switch (message.type) {
    case MessageType.voteRequest:
      return { ...envelope, preVote: message.preVote, lastLogIndex: message.lastLogIndex,
        lastLogTerm: message.lastLogTerm, transfer: message.transfer };
    case MessageType.voteResponse:
      return { ...envelope, preVote: message.preVote, granted: message.granted };
    case MessageType.appendRequest:
      return { ...envelope, prevLogIndex: message.prevLogIndex, prevLogTerm: message.prevLogTerm,
        entries: message.entries.map(toWireEntry), commitIndex: message.commitIndex };
    case MessageType.appendResponse:
      return { ...envelope, success: message.success, index: message.index, hintIndex: message.hintIndex,
        hintTerm: message.hintTerm };
    case MessageType.heartbeatRequest:
      return { ...envelope, commitIndex: message.commitIndex, readSeq: message.readSeq };
    case MessageType.heartbeatResponse:
      return { ...envelope, readSeq: message.readSeq };
    case MessageType.snapshotRequest:
      return { ...envelope, snapshot: toWireSnapshot(message.snapshot) };
    case MessageType.timeoutNow:
      return envelope;
    default:
      return assertNever(message, 'raft message');
  }
}

export interface RaftBatch {
  readonly messages: readonly Message[];
  readonly forwards: readonly Uint8Array[];
}

export function encodeRaftBatch(batch: RaftBatch): Uint8Array {
  return batchType.encode({ messages: batch.messages.map(toWire), forwards: batch.forwards }).finish();
}

function fromWireEntry(entry: WireEntry): Entry {
  const type = entryKinds[entry.kind ?? 0];
  if (type === undefined) throw new RaftCodecError(`unknown entry kind ${entry.kind}`);
  return { term: entry.term ?? 0, index: entry.index ?? 0, type, data: entry.data ?? new Uint8Array() };
}

function fromWireSnapshot(snapshot: WireSnapshot | undefined): Snapshot {
  if (snapshot === undefined) throw new RaftCodecError('snapshot request without a snapshot');
  return { metadata: { index: snapshot.index ?? 0, term: snapshot.term ?? 0,
    conf: { voters: snapshot.voters ?? [], learners: snapshot.learners ?? [] } },
  data: snapshot.data ?? new Uint8Array() };
}

function fromWire(wire: WireMessage): Message {
  const type = kinds[(wire.kind ?? 0) - 1];
  if (type === undefined) throw new RaftCodecError(`unknown message kind ${wire.kind}`);
  const envelope = { groupId: wire.groupId ?? 0, from: wire.from ?? 0, to: wire.to ?? 0, term: wire.term ?? 0 };
  switch (type) {
    case MessageType.voteRequest:
      return { ...envelope, type, preVote: wire.preVote ?? false, lastLogIndex: wire.lastLogIndex ?? 0,
        lastLogTerm: wire.lastLogTerm ?? 0, transfer: wire.transfer ?? false };
    case MessageType.voteResponse:
      return { ...envelope, type, preVote: wire.preVote ?? false, granted: wire.granted ?? false };
    case MessageType.appendRequest:
      return { ...envelope, type, prevLogIndex: wire.prevLogIndex ?? 0, prevLogTerm: wire.prevLogTerm ?? 0,
        entries: (wire.entries ?? []).map(fromWireEntry), commitIndex: wire.commitIndex ?? 0 };
    case MessageType.appendResponse:
      return { ...envelope, type, success: wire.success ?? false, index: wire.index ?? 0,
        hintIndex: wire.hintIndex ?? 0, hintTerm: wire.hintTerm ?? 0 };
    case MessageType.heartbeatRequest:
      return { ...envelope, type, commitIndex: wire.commitIndex ?? 0, readSeq: wire.readSeq ?? 0 };
    case MessageType.heartbeatResponse:
      return { ...envelope, type, readSeq: wire.readSeq ?? 0 };
    case MessageType.snapshotRequest:
      return { ...envelope, type, snapshot: fromWireSnapshot(wire.snapshot) };
    case MessageType.timeoutNow:
      return { ...envelope, type };
    default:
      return assertNever(type, 'raft message kind');
  }
}

/** Decodes one frame; throws RaftCodecError for anything that is not a well-formed batch. */
export function decodeRaftBatch(bytes: Uint8Array): RaftBatch {
  let decoded: { messages?: WireMessage[]; forwards?: Uint8Array[] };
  try {
    // Decoded messages read proto3 defaults from their prototypes, so no toObject copy is needed.
    decoded = batchType.decode(bytes) as { messages?: WireMessage[]; forwards?: Uint8Array[] };
  } catch (error) {
    throw new RaftCodecError(`malformed raft batch: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { messages: (decoded.messages ?? []).map(fromWire), forwards: decoded.forwards ?? [] };
}
