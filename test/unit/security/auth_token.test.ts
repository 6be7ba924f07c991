/**
 * Auth tokens (src/security/auth_token.ts): the client's token for a server equals the server's
 * for that client (X25519 is symmetric), a different key on either side gives another token, and a
 * TokenTable resolves exactly the known keys' tokens. Z85 decodes what zeromq encodes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zmq from 'zeromq';

import { AUTH_TOKEN_BYTES, TokenTable, authToken } from '../../../src/security/auth_token.js';
import { curveKeyBytes, z85Decode, z85Encode } from '../../../src/security/z85.js';

void describe('auth tokens', () => {
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  const stranger = zmq.curveKeyPair();

  void test('both sides of a key pair compute the same token', () => {
    const fromClient = authToken(client, server.publicKey);
    assert.equal(fromClient.length, AUTH_TOKEN_BYTES);
    assert.deepEqual(fromClient, authToken(server, client.publicKey));
  });

  void test('another key on either side gives another token', () => {
    const token = authToken(client, server.publicKey);
    assert.notDeepEqual(authToken(stranger, server.publicKey), token);
    assert.notDeepEqual(authToken(client, stranger.publicKey), token);
  });

  void test('a table resolves known keys\' tokens only, with any Uint8Array view', () => {
    const table = new TokenTable(server, [[client.publicKey, 'User:alice'] as const]);
    const token = authToken(client, server.publicKey);
    assert.equal(table.ownerOf(token), 'User:alice');
    const padded = Buffer.concat([Buffer.from([9]), token]);
    assert.equal(table.ownerOf(new Uint8Array(padded.buffer, padded.byteOffset + 1, token.length)), 'User:alice');
    assert.equal(table.ownerOf(authToken(stranger, server.publicKey)), undefined);
    assert.equal(table.ownerOf(new Uint8Array(0)), undefined);
    assert.equal(table.ownerOf(token.subarray(1)), undefined);
  });

  void test('Z85 round-trips zeromq keys and refuses what is not Z85', () => {
    const raw = z85Decode(client.publicKey);
    assert.ok(raw !== null);
    assert.equal(raw.length, 32);
    assert.equal(z85Encode(raw), client.publicKey);
    assert.equal(z85Decode('abcd'), null, 'length not a multiple of 5');
    assert.equal(z85Decode('abc"e'), null, 'a character outside the alphabet');
    assert.equal(z85Decode('#####'), null, 'a block over 2^32');
    assert.equal(curveKeyBytes(client.publicKey.slice(5)), null, 'a key is 40 characters');
  });
});
