/**
 * One Kafka connection's SASL state, as Kafka's SaslServerAuthenticator keeps it: ApiVersions, then
 * SaslHandshake naming a mechanism (PLAIN or SCRAM-SHA-256), then its tokens (in SaslAuthenticate
 * requests, or raw frames after a v0 handshake) until the user is proven. Then `principal` is
 * `User:name` for every later request. Before that it is null (no other request is served), or
 * User:ANONYMOUS when the broker allows anonymous clients. Any misstep ends the connection: a failed
 * proof, a second handshake, a token without a handshake, an unknown mechanism (after saying which
 * are enabled).
 */
import { assert } from '../../raft/core/assert.js';
import { ANONYMOUS_PRINCIPAL } from '../security/principals.js';
import { PLAIN, authenticatePlain } from '../security/sasl_plain.js';
import { SCRAM_SHA_256, ScramServerExchange } from '../security/scram.js';
import type { CredentialLookup } from '../security/scram.js';

export const SASL_MECHANISMS: readonly string[] = [PLAIN, SCRAM_SHA_256];

/** What every connection's session shares: the users and whether anonymous clients are let in. */
export interface SaslSettings {
  readonly lookUp: CredentialLookup;
  readonly allowAnonymous: boolean;
  /** Keys the made-up SCRAM salts of unknown users (scram.ts). */
  readonly decoySecret: Buffer;
}

/** A SASL misstep: answered (when it can be) with `errorName` and message, then closing; detail is logged. */
export class SaslFailure extends Error {
  override readonly name = 'SaslFailure';
  constructor(readonly errorName: 'SASL_AUTHENTICATION_FAILED' | 'ILLEGAL_SASL_STATE' | 'UNSUPPORTED_SASL_MECHANISM',
    message: string, readonly detail: string = message) {
    super(message);
  }
}

type Step =
  | { readonly kind: 'handshake' }
  | { readonly kind: 'tokens'; readonly mechanism: string; readonly raw: boolean; readonly scram: ScramServerExchange | null }
  | { readonly kind: 'busy' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'failed' };

export class SaslSession {
  private step: Step = { kind: 'handshake' };
  private authenticatedAs: string | null = null;

  /**
   * `admit` is asked once the user is proven: a refusal (the connection limit of that principal,
   * security/connection_limits.ts) fails the authentication with its message and the connection closes.
   */
  constructor(private readonly settings: SaslSettings,
    private readonly admit: (principal: string) => string | null = () => null) {}

  /** The connection's principal: the proven user, else anonymous when allowed, else null (nothing served). */
  get principal(): string | null {
    return this.authenticatedAs ?? (this.settings.allowAnonymous ? ANONYMOUS_PRINCIPAL : null);
  }

  /** Between a handshake and its outcome: only SASL requests are in order (even for an anonymous connection). */
  get exchanging(): boolean {
    return this.step.kind === 'tokens' || this.step.kind === 'busy' || this.step.kind === 'failed';
  }

  /** After a v0 handshake the next frame is a bare SASL token, not a Kafka request. */
  get expectsRawToken(): boolean {
    return this.step.kind === 'tokens' && this.step.raw;
  }

  /** SaslHandshake: picks the mechanism; throws SaslFailure (the answer lists the mechanisms) otherwise. */
  handshake(mechanism: string, version: number): void {
    if (this.step.kind !== 'handshake') {
      this.step = { kind: 'failed' };
      throw new SaslFailure('ILLEGAL_SASL_STATE', 'SaslHandshake after the connection\'s SASL handshake');
    }
    if (!SASL_MECHANISMS.includes(mechanism)) {
      this.step = { kind: 'failed' };
      throw new SaslFailure('UNSUPPORTED_SASL_MECHANISM', `SASL mechanism ${JSON.stringify(mechanism)} is not enabled`);
    }
    const scram = mechanism === SCRAM_SHA_256
      ? new ScramServerExchange({ lookUp: this.settings.lookUp, decoySecret: this.settings.decoySecret }) : null;
    this.step = { kind: 'tokens', mechanism, raw: version === 0, scram };
  }

  /**
   * The next token of the exchange: the token to answer with; `principal` is set once the user is
   * proven. Throws SaslFailure (and the session stays failed) on anything else.
   */
  async authenticate(token: Buffer): Promise<Buffer> {
    const step = this.step;
    if (step.kind !== 'tokens') {
      this.step = { kind: 'failed' };
      throw new SaslFailure('ILLEGAL_SASL_STATE', step.kind === 'busy'
        ? 'a SASL token came before the previous one was answered'
        : 'a SASL token came outside an exchange (SaslHandshake first)');
    }
    this.step = { kind: 'busy' };
    try {
      if (step.scram === null) {
        const user = await authenticatePlain(token, this.settings.lookUp);
        this.succeed(user);
        return Buffer.alloc(0);
      }
      const { reply, user } = step.scram.respond(token.toString('utf8'));
      if (user === null) this.step = step;
      else this.succeed(user);
      return Buffer.from(reply, 'utf8');
    } catch (error) {
      this.step = { kind: 'failed' };
      if (error instanceof SaslFailure) throw error;
      // The client learns only that it failed (not whether the user exists); the log says why.
      throw new SaslFailure('SASL_AUTHENTICATION_FAILED',
        `Authentication failed during authentication due to invalid credentials with SASL mechanism ${step.mechanism}`,
        `${step.mechanism}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private succeed(user: string): void {
    assert(this.authenticatedAs === null, 'a SASL session authenticates once');
    const principal = `User:${user}`;
    const refusal = this.admit(principal);
    if (refusal !== null) {
      this.step = { kind: 'failed' };
      throw new SaslFailure('SASL_AUTHENTICATION_FAILED', refusal);
    }
    this.authenticatedAs = principal;
    this.step = { kind: 'authenticated' };
  }
}
