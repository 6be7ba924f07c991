/**
 * The Kafka listener's TLS credentials (--kafka-tls-cert, --kafka-tls-key): a PEM certificate (chain)
 * and its private key, read and tried together at start, so a missing file, a file that is not PEM,
 * or a key that is not the certificate's stops the broker with one line instead of failing every
 * client's handshake later.
 */
import fs from 'node:fs';
import tls from 'node:tls';

import { TributaryError } from '../common/errors.js';

export interface KafkaTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The PEM texts node:tls takes. */
export interface KafkaTlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export class TlsFileError extends TributaryError<'INVALID_CONFIG'> {
  override readonly name = 'TlsFileError';
  constructor(message: string) {
    super('INVALID_CONFIG', message);
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function readPem(file: string, flag: string, label: RegExp): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new TlsFileError(`${flag} ${file}: ${firstLine(error)}`);
  }
  if (!label.test(bytes.toString('latin1'))) throw new TlsFileError(`${flag} ${file}: not a PEM file of the right kind`);
  return bytes;
}

/** Reads both files and checks node:tls accepts them together; throws a one-line TlsFileError. */
export function loadKafkaTls(files: KafkaTlsFiles): KafkaTlsCredentials {
  const cert = readPem(files.certFile, '--kafka-tls-cert', /-----BEGIN CERTIFICATE-----/);
  const key = readPem(files.keyFile, '--kafka-tls-key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  try {
    tls.createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsFileError(`--kafka-tls-cert ${files.certFile} with --kafka-tls-key ${files.keyFile}: ${firstLine(error)}`);
  }
  return { cert, key };
}
