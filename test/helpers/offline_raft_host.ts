/**
 * A RaftHost for tests that host groups on one broker alone: its transport goes nowhere (no peers)
 * and its logger is silent.
 */
import type { Message } from '../../raft/core/index.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import type { RaftTransport } from '../../raft/host/transport.js';

export class NowhereTransport implements RaftTransport {
  start(): Promise<void> { return Promise.resolve(); }
  forward(): void { /* no peers */ }
  send(_messages: readonly Message[]): void { /* no peers */ }
  setPeer(): void { /* no peers */ }
  removePeer(): void { /* no peers */ }
  close(): Promise<void> { return Promise.resolve(); }
}

export class QuietLogger {
  info(): void { /* quiet */ }
  warn(): void { /* quiet */ }
  error(): void { /* quiet */ }
}

/** A host for broker `nodeId` with no peers, ticking every tickMs. */
export function offlineRaftHost(nodeId: number, tickMs: number): RaftHost {
  return new RaftHost({ nodeId, transport: new NowhereTransport(), logger: new QuietLogger(), tickMs });
}
