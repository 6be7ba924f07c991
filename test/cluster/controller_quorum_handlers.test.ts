/**
 * The controller quorum APIs on a real Raft host (ZeroMQ transport, segment files), a real request
 * server and the client connection, for what the end-to-end test cannot make happen on purpose:
 * - a voter change while another conf change is unapplied is refused with the retriable
 *   REQUEST_TIMED_OUT and proposes nothing (the one-change-at-a-time rule); the membership stays;
 * - the last voter cannot be removed (INVALID_REQUEST); adding a voter is DUPLICATE_VOTER, adding an
 *   unregistered broker BROKER_ID_NOT_REGISTERED, removing a stranger VOTER_NOT_FOUND;
 * - DescribeQuorum names the leader, its term and last index, and each member's lag.
 * Node 1 runs alone: it bootstraps as the only voter, then voter 2 is added, which never starts, so
 * the next change cannot commit and stays pending for as long as the test looks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfChangeType, bootstrapEntries } from '../../raft/core/index.js';
import { RaftHost } from '../../raft/host/raft_host.js';
import { ZmqRaftTransport } from '../../raft/transport/zmq_transport.js';
import { LogManager } from '../../storage/index.js';
import { ControllerReplica } from '../../src/broker/controller_replica.js';
import { controllerQuorumHandlers } from '../../src/broker/controller_quorum_handlers.js';
import { Connection } from '../../src/client/connection.js';
import { ERROR_TABLE, errorCodeFromWire } from '../../src/common/errors.js';
import { RequestServer } from '../../src/net/request_server.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { freePorts, waitFor } from '../helpers/ports.js';
import { RecordingLogger, temporaryDirectory } from '../helpers/storage_fixture.js';

const GROUP = 0;

void describe('controller quorum handlers on one real Raft node', () => {
  const root = temporaryDirectory('controller-quorum');
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  void it('refuses bad changes and a change while another is unapplied, with typed codes', async () => {
    const [raftPort, clientPort] = await freePorts(2);
    const logger = new RecordingLogger();
    const manager = LogManager.open({ dataDirectory: path.join(root, 'n1'), logger });
    closers.push(() => manager.close());
    const storage = await manager.openRaftStorage('__controller-0', { describePayload: () => ({ recordCount: 0,
      maxTimestampMs: -1 }) });
    const boot = bootstrapEntries([1]);
    await storage.append(boot.entries);
    await storage.saveHardState(boot.hardState);
    const transport = new ZmqRaftTransport({ nodeId: 1, listen: `tcp://127.0.0.1:${raftPort}`, logger });
    const host = new RaftHost({ nodeId: 1, transport, logger, tickMs: 20 });
    const controller = new ControllerReplica(pino({ level: 'silent' }));
    host.addGroup(GROUP, storage, controller);
    await host.start();
    closers.push(() => host.close());
    const server = new RequestServer({ listen: `tcp://127.0.0.1:${clientPort}`, logger: pino({ level: 'silent' }),
      handlers: controllerQuorumHandlers({ brokerId: 1, groupId: GROUP, host, controller, peerSilenceMs: 1_000 }) });
    await server.start();
    closers.push(() => server.close());
    const connection = new Connection({ address: `127.0.0.1:${clientPort}`, clientId: 'test', requestTimeoutMs: 5_000 });
    closers.push(() => connection.close());

    const add = async (brokerId: number): Promise<string> => codeOf((await connection.request(
      API_KEYS.ADD_RAFT_VOTER, { brokerId, timeoutMs: 1_000 })).response.errorCode);
    const remove = async (brokerId: number): Promise<{ code: string; message: string }> => {
      const { response } = await connection.request(API_KEYS.REMOVE_RAFT_VOTER, { brokerId, timeoutMs: 1_000 });
      return { code: codeOf(response.errorCode), message: response.errorMessage };
    };

    assert.ok(await waitFor(() => host.status(GROUP)?.role === 'leader', 10_000), 'node 1 leads within 10 s');
    // A leader just elected has its own no-op entry one step from durable: its lag reaches 0 a moment later.
    let { response: described } = await connection.request(API_KEYS.DESCRIBE_QUORUM, {});
    for (let attempt = 0; attempt < 50 && described.voters.some((v) => v.entriesBehind !== 0); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      described = (await connection.request(API_KEYS.DESCRIBE_QUORUM, {})).response;
    }
    assert.equal(described.errorCode, 0);
    assert.equal(described.leaderId, 1);
    assert.ok(described.term >= 1 && described.lastIndex >= 1, JSON.stringify(described));
    assert.deepEqual(described.voters.map((v) => [v.brokerId, v.entriesBehind]), [[1, 0]]);
    assert.deepEqual(described.learners, []);

    assert.equal((await remove(1)).code, 'INVALID_REQUEST', 'the last voter stays');
    assert.equal(await add(1), 'DUPLICATE_VOTER');
    assert.equal(await add(7), 'BROKER_ID_NOT_REGISTERED');
    assert.equal((await remove(7)).code, 'VOTER_NOT_FOUND');
    assert.equal(await add(0), 'INVALID_REQUEST');
    assert.deepEqual(host.confState(GROUP), { voters: [1], learners: [] }, 'nothing changed');

    // Voter 2 never starts: with it added, a majority of {1, 2} needs it, so the next change stays unapplied.
    assert.ok(await waitFor(() => host.proposeConfChange(GROUP, { type: ConfChangeType.addVoter, nodeId: 2 })
      ?.kind === 'accepted', 5_000));
    assert.ok(await waitFor(() => host.confState(GROUP)?.voters.length === 2, 5_000), 'voter 2 added');
    assert.equal(host.proposeConfChange(GROUP, { type: ConfChangeType.addLearner, nodeId: 3 })?.kind, 'accepted');
    const refused = await remove(2);
    assert.equal(refused.code, 'REQUEST_TIMED_OUT');
    assert.equal(ERROR_TABLE.REQUEST_TIMED_OUT.retriable, true);
    assert.match(refused.message, /another controller membership change is not applied yet/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(host.confState(GROUP), { voters: [1, 2], learners: [] }, 'the pending change is still pending');
  });
});

function codeOf(wire: number): string {
  return wire === 0 ? 'NONE' : errorCodeFromWire(wire) ?? `wire ${wire}`;
}
