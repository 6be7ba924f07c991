/**
 * A workload worker: one client (a producer and a consumer) doing one step at a time until the
 * deadline and recording each operation as an invoke and its completion. It sends, polls,
 * occasionally re-assigns its consumer or crashes its client (the group workload's producers only
 * send and crash); after an `info` (or a crash) it goes on as a fresh process id with fresh
 * clients, as Jepsen's interpreter does.
 *
 * A send step hands up to `inFlight` records to the one producer at once, often to the same key,
 * so batches with several records and several batches in flight per partition are exercised (the
 * paths where a retried batch may or may not have landed). A history process runs one operation
 * at a time, so each record in flight is its own process: the worker's lanes, lane 0 being the
 * process that also polls and assigns.
 */
import { assert } from '../raft/core/assert.js';
import type { Prng } from '../raft/core/prng.js';
import type { ClientOptions, SendOutcome, WorkloadSession } from './client.js';
import { openSession } from './sessions.js';
import type { HistoryRecorder } from './history.js';
import type { TopicCreator } from './topics.js';
import type { KeyOffsets, KeyPool } from './workload.js';

/** Odds per operation. */
const ASSIGN_CHANCE = 1 / 16;
const CRASH_CHANCE = 1 / 256;
const SEEK_TO_BEGINNING_CHANCE = 1 / 4;
const ASSIGN_KEYS_MAX = 4;
const POLL_TIMEOUT_MS = 200;
/** How far behind its schedule a worker may fall before the missed operations are dropped. */
const CATCH_UP_MS = 1_000;
/** Pause after a topic could not be created before trying again. */
const TOPIC_RETRY_WAIT_MS = 500;

export interface WorkerContext {
  readonly history: HistoryRecorder;
  readonly pool: KeyPool;
  readonly offsets: KeyOffsets;
  readonly topics: TopicCreator;
  readonly client: ClientOptions;
  readonly prng: Prng;
  /** Hands out process ids never used before. */
  readonly nextProcess: () => number;
  /** Mean pause between two operations of this worker (a step of n sends counts n). */
  readonly opIntervalMs: number;
  /** Most records one send step hands the producer at once (1: one at a time). */
  readonly inFlight: number;
  /** The group workload's producers: sends only (and crashes); the group's members consume. */
  readonly sendOnly?: boolean;
}

export interface WorkerCounts {
  sends: number;
  polls: number;
  assigns: number;
  crashes: number;
}

export class Worker {
  private session: WorkloadSession;
  /** Process ids of the current session's sends in flight, lane 0 being session.process. */
  private lanes: number[];
  readonly counts: WorkerCounts = { sends: 0, polls: 0, assigns: 0, crashes: 0 };

  constructor(private readonly context: WorkerContext) {
    assert(Number.isInteger(context.inFlight) && context.inFlight >= 1, 'a worker sends at least one record at a time');
    this.session = openSession(context.nextProcess(), context.client);
    this.lanes = [this.session.process];
  }

  /**
   * Runs operations until deadlineMs (Date.now based); each operation is bounded by the client
   * timeouts. Paced by a schedule, not by a pause after each operation: an operation that took long
   * (a send waiting out a fault) is followed by the next one at once, so the workers together keep
   * to --rate; the schedule never runs more than CATCH_UP_MS behind (a stall is made up by a short
   * burst, not by a flood).
   */
  async run(deadlineMs: number): Promise<void> {
    const { opIntervalMs } = this.context;
    let nextMs = Date.now();
    try {
      while (Date.now() < deadlineMs) {
        const operations = await this.step();
        nextMs = Math.max(nextMs + operations * opIntervalMs * (0.5 + this.context.prng.nextFloat()),
          Date.now() - CATCH_UP_MS);
        await sleep(Math.max(0, Math.min(nextMs - Date.now(), deadlineMs - Date.now())));
      }
    } finally {
      await this.session.close();
    }
  }

  /** One step; answers how many operations it counts for in the schedule. */
  private async step(): Promise<number> {
    const roll = this.context.prng.nextFloat();
    if (roll < CRASH_CHANCE) await this.crash();
    else if (this.context.sendOnly === true) return this.sendSeveral();
    else if (this.session.assignedKeys().length === 0 || roll < CRASH_CHANCE + ASSIGN_CHANCE) await this.assign();
    else if (this.context.prng.nextFloat() < 0.5) return this.sendSeveral();
    else await this.poll();
    return 1;
  }

  /**
   * 1 to inFlight records handed to the producer together, each key picked anew (the pool's bias
   * makes the same key likely); renews the session once all are answered if any was info.
   */
  private async sendSeveral(): Promise<number> {
    const count = 1 + this.context.prng.nextInt(this.context.inFlight);
    while (this.lanes.length < count) this.lanes.push(this.context.nextProcess());
    const keys = Array.from({ length: count }, () => this.context.pool.pick());
    const outcomes = await Promise.all(keys.map((key, lane) => this.send(key, this.lanes[lane] ?? -1)));
    if (outcomes.includes('info')) await this.renew();
    return count;
  }

  private async send(key: number, process: number): Promise<SendOutcome['type'] | 'skipped'> {
    const { pool, topics, history, offsets } = this.context;
    assert(process >= 0, 'every record in flight has its lane');
    try {
      await topics.ensure(key);
    } catch {
      await sleep(TOPIC_RETRY_WAIT_MS);
      return 'skipped';
    }
    if (!pool.isActive(key)) return 'skipped';
    const value = pool.takeValue(key);
    history.record({ process, type: 'invoke', f: 'send', value: { key, value } });
    const outcome = await this.session.send(key, value);
    this.counts.sends += 1;
    if (outcome.type === 'ok') {
      offsets.observe(key, outcome.offset);
      history.record({ process, type: 'ok', f: 'send', value: { key, value, offset: outcome.offset } });
    } else {
      history.record({ process, type: outcome.type, f: 'send', value: { key, value }, error: outcome.error });
    }
    return outcome.type;
  }

  private async poll(): Promise<void> {
    const { history, offsets } = this.context;
    const process = this.session.process;
    history.record({ process, type: 'invoke', f: 'poll', value: {} });
    const outcome = await this.session.poll(POLL_TIMEOUT_MS);
    this.counts.polls += 1;
    if (outcome.type === 'fail') {
      history.record({ process, type: 'fail', f: 'poll', value: {}, error: outcome.error });
      return;
    }
    for (const [key, records] of Object.entries(outcome.records)) {
      for (const [offset] of records) offsets.observe(Number(key), offset);
    }
    history.record({ process, type: 'ok', f: 'poll', value: { records: outcome.records } });
  }

  private async assign(): Promise<void> {
    const { pool, topics, history, prng } = this.context;
    const wanted = pool.pickSeveral(1 + prng.nextInt(ASSIGN_KEYS_MAX));
    const keys = wanted.filter((key) => topics.isCreated(key));
    if (keys.length === 0) {
      // Nothing readable yet: write first (which creates the topic).
      if (await this.send(this.context.pool.pick(), this.session.process) === 'info') await this.renew();
      return;
    }
    const seekToBeginning = prng.nextFloat() < SEEK_TO_BEGINNING_CHANCE;
    const process = this.session.process;
    history.record({ process, type: 'invoke', f: 'assign', value: { keys, seekToBeginning } });
    for (const key of keys) pool.markUsed(key);
    this.session.assign(keys, seekToBeginning);
    this.counts.assigns += 1;
    history.record({ process, type: 'ok', f: 'assign', value: { keys, seekToBeginning } });
  }

  /** Tears the client down, as a client process crash would; the worker goes on as a new process. */
  private async crash(): Promise<void> {
    const process = this.session.process;
    this.context.history.record({ process, type: 'invoke', f: 'crash', value: null });
    this.counts.crashes += 1;
    this.context.history.record({ process, type: 'info', f: 'crash', value: null, error: 'client crashed (by design)' });
    await this.renew();
  }

  private async renew(): Promise<void> {
    const old = this.session;
    this.session = openSession(this.context.nextProcess(), this.context.client);
    this.lanes = [this.session.process];
    await old.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
