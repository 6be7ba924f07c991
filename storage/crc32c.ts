/**
 * CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2 and of our segment frames.
 * Node's zlib.crc32 uses the IEEE polynomial, so we use @node-rs/crc32, which runs the SSE4.2
 * instruction (about 3 GB/s here, against well under 1 GB/s for a table-driven loop in JS).
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC-32C of bytes, optionally continuing from a previous CRC value. Unsigned 32-bit result. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32c(bytes, previous) >>> 0;
}
