/**
 * Per-message proof of who sent a request or a Raft batch. zeromq.js tells the broker neither which
 * CURVE key opened a connection nor which connection a message came on (no zmq_msg_gets), so the
 * key cannot be read off a message; instead each message carries a token only the key's owner
 * (or the server it talks to) can compute:
 *
 *     token(a, B) = HMAC-SHA256(key = X25519(a.secret, B.public), "tributary-principal-v1")
 *
 * X25519 is symmetric, so token(client, server) computed by the client with its secret key equals
 * token(server, client) computed by the server with its own secret key and the client's public
 * key. The server computes the token of every key it knows once (TokenTable) and resolves a
 * message's token with a Map lookup; no X25519 runs per message. Tokens travel only inside CURVE
 * connections to a server whose key the sender checked, so nobody else sees them.
 */
import crypto from 'node:crypto';

import { curveKeyBytes } from './z85.js';

const TOKEN_CONTEXT = 'tributary-principal-v1';
/** Bytes of a token (HMAC-SHA256). */
export const AUTH_TOKEN_BYTES = 32;

function x25519Key(publicRaw: Buffer, secretRaw: Buffer | null): crypto.KeyObject {
  const jwk = { kty: 'OKP', crv: 'X25519', x: publicRaw.toString('base64url'),
    ...(secretRaw === null ? {} : { d: secretRaw.toString('base64url') }) };
  return secretRaw === null ? crypto.createPublicKey({ key: jwk, format: 'jwk' })
    : crypto.createPrivateKey({ key: jwk, format: 'jwk' });
}

function rawKey(z85: string, what: string): Buffer {
  const raw = curveKeyBytes(z85);
  if (raw === null) throw new RangeError(`${what} is not a 40-character Z85 CURVE key`);
  return raw;
}

/**
 * The token between a key pair (ours: its public and secret Z85 keys) and another party's public
 * key. Both sides compute the same bytes.
 */
export function authToken(own: { readonly publicKey: string; readonly secretKey: string }, otherPublicKey: string):
  Buffer {
  const privateKey = x25519Key(rawKey(own.publicKey, 'own public key'), rawKey(own.secretKey, 'own secret key'));
  const publicKey = x25519Key(rawKey(otherPublicKey, 'other public key'), null);
  const shared = crypto.diffieHellman({ privateKey, publicKey });
  return crypto.createHmac('sha256', shared).update(TOKEN_CONTEXT).digest();
}

/**
 * Tokens of known public keys, precomputed against our key pair: a message's token resolves to
 * whoever it names (a principal, a broker id) with one Map lookup.
 */
export class TokenTable<T> {
  private readonly owners = new Map<string, T>();

  constructor(own: { readonly publicKey: string; readonly secretKey: string },
    keys: Iterable<readonly [publicKey: string, owner: T]>) {
    for (const [publicKey, owner] of keys) this.owners.set(authToken(own, publicKey).toString('latin1'), owner);
  }

  /** Whom the token names, or undefined when it is none of the known keys'. */
  ownerOf(token: Uint8Array): T | undefined {
    if (token.length !== AUTH_TOKEN_BYTES) return undefined;
    return this.owners.get(Buffer.from(token.buffer, token.byteOffset, token.length).toString('latin1'));
  }

  get size(): number {
    return this.owners.size;
  }
}
