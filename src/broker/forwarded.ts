/**
 * What brokers forward to the controller leader over the Raft transport: a metadata command to
 * propose, or a liveness heartbeat. One tag byte tells them apart:
 *   0x01 command    followed by the encoded MetadataCommand (src/protocol/proto/metadata.proto)
 *   0x02 heartbeat  followed by broker id (u32 LE) and incarnation (f64 LE, an exact integer)
 */
export type Forwarded =
  | { readonly kind: 'command'; readonly command: Uint8Array }
  | { readonly kind: 'heartbeat'; readonly brokerId: number; readonly incarnation: number };

const COMMAND = 0x01;
const HEARTBEAT = 0x02;
const HEARTBEAT_BYTES = 13;

export function encodeForwardedCommand(command: Uint8Array): Uint8Array {
  const bytes = Buffer.allocUnsafe(command.length + 1);
  bytes[0] = COMMAND;
  bytes.set(command, 1);
  return bytes;
}

export function encodeHeartbeat(brokerId: number, incarnation: number): Uint8Array {
  const bytes = Buffer.alloc(HEARTBEAT_BYTES);
  bytes[0] = HEARTBEAT;
  bytes.writeUInt32LE(brokerId, 1);
  bytes.writeDoubleLE(incarnation, 5);
  return bytes;
}

/** The forwarded request, or null for bytes that are neither (logged and dropped by the caller). */
export function decodeForwarded(payload: Uint8Array): Forwarded | null {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (bytes[0] === COMMAND) return { kind: 'command', command: bytes.subarray(1) };
  if (bytes[0] === HEARTBEAT && bytes.length === HEARTBEAT_BYTES) {
    const incarnation = bytes.readDoubleLE(5);
    if (Number.isSafeInteger(incarnation)) return { kind: 'heartbeat', brokerId: bytes.readUInt32LE(1), incarnation };
  }
  return null;
}
