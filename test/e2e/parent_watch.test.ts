/**
 * Goal: brokers started by a local cluster do not outlive the process that started them, even
 * when it is SIGKILLed and cannot stop them (a bench or test process killed on a timeout used to
 * leave its three brokers running, holding their ports). Method: a child process starts a real
 * three-broker cluster and reports the brokers' PIDs; the test SIGKILLs that child and waits,
 * bounded, until every broker process has exited; whatever is left is killed by PID at the end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const helper = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'abandoned_cluster_process.js');
const STARTED_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 20_000;

/** Running and not a zombie (an exited child waits for init to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('brokers of a local cluster whose starter is SIGKILLed', () => {
  const started: number[] = [];
  let dataRoot: string | undefined;
  after(() => {
    for (const pid of started) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (dataRoot !== undefined) fs.rmSync(dataRoot, { recursive: true, force: true });
  });

  it('shut down by themselves within seconds', async () => {
    const child = spawn(process.execPath, [helper], { stdio: ['ignore', 'pipe', 'inherit'] });
    assert(child.pid !== undefined);
    started.push(child.pid);
    const lines = readline.createInterface({ input: child.stdout });
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([
      new Promise<string>((resolve) => { lines.once('line', resolve); }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => { reject(new Error('the cluster did not start')); }, STARTED_TIMEOUT_MS);
      }),
    ]).finally(() => { clearTimeout(timer); });
    const report = JSON.parse(first) as { pids: number[]; dataRoot: string };
    started.push(...report.pids);
    dataRoot = report.dataRoot;
    assert.equal(report.pids.length, 3);
    assert(report.pids.every(alive), 'every broker runs before its starter dies');

    child.kill('SIGKILL');
    const deadline = Date.now() + EXIT_TIMEOUT_MS;
    while (report.pids.some(alive) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(report.pids.filter(alive), [], `brokers still running ${EXIT_TIMEOUT_MS} ms after their starter died`);
  });
});
