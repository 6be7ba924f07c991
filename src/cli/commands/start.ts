/** `tributary start`: runs one broker until SIGINT or SIGTERM. */
import fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { Broker } from '../../broker/broker.js';
import { GROUP_SETTINGS_DEFAULTS } from '../../group/coordinator.js';
import type { GroupSettings } from '../../group/coordinator.js';
import { offsetsTopicConfigs } from '../../group/offsets_topic.js';
import { validateTopicConfig } from '../../controller/topic_config.js';
import { ConfigError, parseHostPort, parseRaftDial, parseVoters } from './broker_address.js';
import { storageTestModeFromEnv } from './storage_test_env.js';

interface StartArguments {
  id: number;
  data: string;
  listen: string;
  'raft-listen': string;
  voters: string;
  'raft-dial': string;
  'retention-check-ms': number;
  'unsafe-skip-record-validation': boolean;
  'offsets-topic-partitions': number;
  'offsets-topic-segment-bytes': number;
  'offsets-topic-retention-bytes': number;
  'group-min-session-timeout-ms': number;
  'group-max-session-timeout-ms': number;
  'group-initial-rebalance-delay-ms': number;
  'group-max-size': number;
  'group-max-rebalance-timeout-ms': number;
}

function checkDataDirectory(path: string): void {
  try {
    fs.mkdirSync(path, { recursive: true });
    fs.accessSync(path, fs.constants.W_OK);
  } catch {
    throw new ConfigError(`--data: cannot write to ${path}`);
  }
}

/** Turns the errors a misconfiguration causes into one line each. */
function explainStartError(error: unknown, args: StartArguments): string {
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigError) return text;
  if (/address already in use/i.test(text)) return `an address is already in use (${args.listen} or ${args['raft-listen']})`;
  if (/not among the voters/.test(text)) return `--id ${args.id} is not one of the --voters`;
  return text;
}

function positiveInteger(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`--${flag} must be an integer >= 0`);
  return value;
}

function groupSettings(args: StartArguments): GroupSettings {
  const partitions = positiveInteger(args['offsets-topic-partitions'], 'offsets-topic-partitions');
  if (partitions < 1) throw new ConfigError('--offsets-topic-partitions must be at least 1');
  const minSessionTimeoutMs = positiveInteger(args['group-min-session-timeout-ms'], 'group-min-session-timeout-ms');
  const maxSessionTimeoutMs = positiveInteger(args['group-max-session-timeout-ms'], 'group-max-session-timeout-ms');
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError('--group-min-session-timeout-ms is above --group-max-session-timeout-ms');
  }
  const maxSize = positiveInteger(args['group-max-size'], 'group-max-size');
  const segmentBytes = positiveInteger(args['offsets-topic-segment-bytes'], 'offsets-topic-segment-bytes');
  const retentionBytes = positiveInteger(args['offsets-topic-retention-bytes'], 'offsets-topic-retention-bytes');
  const configProblem = validateTopicConfig(offsetsTopicConfigs(segmentBytes, retentionBytes));
  if (configProblem !== null) throw new ConfigError(`--offsets-topic-*: ${configProblem.message}`);
  return { offsetsTopicPartitions: partitions, offsetsTopicSegmentBytes: segmentBytes,
    offsetsTopicRetentionBytes: retentionBytes, minSessionTimeoutMs, maxSessionTimeoutMs,
    initialRebalanceDelayMs: positiveInteger(args['group-initial-rebalance-delay-ms'], 'group-initial-rebalance-delay-ms'),
    maxSize: maxSize === 0 ? Infinity : maxSize,
    maxRebalanceTimeoutMs: Math.max(1, positiveInteger(args['group-max-rebalance-timeout-ms'],
      'group-max-rebalance-timeout-ms')) };
}

export const startCommand: CommandModule<object, StartArguments> = {
  command: 'start',
  describe: 'run one broker',
  builder: (yargs: Argv): Argv<StartArguments> => yargs
    .option('id', { type: 'number', demandOption: true, describe: 'this broker\'s id (one of the voters)' })
    .option('data', { type: 'string', demandOption: true, describe: 'data folder' })
    .option('listen', { type: 'string', demandOption: true, describe: 'client listener host:port' })
    .option('raft-listen', { type: 'string', demandOption: true, describe: 'Raft listener host:port' })
    .option('voters', { type: 'string', demandOption: true, describe: 'id@host:port,... of the controller quorum' })
    .option('raft-dial', { type: 'string', default: '',
      describe: 'id@host:port,...: dial these peers\' Raft links at these addresses (a test relay)' })
    .option('retention-check-ms', { type: 'number', default: 30_000, describe: 'how often retention runs' })
    .option('unsafe-skip-record-validation', { type: 'boolean', default: false,
      describe: 'store produced batches without checking their records; only to measure what the check costs' })
    .option('offsets-topic-partitions', { type: 'number', default: GROUP_SETTINGS_DEFAULTS.offsetsTopicPartitions,
      describe: 'partitions of __consumer_offsets when this broker creates it' })
    .option('offsets-topic-segment-bytes', { type: 'number', default: GROUP_SETTINGS_DEFAULTS.offsetsTopicSegmentBytes,
      describe: 'segment.bytes of __consumer_offsets when this broker creates it' })
    .option('offsets-topic-retention-bytes', { type: 'number',
      default: GROUP_SETTINGS_DEFAULTS.offsetsTopicRetentionBytes,
      describe: 'retention.bytes of __consumer_offsets when this broker creates it' })
    .option('group-min-session-timeout-ms', { type: 'number', default: GROUP_SETTINGS_DEFAULTS.minSessionTimeoutMs,
      describe: 'the shortest session timeout a group member may ask for' })
    .option('group-max-session-timeout-ms', { type: 'number', default: GROUP_SETTINGS_DEFAULTS.maxSessionTimeoutMs,
      describe: 'the longest session timeout a group member may ask for' })
    .option('group-initial-rebalance-delay-ms', { type: 'number',
      default: GROUP_SETTINGS_DEFAULTS.initialRebalanceDelayMs,
      describe: 'how long an empty group\'s first rebalance waits for more members' })
    .option('group-max-size', { type: 'number', default: 0, describe: 'members per group at most; 0: no limit' })
    .option('group-max-rebalance-timeout-ms', { type: 'number', default: GROUP_SETTINGS_DEFAULTS.maxRebalanceTimeoutMs,
      describe: 'rebalance timeouts longer than this are cut to it' }),
  handler: async (args) => {
    let broker: Broker;
    try {
      if (!Number.isInteger(args.id) || args.id < 1) throw new ConfigError('--id must be a positive integer');
      const voters = parseVoters(args.voters);
      if (!voters.has(args.id)) throw new ConfigError(`--id ${args.id} is not one of the --voters`);
      const raftDial = parseRaftDial(args['raft-dial'], args.id);
      const storageTestMode = storageTestModeFromEnv(process.env);
      checkDataDirectory(args.data);
      broker = await Broker.start({ id: args.id, dataDirectory: args.data, voters, raftDial,
        ...(storageTestMode === undefined ? {} : { storageTestMode }),
        retentionCheckMs: args['retention-check-ms'],
        groups: groupSettings(args),
        ...(args['unsafe-skip-record-validation'] ? { unsafeSkipRecordValidation: true } : {}),
        listen: parseHostPort(args.listen, '--listen'), raftListen: parseHostPort(args['raft-listen'], '--raft-listen') });
    } catch (error) {
      process.stderr.write(`tributary start: ${explainStartError(error, args)}\n`);
      process.exit(1);
    }
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      void broker.close().then(() => { process.exit(0); });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
};
