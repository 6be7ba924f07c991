/**
 * The HTTP listener Prometheus scrapes (`--metrics-listen host:port`): GET /metrics answers the
 * broker's registry in the text format; anything else is 404 (405 for another method on /metrics).
 * node's http module is enough for one route.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { assert } from '../../raft/core/assert.js';
import type { BrokerMetrics } from './broker_metrics.js';

export interface MetricsServerLogger {
  error(object: object, message: string): void;
}

export class MetricsServer {
  private constructor(private readonly server: http.Server) {}

  /** Listens on host:port (port 0 picks a free one); rejects when it cannot bind. */
  static async start(metrics: BrokerMetrics, host: string, port: number, logger: MetricsServerLogger):
    Promise<MetricsServer> {
    const server = http.createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape /metrics\n');
        return;
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('GET /metrics\n');
        return;
      }
      metrics.scrape().then((text) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      }, (error: unknown) => {
        logger.error({ err: error }, 'collecting metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      });
    });
    // A scraper holds its connection open between scrapes; close() must not wait for it.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException): void => {
        // Named so that the error is not taken for one of the client or Raft listeners'.
        reject(new Error(`cannot serve metrics on ${host}:${port} (${error.code ?? error.message})`));
      };
      server.once('error', failed);
      server.listen(port, host, () => { server.off('error', failed); resolve(); });
    });
    return new MetricsServer(server);
  }

  get port(): number {
    const address = this.server.address() as AddressInfo | null;
    assert(address !== null && typeof address === 'object', 'the metrics server is listening');
    return address.port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
  }
}
