/**
 * `tributary produce NAME [--acks all|1|0] [--key-separator :]`: one record per line of standard
 * input (Kafka's kafka-console-producer.sh). With a key separator, the text before its first
 * occurrence is the key; a line without it is sent with a null key. Prints nothing on success
 * (`--json`: one summary object); exits 1 when any record failed, naming the first failure.
 * At most OUTSTANDING_MAX records are unacknowledged at once, so a huge input never piles up.
 */
import { createInterface } from 'node:readline';

import type { Argv, CommandModule } from 'yargs';

import { Producer } from '../../client/producer.js';
import type { Acks, ProducerMessage } from '../../client/producer.js';
import { cliLogger, describeError, runClientCommand, securityOf, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

const OUTSTANDING_MAX = 10_000;

/** How long produce waits for an answering cluster by default (the library's maxBlockMs is Kafka's 60 s). */
const PRODUCE_TIMEOUT_S_DEFAULT = 10;

interface ProduceArguments extends BootstrapArguments {
  name: string;
  acks: string;
  'key-separator': string | undefined;
  partition: number | undefined;
  json: boolean;
  timeout: number;
}

export function parseAcks(value: string): Acks {
  switch (value) {
    case 'all':
    case '-1':
      return 'all';
    case '1':
      return 1;
    case '0':
      return 0;
    default:
      throw new UsageError(`--acks ${value}: expected all, 1 or 0`);
  }
}

/** The record a line becomes. */
export function recordOfLine(topic: string, line: string, separator: string | undefined,
  partition: number | undefined): ProducerMessage {
  const explicit = partition === undefined ? {} : { partition };
  if (separator === undefined) return { topic, value: line, ...explicit };
  const at = line.indexOf(separator);
  if (at < 0) return { topic, key: null, value: line, ...explicit };
  return { topic, key: line.slice(0, at), value: line.slice(at + separator.length), ...explicit };
}

interface Tally {
  sent: number;
  failed: number;
  firstError: unknown;
  outstanding: number;
  readonly partitions: Map<number, number>;
}

/** On a terminal, a progress line once a second for long inputs (nothing when stderr is a file or pipe). */
function showProgress(tally: Tally): { stop(): void } {
  if (!process.stderr.isTTY) return { stop: () => undefined };
  const startMs = Date.now();
  let shown = false;
  const timer = setInterval(() => {
    const seconds = (Date.now() - startMs) / 1000;
    process.stderr.write(`\rtributary produce: ${tally.sent} records sent, ${Math.round(tally.sent / seconds)} rec/s ...`);
    shown = true;
  }, 1_000);
  return { stop: () => {
    clearInterval(timer);
    if (shown) process.stderr.write('\r\x1b[K');
  } };
}

async function produceLines(producer: Producer, args: ProduceArguments, tally: Tally): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let roomFreed: (() => void) | null = null;
  for await (const line of lines) {
    const message = recordOfLine(args.name, line, args['key-separator'], args.partition);
    tally.outstanding += 1;
    producer.send(message).then((result) => {
      tally.sent += 1;
      tally.partitions.set(result.partition, (tally.partitions.get(result.partition) ?? 0) + 1);
    }, (error: unknown) => {
      tally.failed += 1;
      tally.firstError ??= error;
    }).finally(() => {
      tally.outstanding -= 1;
      roomFreed?.();
    });
    while (tally.outstanding >= OUTSTANDING_MAX) {
      await new Promise<void>((resolve) => { roomFreed = resolve; });
      roomFreed = null;
    }
  }
}

export const produceCommand: CommandModule<object, ProduceArguments> = {
  command: 'produce <name>',
  describe: 'send each line of standard input as a record',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .positional('name', { type: 'string', demandOption: true, describe: 'topic name' })
    .option('acks', { type: 'string', default: 'all', describe: 'all (Raft commit), 1 (leader) or 0 (none)' })
    .option('key-separator', { type: 'string', describe: 'split each line into key and value at this string' })
    .option('partition', { type: 'number', describe: 'send every record to this partition' })
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON summary' })
    .option('timeout', { type: 'number', default: PRODUCE_TIMEOUT_S_DEFAULT,
      describe: 'seconds to wait for the cluster (metadata, buffer room) before failing' }),
  handler: (args) => runClientCommand('produce', async () => {
    const acks = parseAcks(args.acks);
    if (args['key-separator'] === '') throw new UsageError('--key-separator must not be empty');
    if (!(args.timeout > 0 && Number.isFinite(args.timeout))) throw new UsageError('--timeout must be a positive number');
    const waitMs = Math.round(args.timeout * 1000);
    const producer = new Producer({ bootstrap: args.bootstrap, ...securityOf(args), acks, logger: cliLogger(), clientId: 'tributary-cli',
      maxBlockMs: waitMs, topicWaitMs: waitMs });
    const tally: Tally = { sent: 0, failed: 0, firstError: null, outstanding: 0, partitions: new Map() };
    const startMs = Date.now();
    try {
      const partitions = await producer.partitionsFor(args.name);
      if (args.partition !== undefined && !partitions.includes(args.partition)) {
        throw new UsageError(`--partition ${args.partition}: topic ${args.name} has ${partitions.length} partitions`);
      }
      const progress = showProgress(tally);
      try {
        await produceLines(producer, args, tally);
        await producer.flush();
      } finally {
        progress.stop();
      }
    } finally {
      await producer.close();
    }
    if (args.json) {
      process.stdout.write(`${JSON.stringify({
        topic: args.name, sent: tally.sent, failed: tally.failed, elapsedMs: Date.now() - startMs,
        partitions: Object.fromEntries([...tally.partitions].sort(([a], [b]) => a - b)),
        ...(tally.firstError === null ? {} : { error: describeError(tally.firstError) }),
      })}\n`);
    }
    if (tally.failed > 0) {
      throw new Error(`${tally.failed} of ${tally.sent + tally.failed} records failed; first: ` +
        describeError(tally.firstError));
    }
    // stdout stays for --json (and silent otherwise): the summary goes to stderr, as kcat's does.
    if (!args.json) {
      process.stderr.write(`tributary produce: ${tally.sent} record${tally.sent === 1 ? '' : 's'} to ${args.name} ` +
        `(${tally.partitions.size} partition${tally.partitions.size === 1 ? '' : 's'}) in ` +
        `${((Date.now() - startMs) / 1000).toFixed(1)} s\n`);
    }
  }),
};
