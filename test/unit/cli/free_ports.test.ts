/**
 * Free ports for the clusters tests and the bench start: below the ephemeral range (where no
 * outgoing connection takes them), never the same in two processes picking at the same time, and
 * never one something else already listens on.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { freePorts } from '../../../src/cli/free_ports.js';

const run = promisify(execFile);
const MODULE = fileURLToPath(new URL('../../../src/cli/free_ports.js', import.meta.url));
const ephemeralStart = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

const listen = (port: number): Promise<net.Server> => new Promise((resolve, reject) => {
  const server = net.createServer();
  server.once('error', reject);
  server.listen(port, '127.0.0.1', () => { resolve(server); });
});
const close = (server: net.Server): Promise<void> => new Promise((resolve) => { server.close(() => { resolve(); }); });

describe('free ports', () => {
  it('hands out distinct ports below the ephemeral range, each free to bind', async () => {
    const ports = await Promise.all([freePorts(20), freePorts(20)]).then((lists) => lists.flat());
    assert.equal(new Set(ports).size, 40);
    for (const port of ports) assert.ok(port >= 10_000 && port < ephemeralStart, `${port} below ${ephemeralStart}`);
    for (const port of ports.slice(0, 5)) await close(await listen(port));
  });

  it('gives two processes picking at once disjoint ports', async () => {
    const script = `import { freePorts } from ${JSON.stringify(MODULE)};` +
      'console.log(JSON.stringify(await freePorts(150)));';
    const pick = (): Promise<number[]> => run(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 })
      .then(({ stdout }) => JSON.parse(stdout) as number[]);
    const lists = await Promise.all([pick(), pick(), freePorts(150)]);
    const all = lists.flat();
    assert.equal(all.length, 450);
    assert.equal(new Set(all).size, all.length, 'no port handed to two processes');
  });

  it('skips a port something else listens on', async () => {
    const [probe] = await freePorts(1);
    // The next port of this process's block (blocks of 100 from 10,000), taken by another listener first.
    const held = await listen(probe! + 1);
    try {
      const [next] = await freePorts(1);
      const blockEnd = 10_000 + (Math.floor((probe! - 10_000) / 100) + 1) * 100;
      if (probe! + 2 < blockEnd) assert.equal(next, probe! + 2, 'the held port is passed over, not the block');
      else assert.notEqual(next, probe! + 1);
    } finally {
      await close(held);
    }
  });
});
