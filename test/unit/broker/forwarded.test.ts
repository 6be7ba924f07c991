/**
 * What brokers forward to each other over the Raft transport: commands (relayed or not), heartbeats and leaving
 * notices read back as sent; anything else (a wrong length, an incarnation that is not an exact
 * integer, an unknown tag) is null, for the caller to log and drop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeForwarded, encodeAddress, encodeForwardedCommand, encodeHeartbeat, encodeLeaving }
  from '../../../src/broker/forwarded.js';

describe('forwarded requests', () => {
  it('reads back a command, a heartbeat and a leaving notice', () => {
    const command = decodeForwarded(encodeForwardedCommand(Buffer.from([7, 8, 9])));
    assert.ok(command?.kind === 'command');
    assert.deepEqual([...command.command], [7, 8, 9]);
    assert.equal(command.relayed, false);
    const relayed = decodeForwarded(encodeForwardedCommand(Buffer.from([7, 8, 9]), true));
    assert.ok(relayed?.kind === 'command');
    assert.deepEqual([...relayed.command], [7, 8, 9]);
    assert.equal(relayed.relayed, true, 'a relayed command is marked so it is never relayed again');
    assert.deepEqual(decodeForwarded(encodeHeartbeat(3, 1_796_543_000_123)),
      { kind: 'heartbeat', brokerId: 3, incarnation: 1_796_543_000_123 });
    assert.deepEqual(decodeForwarded(encodeLeaving(4, 1_796_543_000_456)),
      { kind: 'leaving', brokerId: 4, incarnation: 1_796_543_000_456 });
  });

  it('reads back the leader\'s address notice and drops a malformed one', () => {
    assert.deepEqual(decodeForwarded(encodeAddress(7, '127.0.0.14', 19_094)),
      { kind: 'address', brokerId: 7, host: '127.0.0.14', port: 19_094 });
    const notice = Buffer.from(encodeAddress(7, 'h', 1));
    assert.equal(decodeForwarded(notice.subarray(0, 7)), null, 'no host');
    const zeroPort = Buffer.from(notice);
    zeroPort.writeUInt16LE(0, 5);
    assert.equal(decodeForwarded(zeroPort), null, 'port 0');
    assert.equal(decodeForwarded(Buffer.concat([notice, Buffer.alloc(255)])), null, 'a host over 255 bytes');
    assert.throws(() => encodeAddress(7, '', 1), /host/);
  });

  it('drops what is neither', () => {
    const leaving = Buffer.from(encodeLeaving(4, 5));
    assert.equal(decodeForwarded(leaving.subarray(0, 12)), null, 'a notice one byte short');
    assert.equal(decodeForwarded(Buffer.concat([leaving, Buffer.from([0])])), null, 'a notice one byte long');
    const fraction = Buffer.from(leaving);
    fraction.writeDoubleLE(0.5, 5);
    assert.equal(decodeForwarded(fraction), null, 'an incarnation that is not an integer');
    assert.equal(decodeForwarded(Buffer.from([0x06, 1, 2])), null, 'an unknown tag');
    assert.equal(decodeForwarded(Buffer.alloc(0)), null, 'nothing');
  });
});
