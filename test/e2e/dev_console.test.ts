/**
 * `tributary dev` starts the web console and gives its brokers metrics endpoints: the banner names
 * the console's URL and the metrics addresses, the console answers with the three brokers, and
 * its scraper reaches each broker's /metrics. `--console-port 0` leaves the console out. Ctrl-C
 * (SIGINT to the dev process, by PID) stops the brokers and the console with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import { freePort } from '../../src/cli/free_ports.js';
import type { ClusterOverview, MetricsAnswer } from '../../src/console/api_types.js';
import { CLI_MAIN } from '../helpers/cli_process.js';

/** Whether 127.0.0.1:port can be bound now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => { resolve(false); });
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true); }); });
  });
}

/** A base port whose client (+0..2), Raft (+10000..), metrics (+20000..) and Kafka (+30000..) ports are all free. */
async function freeDevBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 12_000 + Math.floor(Math.random() * 20_000);
    const ports = [0, 1, 2].flatMap((i) => [base + i, base + 10_000 + i, base + 20_000 + i, base + 30_000 + i]);
    if ((await Promise.all(ports.map(bindable))).every(Boolean)) return base;
  }
  throw new Error('no free base port for tributary dev');
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

describe('tributary dev with its console', () => {
  const children: ChildProcess[] = [];
  const folders: string[] = [];
  after(async () => {
    for (const child of children) await stop(child, 'SIGKILL');
    for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Starts dev and resolves with its banner once the banner's last line is out. */
  async function startDev(args: readonly string[]): Promise<{ child: ChildProcess; banner: string }> {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-dev-'));
    folders.push(data);
    const child = spawn(process.execPath, [CLI_MAIN, 'dev', '--data', data, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    return new Promise((resolve, reject) => {
      let banner = '';
      const timer = setTimeout(() => { reject(new Error(`no banner in 30 s: ${banner}`)); }, 30_000);
      const read = (chunk: Buffer): void => {
        banner += chunk.toString();
        if (banner.includes('Ctrl-C stops the cluster')) {
          clearTimeout(timer);
          resolve({ child, banner });
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dev exited (${code}): ${banner}`)); });
    });
  }

  it('prints the console URL, whose API sees the brokers and their metrics', { timeout: 60_000 }, async () => {
    const base = await freeDevBasePort();
    const consolePort = await freePort();
    const { child, banner } = await startDev(['--base-port', String(base), '--console-port', String(consolePort)]);
    const url = `http://127.0.0.1:${consolePort}/`;
    assert.ok(banner.includes(`Console: ${url}`), banner);
    assert.ok(banner.includes(`http://127.0.0.1:${base + 20_000}/metrics`), banner);
    const get = async <T>(route: string): Promise<T> => {
      const response = await fetch(new URL(route, url), { signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 200);
      return await response.json() as T;
    };
    // The brokers register within seconds of the banner.
    const deadline = Date.now() + 30_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      const overview = await get<ClusterOverview>('api/overview').catch(() => null);
      const metrics = await get<MetricsAnswer>('api/metrics').catch(() => null);
      ready = overview?.brokers.filter((b) => b.up).length === 3
        && metrics?.endpoints.filter((e) => e.up).map((e) => e.brokerId).sort().join(',') === '1,2,3';
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(ready, 'three brokers up, each with its metrics scraped');
    assert.match(await (await fetch(url)).text(), /<script type="module" src="app.js">/);
    assert.equal(await stop(child, 'SIGINT'), 0);
    await assert.rejects(fetch(url, { signal: AbortSignal.timeout(2_000) }), 'the console stopped with dev');
  });

  it('--console-port 0 starts no console', { timeout: 60_000 }, async () => {
    const base = await freeDevBasePort();
    const { child, banner } = await startDev(['--base-port', String(base), '--console-port', '0', '--brokers', '1']);
    assert.ok(!banner.includes('Console:'), banner);
    assert.equal(await stop(child, 'SIGINT'), 0);
  });
});
