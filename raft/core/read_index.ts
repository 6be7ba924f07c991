/**
 * ReadIndex (thesis §6.4): a leader records its commit index for a read, then confirms it is still
 * leader with a heartbeat round; once a majority of voters answered a heartbeat sent after the
 * request, the read may be served at that index. Requests are answered in order.
 */
import { assert } from './assert.js';
import type { NodeId, RaftIndex } from './ids.js';

/** A read the host may serve once its state machine has applied up to index. */
export interface ReadState {
  readonly context: number;
  readonly index: RaftIndex;
}

interface PendingRead {
  readonly context: number;
  readonly index: RaftIndex;
  readonly seq: number;
  readonly acks: Set<NodeId>;
}

export class ReadIndexQueue {
  private pending: PendingRead[] = [];
  private lastSeq = 0;

  constructor(private readonly pendingMax: number) {}

  size(): number {
    return this.pending.length;
  }

  lastSeqValue(): number {
    return this.lastSeq;
  }

  full(): boolean {
    return this.pending.length >= this.pendingMax;
  }

  /** Records a read at commit index; returns the sequence number its heartbeat round carries. */
  add(context: number, index: RaftIndex, self: NodeId): number {
    assert(!this.full(), 'read index queue is full');
    this.lastSeq += 1;
    this.pending.push({ context, index, seq: this.lastSeq, acks: new Set([self]) });
    return this.lastSeq;
  }

  /** A voter answered the heartbeat with seq; returns the reads now confirmed, oldest first. */
  ack(from: NodeId, seq: number, quorum: (acks: ReadonlySet<NodeId>) => boolean): ReadState[] {
    for (const read of this.pending) {
      if (read.seq > seq) break;
      read.acks.add(from);
    }
    let released = 0;
    while (released < this.pending.length) {
      const read = this.pending[released];
      if (read === undefined || !quorum(read.acks)) break;
      released += 1;
    }
    if (released === 0) return [];
    // A confirmed read also confirms every earlier one: leadership held at a later moment.
    const done = this.pending.slice(0, released);
    this.pending = this.pending.slice(released);
    return done.map((read) => ({ context: read.context, index: read.index }));
  }

  reset(): void {
    this.pending = [];
  }
}
