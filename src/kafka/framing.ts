/**
 * Kafka's framing over a TCP stream: every request is an int32 size (not counting itself) and that
 * many bytes. FrameSplitter cuts the stream into frames; a size below the smallest request header
 * or above socket.request.max.bytes is an error the connection answers by closing, as Kafka's
 * SocketServer does (InvalidReceiveException), before any of the claimed bytes are buffered.
 */
import { TributaryError } from '../common/errors.js';

/** Kafka's socket.request.max.bytes default: 100 MiB. */
export const REQUEST_BYTES_MAX_DEFAULT = 100 * 1024 * 1024;
/** api_key, api_version, correlation_id and a client_id length: the least a request header holds. */
const REQUEST_HEADER_BYTES_MIN = 10;

export class FrameSizeError extends TributaryError<'INVALID_REQUEST'> {
  override readonly name = 'FrameSizeError';
  constructor(readonly size: number, sizeMax: number) {
    super('INVALID_REQUEST', size > sizeMax
      ? `a request of ${size} bytes is above socket.request.max.bytes (${sizeMax})`
      : `a request frame of ${size} bytes cannot hold a request header`);
  }
}

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The size of the frame being read, once its prefix is in. */
  private frameSize: number | null = null;
  private failed: FrameSizeError | null = null;

  constructor(private readonly sizeMax: number = REQUEST_BYTES_MAX_DEFAULT) {}

  /** Bytes held for frames not complete yet. */
  get bufferedBytes(): number { return this.buffered; }

  /**
   * Takes bytes off the socket; returns the frames they complete (their bodies, without the size)
   * and, when a size prefix cannot be a request, the error: the frames before it are still
   * returned (to be answered), and the splitter takes nothing more.
   */
  push(chunk: Buffer): { readonly frames: Buffer[]; readonly error: FrameSizeError | null } {
    if (this.failed !== null) return { frames: [], error: this.failed };
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.frameSize === null) {
        if (this.buffered < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < REQUEST_HEADER_BYTES_MIN || size > this.sizeMax) {
          this.failed = new FrameSizeError(size, this.sizeMax);
          this.chunks = [];
          this.buffered = 0;
          return { frames, error: this.failed };
        }
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) break;
      frames.push(this.take(this.frameSize));
      this.frameSize = null;
    }
    return { frames, error: null };
  }

  /** The next `size` buffered bytes, joined only when they span chunks. */
  private take(size: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    if (joined === undefined) throw new RangeError('no bytes buffered');
    const taken = joined.subarray(0, size);
    const rest = joined.subarray(size);
    this.chunks = rest.length === 0 ? [] : [rest];
    this.buffered = rest.length;
    return taken;
  }
}
