/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as a server: the credentials a users file holds (salt,
 * iterations, StoredKey, ServerKey: never the password), and one authentication exchange:
 *
 *   client-first   n,,n=alice,r=CNONCE
 *   server-first   r=CNONCE+SNONCE,s=SALT,i=ITERATIONS
 *   client-final   c=biws,r=CNONCE+SNONCE,p=PROOF
 *   server-final   v=SERVER-SIGNATURE
 *
 * The proof is checked as the RFC says: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and
 * H(ClientKey) must be StoredKey (a constant-time compare). An unknown user gets a made-up salt
 * (the same one each time) and fails at the proof, so the exchange does not tell who exists.
 * Channel binding is not offered: a client asking for it (gs2 flag `p`) is refused.
 */
import crypto from 'node:crypto';

import { assert } from '../../raft/core/assert.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
/** RFC 7677's minimum, and Kafka's. */
export const SCRAM_ITERATIONS_MIN = 4096;
/** Kafka's ceiling: beyond it a login is a denial of service on the broker. */
export const SCRAM_ITERATIONS_MAX = 16_384;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** A SCRAM message that breaks the protocol or fails the proof: the exchange ends, unauthenticated. */
export class ScramError extends Error {
  override readonly name = 'ScramError';
}

function hmac(key: Buffer, text: string | Buffer): Buffer {
  return crypto.createHmac('sha256', key).update(text).digest();
}

function sha256(bytes: Buffer): Buffer {
  return crypto.createHash('sha256').update(bytes).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2 with HMAC-SHA-256. */
export function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, KEY_BYTES, 'sha256', (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

/** StoredKey = H(HMAC(SaltedPassword, "Client Key")). */
export function storedKeyOf(salted: Buffer): Buffer {
  return sha256(hmac(salted, 'Client Key'));
}

/** The credential of a password; a fresh random salt unless one is given. */
export async function scramCredential(password: string, iterations: number, salt = crypto.randomBytes(SALT_BYTES)):
  Promise<ScramCredential> {
  assert(Number.isInteger(iterations) && iterations >= SCRAM_ITERATIONS_MIN, () => `SCRAM iterations ${iterations}`);
  const salted = await saltedPassword(password, salt, iterations);
  return { salt, iterations, storedKey: storedKeyOf(salted), serverKey: hmac(salted, 'Server Key') };
}

/** Whether password is the credential's (PLAIN): PBKDF2 with its salt and iterations, then StoredKey compared. */
export async function passwordMatches(password: string, credential: ScramCredential): Promise<boolean> {
  const salted = await saltedPassword(password, credential.salt, credential.iterations);
  return crypto.timingSafeEqual(storedKeyOf(salted), credential.storedKey);
}

/** RFC 5802 saslname: `=2C` is a comma, `=3D` an equals sign; any other `=` or a bare comma is invalid. */
export function decodeSaslName(text: string): string {
  if (/,/.test(text) || /=(?!2C|3D)/.test(text)) throw new ScramError(`invalid SCRAM user name ${JSON.stringify(text)}`);
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** The attributes of a SCRAM message, `a=value` separated by commas (values may contain `=`). */
function attributes(message: string): { readonly name: string; readonly value: string }[] {
  return message.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw new ScramError(`malformed SCRAM attribute ${JSON.stringify(part.slice(0, 20))}`);
    return { name: part[0] ?? '', value: part.slice(2) };
  });
}

/** A nonce is printable ASCII without a comma (RFC 5802). */
const NONCE_PATTERN = /^[\x21-\x2b\x2d-\x7e]+$/;

/** The credential of a user who is not in the file: stable per name, so probing twice shows nothing. */
export type CredentialLookup = (user: string) => ScramCredential | undefined;

export interface ScramServerOptions {
  readonly lookUp: CredentialLookup;
  /** Keys the made-up salts of unknown users (random per broker). */
  readonly decoySecret: Buffer;
  /** The server's half of the nonce; random by default (tests give RFC 7677's). */
  readonly serverNonce?: () => string;
}

type ScramState =
  | { readonly step: 'first' }
  | { readonly step: 'final'; readonly user: string; readonly credential: ScramCredential | undefined;
    readonly gs2Header: string; readonly nonce: string; readonly clientFirstBare: string; readonly serverFirst: string }
  | { readonly step: 'done' };

/** One SCRAM-SHA-256 exchange on the server side: two client messages in, two answers out. */
export class ScramServerExchange {
  private state: ScramState = { step: 'first' };

  constructor(private readonly options: ScramServerOptions) {}

  /**
   * The answer to the next client message: the server-first message, then (proof good) the
   * server-final one with the user authenticated. Throws ScramError on anything else.
   */
  respond(message: string): { readonly reply: string; readonly user: string | null } {
    const state = this.state;
    this.state = { step: 'done' }; // a message that throws leaves the exchange finished
    if (state.step === 'first') return { reply: this.serverFirst(message), user: null };
    if (state.step === 'final') return this.serverFinal(state, message);
    throw new ScramError('the SCRAM exchange is over');
  }

  private serverFirst(message: string): string {
    const match = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/.exec(message);
    if (match === null) throw new ScramError('malformed SCRAM client-first message (gs2 header)');
    const [, flag = '', authzid, clientFirstBare = ''] = match;
    if (flag.startsWith('p=')) throw new ScramError('SCRAM channel binding is not supported');
    const parts = attributes(clientFirstBare);
    const [name, nonce] = parts;
    if (name?.name !== 'n' || nonce?.name !== 'r') throw new ScramError('SCRAM client-first needs n= then r=');
    const user = decodeSaslName(name.value);
    // Kafka's rule: an authorization id, if any, must be the user itself.
    if (authzid !== undefined && decodeSaslName(authzid.slice(2)) !== user) {
      throw new ScramError('SCRAM authorization id differs from the user name');
    }
    if (!NONCE_PATTERN.test(nonce.value)) throw new ScramError('invalid SCRAM client nonce');
    if (parts.slice(2).some((part) => part.name === 'm')) throw new ScramError('SCRAM mandatory extension not supported');
    const credential = this.options.lookUp(user);
    const shown = credential ?? this.decoy(user);
    const serverNonce = this.options.serverNonce?.() ?? crypto.randomBytes(18).toString('base64');
    assert(NONCE_PATTERN.test(serverNonce), 'the server nonce is printable and has no comma');
    const combined = nonce.value + serverNonce;
    const serverFirst = `r=${combined},s=${shown.salt.toString('base64')},i=${shown.iterations}`;
    this.state = { step: 'final', user, credential, gs2Header: message.slice(0, message.length - clientFirstBare.length),
      nonce: combined, clientFirstBare, serverFirst };
    return serverFirst;
  }

  private serverFinal(state: Extract<ScramState, { step: 'final' }>, message: string):
    { readonly reply: string; readonly user: string } {
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw new ScramError('SCRAM client-final has no proof');
    const withoutProof = message.slice(0, proofAt);
    const parts = attributes(withoutProof);
    const [binding, nonce] = parts;
    if (binding?.name !== 'c' || nonce?.name !== 'r') throw new ScramError('SCRAM client-final needs c= then r=');
    if (binding.value !== Buffer.from(state.gs2Header, 'utf8').toString('base64')) {
      throw new ScramError('SCRAM channel binding differs from the client-first gs2 header');
    }
    // Kafka's check (ScramSaslServer): the nonce ends with the server-first one. librdkafka (2.0)
    // sends its client nonce again in front of it; the proof covers the message as sent either way.
    if (!nonce.value.endsWith(state.nonce)) throw new ScramError('SCRAM nonce differs from the server-first one');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    const credential = state.credential;
    if (credential === undefined || proof.length !== KEY_BYTES) throw new ScramError('SCRAM authentication failed');
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
    const clientSignature = hmac(credential.storedKey, authMessage);
    const clientKey = Buffer.alloc(KEY_BYTES);
    for (let i = 0; i < KEY_BYTES; i++) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
    if (!crypto.timingSafeEqual(sha256(clientKey), credential.storedKey)) {
      throw new ScramError('SCRAM authentication failed');
    }
    const serverSignature = hmac(credential.serverKey, authMessage);
    return { reply: `v=${serverSignature.toString('base64')}`, user: state.user };
  }

  /** A made-up credential for an unknown user: salt derived from the name, keys that match nothing. */
  private decoy(user: string): ScramCredential {
    const salt = hmac(this.options.decoySecret, `salt:${user}`).subarray(0, SALT_BYTES);
    return { salt, iterations: SCRAM_ITERATIONS_MIN, storedKey: Buffer.alloc(KEY_BYTES),
      serverKey: Buffer.alloc(KEY_BYTES) };
  }
}
