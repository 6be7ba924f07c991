/**
 * Goal: `--raft-dial id@host:port,...` sends a broker's Raft links to the listed peers through the
 * given addresses (the fault harness puts a relay there), and a bad value is a one-line error.
 * Method: the parser on good and bad text; `tributary start` with a bad value as a child process;
 * and two real ZeroMQ transports on 127.0.0.1, node 1 dialing node 2 through a counting TCP relay,
 * which shows the relay carries node 1's messages to node 2 and not node 2's messages to node 1.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ZmqRaftTransport } from '../../../raft/transport/zmq_transport.js';
import { ConfigError, parseRaftDial } from '../../../src/cli/commands/broker_address.js';
import { freePorts, waitFor } from '../../helpers/ports.js';
import { RecordingLogger } from '../../helpers/storage_fixture.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'cli', 'main.js');

void describe('--raft-dial parsing', () => {
  void test('reads id@host:port pairs; empty means no override', () => {
    const dial = parseRaftDial('2@127.0.0.1:29092, 3@localhost:29093', 1);
    assert.deepEqual([...dial], [[2, { host: '127.0.0.1', port: 29092 }], [3, { host: 'localhost', port: 29093 }]]);
    assert.equal(parseRaftDial('', 1).size, 0);
  });

  void test('rejects malformed, duplicate and self entries with one-line ConfigErrors', () => {
    const cases: [string, RegExp][] = [
      ['2', /^--raft-dial: expected id@host:port, got "2"$/],
      ['x@127.0.0.1:1', /^--raft-dial: expected id@host:port, got "x@127.0.0.1:1"$/],
      ['0@127.0.0.1:1', /^--raft-dial: expected id@host:port/],
      ['2@a@127.0.0.1:1', /^--raft-dial: expected id@host:port/],
      ['2@127.0.0.1', /^--raft-dial \(broker 2\): expected host:port, got "127.0.0.1"$/],
      ['2@127.0.0.1:70000', /^--raft-dial \(broker 2\): expected host:port/],
      ['2@127.0.0.1:1,2@127.0.0.1:2', /^--raft-dial: broker 2 is listed twice$/],
      ['1@127.0.0.1:1', /^--raft-dial: broker 1 is this broker, not a peer$/],
    ];
    for (const [text, expected] of cases) {
      assert.throws(() => parseRaftDial(text, 1), (error: unknown) => error instanceof ConfigError
        && expected.test(error.message) && !error.message.includes('\n'), text);
    }
  });

  void test('tributary start refuses a bad --raft-dial with one line on stderr and exit code 1', () => {
    const result = spawnSync(process.execPath, [mainScript, 'start', '--id', '1', '--data', '/nonexistent/never',
      '--listen', '127.0.0.1:1', '--raft-listen', '127.0.0.1:2', '--voters', '1@127.0.0.1:2',
      '--raft-dial', '2@nowhere'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, 'tributary start: --raft-dial (broker 2): expected host:port, got "nowhere"\n');
  });
});

/** A TCP relay from a local port to `targetPort` that counts the bytes it moves each way. */
class CountingRelay {
  dialerToListenerBytes = 0;
  listenerToDialerBytes = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  constructor(private readonly targetPort: number) {
    this.server = net.createServer((inbound) => { this.relay(inbound); });
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', resolve);
    });
  }

  private relay(inbound: net.Socket): void {
    const outbound = net.connect(this.targetPort, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      this.sockets.add(socket);
      socket.on('close', () => { this.sockets.delete(socket); });
      socket.on('error', () => { inbound.destroy(); outbound.destroy(); });
    }
    inbound.on('data', (chunk: Buffer) => { this.dialerToListenerBytes += chunk.length; outbound.write(chunk); });
    outbound.on('data', (chunk: Buffer) => { this.listenerToDialerBytes += chunk.length; inbound.write(chunk); });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

void describe('dial overrides in the ZeroMQ transport', () => {
  void test('the connection 1->2 carries 1\'s messages to 2; 2 answers on its own connection', async () => {
    const [port1, port2, relayPort, unusedPort] = await freePorts(4);
    assert.ok(port1 !== undefined && port2 !== undefined && relayPort !== undefined && unusedPort !== undefined);
    const relay = new CountingRelay(port2);
    await relay.listen(relayPort);
    const logger = new RecordingLogger();
    const node1 = new ZmqRaftTransport({ nodeId: 1, listen: `tcp://127.0.0.1:${port1}`, logger,
      dialOverrides: new Map([[2, `tcp://127.0.0.1:${relayPort}`]]) });
    const node2 = new ZmqRaftTransport({ nodeId: 2, listen: `tcp://127.0.0.1:${port2}`, logger });
    const received1: number[] = [];
    const received2: number[] = [];
    try {
      await node1.start(() => undefined, (from, payload) => { received1.push(from, payload.length); });
      await node2.start(() => undefined, (from, payload) => { received2.push(from, payload.length); });
      // Node 1 is told a port nobody listens on: only the override can reach node 2.
      node1.setPeer(2, `tcp://127.0.0.1:${unusedPort}`);
      node2.setPeer(1, `tcp://127.0.0.1:${port1}`);
      const payloadBytes = 256 * 1024;
      const arrived2 = await waitFor(() => {
        if (received2.length === 0) node1.forward(2, Buffer.alloc(payloadBytes, 1));
        return received2.length > 0;
      }, 10_000, 50);
      assert.ok(arrived2, 'node 2 got node 1\'s forward through the relay');
      assert.deepEqual(received2.slice(0, 2), [1, payloadBytes]);
      assert.ok(relay.dialerToListenerBytes >= payloadBytes, `relay carried ${relay.dialerToListenerBytes} bytes 1->2`);
      const arrived1 = await waitFor(() => {
        if (received1.length === 0) node2.forward(1, Buffer.alloc(payloadBytes, 2));
        return received1.length > 0;
      }, 10_000, 50);
      assert.ok(arrived1, 'node 1 got node 2\'s forward directly');
      assert.deepEqual(received1.slice(0, 2), [2, payloadBytes]);
      // Only ZMTP handshake and heartbeat answers come back through the relay, never node 2's messages.
      assert.ok(relay.listenerToDialerBytes > 0, 'the relay carries ZMTP traffic back');
      assert.ok(relay.listenerToDialerBytes < payloadBytes / 4,
        `relay carried ${relay.listenerToDialerBytes} bytes 2->1: node 2's message went through it`);
      assert.ok(logger.warnings().some((line) => line.message === 'dialing a peer through an override'));
    } finally {
      await node1.close();
      await node2.close();
      await relay.close();
    }
  });
});
