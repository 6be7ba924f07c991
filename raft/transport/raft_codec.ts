/**
 * Raft messages on the wire: one RaftBatch per ZeroMQ multipart message, carrying every message
 * queued for one peer since the last flush, whatever their group (groups are multiplexed by
 * group_id). The frames are
 *
 *   [header, payload 1, payload 2, ..., payload n]
 *
 * header is the protobuf RaftBatch below with every field but the entry payloads; the payloads
 * follow as frames of their own, one per entry (empty ones included), in the order the entries
 * appear in the header, each declaring its length there. Payloads are record batches of KBs to
 * hundreds of KB: as frames they go from the proposal to the socket and from the socket to the log
 * without a copy into or out of a protobuf buffer (zeromq sends a Buffer of more than 128 bytes by
 * reference and hands a received frame over as an external Buffer). The decoder checks that the
 * frames match the entries the header declares, one for one and length for length, so a batch is
 * delivered exactly as sent or refused whole. Snapshot data and forwards, rare, stay in the header.
 *
 * The schema is the proto text below, parsed once by protobufjs reflection (as fast as generated
 * code, and it keeps raft/ free of src/'s build step). uint64 fields decode as numbers, never Long.
 */
import protobuf from 'protobufjs';
import { assert, assertNever } from '../core/assert.js';
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

// The payload is the entry's frame; data_bytes is its length. Field 4 held the payload inline
// before payloads moved to frames: a batch still using it is refused, never read as empty data.
message Entry { uint64 term = 1; uint64 index = 2; EntryKind kind = 3; bytes inline_data = 4; uint64 data_bytes = 5; }

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

interface WireEntry { term?: number; index?: number; kind?: number; inlineData?: Uint8Array; dataBytes?: number }
interface WireSnapshot { index?: number; term?: number; voters?: number[]; learners?: number[]; data?: Uint8Array }
interface WireMessage {
  kind?: number; groupId?: number; from?: number; to?: number; term?: number; preVote?: boolean;
  lastLogIndex?: number; lastLogTerm?: number; transfer?: boolean; granted?: boolean; prevLogIndex?: number;
  prevLogTerm?: number; entries?: WireEntry[]; commitIndex?: number; success?: boolean; index?: number;
  hintIndex?: number; hintTerm?: number; readSeq?: number; snapshot?: WireSnapshot | null;
}

/** A multipart message that is not a valid RaftBatch: the peer is broken or not a Tributary broker. */
export class RaftCodecError extends Error {
  override readonly name = 'RaftCodecError';
}

export interface RaftBatch {
  readonly messages: readonly Message[];
  readonly forwards: readonly Uint8Array[];
}

/** How many payload frames a message adds to its batch: one per entry. */
export function payloadFrameCount(message: Message): number {
  return message.type === MessageType.appendRequest ? message.entries.length : 0;
}

/** Appends the entry's payload to `payloads` and describes it by its length in the header. */
function toWireEntry(entry: Entry, payloads: Uint8Array[]): WireEntry {
  payloads.push(entry.data);
  return { term: entry.term, index: entry.index, kind: entryKinds.indexOf(entry.type),
    dataBytes: entry.data.byteLength };
}

function toWireSnapshot(snapshot: Snapshot): WireSnapshot {
  const { index, term, conf } = snapshot.metadata;
  return { index, term, voters: [...conf.voters], learners: [...conf.learners], data: snapshot.data };
}

/**
 * A RaftMessage to encode: every field present, undefined where its kind has none (the encoder skips
 * those). One object shape for every kind keeps toWire and the encoder's field reads monomorphic;
 * objects spread from a shared envelope cost several times as much per message.
 */
type OutgoingWire = { [K in keyof WireMessage]-?: WireMessage[K] | undefined };

function toWire(message: Message, payloads: Uint8Array[]): OutgoingWire {
  const wire: OutgoingWire = { kind: kinds.indexOf(message.type) + 1, groupId: message.groupId, from: message.from,
    to: message.to, term: message.term, preVote: undefined, lastLogIndex: undefined, lastLogTerm: undefined,
    transfer: undefined, granted: undefined, prevLogIndex: undefined, prevLogTerm: undefined, entries: undefined,
    commitIndex: undefined, success: undefined, index: undefined, hintIndex: undefined, hintTerm: undefined,
    readSeq: undefined, snapshot: undefined };
  switch (message.type) {
    case MessageType.voteRequest:
      wire.preVote = message.preVote;
      wire.lastLogIndex = message.lastLogIndex;
      wire.lastLogTerm = message.lastLogTerm;
      wire.transfer = message.transfer;
      break;
    case MessageType.voteResponse:
      wire.preVote = message.preVote;
      wire.granted = message.granted;
      break;
    case MessageType.appendRequest:
      wire.prevLogIndex = message.prevLogIndex;
      wire.prevLogTerm = message.prevLogTerm;
      wire.entries = message.entries.map((entry) => toWireEntry(entry, payloads));
      wire.commitIndex = message.commitIndex;
      break;
    case MessageType.appendResponse:
      wire.success = message.success;
      wire.index = message.index;
      wire.hintIndex = message.hintIndex;
      wire.hintTerm = message.hintTerm;
      break;
    case MessageType.heartbeatRequest:
      wire.commitIndex = message.commitIndex;
      wire.readSeq = message.readSeq;
      break;
    case MessageType.heartbeatResponse:
      wire.readSeq = message.readSeq;
      break;
    case MessageType.snapshotRequest:
      wire.snapshot = toWireSnapshot(message.snapshot);
      break;
    case MessageType.timeoutNow:
      break;
    default:
      return assertNever(message, 'raft message');
  }
  return wire;
}

/**
 * The frames of a batch, [header, ...payloads], for one multipart send. The payloads are the
 * entries' own data, not copies: they must not change until the send is done (the only in-place
 * write to a payload, the offset stamp of storage, writes the same bytes on every replica).
 */
export function encodeRaftBatch(batch: RaftBatch): Uint8Array[] {
  const payloads: Uint8Array[] = [];
  const header = batchType.encode({ messages: batch.messages.map((message) => toWire(message, payloads)),
    forwards: batch.forwards }).finish();
  assert(payloads.length === batch.messages.reduce((sum, message) => sum + payloadFrameCount(message), 0),
    'one payload frame per entry');
  return [header, ...payloads];
}

/** Reads the entries' payloads from `payloads` in order, starting at `cursor.next`. */
interface PayloadCursor { readonly payloads: readonly Uint8Array[]; next: number }

function fromWireEntry(entry: WireEntry, cursor: PayloadCursor): Entry {
  const type = entryKinds[entry.kind ?? 0];
  if (type === undefined) throw new RaftCodecError(`unknown entry kind ${entry.kind}`);
  if ((entry.inlineData?.length ?? 0) > 0) {
    throw new RaftCodecError('an entry with inline data (the format before payload frames)');
  }
  const data = cursor.payloads[cursor.next];
  if (data === undefined) {
    throw new RaftCodecError(`entries declare more than the ${cursor.payloads.length} payload frames`);
  }
  const dataBytes = entry.dataBytes ?? 0;
  if (data.byteLength !== dataBytes) {
    throw new RaftCodecError(`payload frame ${cursor.next} has ${data.byteLength} bytes, its entry declares ${dataBytes}`);
  }
  cursor.next += 1;
  return { term: entry.term ?? 0, index: entry.index ?? 0, type, data };
}

function fromWireSnapshot(snapshot: WireSnapshot | null | undefined): Snapshot {
  // A decoded message without its submessage reads null from its prototype, not undefined.
  if (snapshot === undefined || snapshot === null) throw new RaftCodecError('snapshot request without a snapshot');
  return { metadata: { index: snapshot.index ?? 0, term: snapshot.term ?? 0,
    conf: { voters: snapshot.voters ?? [], learners: snapshot.learners ?? [] } },
  data: snapshot.data ?? new Uint8Array() };
}

function fromWire(wire: WireMessage, cursor: PayloadCursor): Message {
  const type = kinds[(wire.kind ?? 0) - 1];
  if (type === undefined) throw new RaftCodecError(`unknown message kind ${wire.kind}`);
  // Entries elsewhere would leave their frames unclaimed or shift every later payload.
  if (type !== MessageType.appendRequest && (wire.entries?.length ?? 0) > 0) {
    throw new RaftCodecError(`a ${type} with entries`);
  }
  const groupId = wire.groupId ?? 0;
  const from = wire.from ?? 0;
  const to = wire.to ?? 0;
  const term = wire.term ?? 0;
  // Literals, not a spread envelope: spreading costs several times as much per message.
  switch (type) {
    case MessageType.voteRequest:
      return { groupId, from, to, term, type, preVote: wire.preVote ?? false, lastLogIndex: wire.lastLogIndex ?? 0,
        lastLogTerm: wire.lastLogTerm ?? 0, transfer: wire.transfer ?? false };
    case MessageType.voteResponse:
      return { groupId, from, to, term, type, preVote: wire.preVote ?? false, granted: wire.granted ?? false };
    case MessageType.appendRequest:
      return { groupId, from, to, term, type, prevLogIndex: wire.prevLogIndex ?? 0,
        prevLogTerm: wire.prevLogTerm ?? 0, entries: (wire.entries ?? []).map((entry) => fromWireEntry(entry, cursor)),
        commitIndex: wire.commitIndex ?? 0 };
    case MessageType.appendResponse:
      return { groupId, from, to, term, type, success: wire.success ?? false, index: wire.index ?? 0,
        hintIndex: wire.hintIndex ?? 0, hintTerm: wire.hintTerm ?? 0 };
    case MessageType.heartbeatRequest:
      return { groupId, from, to, term, type, commitIndex: wire.commitIndex ?? 0, readSeq: wire.readSeq ?? 0 };
    case MessageType.heartbeatResponse:
      return { groupId, from, to, term, type, readSeq: wire.readSeq ?? 0 };
    case MessageType.snapshotRequest:
      return { groupId, from, to, term, type, snapshot: fromWireSnapshot(wire.snapshot) };
    case MessageType.timeoutNow:
      return { groupId, from, to, term, type };
    default:
      return assertNever(type, 'raft message kind');
  }
}

/**
 * Decodes a batch from its header frame and the payload frames after it; every entry's data is its
 * payload frame itself. Throws RaftCodecError for anything that is not a well-formed batch, including
 * payload frames that do not match the declared entries one for one and length for length.
 */
export function decodeRaftBatch(header: Uint8Array, payloads: readonly Uint8Array[]): RaftBatch {
  let decoded: { messages?: WireMessage[]; forwards?: Uint8Array[] };
  try {
    // Decoded messages read proto3 defaults from their prototypes, so no toObject copy is needed.
    decoded = batchType.decode(header) as { messages?: WireMessage[]; forwards?: Uint8Array[] };
  } catch (error) {
    throw new RaftCodecError(`malformed raft batch: ${error instanceof Error ? error.message : String(error)}`);
  }
  const cursor: PayloadCursor = { payloads, next: 0 };
  const messages = (decoded.messages ?? []).map((wire) => fromWire(wire, cursor));
  if (cursor.next !== payloads.length) {
    throw new RaftCodecError(`${payloads.length} payload frames for ${cursor.next} entries`);
  }
  return { messages, forwards: decoded.forwards ?? [] };
}
