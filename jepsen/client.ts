/**
 * One client incarnation of the workload (one history process id): a Producer and a Consumer with
 * manual assignment. It turns library outcomes into history outcomes:
 *
 * - send: ok with the record's offset; fail only when the record was definitely not written;
 *   info otherwise. The producer retries internally, so an error after the record was handed to
 *   it may follow an attempt that was written: only errors decided by the batch bytes themselves
 *   (identical on every attempt) are definite. An error before the record was handed over (the
 *   topic's metadata could not be had) is definite too.
 * - poll: ok with the records by key, or fail (a poll changes nothing on the brokers). A failed
 *   poll may have moved the consumer's positions (some fetches landed before another threw), and
 *   fetches still out may land later, so the consumer is replaced by a fresh one at the positions
 *   the last ok poll left (Redpanda's harness seeks back instead).
 */
import type { ClientSecurityOptions } from '../src/security/client_security.js';
import type { Logger } from 'pino';
import type { ConsumerRecord } from '../src/client/index.js';
import { Consumer, Producer } from '../src/client/index.js';
import { TributaryError } from '../src/common/errors.js';
import type { ErrorCode } from '../src/common/errors.js';
import { assert } from '../raft/core/assert.js';
import type { ReadRecord } from './history.js';
import { keyOf, topicOfKey } from './history.js';

/** Errors decided by the batch bytes alone: every attempt of the batch would get them. */
const DEFINITE_SEND_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION', 'INVALID_REQUEST', 'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_COMPRESSION_TYPE', 'INVALID_CONFIG', 'CORRUPT_MESSAGE',
]);

const CLOSE_WAIT_MS = 5_000;

export interface ClientOptions {
  readonly bootstrap: string;
  /** The brokers' Kafka listeners (host:port,...), for `--client kafkajs`. */
  readonly kafkaBootstrap?: string | undefined;
  /** Which client library the workload's sessions use (default native). */
  readonly library?: 'native' | 'kafkajs';
  readonly acks: 'all' | 1;
  /** How long one send may take, internal retries included, before it is info. */
  readonly sendTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** The client keys of a secure (--secure) cluster. */
  readonly security?: ClientSecurityOptions | undefined;
}

export type SendOutcome =
  | { readonly type: 'ok'; readonly offset: number }
  | { readonly type: 'fail' | 'info'; readonly error: string };

export type PollOutcome =
  | { readonly type: 'ok'; readonly records: Record<string, ReadRecord[]> }
  | { readonly type: 'fail'; readonly error: string };

type Position = number | 'beginning';

/** What a worker or the drain does with one client incarnation: ClientSession, or KafkajsSession. */
export interface WorkloadSession {
  /** The history process id of this incarnation. */
  readonly process: number;
  assignedKeys(): number[];
  /** The offset the next poll of key starts at, or -1 when that is the log's beginning. */
  positionOf(key: number): number;
  send(key: number, value: number): Promise<SendOutcome>;
  /** Replaces the assignment; new keys (all of them with seekToBeginning) start at the beginning. */
  assign(keys: readonly number[], seekToBeginning: boolean): void;
  poll(timeoutMs: number): Promise<PollOutcome>;
  /** Tears the clients down, bounded in time. */
  close(): Promise<void>;
}

export function describeError(error: unknown): string {
  if (error instanceof TributaryError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** A record value the workload wrote is a decimal integer; anything else (corruption served) reads as -1. */
export function valueOf(record: ConsumerRecord): number {
  const value = Number(record.value?.toString() ?? 'x');
  return Number.isSafeInteger(value) && value > 0 ? value : -1;
}

export class ClientSession implements WorkloadSession {
  private readonly producer: Producer;
  private consumer: Consumer;
  private readonly positions = new Map<number, Position>();

  constructor(readonly process: number, private readonly options: ClientOptions) {
    this.producer = new Producer({ bootstrap: options.bootstrap, clientId: `jepsen-${process}`, acks: options.acks,
      lingerMs: 0, requestTimeoutMs: options.requestTimeoutMs, deliveryTimeoutMs: options.sendTimeoutMs,
      maxBlockMs: options.sendTimeoutMs, topicWaitMs: options.requestTimeoutMs, retryBackoffMs: 50,
      logger: options.logger, ...(options.security === undefined ? {} : { security: options.security }) });
    this.consumer = this.newConsumer();
  }

  assignedKeys(): number[] {
    return [...this.positions.keys()];
  }

  /** The offset the next poll of key starts at, or -1 when that is the log's beginning. */
  positionOf(key: number): number {
    const position = this.positions.get(key);
    return position === undefined || position === 'beginning' ? -1 : position;
  }

  async send(key: number, value: number): Promise<SendOutcome> {
    const { topic, partition } = topicOfKey(key);
    try {
      // Nothing is handed to the producer until it knows the topic: a failure here wrote nothing.
      await this.producer.partitionsFor(topic);
    } catch (error) {
      return { type: 'fail', error: describeError(error) };
    }
    try {
      const result = await withTimeout(this.producer.send({ topic, partition, key: String(key), value: String(value) }),
        this.options.sendTimeoutMs + CLOSE_WAIT_MS);
      assert(result.topic === topic && result.partition === partition, 'a record lands where it was sent');
      return { type: 'ok', offset: result.offset };
    } catch (error) {
      const definite = error instanceof TributaryError && DEFINITE_SEND_ERRORS.has((error as TributaryError).code);
      return { type: definite ? 'fail' : 'info', error: describeError(error) };
    }
  }

  /** Replaces the assignment; new keys (all of them with seekToBeginning) start at the beginning. */
  assign(keys: readonly number[], seekToBeginning: boolean): void {
    const next = new Map<number, Position>();
    for (const key of keys) next.set(key, seekToBeginning ? 'beginning' : this.positions.get(key) ?? 'beginning');
    this.positions.clear();
    for (const [key, position] of next) this.positions.set(key, position);
    this.applyAssignment(this.consumer, seekToBeginning ? keys : keys.filter((key) => next.get(key) === 'beginning'));
  }

  async poll(timeoutMs: number): Promise<PollOutcome> {
    let records: ConsumerRecord[];
    try {
      // The harness's own bound too: a poll must not outlive its fetches' timeouts by much.
      records = await withTimeout(this.consumer.poll({ timeoutMs }), timeoutMs + 3 * this.options.requestTimeoutMs);
    } catch (error) {
      await this.replaceConsumer();
      return { type: 'fail', error: describeError(error) };
    }
    const byKey: Record<string, ReadRecord[]> = {};
    for (const record of records) {
      const key = keyOf(record.topic, record.partition);
      assert(key !== null && this.positions.has(key), () => `polled ${record.topic}/${record.partition}, not assigned`);
      (byKey[String(key)] ??= []).push([record.offset, valueOf(record)]);
      this.positions.set(key, record.offset + 1);
    }
    return { type: 'ok', records: byKey };
  }

  /** Tears both clients down, bounded in time (a client stuck on a paused broker is abandoned). */
  async close(): Promise<void> {
    await Promise.allSettled([withTimeout(this.producer.close(), CLOSE_WAIT_MS),
      withTimeout(this.consumer.close(), CLOSE_WAIT_MS)]);
  }

  private newConsumer(): Consumer {
    return new Consumer({ bootstrap: this.options.bootstrap, clientId: `jepsen-${this.process}`, maxWaitMs: 100,
      requestTimeoutMs: this.options.requestTimeoutMs, autoOffsetReset: 'earliest', retryBackoffMs: 50,
      logger: this.options.logger,
      ...(this.options.security === undefined ? {} : { security: this.options.security }) });
  }

  private async replaceConsumer(): Promise<void> {
    const old = this.consumer;
    this.consumer = this.newConsumer();
    this.applyAssignment(this.consumer, [...this.positions.keys()]);
    await withTimeout(old.close(), CLOSE_WAIT_MS).catch(() => undefined);
  }

  /** Assigns every key of positions to consumer and seeks `seekKeys` to their recorded positions. */
  private applyAssignment(consumer: Consumer, seekKeys: readonly number[]): void {
    consumer.assign([...this.positions.keys()].map((key) => topicOfKey(key)));
    for (const key of seekKeys) {
      const position = this.positions.get(key);
      assert(position !== undefined, 'seek only assigned keys');
      consumer.seek(topicOfKey(key), position);
    }
  }
}

export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => {
      timer = setTimeout(() => { reject(new Error(`no answer within ${timeoutMs} ms (harness bound)`)); }, timeoutMs);
    })]);
  } finally {
    clearTimeout(timer);
  }
}
