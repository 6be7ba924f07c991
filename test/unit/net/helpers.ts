/**
 * Shared pieces for the network tests: a pino logger that records lines in memory, bounded waits,
 * and a raw DEALER for sending hand-made (malformed) frames. Everything binds 127.0.0.1 with a
 * port chosen by the OS (`tcp://127.0.0.1:*`).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Logger } from 'pino';
import { pino } from 'pino';
import { Dealer } from 'zeromq';

import { Connection } from '../../../src/client/connection.js';
import { TributaryError } from '../../../src/common/errors.js';
import type { ConnectionOptions } from '../../../src/client/connection.js';
import { RequestServer } from '../../../src/net/request_server.js';
import type { RequestServerOptions } from '../../../src/net/request_server.js';
import { pb } from '../../../src/protocol/messages.js';

export const LOCAL_ANY_PORT = 'tcp://127.0.0.1:*';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: LogLine[];
}

/** A debug-level pino logger whose lines are parsed into `lines`. */
export function captureLogger(): CapturedLogger {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, {
    write(line: string): void {
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { logger, lines };
}

/** Polls predicate every few ms; throws after timeoutMs. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export async function startServer(
  options: Omit<RequestServerOptions, 'listen'> & { readonly listen?: string },
): Promise<RequestServer> {
  const server = new RequestServer({ listen: LOCAL_ANY_PORT, ...options });
  await server.start();
  return server;
}

export function connect(server: RequestServer, options: Omit<ConnectionOptions, 'address'> = {}): Connection {
  return new Connection({ address: server.endpoint, ...options });
}

/** A bare DEALER that sends whatever frames a test makes; receive() gives up after receiveTimeoutMs. */
export function rawDealer(endpoint: string, receiveTimeoutMs = 2_000): Dealer {
  const dealer = new Dealer({ linger: 0, receiveTimeout: receiveTimeoutMs, sendTimeout: 2_000 });
  dealer.connect(endpoint);
  return dealer;
}

/** The decoded envelope of a reply read from a raw DEALER. */
export async function receiveEnvelope(dealer: Dealer): Promise<{ envelope: pb.ResponseEnvelope; frames: Buffer[] }> {
  const frames = await dealer.receive();
  const first = frames[0];
  if (first === undefined) throw new Error('empty reply');
  return { envelope: pb.ResponseEnvelope.decode(first), frames };
}

/** Resolves to true if a message arrives within ms, false otherwise (the dealer's receiveTimeout bounds it). */
export async function receivesWithin(dealer: Dealer): Promise<boolean> {
  try {
    await dealer.receive();
    return true;
  } catch {
    return false;
  }
}

export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** The seeded PRNG of tests (the fuzz test replays from its seed). */
export { TestPrng as SeededPrng } from '../../helpers/test_prng.js';

/** Awaits a promise that must reject with a TributaryError of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<TributaryError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TributaryError, `expected a TributaryError, got ${String(error)}`);
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}
