/**
 * First cluster figures (issue 4): one producer sends 100-byte records to a 6-partition topic with
 * replication factor 3 on three local broker processes, with acks=all and then acks=1; then one
 * consumer reads everything back. Prints records/s and MB/s for each. The full `tributary bench
 * produce|consume` with options comes with the performance work; this is the baseline.
 * Usage: node dist/bench/cluster_bench.js [records] [--json]
 */
import { Admin, Consumer, Producer } from '../src/client/index.js';
import type { Acks } from '../src/client/index.js';
import { TestCluster } from '../test/helpers/cluster.js';

const RECORD_BYTES = 100;
const PARTITIONS = 6;

interface Figures { records: number; seconds: number; recordsPerSecond: number; megabytesPerSecond: number }

function figures(records: number, startedNs: bigint): Figures {
  const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
  return { records, seconds, recordsPerSecond: records / seconds,
    megabytesPerSecond: records * RECORD_BYTES / seconds / 1e6 };
}

async function produce(bootstrap: string, topic: string, acks: Acks, records: number): Promise<Figures> {
  const producer = new Producer({ bootstrap, acks, lingerMs: 5, batchBytesMax: 256 * 1024,
    bufferBytesMax: 64 * 1024 * 1024, idempotent: false });
  await producer.connect();
  const value = Buffer.alloc(RECORD_BYTES, 120);
  const started = process.hrtime.bigint();
  const window: Promise<unknown>[] = [];
  for (let i = 0; i < records; i += 1) {
    window.push(producer.send({ topic, value }));
    if (window.length >= 20_000) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await producer.flush();
  const result = figures(records, started);
  await producer.close();
  return result;
}

async function consume(bootstrap: string, topic: string, records: number): Promise<Figures> {
  const consumer = new Consumer({ bootstrap, maxWaitMs: 100, partitionMaxBytes: 4 * 1024 * 1024 });
  await consumer.connect();
  consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
  for (let partition = 0; partition < PARTITIONS; partition += 1) consumer.seek({ topic, partition }, 'beginning');
  const started = process.hrtime.bigint();
  let seen = 0;
  const deadline = Date.now() + 120_000;
  while (seen < records && Date.now() < deadline) seen += (await consumer.poll({ timeoutMs: 500 })).length;
  const result = figures(seen, started);
  await consumer.close();
  return result;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 200_000);
  const json = process.argv.includes('--json');
  const cluster = await TestCluster.start(3);
  try {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.connect();
    for (const topic of ['bench-acks-all', 'bench-acks-1']) {
      await admin.createTopic({ name: topic, partitions: PARTITIONS, replicationFactor: 3 });
    }
    await admin.close();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const acksAll = await produce(cluster.bootstrap, 'bench-acks-all', 'all', records);
    const acksOne = await produce(cluster.bootstrap, 'bench-acks-1', 1, records);
    const consumed = await consume(cluster.bootstrap, 'bench-acks-all', records);
    const report = { recordBytes: RECORD_BYTES, partitions: PARTITIONS, replicationFactor: 3, acksAll, acksOne,
      consumed };
    if (json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const line = (name: string, f: Figures): string =>
        `${name.padEnd(16)} ${f.records} records in ${f.seconds.toFixed(2)} s: ` +
        `${Math.round(f.recordsPerSecond)} records/s, ${f.megabytesPerSecond.toFixed(1)} MB/s`;
      process.stdout.write(`${[line('produce acks=all', acksAll), line('produce acks=1', acksOne),
        line('consume', consumed)].join('\n')}\n`);
    }
  } finally {
    await cluster.stop();
  }
}

await main();
