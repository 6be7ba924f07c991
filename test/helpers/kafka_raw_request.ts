/**
 * One raw Kafka request over its own TCP connection, for tests that check a version's exact
 * response format: the request is framed with a v1 header, and the response body comes back as a
 * KafkaReader past the correlation id (bounded by time).
 */
import net from 'node:net';

import { KafkaReader, KafkaWriter } from '../../src/kafka/codec.js';

export function kafkaRequest(port: number, apiKey: number, version: number, body: Buffer, timeoutMs = 10_000):
  Promise<KafkaReader> {
  const header = new KafkaWriter().int16(apiKey).int16(version).int32(42).nullableString('raw').finish();
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to api ${String(apiKey)} v${String(version)} in ${String(timeoutMs)} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4 || buffered.length < 4 + buffered.readInt32BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
      if (frame.readInt32BE(0) !== 42) reject(new Error(`correlation id ${String(frame.readInt32BE(0))}`));
      else resolve(new KafkaReader(frame.subarray(4)));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`api ${String(apiKey)} v${String(version)}: the connection closed unanswered`));
    });
    socket.on('error', () => undefined);
    socket.write(Buffer.concat([size, header, body]));
  });
}
