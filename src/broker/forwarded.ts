/**
 * What brokers forward to each other over the Raft transport: to the controller leader, a metadata
 * command to propose or a liveness heartbeat; to every peer, a notice that this broker is shutting
 * down (so nobody hands it leadership meanwhile). One tag byte tells them apart:
 *   0x01 command    followed by the encoded MetadataCommand (src/protocol/proto/metadata.proto)
 *   0x02 heartbeat  followed by broker id (u32 LE) and incarnation (f64 LE, an exact integer)
 *   0x03 leaving    followed by broker id (u32 LE) and incarnation (f64 LE), as a heartbeat
 *   0x04 relayed    a command as 0x01, passed on once by a broker that does not lead the controller
 *                   to the leader it knows (a sender with a stale --voters list reached it); the
 *                   leader proposes it, anybody else drops it, so a command never circles
 *   0x05 address    followed by broker id (u32 LE), Raft port (u16 LE) and Raft host (UTF-8, 1 to
 *                   255 bytes): the controller leader's own Raft address, sent to a member it has
 *                   not heard from, which may not know where to answer (it joined with a --voters
 *                   list that does not name the leader, and has no metadata yet)
 */
import { assert } from '../../raft/core/index.js';

export type Forwarded =
  | { readonly kind: 'command'; readonly command: Uint8Array; readonly relayed: boolean }
  | { readonly kind: 'heartbeat'; readonly brokerId: number; readonly incarnation: number }
  | { readonly kind: 'leaving'; readonly brokerId: number; readonly incarnation: number }
  | { readonly kind: 'address'; readonly brokerId: number; readonly host: string; readonly port: number };

const COMMAND = 0x01;
const HEARTBEAT = 0x02;
const LEAVING = 0x03;
const RELAYED = 0x04;
const ADDRESS = 0x05;
const ADDRESS_HEADER_BYTES = 7;
const ADDRESS_HOST_BYTES_MAX = 255;
const HEARTBEAT_BYTES = 13;

export function encodeForwardedCommand(command: Uint8Array, relayed = false): Uint8Array {
  const bytes = Buffer.allocUnsafe(command.length + 1);
  bytes[0] = relayed ? RELAYED : COMMAND;
  bytes.set(command, 1);
  return bytes;
}

export function encodeHeartbeat(brokerId: number, incarnation: number): Uint8Array {
  return encodeBrokerNote(HEARTBEAT, brokerId, incarnation);
}

/** The notice a broker sends its peers when it starts a graceful shutdown. */
export function encodeLeaving(brokerId: number, incarnation: number): Uint8Array {
  return encodeBrokerNote(LEAVING, brokerId, incarnation);
}

/** The controller leader's Raft address, for a member that may not know where to answer it. */
export function encodeAddress(brokerId: number, host: string, port: number): Uint8Array {
  const hostBytes = Buffer.from(host, 'utf8');
  assert(hostBytes.length >= 1 && hostBytes.length <= ADDRESS_HOST_BYTES_MAX, () => `host ${host} of 1 to 255 bytes`);
  assert(Number.isInteger(port) && port > 0 && port < 65_536, () => `port ${port}`);
  const bytes = Buffer.alloc(ADDRESS_HEADER_BYTES + hostBytes.length);
  bytes[0] = ADDRESS;
  bytes.writeUInt32LE(brokerId, 1);
  bytes.writeUInt16LE(port, 5);
  bytes.set(hostBytes, ADDRESS_HEADER_BYTES);
  return bytes;
}

function encodeBrokerNote(tag: number, brokerId: number, incarnation: number): Uint8Array {
  const bytes = Buffer.alloc(HEARTBEAT_BYTES);
  bytes[0] = tag;
  bytes.writeUInt32LE(brokerId, 1);
  bytes.writeDoubleLE(incarnation, 5);
  return bytes;
}

/** The forwarded request, or null for bytes that are neither (logged and dropped by the caller). */
export function decodeForwarded(payload: Uint8Array): Forwarded | null {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (bytes[0] === COMMAND || bytes[0] === RELAYED) {
    return { kind: 'command', command: bytes.subarray(1), relayed: bytes[0] === RELAYED };
  }
  if (bytes[0] === ADDRESS && bytes.length > ADDRESS_HEADER_BYTES &&
    bytes.length <= ADDRESS_HEADER_BYTES + ADDRESS_HOST_BYTES_MAX) {
    const port = bytes.readUInt16LE(5);
    const host = bytes.subarray(ADDRESS_HEADER_BYTES).toString('utf8');
    if (port > 0) return { kind: 'address', brokerId: bytes.readUInt32LE(1), host, port };
  }
  if ((bytes[0] === HEARTBEAT || bytes[0] === LEAVING) && bytes.length === HEARTBEAT_BYTES) {
    const incarnation = bytes.readDoubleLE(5);
    const brokerId = bytes.readUInt32LE(1);
    if (Number.isSafeInteger(incarnation)) {
      return bytes[0] === HEARTBEAT ? { kind: 'heartbeat', brokerId, incarnation } : { kind: 'leaving', brokerId, incarnation };
    }
  }
  return null;
}
