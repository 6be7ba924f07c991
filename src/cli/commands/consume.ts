/**
 * `tributary consume NAME [--from-beginning | --offset N | --from-time ISO] [--partition P]
 * [--group G] [--max-messages N] [--timeout-ms T] [--print-key] [--print-offset] [--json]` (Kafka's
 * kafka-console-consumer.sh): prints one value per line, starting from the end of each partition
 * unless told otherwise, and exits after --max-messages records or --timeout-ms without a record
 * (or on Ctrl-C). Without --partition every partition of the topic is read; --offset then applies
 * to each of them.
 *
 * --group G: the partitions come from consumer group G (subscribe) and the command commits after
 * printing, the offsets of exactly what it printed, so the next run of the group resumes after the
 * last record printed. --from-beginning then applies only to partitions the group has no committed
 * offset for; --partition, --offset and --from-time do not go with it. The silence of --timeout-ms
 * counts from the first assignment (joining a group takes a rebalance), at the latest from
 * GROUP_JOIN_WAIT_MS after the start.
 *
 * Text lines: `[partition:offset<TAB>][key<TAB>]value`, keys and values as UTF-8 (a null key or
 * value prints as `null`). --json: one object per line with topic, partition, offset, timestamp,
 * key, value and headers.
 */
import type { Argv, CommandModule } from 'yargs';

import { Consumer } from '../../client/consumer.js';
import type { ConsumerRecord, OffsetToCommit, SeekTarget } from '../../client/consumer.js';
import { cliAdmin, cliLogger, runClientCommand, securityOf, UsageError, withBootstrap } from '../client_common.js';
import type { BootstrapArguments } from '../client_common.js';

/** A poll never blocks longer, so Ctrl-C and --timeout-ms are noticed promptly. */
const POLL_SLICE_MS = 500;
/** With --group, --timeout-ms starts counting once assigned, or after this long without an assignment. */
const GROUP_JOIN_WAIT_MS = 30_000;

interface ConsumeArguments extends BootstrapArguments {
  name: string;
  'from-beginning': boolean | undefined;
  offset: number | undefined;
  'from-time': string | undefined;
  partition: number | undefined;
  group: string | undefined;
  'max-messages': number | undefined;
  'timeout-ms': number | undefined;
  'print-key': boolean;
  'print-offset': boolean;
  json: boolean;
}

/** Where to start, from the mutually exclusive options; the end when none is given. */
export function startOf(args: Pick<ConsumeArguments, 'from-beginning' | 'offset' | 'from-time'>): SeekTarget {
  if (args['from-beginning'] === true) return 'beginning';
  if (args.offset !== undefined) {
    if (!Number.isSafeInteger(args.offset) || args.offset < 0) throw new UsageError('--offset must be an offset >= 0');
    return args.offset;
  }
  if (args['from-time'] !== undefined) {
    const timestamp = Date.parse(args['from-time']);
    if (Number.isNaN(timestamp)) throw new UsageError(`--from-time ${args['from-time']}: not an ISO 8601 time`);
    return { timestamp };
  }
  return 'end';
}

function text(bytes: Buffer | null): string {
  return bytes === null ? 'null' : bytes.toString('utf8');
}

export function formatRecord(record: ConsumerRecord, options: { printKey: boolean; printOffset: boolean;
  json: boolean; }): string {
  if (options.json) {
    return JSON.stringify({
      topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp,
      key: record.key?.toString('utf8') ?? null, value: record.value?.toString('utf8') ?? null,
      headers: Object.fromEntries(record.headers.map((h) => [h.key, h.value?.toString('utf8') ?? null])),
    });
  }
  const offset = options.printOffset ? `${record.partition}:${record.offset}\t` : '';
  const key = options.printKey ? `${text(record.key)}\t` : '';
  return `${offset}${key}${text(record.value)}`;
}

function checkLimit(value: number | undefined, option: string): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new UsageError(`${option} must be an integer >= 0`);
  }
  return value;
}

/**
 * A start past the end (an offset beyond the log, a time after the last record) is not an error,
 * as in Kafka: the consumer waits for records to come. It is said on stderr, so a silent wait is
 * not mistaken for an empty topic.
 */
async function notePastTheEnd(args: ConsumeArguments, partitions: readonly number[], start: SeekTarget): Promise<void> {
  if (typeof start !== 'number' && !(typeof start === 'object' && 'timestamp' in start)) return;
  const admin = cliAdmin(args, 5_000);
  try {
    await Promise.all(partitions.map(async (partition) => {
      const end = await admin.listOffset(args.name, partition, 'latest');
      if (typeof start === 'number') {
        if (start > end) {
          process.stderr.write(`tributary consume: --offset ${start} is past the end of ${args.name}/${partition} ` +
            `(next offset ${end}); waiting for records\n`);
        }
        return;
      }
      const found = await admin.listOffset(args.name, partition, start.timestamp);
      if (found < 0 || found >= end) {
        process.stderr.write(`tributary consume: no record of ${args.name}/${partition} at or after ` +
          `${args['from-time'] ?? ''} yet; waiting for records\n`);
      }
    }));
  } catch {
    // Only a note: the consume goes on and reports its own errors.
  } finally {
    await admin.close();
  }
}

/** The offsets to commit after printing records: per partition, the last printed offset + 1. */
export function offsetsAfter(records: readonly ConsumerRecord[]): OffsetToCommit[] {
  const next = new Map<string, OffsetToCommit>();
  for (const r of records) {
    const key = `${r.topic}/${r.partition}`;
    if ((next.get(key)?.offset ?? -1) <= r.offset) {
      next.set(key, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
    }
  }
  return [...next.values()];
}

/** Waits for stdout to take a chunk, so that a commit never runs ahead of what was printed. */
function print(text: string): Promise<void> {
  return new Promise((resolve) => { process.stdout.write(text, () => { resolve(); }); });
}

async function consumeLoop(consumer: Consumer, args: ConsumeArguments, stopped: () => boolean,
  grouped: boolean): Promise<void> {
  const maxMessages = checkLimit(args['max-messages'], '--max-messages');
  const timeoutMs = checkLimit(args['timeout-ms'], '--timeout-ms');
  const format = { printKey: args['print-key'], printOffset: args['print-offset'], json: args.json };
  const startMs = Date.now();
  let printed = 0;
  let lastRecordMs = startMs;
  while (!stopped() && (maxMessages === undefined || printed < maxMessages)) {
    if (grouped && printed === 0 && consumer.assignment().length === 0 && Date.now() - startMs < GROUP_JOIN_WAIT_MS) {
      lastRecordMs = Date.now(); // still joining the group: the silence has not started
    }
    const silenceLeftMs = timeoutMs === undefined ? POLL_SLICE_MS : timeoutMs - (Date.now() - lastRecordMs);
    if (silenceLeftMs <= 0) break;
    const records = await consumer.poll({ timeoutMs: Math.min(POLL_SLICE_MS, Math.max(1, silenceLeftMs)) });
    if (records.length === 0) continue;
    lastRecordMs = Date.now();
    const take = maxMessages === undefined ? records : records.slice(0, maxMessages - printed);
    printed += take.length;
    await print(take.map((record) => `${formatRecord(record, format)}\n`).join(''));
    if (grouped) await consumer.commitSync(offsetsAfter(take));
  }
}

export const consumeCommand: CommandModule<object, ConsumeArguments> = {
  command: 'consume <name>',
  describe: 'print the records of a topic, one value per line',
  builder: (yargs: Argv) => withBootstrap(yargs)
    .positional('name', { type: 'string', demandOption: true, describe: 'topic name' })
    .option('from-beginning', { type: 'boolean', describe: 'start at the log start' })
    .option('offset', { type: 'number', describe: 'start at this offset' })
    .option('from-time', { type: 'string', describe: 'start at the first record at or after this ISO time' })
    .conflicts('from-beginning', ['offset', 'from-time'])
    .conflicts('offset', 'from-time')
    .option('partition', { type: 'number', describe: 'read only this partition' })
    .option('group', { type: 'string', describe: 'read as a member of this consumer group, committing what is printed' })
    .conflicts('group', ['partition', 'offset', 'from-time'])
    .option('max-messages', { type: 'number', describe: 'exit after this many records' })
    .option('timeout-ms', { type: 'number', describe: 'exit after this long without a record' })
    .option('print-key', { type: 'boolean', default: false, describe: 'print the key before the value' })
    .option('print-offset', { type: 'boolean', default: false, describe: 'print partition:offset first' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object per record' }),
  handler: (args) => runClientCommand('consume', async () => {
    const start = startOf(args);
    const group = args.group;
    if (group === '') throw new UsageError('--group must not be empty');
    const consumer = new Consumer({ bootstrap: args.bootstrap, ...securityOf(args), logger: cliLogger(), clientId: 'tributary-cli',
      autoOffsetReset: start === 'beginning' ? 'earliest' : 'latest',
      ...(group === undefined ? {} : { groupId: group, autoCommit: false }) });
    let stopping = false;
    const stop = (): void => { stopping = true; };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stdout.on('error', stop); // EPIPE: the reader went away (`| head`)
    try {
      if (group !== undefined) {
        await consumer.partitionsFor(args.name); // the topic exists: fail now rather than wait in the group
        consumer.subscribe([args.name]);
        await consumeLoop(consumer, args, () => stopping, true);
        return;
      }
      const partitions = await consumer.partitionsFor(args.name);
      const chosen = args.partition === undefined ? partitions : [args.partition];
      if (args.partition !== undefined && !partitions.includes(args.partition)) {
        throw new UsageError(`--partition ${args.partition}: topic ${args.name} has ${partitions.length} partitions`);
      }
      consumer.assign(chosen.map((partition) => ({ topic: args.name, partition })));
      for (const partition of chosen) consumer.seek({ topic: args.name, partition }, start);
      await notePastTheEnd(args, chosen, start);
      await consumeLoop(consumer, args, () => stopping, false);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await consumer.close();
    }
  }),
};
