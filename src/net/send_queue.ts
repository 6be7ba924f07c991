/**
 * The single writer of one zeromq socket. zeromq v6 throws EBUSY when send() is called while an
 * earlier send is still pending (research/stack.md §1), so every sender goes through this queue,
 * which keeps exactly one send in progress and resolves each caller's promise when its message
 * has been handed to libzmq (or rejects with zeromq's error: EAGAIN on sendTimeout, EBADF once
 * the socket is closed).
 *
 * The queue is bounded: send() rejects with SendQueueFullError when messagesMax are waiting.
 */
import type { Writable } from 'zeromq';

import { assertNatural } from '../../raft/core/assert.js';

export type Frames = readonly Uint8Array[];

interface QueuedMessage {
  readonly frames: Frames;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class SendQueueFullError extends Error {
  override readonly name = 'SendQueueFullError';
}

export class SendQueueClosedError extends Error {
  override readonly name = 'SendQueueClosedError';
}

export class SendQueue {
  private readonly queue: (QueuedMessage | undefined)[] = []; // consumed from head
  private head = 0;
  private draining = false;
  private closed = false;

  constructor(
    private readonly socket: Writable,
    readonly messagesMax: number,
  ) {
    assertNatural(messagesMax, 'messagesMax');
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  send(frames: Frames): Promise<void> {
    if (this.closed) return Promise.reject(new SendQueueClosedError('the socket is closed'));
    if (this.length >= this.messagesMax) {
      return Promise.reject(new SendQueueFullError(`${this.messagesMax} messages are waiting to be sent`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Rejects every queued message; the caller closes the socket (which fails a send in progress). */
  close(): void {
    this.closed = true;
    const error = new SendQueueClosedError('the socket is closed');
    while (this.head < this.queue.length) {
      const message = this.queue[this.head];
      this.queue[this.head++] = undefined;
      message?.reject(error);
    }
    this.queue.length = 0;
    this.head = 0;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.head < this.queue.length) {
      const message = this.queue[this.head];
      this.queue[this.head++] = undefined;
      if (message === undefined) continue;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      try {
        await this.socket.send(message.frames as Uint8Array[]);
        message.resolve();
      } catch (error) {
        message.reject(error);
      }
    }
    this.draining = false;
  }
}
