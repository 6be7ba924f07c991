/**
 * The way to a group's coordinator: FindCoordinator through any broker (retried while the answer
 * is COORDINATOR_NOT_AVAILABLE, as while the offsets topic's partition has no leader), then
 * requests to the broker it names. A reply or failure that says the coordinator moved or is gone
 * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, lost connections,
 * timeouts) forgets it, so the next request looks it up again (Kafka's markCoordinatorUnknown).
 *
 * A JoinGroup or SyncGroup may rightly wait up to the rebalance timeout (minutes) for the other
 * members. A broker that dies meanwhile does not close the connection (ZeroMQ reconnects quietly),
 * so such a request is watched: FindCoordinator is asked again every few seconds through any
 * broker, and once it names another broker the wait ends with NOT_COORDINATOR (Kafka notices the
 * same through the closed TCP connection).
 */
import type { Logger } from 'pino';

import { assert } from '../../../raft/core/assert.js';
import type { Prng } from '../../../raft/core/prng.js';
import type { ErrorCode } from '../../common/errors.js';
import { errorFromWire, TributaryError } from '../../common/errors.js';
import type { ApiKey } from '../../protocol/api_keys.js';
import { API_KEYS } from '../../protocol/api_keys.js';
import type { DecodedResponseOf, RequestOf } from '../../protocol/messages.js';
import type { MetadataCache } from '../metadata_cache.js';
import { backoffMs } from '../retry.js';

/** Errors after which the coordinator is looked up again. */
export const COORDINATOR_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', 'NETWORK_EXCEPTION',
  'REQUEST_TIMED_OUT', 'TOO_MANY_REQUESTS',
]);

export function isCoordinatorError(error: unknown): boolean {
  return error instanceof TributaryError && COORDINATOR_ERRORS.has((error as TributaryError).code);
}

export interface Coordinator {
  readonly nodeId: number;
  readonly address: string;
}

export interface CoordinatorLinkOptions {
  readonly metadata: MetadataCache;
  readonly groupId: string;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly logger: Logger;
  readonly prng: Prng;
}

/** FindCoordinator attempts per lookup; the caller's own loop retries lookups after that. */
const LOOKUP_ATTEMPTS_MAX = 20;

export class CoordinatorLink {
  private coordinator: Coordinator | null = null;
  private lookingUp: Promise<Coordinator> | null = null;
  private closed = false;

  constructor(private readonly options: CoordinatorLinkOptions) {
    assert(options.groupId !== '', 'a group id is not empty');
  }

  get known(): Coordinator | null {
    return this.coordinator;
  }

  /** Forgets the coordinator: the next request finds it again. */
  markUnknown(reason: string): void {
    if (this.coordinator !== null) {
      this.options.logger.info({ groupId: this.options.groupId, coordinator: this.coordinator.nodeId, reason },
        'group coordinator unknown; looking it up again');
    }
    this.coordinator = null;
  }

  close(): void {
    this.closed = true;
  }

  /** The coordinator, looked up (single-flight) when unknown. */
  async find(): Promise<Coordinator> {
    if (this.coordinator !== null) return this.coordinator;
    this.lookingUp ??= this.lookUp().finally(() => { this.lookingUp = null; });
    return this.lookingUp;
  }

  /**
   * Sends a request to the coordinator. A whole-request failure or a coordinator error code in the
   * reply (errorCodeOf) forgets the coordinator and is thrown as its TributaryError.
   */
  async request<A extends ApiKey>(api: A, body: RequestOf<A>, options: {
    readonly timeoutMs?: number;
    readonly errorCodeOf?: (response: DecodedResponseOf<A>) => number;
  } = {}): Promise<DecodedResponseOf<A>> {
    const coordinator = await this.find();
    let response: DecodedResponseOf<A>;
    try {
      const connection = this.options.metadata.connectionToNode(coordinator.nodeId, coordinator.address);
      ({ response } = await connection.request(api, body, [],
        { timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs }));
    } catch (error) {
      if (isCoordinatorError(error)) this.markUnknown((error as TributaryError).code);
      throw error;
    }
    const wire = options.errorCodeOf?.(response) ?? 0;
    if (wire !== 0) {
      const error = errorFromWire(wire);
      if (COORDINATOR_ERRORS.has(error.code)) {
        this.markUnknown(error.code);
        throw error;
      }
    }
    return response;
  }

  /**
   * request() for a request the coordinator may hold long: ends early with NOT_COORDINATOR once
   * FindCoordinator (asked every watchEveryMs) names a broker other than the one asked.
   */
  async requestWatched<A extends ApiKey>(api: A, body: RequestOf<A>, options: {
    readonly timeoutMs: number;
    readonly watchEveryMs: number;
    readonly errorCodeOf?: (response: DecodedResponseOf<A>) => number;
  }): Promise<DecodedResponseOf<A>> {
    const coordinator = await this.find();
    const watch = { stopped: false, timer: undefined as NodeJS.Timeout | undefined };
    const moved = new Promise<never>((_resolve, reject) => {
      const check = async (): Promise<void> => {
        try {
          const { response } = await this.options.metadata.requestAny(API_KEYS.FIND_COORDINATOR,
            { key: this.options.groupId },
            { timeoutMs: Math.min(this.options.requestTimeoutMs, options.watchEveryMs) });
          const named = response.errorCode === 0 ? response.nodeId : -1;
          if (!watch.stopped && named >= 0 && named !== coordinator.nodeId) {
            reject(new TributaryError('NOT_COORDINATOR',
              `The coordinator moved from broker ${coordinator.nodeId} to ${response.nodeId}`));
            return;
          }
        } catch (error) {
          // No broker answered, or none knows yet: keep waiting for the request itself.
          this.options.logger.debug({ groupId: this.options.groupId, err: error }, 'coordinator check failed');
        }
        if (!watch.stopped) watch.timer = setTimeout(() => { void check(); }, options.watchEveryMs);
      };
      watch.timer = setTimeout(() => { void check(); }, options.watchEveryMs);
    });
    moved.catch(() => undefined); // observed by the race below; a late rejection is expected
    try {
      return await Promise.race([this.request(api, body, options), moved]);
    } catch (error) {
      if (error instanceof TributaryError && (error as TributaryError).code === 'NOT_COORDINATOR') {
        this.markUnknown('NOT_COORDINATOR');
      }
      throw error;
    } finally {
      watch.stopped = true;
      clearTimeout(watch.timer);
    }
  }

  private async lookUp(): Promise<Coordinator> {
    const { metadata, groupId, prng } = this.options;
    let lastError: unknown = null;
    for (let attempt = 0; attempt < LOOKUP_ATTEMPTS_MAX && !this.closed; attempt++) {
      if (attempt > 0) {
        await sleep(backoffMs(Math.min(attempt, 16), { backoffInitialMs: this.options.retryBackoffMs,
          backoffMaxMs: this.options.retryBackoffMaxMs }, prng));
      }
      try {
        const { response } = await metadata.requestAny(API_KEYS.FIND_COORDINATOR, { key: groupId },
          { timeoutMs: this.options.requestTimeoutMs });
        if (response.errorCode !== 0) {
          const error = errorFromWire(response.errorCode, response.errorMessage || undefined);
          if (!error.retriable) throw error;
          lastError = error;
          continue;
        }
        if (response.nodeId < 0 || response.host === '' || response.port <= 0 || response.port > 65535) {
          lastError = new TributaryError('COORDINATOR_NOT_AVAILABLE', `FindCoordinator named no broker for ${groupId}`);
          continue;
        }
        this.coordinator = { nodeId: response.nodeId, address: `${response.host}:${response.port}` };
        this.options.logger.debug({ groupId, coordinator: this.coordinator }, 'found the group coordinator');
        return this.coordinator;
      } catch (error) {
        if (!(error instanceof TributaryError) || !error.retriable) throw error;
        lastError = error;
      }
    }
    throw new TributaryError('COORDINATOR_NOT_AVAILABLE', `No coordinator found for group ${groupId}`,
      { cause: lastError });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
