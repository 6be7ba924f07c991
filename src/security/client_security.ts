/**
 * A client's CURVE credentials: its own key pair (--key-file PREFIX.key) and the brokers' public
 * keys (--server-key: one key for every broker, or one per broker id). For each server key it
 * computes once the auth token (auth_token.ts) that every request to that server carries.
 *
 * Which key to expect from a broker: the one listed for its id; the single key when the file has
 * one; for an address whose broker is not known yet (a bootstrap address) with a per-broker file,
 * every listed key, tried in turn (a wrong one fails the handshake within milliseconds).
 */
import { authToken } from './auth_token.js';
import { loadKeyPair, loadServerKeys } from './keys.js';
import type { KeyPair, ServerKeys } from './keys.js';

/** The library option: paths of the client's key file and of the server key file. */
export interface ClientSecurityOptions {
  /** PREFIX.key written by `tributary keys generate`. */
  readonly keyFile: string;
  /** A broker public key file (PREFIX.pub of a cluster-wide key) or lines `brokerId publicKey`. */
  readonly serverKey: string;
}

/** What a Connection needs to speak CURVE to one broker. */
export interface ConnectionCurve {
  readonly serverKey: string;
  readonly publicKey: string;
  readonly secretKey: string;
  /** Sent in every request envelope: proves this key pair to the server (auth_token.ts). */
  readonly authToken: Buffer;
}

/** Connection options for a broker whose id is known: its key when security is on, nothing in plaintext. */
export function curveOptionsFor(security: ClientSecurity | undefined, brokerId: number):
  { readonly curve?: ConnectionCurve } {
  const curve = security?.curvesFor(brokerId)[0];
  return curve === undefined ? {} : { curve };
}

export class ClientSecurity {
  private readonly tokens = new Map<string, Buffer>();

  constructor(private readonly pair: KeyPair, private readonly serverKeys: ServerKeys) {}

  static load(options: ClientSecurityOptions): ClientSecurity {
    return new ClientSecurity(loadKeyPair(options.keyFile), loadServerKeys(options.serverKey));
  }

  /** The key pair is the caller's own (a broker calling others with its own pair). */
  static forPair(pair: KeyPair, serverKeys: ServerKeys): ClientSecurity {
    return new ClientSecurity(pair, serverKeys);
  }

  /** The CURVE settings to try for a broker, in order: its own key when known, else every candidate. */
  curvesFor(brokerId: number | null): ConnectionCurve[] {
    const listed = brokerId === null ? undefined : this.serverKeys.byBroker.get(brokerId);
    const keys = this.serverKeys.single !== null ? [this.serverKeys.single]
      : listed !== undefined ? [listed] : [...this.serverKeys.byBroker.values()];
    return keys.map((serverKey) => this.curveFor(serverKey));
  }

  private curveFor(serverKey: string): ConnectionCurve {
    let token = this.tokens.get(serverKey);
    if (token === undefined) {
      token = authToken(this.pair, serverKey);
      this.tokens.set(serverKey, token);
    }
    return { serverKey, publicKey: this.pair.publicKey, secretKey: this.pair.secretKey, authToken: token };
  }
}
