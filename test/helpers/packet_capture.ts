/**
 * Loopback traffic of chosen TCP ports captured with tcpdump into a file, for tests that check what
 * crosses the wire (security_curve.test.ts). tcpdump must be installed (.ci/run installs it) and
 * the process allowed to capture (root, or CAP_NET_RAW on tcpdump); start() fails saying so.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** tcpdump's path, or null when there is none. */
export function tcpdumpPath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v tcpdump || ls /usr/sbin/tcpdump /usr/bin/tcpdump 2>/dev/null'],
      { encoding: 'utf8' }).trim().split('\n')[0] ?? null;
  } catch {
    return null;
  }
}

export class PacketCapture {
  private constructor(private readonly child: ChildProcess, readonly file: string,
    private readonly directory: string) {}

  /** Starts capturing every TCP packet to or from `ports` on lo; resolves once tcpdump listens. */
  static async start(ports: readonly number[]): Promise<PacketCapture> {
    const tcpdump = tcpdumpPath();
    if (tcpdump === null || tcpdump === '') throw new Error('no tcpdump found: apt-get install tcpdump (.ci/run does it)');
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-capture-'));
    const file = path.join(directory, 'lo.pcap');
    const filter = `tcp and (${ports.map((port) => `port ${port}`).join(' or ')})`;
    // --immediate-mode: packets reach tcpdump at once (else libpcap holds them in a block for up to a
    // second, and a SIGINT before then loses them); -U: written as they come; -s 0: whole packets.
    const child = spawn(tcpdump, ['-i', 'lo', '--immediate-mode', '-U', '-s', '0', '-w', file, filter],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`tcpdump did not start listening: ${stderr}`)); },
        READY_TIMEOUT_MS);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('listening on')) { clearTimeout(timer); resolve(); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tcpdump exited (${code}): ${stderr}`)); });
    });
    return new PacketCapture(child, file, directory);
  }

  /** Stops tcpdump and returns every byte it captured. */
  async stop(): Promise<Buffer> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    const bytes = fs.readFileSync(this.file);
    fs.rmSync(this.directory, { recursive: true, force: true });
    return bytes;
  }
}
