/** Kafka framing: frames cut from any chunking of the stream; sizes that cannot be a request refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameSizeError, FrameSplitter } from '../../../src/kafka/framing.js';

function framed(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

void describe('Kafka framing', () => {
  void it('cuts frames out of any chunking, byte by byte included', () => {
    const bodies = [Buffer.alloc(10, 1), Buffer.alloc(300, 2), Buffer.alloc(11, 3)];
    const stream = Buffer.concat(bodies.map(framed));
    for (const chunkSize of [1, 3, 7, 64, stream.length]) {
      const splitter = new FrameSplitter(1024);
      const frames: Buffer[] = [];
      for (let at = 0; at < stream.length; at += chunkSize) {
        const pushed = splitter.push(stream.subarray(at, at + chunkSize));
        assert.equal(pushed.error, null);
        frames.push(...pushed.frames);
      }
      assert.deepEqual(frames, bodies, `chunks of ${chunkSize}`);
      assert.equal(splitter.bufferedBytes, 0);
    }
  });

  void it('refuses a frame above socket.request.max.bytes before buffering it', () => {
    const splitter = new FrameSplitter(100);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(101);
    const good = Buffer.concat([Buffer.from('0000000a', 'hex'), Buffer.alloc(10, 7)]);
    const { frames, error } = splitter.push(Buffer.concat([good, prefix, Buffer.alloc(50)]));
    assert.deepEqual(frames, [Buffer.alloc(10, 7)], 'the frame before it is still returned');
    assert.ok(error instanceof FrameSizeError && error.size === 101);
    assert.match(error.message, /socket\.request\.max\.bytes/);
    assert.equal(splitter.bufferedBytes, 0, 'nothing of it is buffered');
    assert.deepEqual(splitter.push(good), { frames: [], error }, 'the splitter takes nothing more');
  });

  void it('refuses negative sizes and sizes below a request header', () => {
    for (const size of [-1, -2_147_483_648, 0, 9]) {
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(size);
      assert.ok(new FrameSplitter(100).push(prefix).error instanceof FrameSizeError, String(size));
    }
  });
});
