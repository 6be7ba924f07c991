/**
 * A raw Kafka connection kept open across requests, for tests of what a listener does with
 * connections (limits): ApiVersions v0 and its answer, or the news that the broker closed the
 * connection first; every wait bounded in time.
 */
import assert from 'node:assert/strict';
import net from 'node:net';

import { KafkaReader, KafkaWriter } from '../../src/kafka/codec.js';

const API_VERSIONS = 18;

export class KafkaSocket {
  private buffered = Buffer.alloc(0);
  private closed = false;
  private waiter: (() => void) | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<KafkaSocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { resolve(new KafkaSocket(socket)); });
      socket.once('error', reject);
    });
  }

  /** ApiVersions v0's error code; rejects when the broker closes the connection first (or after 10 s). */
  async apiVersionsErrorCode(correlationId: number): Promise<number> {
    const header = new KafkaWriter().int16(API_VERSIONS).int16(0).int32(correlationId).nullableString('limits').finish();
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length);
    if (!this.closed) this.socket.write(Buffer.concat([size, header]));
    const deadline = Date.now() + 10_000;
    while (this.buffered.length < 4 || this.buffered.length < 4 + this.buffered.readInt32BE(0)) {
      if (this.closed) throw new Error('the connection was closed by the broker without an answer');
      if (Date.now() > deadline) throw new Error('no ApiVersions answer in 10 s');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
      this.waiter = null;
    }
    const length = this.buffered.readInt32BE(0);
    const frame = this.buffered.subarray(4, 4 + length);
    this.buffered = this.buffered.subarray(4 + length);
    const reader = new KafkaReader(frame);
    assert.equal(reader.int32(), correlationId);
    return reader.int16();
  }

  /** Whether the connection closed (the broker closed it, or destroy()). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves once the connection is closed, false if it is still open after timeoutMs. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 20);
      });
      this.waiter = null;
    }
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
