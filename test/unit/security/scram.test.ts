/**
 * SCRAM-SHA-256 on the server side against RFC 7677's example exchange (user "user", password
 * "pencil", the RFC's nonces and salt): the server-first and server-final messages are the RFC's,
 * byte for byte. Then every way the exchange must fail: a wrong proof, a changed nonce, a
 * channel-binding attribute that is not the gs2 header's, channel binding asked for, an
 * authorization id of someone else, an unknown user (who still gets a salt, the same one twice),
 * and a message after the end. PLAIN is checked against the same credential.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';

import { authenticatePlain, parsePlainMessage, PlainError } from '../../../src/security/sasl_plain.js';
import { ScramError, ScramServerExchange, decodeSaslName, passwordMatches, scramCredential }
  from '../../../src/security/scram.js';
import type { ScramCredential } from '../../../src/security/scram.js';

// RFC 7677 section 3.
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,' +
  'p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');

async function pencil(): Promise<ScramCredential> {
  return scramCredential('pencil', 4096, SALT);
}

function exchangeFor(credential: ScramCredential | undefined): ScramServerExchange {
  return new ScramServerExchange({ lookUp: (user) => (user === 'user' ? credential : undefined),
    decoySecret: Buffer.alloc(32, 7), serverNonce: () => SERVER_NONCE });
}

void describe('SCRAM-SHA-256 server (RFC 7677)', () => {
  void it('answers the RFC\'s exchange with its server-first and server-final messages', async () => {
    const exchange = exchangeFor(await pencil());
    assert.deepEqual(exchange.respond(CLIENT_FIRST), { reply: SERVER_FIRST, user: null });
    assert.deepEqual(exchange.respond(CLIENT_FINAL), { reply: SERVER_FINAL, user: 'user' });
    assert.throws(() => exchange.respond(CLIENT_FINAL), ScramError, 'nothing after the end');
  });

  void it('accepts librdkafka\'s client-final, its client nonce repeated in front (Kafka\'s endsWith check)', async () => {
    const exchange = exchangeFor(await pencil());
    const serverFirst = exchange.respond(CLIENT_FIRST).reply;
    const withoutProof = `c=biws,r=rOprNGfwEbeRWgbNEkqO${serverFirst.slice(2, serverFirst.indexOf(','))}`;
    // The client's side of RFC 5802, to sign a message the RFC's example does not have.
    const salted = crypto.pbkdf2Sync('pencil', SALT, 4096, 32, 'sha256');
    const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = crypto.createHash('sha256').update(clientKey).digest();
    const authMessage = `${CLIENT_FIRST.slice(3)},${serverFirst},${withoutProof}`;
    const signature = crypto.createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ (signature[i] ?? 0)));
    const serverKey = crypto.createHmac('sha256', salted).update('Server Key').digest();
    assert.deepEqual(exchange.respond(`${withoutProof},p=${proof.toString('base64')}`), { user: 'user',
      reply: `v=${crypto.createHmac('sha256', serverKey).update(authMessage).digest('base64')}` });
  });

  void it('refuses a wrong proof (another password), and the exchange stays over', async () => {
    const exchange = exchangeFor(await scramCredential('pencils', 4096, SALT));
    exchange.respond(CLIENT_FIRST);
    assert.throws(() => exchange.respond(CLIENT_FINAL), /authentication failed/);
    assert.throws(() => exchange.respond(CLIENT_FINAL), /over/);
  });

  void it('refuses a final message whose nonce or channel binding differs from the first', async () => {
    const credential = await pencil();
    const changedNonce = exchangeFor(credential);
    changedNonce.respond(CLIENT_FIRST);
    assert.throws(() => changedNonce.respond(CLIENT_FINAL.replace('k0,p=', 'k1,p=')), /nonce/);
    const changedBinding = exchangeFor(credential);
    changedBinding.respond(CLIENT_FIRST);
    assert.throws(() => changedBinding.respond(CLIENT_FINAL.replace('c=biws', 'c=eSws')), /channel binding/);
    const otherServerNonce = exchangeFor(credential);
    otherServerNonce.respond(CLIENT_FIRST);
    assert.throws(() => otherServerNonce.respond(CLIENT_FINAL.replace('$k0,p=', '$k0x,p=')), /nonce/);
    const noProof = exchangeFor(credential);
    noProof.respond(CLIENT_FIRST);
    assert.throws(() => noProof.respond(CLIENT_FINAL.replace(/,p=.*$/, '')), /no proof/);
  });

  void it('refuses channel binding, another authorization id, a bad name or nonce, a mandatory extension', async () => {
    const credential = await pencil();
    for (const [first, why] of [['p=tls-unique,,n=user,r=abc', /channel binding/],
      ['n,a=admin,n=user,r=abc', /authorization id/], ['n,,n=us=er,r=abc', /user name/],
      ['n,,r=abc,n=user', /n= then r=/], ['n,,n=user,r=a,b', /attribute/], ['x,,n=user,r=abc', /gs2/],
      ['n,,n=user,r=abc,m=ext', /mandatory/]] as const) {
      assert.throws(() => exchangeFor(credential).respond(first), why, first);
    }
    // The authorization id may be the user itself (Kafka's rule).
    assert.match(exchangeFor(credential).respond('n,a=user,n=user,r=abc').reply, /^r=abc/);
  });

  void it('gives an unknown user a salt (the same each time) and fails at the proof', () => {
    const first = exchangeFor(undefined).respond('n,,n=mallory,r=rOprNGfwEbeRWgbNEkqO').reply;
    const again = exchangeFor(undefined).respond('n,,n=mallory,r=rOprNGfwEbeRWgbNEkqO').reply;
    assert.equal(first, again);
    assert.match(first, /^r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj\)hNlF\$k0,s=[A-Za-z0-9+/]+=*,i=4096$/);
    const exchange = exchangeFor(undefined);
    exchange.respond('n,,n=mallory,r=rOprNGfwEbeRWgbNEkqO');
    assert.throws(() => exchange.respond(CLIENT_FINAL), /authentication failed/);
  });

  void it('decodes saslnames (=2C, =3D) and refuses other escapes', () => {
    assert.equal(decodeSaslName('a=2Cb=3Dc'), 'a,b=c');
    assert.throws(() => decodeSaslName('a=41'), ScramError);
  });
});

void describe('SASL/PLAIN against a SCRAM credential', () => {
  const lookUp = (credential: ScramCredential) => (user: string): ScramCredential | undefined =>
    (user === 'user' ? credential : undefined);

  void it('authenticates the right password and refuses a wrong one or an unknown user', async () => {
    const credential = await pencil();
    assert.equal(await passwordMatches('pencil', credential), true);
    assert.equal(await authenticatePlain(Buffer.from('\u0000user\u0000pencil'), lookUp(credential)), 'user');
    assert.equal(await authenticatePlain(Buffer.from('user\u0000user\u0000pencil'), lookUp(credential)), 'user');
    await assert.rejects(authenticatePlain(Buffer.from('\u0000user\u0000pencil!'), lookUp(credential)), PlainError);
    await assert.rejects(authenticatePlain(Buffer.from('\u0000mallory\u0000pencil'), lookUp(credential)), PlainError);
  });

  void it('refuses malformed messages and another authorization id', () => {
    for (const text of ['user\u0000pencil', '\u0000\u0000pencil', '\u0000user\u0000', 'admin\u0000user\u0000pencil',
      '\u0000user\u0000pen\u0000cil']) {
      assert.throws(() => parsePlainMessage(Buffer.from(text)), PlainError, JSON.stringify(text));
    }
  });
});
