/** What the Raft host needs from a network: fire-and-forget sends and a stream of received messages. */
import type { Message } from '../core/index.js';

export interface TransportLogger {
  warn(object: object, message: string): void;
}

/** Receives an opaque request another node's host forwarded to this one. */
export type ForwardHandler = (fromNodeId: number, payload: Uint8Array) => void;

export interface RaftTransport {
  start(deliver: (messages: readonly Message[]) => void, deliverForward?: ForwardHandler): Promise<void>;
  /** Best effort, like send: an opaque request for the peer's host (e.g. a controller command). */
  forward(nodeId: number, payload: Uint8Array): void;
  /** Best effort: a message may be dropped, delayed or reordered; Raft copes. */
  send(messages: readonly Message[]): void;
  /**
   * Hands what send() queued for idle peers to the network now, rather than at the end of the
   * event-loop turn (where a transport gathers one message per peer; a busy peer's messages still
   * wait for it). Optional: without it, messages leave when the transport decides.
   */
  flush?(): void;
  setPeer(nodeId: number, endpoint: string): void;
  removePeer(nodeId: number): void;
  close(): Promise<void>;
}
