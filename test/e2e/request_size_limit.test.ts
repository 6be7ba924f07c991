/**
 * `--socket-request-max-bytes` on a real broker: a request over it is answered MESSAGE_TOO_LARGE
 * before any handler runs (nothing stored), one under it is served, and a value that is too
 * small refuses to start in one line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Connection } from '../../src/client/connection.js';
import { TributaryError } from '../../src/common/errors.js';
import { API_KEYS } from '../../src/protocol/api_keys.js';
import { encodeRecordBatch } from '../../src/protocol/record_batch.js';
import { runCli } from '../helpers/cli_process.js';
import { TestCluster } from '../helpers/cluster.js';

const LIMIT = 1024 * 1024;

void describe('--socket-request-max-bytes', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  let connection: Connection;
  before(async () => {
    cluster = await TestCluster.start(1, ['--socket-request-max-bytes', String(LIMIT)]);
    connection = new Connection({ address: cluster.address(1), clientId: 'size-limit', requestTimeoutMs: 10_000 });
  });
  after(async () => {
    await connection.close();
    await cluster.stop();
  });

  void it('refuses a request over the limit with MESSAGE_TOO_LARGE and serves one under it', async () => {
    const batch = (bytes: number): Buffer => encodeRecordBatch({ baseTimestamp: Date.now(),
      records: [{ key: null, value: Buffer.alloc(bytes, 3) }] });
    const produce = (bytes: number): Promise<unknown> => connection.request(API_KEYS.PRODUCE, { acks: 1,
      timeoutMs: 5_000, partitions: [{ topic: 'no-such-topic', partition: 0, rawFrameIndex: 0 }] }, [batch(bytes)]);
    await assert.rejects(produce(LIMIT + 1024), (error: unknown) =>
      error instanceof TributaryError && error.code === 'MESSAGE_TOO_LARGE');
    // Under the limit the request reaches its handler, which answers per partition.
    const served = await produce(LIMIT / 2) as { response: { partitions: { errorCode: number }[] } };
    assert.ok((served.response.partitions[0]?.errorCode ?? 0) !== 0, 'answered by the handler (unknown topic)');
  });

  void it('refuses a limit below 1 MiB at start, in one line', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-size-limit-'));
    try {
      const run = await runCli(['start', '--id', '1', '--data', data, '--listen', '127.0.0.1:1',
        '--raft-listen', '127.0.0.1:2', '--voters', '1@127.0.0.1:2', '--socket-request-max-bytes', '1000'], 20_000);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /--socket-request-max-bytes must be 0 \(the defaults\) or at least 1048576/);
    } finally {
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});
