/**
 * `tributary start`: runs one broker until SIGINT or SIGTERM. Its settings come from flags,
 * TRIBUTARY_<FLAG_NAME> variables or a --config file (broker_settings.ts), and the addresses it
 * binds may differ from those it advertises to clients and peers.
 *
 * The first SIGTERM or SIGINT is a graceful shutdown: the broker hands its leaderships to in-sync
 * followers (bounded by --shutdown-transfer-timeout-ms), then closes. A second signal ends that
 * wait at once; one that comes while the broker closes exits the process there and then.
 * A broker unregistered by `tributary cluster decommission` closes and exits 0 by itself.
 */
import fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { Broker, LEADER_REBALANCE_INTERVAL_MS_DEFAULT, SHUTDOWN_TRANSFER_TIMEOUT_MS_DEFAULT }
  from '../../broker/broker.js';
import { GROUP_SETTINGS_DEFAULTS } from '../../group/coordinator.js';
import type { GroupSettings } from '../../group/coordinator.js';
import { offsetsTopicConfigs } from '../../group/offsets_topic.js';
import { validateTopicConfig } from '../../controller/topic_config.js';
import { assert } from '../../../raft/core/assert.js';
import type { BrokerSecurityFiles, HostPort } from '../../broker/broker.js';
import type { KafkaSecurityOptions } from '../../kafka/kafka_security.js';
import type { ConnectionLimitSettings } from '../../security/connection_limits.js';
import { ConfigError, parseHostPort, parseRaftDial, parseVoters } from './broker_address.js';
import { readConfigFile, resolveSettings } from './broker_settings.js';
import type { SettingSpec, SettingTable, SettingValue } from './broker_settings.js';
import { storageTestModeFromEnv } from './storage_test_env.js';
import { tuneHeap } from '../process_heap.js';
import { watchParent } from '../parent_watch.js';
import { RAFT_TIMING_DEFAULTS, raftTimingProblem } from '../../broker/raft_timing.js';
import type { RaftTiming } from '../../broker/raft_timing.js';

/** pino's levels, most to least severe, and silent. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Every setting of `tributary start`: a flag, TRIBUTARY_<FLAG_NAME>, or a key of --config (broker_settings.ts). */
export const START_SETTINGS = {
  id: { type: 'number', required: true,
    describe: 'this broker\'s id (a controller voter, or a broker joining the cluster when not among --voters)' },
  data: { type: 'string', required: true, describe: 'data folder' },
  listen: { type: 'string', required: true, describe: 'client listener host:port (0.0.0.0 binds every address)' },
  advertise: { type: 'string',
    describe: 'host:port clients are told to dial (Metadata, registration); default: --listen' },
  'raft-listen': { type: 'string', required: true, describe: 'Raft listener host:port' },
  'raft-advertise': { type: 'string',
    describe: 'host:port peers dial for Raft (registration); default: --raft-listen' },
  voters: { type: 'string', describe: 'id@host:port,... of the controller quorum (required, or --controllers)' },
  controllers: { type: 'string', describe: 'another name for --voters; give either' },
  'raft-dial': { type: 'string', default: '',
    describe: 'id@host:port,...: dial these peers\' Raft links at these addresses (a test relay)' },
  'raft-tick-ms': { type: 'number', default: RAFT_TIMING_DEFAULTS.tickMs,
    describe: 'how often every Raft group\'s clock advances' },
  'raft-election-timeout-ms': { type: 'number', default: RAFT_TIMING_DEFAULTS.electionTimeoutMs,
    describe: 'the shortest Raft election timeout (each replica draws from [t, 2t)); raise it on slow links' },
  'raft-heartbeat-ms': { type: 'number', default: RAFT_TIMING_DEFAULTS.heartbeatIntervalMs,
    describe: 'how often Raft leaders heartbeat (and Raft links ping); above a third of the worst round trip' },
  'retention-check-ms': { type: 'number', default: 30_000, describe: 'how often retention runs' },
  'leader-rebalance-interval-ms': { type: 'number', default: LEADER_REBALANCE_INTERVAL_MS_DEFAULT,
    describe: 'how often leaderships go back to preferred replicas that are in sync; 0: never' },
  'shutdown-transfer-timeout-ms': { type: 'number', default: SHUTDOWN_TRANSFER_TIMEOUT_MS_DEFAULT,
    describe: 'on SIGTERM, how long to wait for leaderships to move to other brokers before closing; 0: none' },
  'auto-rebalance': { type: 'boolean', default: false,
    describe: 'on the controller leader: spread replicas and leaders onto brokers that join (cluster rebalance\'s plan)' },
  'socket-request-max-bytes': { type: 'number', default: 0,
    describe: 'largest request either listener takes (Kafka\'s socket.request.max.bytes); 0: 128 MiB native, 100 MiB Kafka' },
  'replication-throttle-bytes': { type: 'number', default: 0,
    describe: 'bytes/s this broker sends to replicas catching up during a move; 0: no limit' },
  'kafka-listen': { type: 'string',
    describe: 'host:port of a Kafka wire-protocol listener (kafkajs, librdkafka, kcat; docs/kafka.md); none when unset' },
  'kafka-advertise': { type: 'string',
    describe: 'host:port Kafka clients are told to dial (Kafka Metadata); default: --kafka-listen' },
  'kafka-tls-cert': { type: 'string',
    describe: 'PEM certificate (chain) of the Kafka listener: TLS on it (with --kafka-tls-key); plain TCP when unset' },
  'kafka-tls-key': { type: 'string', describe: 'PEM private key of --kafka-tls-cert' },
  'kafka-sasl-users': { type: 'string',
    describe: 'users file (tributary users add): every Kafka client authenticates with SASL PLAIN or ' +
      'SCRAM-SHA-256 as User:name (unless --allow-anonymous); reloaded when it changes' },
  'metrics-listen': { type: 'string',
    describe: 'host:port to serve Prometheus metrics on (GET /metrics); none when unset' },
  authorize: { type: 'boolean', default: false,
    describe: 'check every request against the ACLs (`tributary acl`, docs/acls.md); off: everything is allowed' },
  'super-users': { type: 'string', default: '',
    describe: 'principals allowed everything when authorizing, User:name,... (Kafka\'s super.users)' },
  'log-level': { type: 'string', default: 'info',
    describe: `the broker log's level: ${LOG_LEVELS.join(', ')} (TRIBUTARY_LOG_LEVEL is its variable)` },
  'unsafe-skip-record-validation': { type: 'boolean', default: false,
    describe: 'store produced batches without checking their records; only to measure what the check costs' },
  'offsets-topic-partitions': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.offsetsTopicPartitions,
    describe: 'partitions of __consumer_offsets when this broker creates it' },
  'offsets-topic-segment-bytes': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.offsetsTopicSegmentBytes,
    describe: 'segment.bytes of __consumer_offsets when this broker creates it' },
  'offsets-topic-retention-bytes': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.offsetsTopicRetentionBytes,
    describe: 'retention.bytes of __consumer_offsets when this broker creates it' },
  'group-min-session-timeout-ms': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.minSessionTimeoutMs,
    describe: 'the shortest session timeout a group member may ask for' },
  'group-max-session-timeout-ms': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.maxSessionTimeoutMs,
    describe: 'the longest session timeout a group member may ask for' },
  'group-initial-rebalance-delay-ms': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.initialRebalanceDelayMs,
    describe: 'how long an empty group\'s first rebalance waits for more members' },
  'group-max-size': { type: 'number', default: 0, describe: 'members per group at most; 0: no limit' },
  'group-max-rebalance-timeout-ms': { type: 'number', default: GROUP_SETTINGS_DEFAULTS.maxRebalanceTimeoutMs,
    describe: 'rebalance timeouts longer than this are cut to it' },
  'key-file': { type: 'string',
    describe: 'PREFIX.key (tributary keys generate): CURVE on the client and Raft listeners (docs/security.md); ' +
      'plaintext when unset' },
  'peer-keys': { type: 'string', describe: 'with --key-file: file of "brokerId publicKey" lines, every broker\'s key' },
  'client-keys': { type: 'string',
    describe: 'with --key-file: file of "User:name publicKey" lines, reloaded when it changes' },
  'allow-anonymous': { type: 'boolean', default: false,
    describe: 'with --key-file: accept clients with unknown keys as User:ANONYMOUS (still encrypted); with ' +
      '--kafka-sasl-users: serve Kafka clients that do not authenticate as User:ANONYMOUS' },
  'max-connections': { type: 'number', default: 0,
    describe: 'client connections each listener serves at once (Kafka\'s max.connections); 0: no limit' },
  'max-connections-per-ip': { type: 'number', default: 0,
    describe: 'Kafka listener connections from one IP address at once (max.connections.per.ip); 0: no limit' },
  'max-connections-per-principal': { type: 'number', default: 0,
    describe: 'client connections of one principal each listener serves at once; 0: no limit' },
} as const satisfies SettingTable;

type StartSettingName = keyof typeof START_SETTINGS;

/** The resolved settings, typed by the table: required and defaulted settings are always there. */
export class StartSettings {
  constructor(private readonly values: ReadonlyMap<string, SettingValue>) {}

  number(name: StartSettingName): number {
    const value = this.values.get(name);
    assert(typeof value === 'number', () => `setting ${name} is a number`);
    return value;
  }

  string(name: StartSettingName): string {
    const value = this.values.get(name);
    assert(typeof value === 'string', () => `setting ${name} is a string`);
    return value;
  }

  optionalString(name: StartSettingName): string | undefined {
    const value = this.values.get(name);
    assert(value === undefined || typeof value === 'string', () => `setting ${name} is a string`);
    return value;
  }

  boolean(name: StartSettingName): boolean {
    const value = this.values.get(name);
    assert(typeof value === 'boolean', () => `setting ${name} is a boolean`);
    return value;
  }
}

/** The settings of one `tributary start`, from its command line, the environment and the config file. */
export function startSettingsFrom(commandLine: Readonly<Record<string, unknown>>,
  environment: Readonly<Record<string, string | undefined>>): StartSettings {
  const configArgument = commandLine['config'];
  const configPath = typeof configArgument === 'string' && configArgument !== '' ? configArgument
    : environment.TRIBUTARY_CONFIG;
  const file = configPath === undefined || configPath === '' ? null : readConfigFile(configPath);
  return new StartSettings(resolveSettings(START_SETTINGS, { commandLine, environment, file }));
}

/**
 * The controller quorum from --voters or its alias --controllers (flag, variable or file key):
 * one of them is required, and both only when they say the same.
 */
export function controllerVoters(settings: StartSettings): Map<number, HostPort> {
  const voters = settings.optionalString('voters');
  const controllers = settings.optionalString('controllers');
  if (voters === undefined && controllers === undefined) {
    throw new ConfigError('--voters is required (as a flag, as TRIBUTARY_VOTERS or in --config; ' +
      '--controllers is the same setting)');
  }
  const parsed = parseVoters(voters ?? controllers ?? '');
  if (voters !== undefined && controllers !== undefined) {
    const other = parseVoters(controllers);
    const same = other.size === parsed.size && [...parsed].every(([id, address]) =>
      other.get(id)?.host === address.host && other.get(id)?.port === address.port);
    if (!same) throw new ConfigError('--voters and --controllers name different quorums; give one of them');
  }
  return parsed;
}

/** Where this broker listens and what it tells clients and peers to dial. */
export interface BrokerAddresses {
  readonly listen: HostPort;
  readonly advertise: HostPort;
  readonly raftListen: HostPort;
  readonly raftAdvertise: HostPort;
}

/**
 * The listeners and advertised addresses, checked: an address nobody can dial (0.0.0.0, ::) is
 * never advertised, so binding one needs the matching --advertise; and a voter's own --voters
 * entry must be the Raft address it advertises, or peers would know it by two addresses; and no
 * broker advertises another voter's Raft address.
 */
export function brokerAddresses(settings: StartSettings, id: number, voters: ReadonlyMap<number, HostPort>):
  BrokerAddresses {
  const listen = parseHostPort(settings.string('listen'), '--listen');
  const raftListen = parseHostPort(settings.string('raft-listen'), '--raft-listen');
  const advertiseText = settings.optionalString('advertise');
  const raftAdvertiseText = settings.optionalString('raft-advertise');
  const advertise = advertiseText === undefined ? listen : parseHostPort(advertiseText, '--advertise');
  const raftAdvertise = raftAdvertiseText === undefined ? raftListen
    : parseHostPort(raftAdvertiseText, '--raft-advertise');
  if (isUnspecifiedHost(advertise.host)) {
    throw new ConfigError(advertiseText === undefined
      ? `--listen ${settings.string('listen')} binds every address; clients cannot dial it: give --advertise host:port`
      : `--advertise: clients cannot dial ${advertiseText}`);
  }
  if (isUnspecifiedHost(raftAdvertise.host)) {
    throw new ConfigError(raftAdvertiseText === undefined
      ? `--raft-listen ${settings.string('raft-listen')} binds every address; peers cannot dial it: ` +
        'give --raft-advertise host:port'
      : `--raft-advertise: peers cannot dial ${raftAdvertiseText}`);
  }
  const asVoter = voters.get(id);
  if (asVoter !== undefined && (asVoter.host !== raftAdvertise.host || asVoter.port !== raftAdvertise.port)) {
    throw new ConfigError(`--voters names broker ${id} at ${asVoter.host}:${asVoter.port}, but it advertises its ` +
      `Raft listener as ${raftAdvertise.host}:${raftAdvertise.port} (--raft-advertise, default --raft-listen)`);
  }
  const namesake = [...voters].find(([voterId, v]) => voterId !== id && v.host === raftAdvertise.host &&
    v.port === raftAdvertise.port);
  if (namesake !== undefined) {
    throw new ConfigError(`broker ${id} advertises ${raftAdvertise.host}:${raftAdvertise.port} for Raft, which ` +
      `--voters gives to broker ${namesake[0]}`);
  }
  return { listen, advertise, raftListen, raftAdvertise };
}

/** 0.0.0.0 and :: bind every interface; they are not addresses to dial. */
function isUnspecifiedHost(host: string): boolean {
  return host === '0.0.0.0' || /^\[(0*:)+0*\]$/.test(host);
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
function explainStartError(error: unknown, addresses: BrokerAddresses | undefined): string {
  const text = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigError) return text;
  if (/address already in use/i.test(text) && addresses !== undefined) {
    const { listen, raftListen } = addresses;
    return `an address is already in use (${listen.host}:${listen.port} or ${raftListen.host}:${raftListen.port})`;
  }
  return text;
}

/**
 * --key-file and friends: the broker's security files, or undefined for plaintext. Flags that only
 * mean something with CURVE are refused without --key-file rather than ignored.
 */
export function securitySettings(settings: StartSettings): BrokerSecurityFiles | undefined {
  const keyFile = settings.optionalString('key-file');
  const peerKeysFile = settings.optionalString('peer-keys');
  const clientKeysFile = settings.optionalString('client-keys');
  const allowAnonymous = settings.boolean('allow-anonymous');
  const kafkaSasl = settings.optionalString('kafka-sasl-users') !== undefined;
  if (keyFile === undefined) {
    const stray = [peerKeysFile === undefined ? null : '--peer-keys', clientKeysFile === undefined ? null : '--client-keys',
      allowAnonymous && !kafkaSasl ? '--allow-anonymous' : null].filter((flag) => flag !== null);
    if (stray.length > 0) throw new ConfigError(`${stray.join(', ')} need --key-file (without it the broker is plaintext)`);
    return undefined;
  }
  if (peerKeysFile === undefined) throw new ConfigError('--key-file needs --peer-keys (every broker\'s public key)');
  // A secure broker's Kafka listener authenticates its clients too, or says openly it does not.
  if (settings.optionalString('kafka-listen') !== undefined && !kafkaSasl && !allowAnonymous) {
    throw new ConfigError('--kafka-listen on a secure broker (--key-file) needs --kafka-sasl-users ' +
      '(or --allow-anonymous: Kafka clients unauthenticated)');
  }
  return { keyFile, peerKeysFile, ...(clientKeysFile === undefined ? {} : { clientKeysFile }), allowAnonymous };
}

/**
 * --kafka-tls-cert, --kafka-tls-key (both or neither) and --kafka-sasl-users: the Kafka listener's
 * TLS and SASL (the broker reads the files at start), or undefined for plain TCP, anonymous.
 */
export function kafkaSecuritySettings(settings: StartSettings): KafkaSecurityOptions | undefined {
  const certFile = settings.optionalString('kafka-tls-cert');
  const keyFile = settings.optionalString('kafka-tls-key');
  const usersFile = settings.optionalString('kafka-sasl-users');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError('--kafka-tls-cert and --kafka-tls-key go together: give both or neither');
  }
  if (certFile === undefined && usersFile === undefined) return undefined;
  if (settings.optionalString('kafka-listen') === undefined) {
    throw new ConfigError(`${certFile === undefined ? '--kafka-sasl-users' : '--kafka-tls-cert'} needs --kafka-listen`);
  }
  return { ...(certFile === undefined || keyFile === undefined ? {} : { tls: { certFile, keyFile } }),
    ...(usersFile === undefined ? {} : { sasl: { usersFile, allowAnonymous: settings.boolean('allow-anonymous') } }) };
}

/** --super-users: comma-separated principals (User:name or Broker:N). */
export function superUsers(settings: StartSettings): string[] {
  const names = settings.string('super-users').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!/^(User:[^\s:,]+|Broker:\d+)$/.test(name)) {
      throw new ConfigError(`--super-users: ${JSON.stringify(name)} is not a principal (User:name or Broker:N)`);
    }
  }
  return names;
}

/** --log-level, one of pino's level names. */
export function logLevel(settings: StartSettings): string {
  const level = settings.string('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  return level;
}

/**
 * --metrics-listen as host:port to bind (brackets of an IPv6 host removed for node's http), or
 * undefined. Port 0 picks a free port (logged): brokers started together by one environment
 * (TRIBUTARY_METRICS_LISTEN=127.0.0.1:0, as the bench does) do not collide.
 */
export function metricsListen(settings: StartSettings): HostPort | undefined {
  const text = settings.optionalString('metrics-listen')?.trim();
  if (text === undefined) return undefined;
  const anyPort = /:0+$/.test(text);
  const address = parseHostPort(anyPort ? text.replace(/:0+$/, ':1') : text, '--metrics-listen');
  return { host: address.host.replace(/^\[(.*)\]$/, '$1'), port: anyPort ? 0 : address.port };
}

/**
 * --kafka-listen and --kafka-advertise: the Kafka listener to bind and the address its clients are
 * told to dial (registered with the controller, so every broker's Kafka Metadata names it); none
 * when --kafka-listen is unset. As for --listen, an address nobody can dial is never advertised.
 */
export function kafkaAddresses(settings: StartSettings):
  { kafkaListen: HostPort; kafkaAdvertise: HostPort } | undefined {
  const listenText = settings.optionalString('kafka-listen');
  const advertiseText = settings.optionalString('kafka-advertise');
  if (listenText === undefined) {
    if (advertiseText !== undefined) throw new ConfigError('--kafka-advertise needs --kafka-listen');
    return undefined;
  }
  const kafkaListen = parseHostPort(listenText, '--kafka-listen');
  const kafkaAdvertise = advertiseText === undefined ? kafkaListen : parseHostPort(advertiseText, '--kafka-advertise');
  if (isUnspecifiedHost(kafkaAdvertise.host)) {
    throw new ConfigError(advertiseText === undefined
      ? `--kafka-listen ${listenText} binds every address; clients cannot dial it: give --kafka-advertise host:port`
      : `--kafka-advertise: clients cannot dial ${advertiseText}`);
  }
  return { kafkaListen, kafkaAdvertise };
}

function positiveInteger(value: number, flag: string): number {
  if (!Number.isInteger(value) || value < 0) throw new ConfigError(`--${flag} must be an integer >= 0`);
  return value;
}

/** --socket-request-max-bytes: 0 keeps each listener's default; else at least 1 MiB (a full batch must fit). */
function requestBytesMax(settings: StartSettings): { requestBytesMax?: number } {
  const bytes = positiveInteger(settings.number('socket-request-max-bytes'), 'socket-request-max-bytes');
  if (bytes === 0) return {};
  if (bytes < 1024 * 1024) throw new ConfigError('--socket-request-max-bytes must be 0 (the defaults) or at least 1048576');
  return { requestBytesMax: bytes };
}

function groupSettings(settings: StartSettings): GroupSettings {
  const setting = (name: StartSettingName): number => positiveInteger(settings.number(name), name);
  const partitions = setting('offsets-topic-partitions');
  if (partitions < 1) throw new ConfigError('--offsets-topic-partitions must be at least 1');
  const minSessionTimeoutMs = setting('group-min-session-timeout-ms');
  const maxSessionTimeoutMs = setting('group-max-session-timeout-ms');
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    throw new ConfigError('--group-min-session-timeout-ms is above --group-max-session-timeout-ms');
  }
  const maxSize = setting('group-max-size');
  const segmentBytes = setting('offsets-topic-segment-bytes');
  const retentionBytes = setting('offsets-topic-retention-bytes');
  const configProblem = validateTopicConfig(offsetsTopicConfigs(segmentBytes, retentionBytes));
  if (configProblem !== null) throw new ConfigError(`--offsets-topic-*: ${configProblem.message}`);
  return { offsetsTopicPartitions: partitions, offsetsTopicSegmentBytes: segmentBytes,
    offsetsTopicRetentionBytes: retentionBytes, minSessionTimeoutMs, maxSessionTimeoutMs,
    initialRebalanceDelayMs: setting('group-initial-rebalance-delay-ms'),
    maxSize: maxSize === 0 ? Infinity : maxSize,
    maxRebalanceTimeoutMs: Math.max(1, setting('group-max-rebalance-timeout-ms')) };
}

/** --max-connections, --max-connections-per-ip and --max-connections-per-principal: whole numbers, 0 for none. */
export function connectionLimits(settings: StartSettings): ConnectionLimitSettings {
  const limit = (name: StartSettingName): number => {
    const value = settings.number(name);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError(`--${name} must be a whole number of connections (0: no limit), got ${value}`);
    }
    return value;
  };
  return { maxConnections: limit('max-connections'), maxConnectionsPerAddress: limit('max-connections-per-ip'),
    maxConnectionsPerPrincipal: limit('max-connections-per-principal') };
}

/** --raft-tick-ms, --raft-election-timeout-ms and --raft-heartbeat-ms, checked together. */
export function raftTiming(settings: StartSettings): RaftTiming {
  const timing = { tickMs: settings.number('raft-tick-ms'), electionTimeoutMs: settings.number('raft-election-timeout-ms'),
    heartbeatIntervalMs: settings.number('raft-heartbeat-ms') };
  const problem = raftTimingProblem(timing);
  if (problem !== null) throw new ConfigError(problem);
  return timing;
}


/** The yargs options of the table: no defaults or demands here, resolveSettings applies them after env and file. */
function withSettingOptions(yargs: Argv): Argv {
  let built = yargs.option('config', { type: 'string',
    describe: 'a .json, .yaml or .yml file of flag names to values (flags and TRIBUTARY_* variables override it)' });
  for (const [flag, spec] of Object.entries(START_SETTINGS) as [string, SettingSpec][]) {
    built = built.option(flag, { type: spec.type, describe: spec.describe,
      ...(spec.default === undefined ? {} : { defaultDescription: JSON.stringify(spec.default) }),
      ...(spec.required === true ? { defaultDescription: 'required' } : {}) });
  }
  return built;
}

export const startCommand: CommandModule = {
  command: 'start',
  describe: 'run one broker (settings from flags, TRIBUTARY_<FLAG> variables or --config file, in that order)',
  builder: withSettingOptions,
  handler: async (args) => {
    let broker: Broker;
    let addresses: BrokerAddresses | undefined;
    let transferTimeoutMs = SHUTDOWN_TRANSFER_TIMEOUT_MS_DEFAULT;
    try {
      const settings = startSettingsFrom(args, process.env);
      const id = settings.number('id');
      if (!Number.isInteger(id) || id < 1) throw new ConfigError('--id must be a positive integer');
      // An id outside the voters is a broker joining as a controller learner (controller_quorum.ts).
      const voters = controllerVoters(settings);
      addresses = brokerAddresses(settings, id, voters);
      const raftDial = parseRaftDial(settings.string('raft-dial'), id);
      const storageTestMode = storageTestModeFromEnv(process.env);
      const dataDirectory = settings.string('data');
      checkDataDirectory(dataDirectory);
      transferTimeoutMs = positiveInteger(settings.number('shutdown-transfer-timeout-ms'), 'shutdown-transfer-timeout-ms');
      const metricsAddress = metricsListen(settings);
      const security = securitySettings(settings);
      const kafkaSecurity = kafkaSecuritySettings(settings);
      tuneHeap();
      broker = await Broker.start({ id, dataDirectory, voters, raftDial, ...addresses, logLevel: logLevel(settings),
        ...kafkaAddresses(settings),
        ...(kafkaSecurity === undefined ? {} : { kafkaSecurity }),
        ...(metricsAddress === undefined ? {} : { metricsListen: metricsAddress }),
        ...(storageTestMode === undefined ? {} : { storageTestMode }),
        retentionCheckMs: positiveInteger(settings.number('retention-check-ms'), 'retention-check-ms'),
        leaderRebalanceIntervalMs: positiveInteger(settings.number('leader-rebalance-interval-ms'),
          'leader-rebalance-interval-ms'),
        replicationThrottleBytesPerSec: positiveInteger(settings.number('replication-throttle-bytes'),
          'replication-throttle-bytes'),
        ...requestBytesMax(settings),
        groups: groupSettings(settings),
        raftTiming: raftTiming(settings),
        superUsers: superUsers(settings),
        connectionLimits: connectionLimits(settings),
        ...(security === undefined ? {} : { security }),
        ...(settings.boolean('auto-rebalance') ? { autoRebalance: true } : {}),
        // Principals from keys mean nothing without ACLs: a secure broker always authorizes.
        ...(settings.boolean('authorize') || security !== undefined ? { authorizer: true } : {}),
        ...(settings.boolean('unsafe-skip-record-validation') ? { unsafeSkipRecordValidation: true } : {}) });
    } catch (error) {
      process.stderr.write(`tributary start: ${explainStartError(error, addresses)}\n`);
      process.exit(1);
    }
    let signalled = false;
    const stop = (): void => {
      if (!signalled) {
        signalled = true;
        void broker.shutdown(transferTimeoutMs).then(() => { process.exit(0); });
      } else if (!broker.abortShutdown()) {
        process.exit(1); // closing already: stop here, as a crash would (storage recovers from one)
      }
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // Started by a local cluster whose process died without stopping it: shut down as on SIGTERM.
    watchParent(process.env, () => {
      process.stderr.write('tributary start: the process that started this broker is gone; shutting down\n');
      stop();
    });
    // Unregistered by `tributary cluster decommission` (the broker logged why): close and exit 0.
    void broker.decommissioned.then(() => {
      if (signalled) return;
      signalled = true;
      void broker.close().then(() => { process.exit(0); });
    });
  },
};
