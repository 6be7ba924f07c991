/**
 * The acks=all producer bench over slow links between brokers (issue 18's second Done-when). For
 * each added delay (default 0, 10 and 50 ms, 0 being the figure to compare with), three brokers
 * whose Raft links all go through relays adding it (one way: an append and its answer cross two
 * relays), then `tributary bench produce --json` at full rate and at a fixed modest rate on a
 * topic created beforehand. Every partition's leader epoch (its leader's Raft term) is read before
 * and after each run: a changed epoch is an election during the run.
 *
 * Usage: node dist/bench/slow_links.js [--delays 0,10,50] [--records 300000] [--rate 5000]
 *   [--rate-records 50000] [--election-timeout-ms N --heartbeat-ms N]
 * The last two are the brokers' --raft-election-timeout-ms and --raft-heartbeat-ms (their
 * defaults when absent), to measure the timing a slower link needs.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { assert } from '../raft/core/assert.js';
import { Admin } from '../src/client/index.js';
import { startRelayedCluster } from '../test/helpers/relayed_cluster.js';
import type { RelayedCluster } from '../test/helpers/relayed_cluster.js';

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const PARTITIONS = 6;
const BENCH_TIMEOUT_MS = 300_000;

interface BenchJson {
  recordsPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
}
interface WirePartition { partition: number; leaderId: number; leaderEpoch: number }
interface WireMetadata { topics?: { name: string; partitions?: WirePartition[] }[] }

/** partition -> "leader@epoch", as the broker leading it says. */
async function epochs(relayed: RelayedCluster, topic: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const id of relayed.cluster.ids()) {
    const metadata = await relayed.cluster.metadata(id) as WireMetadata | null;
    for (const p of metadata?.topics?.find((t) => t.name === topic)?.partitions ?? []) {
      if (p.leaderId === id) found.set(p.partition, `${p.leaderId}@${String(p.leaderEpoch)}`);
    }
  }
  return found;
}

function runBench(bootstrap: string, topic: string, extra: readonly string[]): Promise<BenchJson> {
  const child = spawn(process.execPath, [mainScript, 'bench', 'produce', '--bootstrap', bootstrap, '--topic', topic,
    '--acks', 'all', '--json', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGTERM'); }, BENCH_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`bench exited ${String(code)}: ${out}`));
      else resolve(JSON.parse(line) as BenchJson);
    });
  });
}

async function measure(delayMs: number, records: number, rate: number, rateRecords: number,
  brokerArguments: readonly string[]): Promise<string> {
  const relayed = await startRelayedCluster(3, brokerArguments);
  try {
    relayed.relays.setDelayAll(delayMs);
    const lines: string[] = [];
    for (const [phase, extra] of [['peak', ['--records', String(records)]],
      [`${rate}/s`, ['--records', String(rateRecords), '--throughput', String(rate)]]] as const) {
      const topic = `slow-${delayMs}-${phase.replace('/', '-')}`;
      const admin = new Admin({ bootstrap: relayed.bootstrap, requestTimeoutMs: 20_000 });
      await admin.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 3 });
      await admin.close();
      let before = new Map<number, string>();
      for (let i = 0; i < 100 && before.size < PARTITIONS; i += 1) {
        before = await epochs(relayed, topic);
        if (before.size < PARTITIONS) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert(before.size === PARTITIONS, 'every partition has a leader before the run');
      const report = await runBench(relayed.bootstrap, topic, extra);
      const afterRun = await epochs(relayed, topic);
      const changed = [...before].filter(([partition, was]) => afterRun.get(partition) !== was).length;
      lines.push(`delay ${delayMs} ms ${phase}: ${Math.round(report.recordsPerSec)} rec/s, p50/p99/max `
        + `${report.latencyMs.p50.toFixed(1)}/${report.latencyMs.p99.toFixed(1)}/${report.latencyMs.max.toFixed(1)} ms, `
        + `partitions whose leader changed during the run: ${changed}`);
    }
    return lines.join('\n');
  } finally {
    await relayed.stop();
  }
}

const { values } = parseArgs({ options: { delays: { type: 'string', default: '0,10,50' },
  records: { type: 'string', default: '300000' }, rate: { type: 'string', default: '5000' },
  'rate-records': { type: 'string', default: '50000' }, 'election-timeout-ms': { type: 'string' },
  'heartbeat-ms': { type: 'string' } } });
const brokerArguments = [
  ...(values['election-timeout-ms'] === undefined ? [] : ['--raft-election-timeout-ms', values['election-timeout-ms']]),
  ...(values['heartbeat-ms'] === undefined ? [] : ['--raft-heartbeat-ms', values['heartbeat-ms']])];
if (brokerArguments.length > 0) process.stdout.write(`brokers: ${brokerArguments.join(' ')}\n`);
const delays = values.delays.split(',').map(Number);
assert(delays.every((d) => Number.isSafeInteger(d) && d >= 0), '--delays: natural numbers of ms, comma-separated');
for (const delay of delays) {
  process.stdout.write(`${await measure(delay, Number(values.records), Number(values.rate), Number(values['rate-records']),
    brokerArguments)}\n`);
}
