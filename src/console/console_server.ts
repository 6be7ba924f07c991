/**
 * The web console's HTTP server (node:http, in the CLI process): the bundled front end from
 * dist/src/console/web (a fixed list of files, nothing else from disk) and a JSON API over the
 * cluster (ClusterReader), the records of a partition (browseRecords) and the scraped metrics
 * (MetricsScraper):
 *
 *   GET  /api/overview                      cluster id, controller, brokers, topic summaries
 *   GET  /api/topics/NAME                   a topic's partitions
 *   POST /api/topics                        {name, partitions, replicationFactor, configs?}
 *   GET  /api/groups, /api/groups/ID        groups with their lag; one group's members and partitions
 *   GET  /api/records?topic&partition&offset|time&limit
 *   GET  /api/metrics                       metrics endpoints and the chart history
 *
 * Errors are `{ "error": { "code", "message" } }`: a TributaryError keeps its code (400 for bad
 * input, 404 for an unknown topic or group, 503 for a retriable one such as no leader).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

import { TributaryError } from '../common/errors.js';
import { ClusterReader } from './cluster_view.js';
import { MetricsScraper } from './metrics_scraper.js';
import { BROWSE_LIMIT_MAX, browseRecords } from './record_browser.js';
import { ClientSecurity } from '../security/client_security.js';
import type { ClientSecurityOptions } from '../security/client_security.js';

export const WEB_DIRECTORY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'web');
const BODY_BYTES_MAX = 65_536;

/** The files the page is made of, by URL path. */
const STATIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.js.map': { file: 'app.js.map', type: 'application/json' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  '/uPlot.min.css': { file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
};

export interface ConsoleOptions {
  readonly bootstrap: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Brokers' metrics endpoints (host:port), scraped for the charts and disk use. */
  readonly metrics: readonly string[];
  readonly logger: Logger;
  readonly scrapeIntervalMs?: number;
  /** CURVE credentials for a secure cluster (docs/security.md); plaintext when absent. */
  readonly security?: ClientSecurityOptions;
}

/** An error the API answers with a status of its own. */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const NOT_FOUND_CODES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'GROUP_ID_NOT_FOUND']);

/** The status and body of a failed API call. */
function errorAnswer(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message };
  if (error instanceof TributaryError) {
    const typed = error as TributaryError;
    const status = NOT_FOUND_CODES.has(typed.code) ? 404 : typed.retriable ? 503 : 400;
    return { status, code: typed.code, message: typed.message };
  }
  return { status: 500, code: 'UNKNOWN_SERVER_ERROR', message: error instanceof Error ? error.message : String(error) };
}

function integerParameter(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new HttpError(400, 'INVALID_REQUEST', `${name}=${text} is not an integer`);
  return value;
}

async function readJsonBody(request: http.IncomingMessage): Promise<unknown> {
  // A browser sends application/json across origins only after a preflight this server never
  // grants: no other page can create topics through a console on localhost.
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new HttpError(415, 'INVALID_REQUEST', 'Send the body as application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_BYTES_MAX) throw new HttpError(413, 'INVALID_REQUEST', 'The body is too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_REQUEST', 'The body is not JSON');
  }
}

/** The create-topic body, checked field by field. */
function createRequestOf(body: unknown): { name: string; partitions: number; replicationFactor: number;
  configs: Record<string, string>; } {
  if (typeof body !== 'object' || body === null) throw new HttpError(400, 'INVALID_REQUEST', 'Expected a JSON object');
  const { name, partitions, replicationFactor, configs } = body as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') throw new TributaryError('INVALID_TOPIC_EXCEPTION', 'Name the topic');
  if (typeof partitions !== 'number' || !Number.isSafeInteger(partitions) || partitions < 1) {
    throw new TributaryError('INVALID_PARTITIONS', 'partitions must be a positive integer');
  }
  if (typeof replicationFactor !== 'number' || !Number.isSafeInteger(replicationFactor) || replicationFactor < 1) {
    throw new TributaryError('INVALID_REPLICATION_FACTOR', 'replicationFactor must be a positive integer');
  }
  const checkedConfigs: Record<string, string> = {};
  if (configs !== undefined) {
    if (typeof configs !== 'object' || configs === null) throw new TributaryError('INVALID_CONFIG', 'configs: an object');
    for (const [key, value] of Object.entries(configs)) {
      if (typeof value !== 'string') throw new TributaryError('INVALID_CONFIG', `configs.${key}: a string`);
      checkedConfigs[key] = value;
    }
  }
  return { name, partitions, replicationFactor, configs: checkedConfigs };
}

export class ConsoleServer {
  private constructor(private readonly server: http.Server, private readonly reader: ClusterReader,
    private readonly scraper: MetricsScraper | null) {}

  static async start(options: ConsoleOptions): Promise<ConsoleServer> {
    const scraper = options.metrics.length === 0 ? null
      : new MetricsScraper({ addresses: options.metrics, intervalMs: options.scrapeIntervalMs ?? 1_000 });
    const security = options.security === undefined ? undefined : ClientSecurity.load(options.security);
    const reader = new ClusterReader(options.bootstrap, options.logger, scraper, security);
    const server = http.createServer();
    const consoleServer = new ConsoleServer(server, reader, scraper);
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      consoleServer.handle(request, response, options).catch((error: unknown) => {
        options.logger.error({ err: error }, 'console request failed');
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => { server.off('error', reject); resolve(); });
    });
    scraper?.start();
    return consoleServer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.scraper?.stop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
    await this.reader.close();
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse, options: ConsoleOptions):
    Promise<void> {
    const url = new URL(request.url ?? '/', 'http://console');
    if (!hostAllowed(options.host, request.headers.host)) {
      // DNS rebinding: another site's name pointed at 127.0.0.1 must not reach a loopback console.
      response.writeHead(403, { 'content-type': 'text/plain' }).end('this console answers only to its loopback name\n');
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      this.serveStatic(url.pathname, request.method ?? 'GET', response);
      return;
    }
    try {
      const body = await this.answer(url, request, options);
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    } catch (error) {
      const { status, code, message } = errorAnswer(error);
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify({ error: { code, message } }));
    }
  }

  private async answer(url: URL, request: http.IncomingMessage, options: ConsoleOptions): Promise<unknown> {
    const method = request.method ?? 'GET';
    const parts = url.pathname.split('/').slice(2).map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new HttpError(400, 'INVALID_REQUEST', `${url.pathname}: a malformed %-escape`);
      }
    });
    const [resource, id] = parts;
    if (parts.length > 2) throw new HttpError(404, 'NOT_FOUND', `No API at ${url.pathname}`);
    if (method === 'POST' && resource === 'topics' && id === undefined) {
      const created = createRequestOf(await readJsonBody(request));
      await this.reader.createTopic(created);
      return { created: created.name };
    }
    if (method !== 'GET') throw new HttpError(405, 'INVALID_REQUEST', `${method} ${url.pathname} is not an API`);
    if (resource === 'overview' && id === undefined) return this.reader.overview();
    if (resource === 'topics' && id !== undefined) return this.reader.topic(id);
    if (resource === 'groups') return id === undefined ? this.reader.groups() : this.reader.group(id);
    if (resource === 'metrics' && id === undefined) {
      return { endpoints: this.scraper?.endpoints().map(({ samples: _, ...rest }) => rest) ?? [],
        series: this.scraper?.series() ?? [] };
    }
    if (resource === 'records' && id === undefined) {
      const query = url.searchParams;
      const topic = query.get('topic');
      if (topic === null || topic === '') throw new HttpError(400, 'INVALID_REQUEST', 'Name the topic (topic=...)');
      const partition = integerParameter(query, 'partition') ?? 0;
      const offset = integerParameter(query, 'offset');
      const timeText = query.get('time');
      const timestampMs = timeText === null || timeText === '' ? undefined : parseTime(timeText);
      return browseRecords(this.reader, options.bootstrap, options.logger, { topic, partition,
        limit: Math.min(integerParameter(query, 'limit') ?? 20, BROWSE_LIMIT_MAX),
        ...(offset === undefined ? {} : { offset }), ...(timestampMs === undefined ? {} : { timestampMs }) });
    }
    throw new HttpError(404, 'NOT_FOUND', `No API at ${url.pathname}`);
  }

  private serveStatic(pathname: string, method: string, response: http.ServerResponse): void {
    if (pathname === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    const entry = STATIC_FILES[pathname];
    if (entry === undefined || (method !== 'GET' && method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    fs.readFile(path.join(WEB_DIRECTORY, entry.file), (error, data) => {
      if (error !== null) {
        response.writeHead(404, { 'content-type': 'text/plain' })
          .end(`${entry.file} is missing from ${WEB_DIRECTORY}: run npm run build\n`);
        return;
      }
      response.writeHead(200, { 'content-type': entry.type });
      response.end(method === 'HEAD' ? undefined : data);
    });
  }
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Whether a request's Host header may reach this console: anything when it binds a public
 * address (the operator chose to expose it), only loopback names when it binds loopback.
 */
export function hostAllowed(boundHost: string, hostHeader: string | undefined): boolean {
  if (!LOOPBACK_NAMES.has(boundHost)) return true;
  if (hostHeader === undefined) return false;
  const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1)
    : hostHeader.replace(/:\d+$/, '');
  return LOOPBACK_NAMES.has(name.toLowerCase());
}

/** A time as ms since the epoch or as an ISO 8601 date. */
function parseTime(text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(value)) throw new HttpError(400, 'INVALID_REQUEST', `time=${text}: not ms or an ISO time`);
  return value;
}
