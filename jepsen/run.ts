/**
 * `npm run jepsen -- [options]`: one run of the fault-injection harness. It starts the brokers
 * behind relays, runs the queue or group workload under the seeded fault schedule for --time seconds, heals
 * everything, waits for recovery, drains, stops the cluster, reads every replica's committed log,
 * checks the history and writes the run folder. Exit code: 0 valid, 1 anomaly, 2 unknown or a
 * harness error.
 */
import { writeClusterKeys } from '../src/security/cluster_keys.js';
import type { ClusterKeyFiles } from '../src/security/cluster_keys.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Logger } from 'pino';
import { SeededPrng } from '../raft/core/prng.js';
import { Admin } from '../src/client/index.js';
import { checkHistory } from './checker/index.js';
import { splitByAssignment } from './checker/replicas.js';
import type { ClientOptions } from './client.js';
import { JepsenCluster } from './cluster.js';
import { drain } from './drain.js';
import { soakExitCode, soakRunOptions, soakTable } from './soak.js';
import type { SoakRow } from './soak.js';
import { finalAssignment } from './final_assignment.js';
import type { DrainResult } from './drain.js';
import { drainGroup } from './group/group_drain.js';
import type { GroupSettings } from './group/group_worker.js';
import { createGroupTopics, groupNemesisContext, groupSettings, runGroupWorkers } from './group/group_workload.js';
import { HistoryRecorder } from './history.js';
import { NemesisSchedule } from './nemesis/schedule.js';
import { POWER_LOSS_ENVIRONMENT } from './nemesis/power_loss.js';
import type { RunOptions } from './options.js';
import { parseRunOptions } from './options.js';
import { readReplicaLogs } from './replica_logs.js';
import { writeReport } from './report/index.js';
import type { RunMeta } from './report/index.js';
import { TopicCreator } from './topics.js';
import type { Verdict } from './verdict.js';
import { Worker } from './worker.js';
import { KeyOffsets, KeyPool } from './workload.js';

/** Jepsen waits this long after healing before the final reads, unless --recovery-time says otherwise. */
const RECOVERY_WAIT_SECONDS = 10;
const REGISTER_WAIT_MS = 30_000;
const CLUSTER_START_ATTEMPTS = 3;
/**
 * Client timeouts shorter than most faults (6 s by default): a send that cannot finish within one
 * ends indeterminate (info) while its batch may still land, which is the path where a retried
 * produce may or may not have been written; with 10 s a 5,600-send run had 20 such sends.
 */
const CLIENT_REQUEST_TIMEOUT_MS = 1_500;

/**
 * Records a send step hands the producer at once. kafkajs sessions send one at a time: with four in
 * flight a CI run saw a kafkajs send acknowledged at the offset holding another value of the same
 * key, which is what a broker answers (as Kafka does) to a batch carrying the sequence numbers of
 * one it holds. kafkajs 2.2.4 causes it: when a Produce fails (a timeout, while the broker may have
 * appended it), sendMessages.js takes the batch's records back off the partition's sequence, and
 * the next batch to take the broker lock, another send's, reuses those sequences. One send at a
 * time, only the failed batch's own retry can take them. (Steady concurrent sends are fine: 1,600
 * sends, eight at a time to one partition, each acknowledged at its own offset.) The native
 * producer never reuses a sequence and keeps several in flight.
 */
function inFlightOf(options: RunOptions): number {
  return options.client === 'kafkajs' ? 1 : options.inFlight;
}
const SEND_TIMEOUT_MS = 4_000;
/** Brokers the membership nemesis may start over a run (each a new id; relays for them exist from the start). */
const SPARE_BROKER_IDS = 8;

export interface RunOutcome {
  readonly folder: string;
  readonly verdict: Verdict;
  readonly exitCode: 0 | 1 | 2;
  readonly faults: { readonly started: number; readonly healed: number; readonly failed: number;
    readonly byFamily: Readonly<Record<string, number>>; readonly membership: Readonly<Record<string, number>> };
  readonly drainComplete: boolean;
}

export function exitCodeOf(verdict: Verdict): 0 | 1 | 2 {
  if (verdict.valid === true) return 0;
  return verdict.valid === false ? 1 : 2;
}

function brokerEnvironment(options: RunOptions): Record<string, string> {
  return {
    ...(options.nemeses.includes('power-loss') ? POWER_LOSS_ENVIRONMENT : {}),
    ...(options.fsync === 'off' ? { TRIBUTARY_TEST_FSYNC: 'off' } : {}),
  };
}

/** What both workloads' phases share. */
interface PhaseContext {
  readonly options: RunOptions;
  readonly cluster: JepsenCluster;
  readonly admin: Admin;
  readonly history: HistoryRecorder;
  readonly pool: KeyPool;
  readonly offsets: KeyOffsets;
  readonly topics: TopicCreator;
  readonly client: ClientOptions;
  readonly nextProcess: () => number;
  readonly prng: SeededPrng;
  /** The group workload's settings; null for the queue workload. */
  readonly group: GroupSettings | null;
  readonly memberLog: fs.WriteStream;
}

/** The main phase: workers and the fault schedule until the deadline; returns with every fault healed. */
async function mainPhase(context: PhaseContext): Promise<NemesisSchedule> {
  const { options, cluster, admin, history, pool, offsets, topics, client, nextProcess, prng, group } = context;
  const deadlineMs = Date.now() + options.timeSeconds * 1000;
  const liveKeys = (): number[] => pool.usedKeys().filter((key) => topics.isCreated(key));
  const nemesisContext = { cluster, admin, prng, liveKeys };
  const schedule = new NemesisSchedule(options.nemeses, group === null ? nemesisContext
    : groupNemesisContext(nemesisContext), history, options.nemesisIntervalSeconds * 1000,
    options.nemesisOverlap === true);
  const scheduled = schedule.run(deadlineMs);
  try {
    if (group !== null) {
      await runGroupWorkers({ options, history, pool, offsets, topics, client, settings: group, prng,
        nextProcess, memberLog: context.memberLog }, deadlineMs);
    } else {
      const opIntervalMs = options.concurrency * 1000 / options.rate;
      const workers = Array.from({ length: options.concurrency }, () => new Worker({
        history, pool, offsets, topics, client, prng, nextProcess, opIntervalMs, inFlight: inFlightOf(options),
      }));
      const startedMs = Date.now();
      await Promise.all(workers.map((worker) => worker.run(deadlineMs)));
      const operations = workers.reduce((sum, { counts }) => sum + counts.sends + counts.polls + counts.assigns, 0);
      process.stdout.write(`workload: ${operations} operations, ${(operations * 1000 / Math.max(1, Date.now() - startedMs))
        .toFixed(1)}/s achieved of --rate ${options.rate} (faults that hold operations up lower it)\n`);
    }
  } finally {
    schedule.stop();
    await scheduled;
  }
  return schedule;
}

/** The final reads: the queue workload's drain, or the group's (members resuming at committed offsets). */
async function drainPhase(context: PhaseContext): Promise<DrainResult> {
  const { options, admin, history, pool, offsets, topics, client, nextProcess, group } = context;
  const keys = pool.usedKeys().filter((key) => topics.isCreated(key));
  if (group === null) {
    return drain({ history, admin, offsets, client, nextProcess, consumers: options.concurrency }, keys,
      options.drainSeconds * 1000);
  }
  return drainGroup({ history, admin, offsets, settings: group, nextProcess, log: context.memberLog,
    members: options.groupMembers }, keys, options.drainSeconds * 1000);
}

function printVerdict(outcome: RunOutcome, drainText: string): void {
  const { verdict } = outcome;
  const counts = new Map<string, number>();
  for (const anomaly of verdict.anomalies) counts.set(anomaly.type, (counts.get(anomaly.type) ?? 0) + 1);
  const { sends, polls } = verdict.stats;
  const lines = [
    `operations: sends ok ${sends.ok} / fail ${sends.fail} / info ${sends.info}; polls ok ${polls.ok} / fail ${polls.fail} / info ${polls.info}; keys ${verdict.stats.keys}`,
    `faults: ${outcome.faults.started} injected (${Object.entries(outcome.faults.byFamily).map(([f, n]) => `${f} ${n}`)
      .join(', ')}), ${outcome.faults.healed} healed, ${outcome.faults.failed} failed to inject`,
    ...(Object.keys(outcome.faults.membership).length === 0 ? [] : [`membership steps: ${Object.entries(
      outcome.faults.membership).map(([step, n]) => `${step} ${n}`).join(', ')}`]),
    `drain: ${drainText}`,
    verdict.valid === true ? 'verdict: valid'
      : verdict.valid === false ? `verdict: ANOMALY: ${[...counts].map(([type, count]) => `${type} x${count}`).join(', ')}`
        : 'verdict: unknown (no anomaly found, but some check could not finish)',
    `run folder: ${outcome.folder}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** With the clock nemesis, the folder of the brokers' clock control files (made here). */
function clockFolderOf(options: RunOptions, folder: string): { clockFolder?: string } {
  if (!options.nemeses.includes('clock')) return {};
  const clockFolder = path.join(folder, 'clock');
  fs.mkdirSync(clockFolder, { recursive: true });
  return { clockFolder };
}

/** The user the harness's clients authenticate as with --secure: a super user. */
const HARNESS_USER = 'jepsen';

/** With --secure: keys for every id the run may start (spares too) and for the harness's user, in <run>/keys. */
function securityOf(options: RunOptions, folder: string): { security?: { keys: ClusterKeyFiles; user: string } } {
  if (options.secure !== true) return {};
  const spare = options.nemeses.includes('membership') ? SPARE_BROKER_IDS : 0;
  const ids = Array.from({ length: options.nodes + spare }, (_, i) => i + 1);
  return { security: { keys: writeClusterKeys(path.join(folder, 'keys'), ids, [HARNESS_USER]), user: HARNESS_USER } };
}

/**
 * Starts the brokers and waits until they form a cluster. A free port can be taken by another
 * process between picking and binding it (tests run beside each other): then new ports, boundedly.
 */
async function startFormedCluster(options: RunOptions, folder: string,
  security: { security?: { keys: ClusterKeyFiles; user: string } }): Promise<JepsenCluster> {
  for (let attempt = 1; ; attempt += 1) {
    const cluster = await JepsenCluster.start({ brokerCount: options.nodes, dataRoot: path.join(folder, 'data'),
      logFolder: folder, environment: brokerEnvironment(options),
      spareIds: options.nemeses.includes('membership') ? SPARE_BROKER_IDS : 0,
      kafkaListeners: options.client === 'kafkajs', ...clockFolderOf(options, folder), ...security });
    if (await cluster.waitUntilRegistered(REGISTER_WAIT_MS)) return cluster;
    await cluster.stop();
    if (attempt >= CLUSTER_START_ATTEMPTS) throw new Error('the brokers did not form a cluster');
    fs.rmSync(path.join(folder, 'data'), { recursive: true, force: true });
  }
}

export async function runJepsen(options: RunOptions, command: string): Promise<RunOutcome> {
  const folder = path.resolve(options.out);
  // A run on a folder that already holds one would start its brokers on the old data.
  if (fs.existsSync(folder) && fs.readdirSync(folder).length > 0) {
    throw new Error(`--out ${folder} is not empty; give a new folder`);
  }
  fs.mkdirSync(folder, { recursive: true });
  const startedAt = new Date().toISOString();
  const prng = new SeededPrng(options.seed);
  const history = new HistoryRecorder(path.join(folder, 'history.jsonl'));
  const clientLogger: Logger = pino({ name: 'jepsen-client', level: 'warn' }, pino.destination(path.join(folder, 'clients.log')));
  const cluster = await startFormedCluster(options, folder, securityOf(options, folder));
  const admin = new Admin({ bootstrap: cluster.bootstrap, clientId: 'jepsen-admin', requestTimeoutMs: 10_000,
    logger: clientLogger, ...(cluster.clientSecurity === undefined ? {} : { security: cluster.clientSecurity }) });
  let drainText = 'not reached';
  let drainComplete = false;
  let schedule: NemesisSchedule;
  let assignment = new Map<number, number[]>();
  const memberLog = fs.createWriteStream(path.join(folder, 'members.log'), { flags: 'a' });
  try {
    const groupWorkload = options.workload === 'group';
    const pool = new KeyPool({ keyCount: options.keyCount, maxWritesPerKey: options.maxWritesPerKey,
      fixedKeys: groupWorkload }, prng);
    const offsets = new KeyOffsets();
    const topics = new TopicCreator(admin, Math.min(3, options.nodes));
    // bootstrap is a getter: each new client starts from the brokers that are members now.
    const client: ClientOptions = { get bootstrap() { return cluster.bootstrap; }, library: options.client ?? 'native',
      get kafkaBootstrap() { return options.client === 'kafkajs' ? cluster.kafkaBootstrap : undefined; },
      acks: options.acks,
      sendTimeoutMs: SEND_TIMEOUT_MS,
      requestTimeoutMs: CLIENT_REQUEST_TIMEOUT_MS, logger: clientLogger, security: cluster.clientSecurity };
    let processCount = 0;
    const nextProcess = (): number => processCount++;
    const group = groupWorkload
      ? groupSettings(options, client, await createGroupTopics(topics, options.keyCount)) : null;
    const context: PhaseContext = { options, cluster, admin, history, pool, offsets, topics, client, nextProcess, prng,
      group, memberLog };
    schedule = await mainPhase(context);
    cluster.healAll();
    const registered = await cluster.waitUntilRegistered(REGISTER_WAIT_MS);
    await new Promise((resolve) => setTimeout(resolve, (options.recoverySeconds ?? RECOVERY_WAIT_SECONDS) * 1000));
    const drained = await drainPhase(context);
    drainComplete = drained.complete;
    drainText = `${registered ? '' : 'not every broker re-registered after healing; '}${drained.text}`;
    assignment = await finalAssignment(admin, pool.usedKeys().filter((key) => topics.isCreated(key)));
  } finally {
    await admin.close();
    await cluster.stop();
    history.close();
    memberLog.end();
  }
  // Every broker ever started is read; what moves and decommissions left behind is set aside, not checked.
  const replicas = await readReplicaLogs(new Map(cluster.everIds().map((id) => [id, cluster.dataDirectory(id)])));
  const split = splitByAssignment(replicas.logs, assignment);
  const replicaNotes = [...replicas.notes,
    ...split.missing.map(({ key, broker }) => `key ${key}: broker ${broker} is assigned a replica but holds no log`),
    ...Object.entries(split.departed).map(([key, byBroker]) =>
      `key ${key}: not checked, left behind by a move or decommission on broker(s) ${Object.keys(byBroker).join(',')}`)];
  const verdict = checkHistory(history.history(), { replicas: split.current, workload: options.workload,
    drainComplete });
  const meta: RunMeta = {
    commandLine: command, seed: options.seed, nodes: options.nodes, nemeses: [...options.nemeses],
    durationSeconds: options.timeSeconds, acks: options.acks === 'all' ? 'all' : '1', fsync: options.fsync, startedAt,
    drain: drainText,
  };
  const faults = { ...schedule.counts, byFamily: { ...schedule.startedByFamily },
    membership: { ...schedule.membershipTallies } };
  fs.writeFileSync(path.join(folder, 'verdict.json'), `${JSON.stringify(verdict, null, 2)}\n`);
  fs.writeFileSync(path.join(folder, 'replicas.json'), `${JSON.stringify(split.current)}\n`);
  if (Object.keys(split.departed).length > 0) {
    fs.writeFileSync(path.join(folder, 'replicas-departed.json'), `${JSON.stringify(split.departed)}\n`);
  }
  await writeReport(folder, history.history(), verdict, meta);
  // After the report, which writes the plain RunMeta: meta.json also keeps the options and fault counts.
  fs.writeFileSync(path.join(folder, 'meta.json'), `${JSON.stringify({ ...meta, options, faults,
    brokers: { started: cluster.startingIds(), atEnd: cluster.ids(), ever: cluster.everIds() },
    replicaNotes }, null, 2)}\n`);
  const outcome: RunOutcome = { folder, verdict, exitCode: exitCodeOf(verdict), faults, drainComplete };
  printVerdict(outcome, drainText);
  return outcome;
}

async function main(): Promise<void> {
  let options: RunOptions;
  try {
    options = parseRunOptions();
  } catch (error) {
    process.stderr.write(`jepsen: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
    return;
  }
  const command = `npm run jepsen -- ${process.argv.slice(2).join(' ')}`;
  if (options.soak > 1) {
    const rows: SoakRow[] = [];
    for (let i = 0; i < options.soak; i += 1) {
      const runOptions = soakRunOptions(options, i);
      try {
        const outcome = await runJepsen(runOptions, `${command} (seed ${runOptions.seed})`);
        rows.push({ seed: runOptions.seed, outcome });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        rows.push({ seed: runOptions.seed, outcome: { error: message } });
      }
    }
    process.stdout.write(`\nsoak of ${options.soak} runs:\n${soakTable(rows)}`);
    process.exitCode = soakExitCode(rows);
    return;
  }
  try {
    const outcome = await runJepsen(options, command);
    process.exitCode = outcome.exitCode;
  } catch (error) {
    process.stderr.write(`jepsen: harness error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
  // Abandoned clients (stuck on a broker that was paused) may hold sockets open: the verdict is out, so leave.
  process.exit();
}
