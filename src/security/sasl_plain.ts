/**
 * SASL/PLAIN (RFC 4616) as a server: one message, `authzid NUL user NUL password`, checked against
 * the user's SCRAM credential of the users file (PBKDF2 with its salt and iterations, then StoredKey
 * compared), so one file serves both mechanisms and holds no password. An unknown user costs the
 * same PBKDF2 as a known one. The password travels as it is: only over TLS (the broker warns).
 */
import { SCRAM_ITERATIONS_MIN, passwordMatches } from './scram.js';
import type { CredentialLookup, ScramCredential } from './scram.js';

export const PLAIN = 'PLAIN';

/** A PLAIN message that does not parse or does not authenticate. */
export class PlainError extends Error {
  override readonly name = 'PlainError';
}

export interface PlainMessage {
  readonly authzid: string;
  readonly user: string;
  readonly password: string;
}

/** Splits a PLAIN message; an authorization id, if any, must be the user (Kafka's rule). */
export function parsePlainMessage(bytes: Buffer): PlainMessage {
  const parts = bytes.toString('utf8').split('\u0000');
  if (parts.length !== 3) throw new PlainError('malformed SASL/PLAIN message (expected authzid NUL user NUL password)');
  const [authzid = '', user = '', password = ''] = parts;
  if (user === '' || password === '') throw new PlainError('SASL/PLAIN user and password must not be empty');
  if (authzid !== '' && authzid !== user) throw new PlainError('SASL/PLAIN authorization id differs from the user name');
  return { authzid, user, password };
}

const DECOY: ScramCredential = { salt: Buffer.alloc(16), iterations: SCRAM_ITERATIONS_MIN,
  storedKey: Buffer.alloc(32), serverKey: Buffer.alloc(32) };

/** The user a PLAIN message authenticates; throws PlainError when it does not. */
export async function authenticatePlain(bytes: Buffer, lookUp: CredentialLookup): Promise<string> {
  const message = parsePlainMessage(bytes);
  const credential = lookUp(message.user);
  const matches = await passwordMatches(message.password, credential ?? DECOY);
  if (credential === undefined || !matches) throw new PlainError('SASL/PLAIN authentication failed');
  return message.user;
}
