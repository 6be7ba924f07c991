/**
 * The simulated state machine: a hash chain over applied entries. Two replicas that applied the
 * same entries in the same order have the same (index, chain), which is all a snapshot holds.
 */
import type { Entry } from '../../raft/core/index.js';

export interface MachineState {
  appliedIndex: number;
  chain: number;
}

export function emptyMachine(): MachineState {
  return { appliedIndex: 0, chain: 0 };
}

/** FNV-1a over the entry's term, type and payload: identifies an entry's content. */
export function entryHash(entry: Entry): number {
  let hash = 0x811c9dc5;
  const mix = (byte: number): void => {
    hash = Math.imul(hash ^ byte, 0x01000193);
  };
  let term = entry.term;
  for (let i = 0; i < 4; i++) {
    mix(term & 0xff);
    term = Math.floor(term / 256);
  }
  mix(entry.type.length);
  for (const byte of entry.data) mix(byte);
  return hash >>> 0;
}

export function chainNext(chain: number, entry: Entry): number {
  let hash = Math.imul(chain ^ entryHash(entry), 0x9e3779b1);
  hash ^= hash >>> 15;
  return (Math.imul(hash ^ entry.index, 0x85ebca6b) ^ (hash >>> 13)) >>> 0;
}

export function encodeMachine(state: MachineState): Uint8Array {
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, state.appliedIndex);
  view.setUint32(8, state.chain);
  return bytes;
}

export function decodeMachine(bytes: Uint8Array): MachineState {
  if (bytes.byteLength === 0) return emptyMachine();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { appliedIndex: view.getFloat64(0), chain: view.getUint32(8) };
}

/** Client payloads carry a unique proposal id. */
export function encodePayload(proposalId: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, proposalId);
  return bytes;
}

export function decodePayload(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength !== 8) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0);
}
