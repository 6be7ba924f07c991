/**
 * What the floor bench's processes say to each other (floor_replica.ts, floor_bench.ts): each
 * message is [kind, sequence, record?], the ROUTER adding the sender's identity in front.
 */
import type * as zmq from 'zeromq';

export enum FloorFrame {
  /** client -> leader: answered at once (the bare round trip). */
  echo = 1,
  /** client -> leader: a record to write on a majority. */
  write = 2,
  /** leader -> follower: the record to write and sync. */
  replicate = 3,
  /** follower -> leader: written and synced. */
  ack = 4,
  /** leader -> client: on a majority. */
  answer = 5,
}

/**
 * Sends on one socket one message at a time (zeromq.js refuses a send while another is under way),
 * in order. With one write in flight nothing waits, so a send starts at once. A failed send is
 * fatal to a bench: it goes to `failed`.
 */
export class SerialSender {
  private tail: Promise<void> = Promise.resolve();
  private unsent = 0;

  constructor(private readonly socket: zmq.Writable & { close(): void },
    private readonly failed: (error: unknown) => void) {}

  send(frames: Buffer[]): void {
    this.unsent += 1;
    const sendNow = (): Promise<void> => this.socket.send(frames).finally(() => { this.unsent -= 1; });
    this.tail = (this.unsent === 1 ? sendNow() : this.tail.then(sendNow)).catch(this.failed);
  }

  close(): void {
    this.socket.close();
  }
}
