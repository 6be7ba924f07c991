/**
 * `tributary dev`: a local cluster in one command: N brokers as child processes on 127.0.0.1
 * (client ports base-port.., Raft ports base-port+10000.., Kafka wire-protocol listeners
 * base-port+30000.., docs/kafka.md), data under ./data/<id>. Each broker's
 * settings are written to ./data/broker-<id>.json first, so one broker can be stopped and started
 * again by hand (`tributary start --config data/broker-2.json`), as the banner says. Ctrl-C stops
 * them cleanly (SIGTERM to each child by PID, then wait). Each broker serves its Prometheus metrics
 * on base-port+20000.. (`--metrics-listen`), and this process serves the web console on
 * `--console-port` (8080; 0: none), scraping those metrics for its charts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';

import { ConsoleServer } from '../../console/console_server.js';
import { cliLogger, describeError } from '../client_common.js';
import { prettyLogLines } from '../pretty_log.js';
import { PARENT_PID_ENV } from '../parent_watch.js';

interface DevArguments {
  brokers: number;
  'base-port': number;
  data: string;
  'console-port': number;
}

const mainScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
const RAFT_PORT_OFFSET = 10_000;
const METRICS_PORT_OFFSET = 20_000;
const KAFKA_PORT_OFFSET = 30_000;

interface DevBroker {
  readonly file: string;
  readonly pid: number | undefined;
}

function usage(basePort: number, brokers: ReadonlyMap<number, DevBroker>, observability: readonly string[]): string {
  const bootstrap = `127.0.0.1:${basePort}`;
  const flag = basePort === 9091 ? '' : ` --bootstrap ${bootstrap}`;
  const [exampleId, example] = [...brokers].at(-1) ?? [1, { file: 'data/broker-1.json', pid: undefined }];
  return [
    '',
    `Tributary is running: bootstrap ${bootstrap}, in plaintext and open to anyone who can reach 127.0.0.1 ` +
      '(no keys; docs/security.md sets up CURVE). Try, in another terminal:',
    `  npx tributary topics create orders --partitions 6 --replication-factor 3${flag}`,
    `  printf 'k1:hello\\nk2:world\\n' | npx tributary produce orders --key-separator :${flag}`,
    `  npx tributary consume orders --from-beginning --max-messages 2${flag}`,
    `  npx tributary cluster status${flag}`,
    `  npx tributary top${flag}`,
    `Kafka clients (kcat, kafkajs, librdkafka) use bootstrap 127.0.0.1:${basePort + KAFKA_PORT_OFFSET}:`,
    `  kcat -b 127.0.0.1:${basePort + KAFKA_PORT_OFFSET} -L`,
    ...observability,
    `Brokers: ${[...brokers].map(([id, { pid }]) => `${id} (pid ${pid ?? '?'})`).join(', ')}. To watch a fail-over, ` +
      'stop one and start it again on its data:',
    `  kill ${example.pid ?? '<pid>'}                                   # broker ${exampleId}`,
    `  npx tributary start --config ${example.file}`,
    'Ctrl-C stops the cluster (a broker started again by hand keeps running: Ctrl-C it too).',
    '',
  ].join('\n');
}

export const devCommand: CommandModule<object, DevArguments> = {
  command: 'dev',
  describe: 'start a local cluster (3 brokers by default) with data under ./data',
  builder: (yargs: Argv): Argv<DevArguments> => yargs
    .option('brokers', { type: 'number', default: 3, describe: 'how many brokers' })
    .option('base-port', { type: 'number', default: 9091, describe: 'first client port' })
    .option('data', { type: 'string', default: './data', describe: 'data folder' })
    .option('console-port', { type: 'number', default: 8080, describe: 'web console port (0: no console)' }),
  handler: async (args) => {
    const ids = Array.from({ length: args.brokers }, (_, i) => i + 1);
    const raftPort = (id: number): number => args['base-port'] + RAFT_PORT_OFFSET + id - 1;
    const metricsAddress = (id: number): string => `127.0.0.1:${args['base-port'] + METRICS_PORT_OFFSET + id - 1}`;
    const voters = ids.map((id) => `${id}@127.0.0.1:${raftPort(id)}`).join(',');
    const children = new Map<number, ChildProcess>();
    let stopping = false;
    const stopAll = (code: number): void => {
      if (stopping) return;
      stopping = true;
      for (const child of children.values()) child.kill('SIGTERM');
      const deadline = setTimeout(() => {
        for (const child of children.values()) child.kill('SIGKILL');
      }, 10_000);
      void Promise.all([...children.values()].map((child) => new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(null);
        else child.on('exit', resolve);
      }))).then(() => { clearTimeout(deadline); process.exit(code); });
    };
    const configs = new Map<number, DevBroker>();
    fs.mkdirSync(args.data, { recursive: true });
    for (const id of ids) {
      const file = path.join(args.data, `broker-${id}.json`);
      const settings = { id, data: path.join(args.data, String(id)), listen: `127.0.0.1:${args['base-port'] + id - 1}`,
        'raft-listen': `127.0.0.1:${raftPort(id)}`, voters, 'metrics-listen': metricsAddress(id),
        'kafka-listen': `127.0.0.1:${args['base-port'] + KAFKA_PORT_OFFSET + id - 1}` };
      fs.writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
      const child = spawn(process.execPath, [mainScript, 'start', '--config', file],
        { stdio: ['ignore', 'inherit', 'pipe'],
          env: { ...process.env, TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'warn',
            [PARENT_PID_ENV]: String(process.pid) } });
      configs.set(id, { file, pid: child.pid });
      // Readable lines at a terminal; the brokers' JSON as it is into a file or a pipe.
      if (process.stderr.isTTY) prettyLogLines(child.stderr, process.stderr, { colorize: true });
      else child.stderr.on('data', (chunk: Buffer) => { process.stderr.write(chunk); });
      child.on('exit', (code, signal) => {
        if (stopping) return;
        // The others keep running, so killing one broker is a way to watch fail-over.
        process.stderr.write(`broker ${id} exited (${signal ?? `code ${code}`}); the others keep running\n`);
        if ([...children.values()].every((c) => c.exitCode !== null || c.signalCode !== null)) stopAll(1);
      });
      children.set(id, child);
    }
    process.on('SIGINT', () => { stopAll(0); });
    process.on('SIGTERM', () => { stopAll(0); });
    const observability = [`Metrics (Prometheus): ${ids.map((id) => `http://${metricsAddress(id)}/metrics`).join(' ')}`];
    if (args['console-port'] !== 0) {
      try {
        const server = await ConsoleServer.start({ bootstrap: `127.0.0.1:${args['base-port']}`, host: '127.0.0.1',
          port: args['console-port'], metrics: ids.map(metricsAddress), logger: cliLogger() });
        observability.push(`Console: http://127.0.0.1:${server.port}/`);
      } catch (error) {
        // The cluster is still useful without its console (say, when the port is taken).
        observability.push(`Console: not started (${describeError(error)}); try --console-port`);
      }
    }
    process.stdout.write(usage(args['base-port'], configs, observability));
    await new Promise(() => undefined);
  },
};
