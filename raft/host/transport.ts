/** What the Raft host needs from a network: fire-and-forget sends and a stream of received messages. */
import type { Message } from '../core/index.js';

export interface TransportLogger {
  warn(object: object, message: string): void;
}

export interface RaftTransport {
  start(deliver: (messages: readonly Message[]) => void): Promise<void>;
  /** Best effort: a message may be dropped, delayed or reordered; Raft copes. */
  send(messages: readonly Message[]): void;
  setPeer(nodeId: number, endpoint: string): void;
  removePeer(nodeId: number): void;
  close(): Promise<void>;
}
