/**
 * Record compression on the client (Kafka compression.type). Only the client compresses: brokers
 * store and serve compressed batches as they are (they inflate gzip only to validate the records
 * on append, record_validation.ts). A compressed v2 batch
 * keeps its 61-byte header in the clear and replaces the record sequence after recordCount by
 * one blob of the codec (gzip: RFC 1952, as Kafka's GZIPOutputStream and kafkajs' zlib.gzip
 * write it); attribute bits 0-2 name the codec. Only none and gzip are implemented.
 *
 * Synchronous node:zlib calls: a batch is at most batchBytesMax (16 KiB by default), and the
 * encoder that calls in is synchronous.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

import { InvalidRecordError, UnsupportedCompressionError } from '../common/errors.js';
import type {
  CompressionCodec,
  DecodeOptions,
  DecodedBatch,
  EncodeBatchOptions,
} from '../protocol/record_batch.js';
import { COMPRESSION_CODECS, decodeRecordBatch, encodeRecordBatch } from '../protocol/record_batch.js';
import { RECORDS_INFLATED_BYTES_MAX } from '../protocol/record_validation.js';

/** What a producer may ask for. */
export const PRODUCER_COMPRESSIONS = ['none', 'gzip'] as const;
export type ProducerCompression = (typeof PRODUCER_COMPRESSIONS)[number];

/**
 * The most bytes one compressed batch may inflate to. A consumer would otherwise trust a small
 * blob to say how much memory to take (a gzip bomb). The broker refuses on append what inflates
 * past the same bound, so a stored batch always decodes here.
 */
export const DECOMPRESSED_BYTES_MAX = RECORDS_INFLATED_BYTES_MAX;

function unsupported(codec: CompressionCodec): UnsupportedCompressionError {
  return new UnsupportedCompressionError(COMPRESSION_CODECS.indexOf(codec), `${codec} is not implemented`);
}

/** Compresses the record bytes of a batch (a RecordsCodec for encodeRecordBatch). */
export function compressRecords(codec: CompressionCodec, records: Uint8Array): Uint8Array {
  switch (codec) {
    case 'none':
      return records;
    case 'gzip':
      return gzipSync(records);
    case 'snappy':
    case 'lz4':
    case 'zstd':
      throw unsupported(codec);
  }
}

/**
 * Decompresses the record bytes of a batch (a RecordsCodec for decodeRecordBatch). Corrupt data
 * or output over bytesMax is an InvalidRecordError: the bytes came from the network.
 */
export function decompressRecords(codec: CompressionCodec, blob: Uint8Array,
  bytesMax = DECOMPRESSED_BYTES_MAX): Uint8Array {
  switch (codec) {
    case 'none':
      return blob;
    case 'gzip':
      try {
        return gunzipSync(blob, { maxOutputLength: bytesMax });
      } catch (error: unknown) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new InvalidRecordError('MALFORMED_RECORD', `gzip records: ${detail}`, { cause: error });
      }
    case 'snappy':
    case 'lz4':
    case 'zstd':
      throw unsupported(codec);
  }
}

/** encodeRecordBatch with this module's codecs. */
export function encodeBatch(options: Omit<EncodeBatchOptions, 'compress'>): Buffer {
  return encodeRecordBatch({ ...options, compress: compressRecords });
}

/** decodeRecordBatch that also decodes compressed batches with this module's codecs. */
export function decodeBatch(bytes: Uint8Array, options: Omit<DecodeOptions, 'decompress'> = {}): DecodedBatch {
  return decodeRecordBatch(bytes, { ...options, decompress: (codec, blob) => decompressRecords(codec, blob) });
}
