/**
 * SaslHandshake (key 17, v0-1) and SaslAuthenticate (key 36, v0-2): a connection's SASL exchange
 * (sasl_session.ts) on the wire. The handshake answers the enabled mechanisms; SaslAuthenticate
 * carries each token and its answer (v1 adds session_lifetime_ms, 0: no re-authentication; v2 is
 * flexible). After a v0 handshake the tokens come as bare frames instead (connection.ts). A failure
 * is answered with its error code (SASL_AUTHENTICATION_FAILED for a wrong password) and closes.
 */
import { assert } from '../../../raft/core/assert.js';
import { ERROR_TABLE } from '../../common/errors.js';
import { KafkaWriter } from '../codec.js';
import type { KafkaApi, KafkaCall, KafkaOutcome } from '../kafka_api.js';
import { SASL_AUTHENTICATE_KEY, SASL_HANDSHAKE_KEY } from '../request_header.js';
import { SASL_MECHANISMS, SaslFailure } from '../sasl_session.js';
import type { SaslSession } from '../sasl_session.js';

function sessionOf(call: KafkaCall): SaslSession {
  assert(call.sasl !== undefined, 'the SASL APIs are served only by a listener with SASL');
  return call.sasl;
}

export const saslHandshakeApi: KafkaApi = {
  key: SASL_HANDSHAKE_KEY, name: 'SaslHandshake', minVersion: 0, maxVersion: 1,
  handle(call: KafkaCall): KafkaOutcome {
    const mechanism = call.body.string();
    const answer = (errorCode: number): KafkaWriter => new KafkaWriter().int16(errorCode)
      .array(SASL_MECHANISMS, (writer, name) => writer.string(name));
    try {
      sessionOf(call).handshake(mechanism, call.header.apiVersion);
    } catch (error) {
      if (!(error instanceof SaslFailure)) throw error;
      return { kind: 'respond', body: answer(ERROR_TABLE[error.errorName].wire), closeAfter: error.detail };
    }
    return { kind: 'respond', body: answer(0) };
  },
};

function authenticateBody(version: number, errorCode: number, message: string | null, token: Buffer): KafkaWriter {
  const writer = new KafkaWriter().int16(errorCode);
  if (version >= 2) writer.compactNullableString(message).compactBytes(token);
  else writer.nullableString(message).bytes(token);
  if (version >= 1) writer.int64(0); // session_lifetime_ms: no re-authentication is asked for
  if (version >= 2) writer.noTaggedFields();
  return writer;
}

export const saslAuthenticateApi: KafkaApi = {
  key: SASL_AUTHENTICATE_KEY, name: 'SaslAuthenticate', minVersion: 0, maxVersion: 2,
  async handle(call: KafkaCall): Promise<KafkaOutcome> {
    const version = call.header.apiVersion;
    let token: Buffer;
    if (version >= 2) {
      token = Buffer.from(call.body.compactBytes());
      call.body.taggedFields();
    } else {
      const bytes = call.body.nullableBytes();
      token = Buffer.from(bytes ?? Buffer.alloc(0));
    }
    try {
      const reply = await sessionOf(call).authenticate(token);
      return { kind: 'respond', body: authenticateBody(version, 0, null, reply) };
    } catch (error) {
      if (!(error instanceof SaslFailure)) throw error;
      return { kind: 'respond', body: authenticateBody(version, ERROR_TABLE[error.errorName].wire, error.message,
        Buffer.alloc(0)), closeAfter: error.detail };
    }
  },
};
